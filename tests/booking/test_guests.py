"""Booking without an account: a guest holds seats, gives a name and a phone, pays, and gets the
tickets by SMS with a magic link that opens them in any browser until it is revoked, replaced or
the trip is long over; limits per client address and per phone; claiming into an account."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from app.booking.errors import LinkEnded
from app.booking.models import GuestLink, Hold, Order, Ticket
from app.booking.services import guests, holds, orders
from app.core import tx
from app.core.errors import NotFound
from app.core.i18n import local_time
from app.extensions import db
from app.notifications.channels.sms import segments
from app.notifications.messages import TIME_FORMAT
from app.notifications.models import Notification
from tests import factories
from tests.booking.test_views_portal import line, seat_url  # noqa: F401  (the line fixture, shared)
from tests.notifications.conftest import africastalking_server, sms_gateway  # noqa: F401  (fixtures)

PHONE = "+250788200001"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def guest_hold(client, trip, seats, origin=0, destination=2):
    return client.submit(
        f"/trips/{trip.id}/guest?from={trip.stops[origin].station_id}&to={trip.stops[destination].station_id}",
        {"seats": seats},
    )


def guest_checkout(client, trip, seats, *, phone="0788 200 001", email="", name="Aline Uwase"):
    checkout = guest_hold(client, trip, seats).headers["Location"]
    form = {"contact_name": name, "contact_phone": phone, "contact_email": email}
    for index, seat in enumerate(seats):
        form[f"passengers-{index}-name"] = f"Passenger {seat}"
    return checkout, client.submit(checkout, form)


def pay_as_guest(client, trip, seats=("2A", "2B"), decision="approve", **contact):
    _, placed = guest_checkout(client, trip, list(seats), **contact)
    assert placed.status_code == 303, text(placed)
    pay_url = placed.headers["Location"]
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', text(client.get(pay_url))).group(1)
    started = client.submit(pay_url, {"provider": "sandbox", "idempotency_key": key})
    assert started.status_code == 303
    return client.submit(started.headers["Location"], {"decision": decision})


def new_links(gateway) -> list:
    """The "new link" SMS sent to the guest, in the guest order's language (Kinyarwanda)."""
    with force_locale("rw"):
        words = gettext("%(company)s: new link to your tickets %(codes)s, %(journey)s %(boards)s: %(url)s")
    start = words.split("%(codes)s")[0].split(": ", 1)[1]
    return [m for m in gateway.messages_to(PHONE) if start in m.text]


def link_in(message: str) -> str:
    return re.search(r"http://tms\.test(/t/[A-Za-z0-9_.-]+)", message).group(1)


@pytest.fixture(autouse=True)
def _sandbox(line):  # noqa: F811
    line.route.company.payment_providers = ["sandbox"]
    db.session.flush()


# --- The journey ---------------------------------------------------------------------------------


def test_the_seat_map_offers_booking_as_a_guest(client, line):  # noqa: F811
    page = text(client.get(seat_url(line)))
    assert "Continue as a guest" in page and f'formaction="/trips/{line.id}/guest?' in page.replace("&amp;", "&")


def test_a_guest_books_pays_and_gets_the_tickets_by_sms_with_a_private_link(app, client, line, sms_gateway):  # noqa: F811
    response = pay_as_guest(client, line, email="aline@example.rw")
    order = db.session.scalar(select(Order))
    assert order.user_id is None and order.status == "paid"
    assert (order.contact_name, order.contact_phone, order.contact_email) == ("Aline Uwase", PHONE, "aline@example.rw")
    assert order.language == "en"
    page = text(client.get(response.headers["Location"]))
    assert "We sent your tickets by SMS to +250788200001" in page and "Open my tickets" in page

    (sms,) = sms_gateway.messages_to(PHONE)
    assert "2 tickets, seats 2A, 2B" in sms.text
    assert segments(sms.text) == 1, f"{len(sms.text)} characters: {sms.text}"  # the link keeps it one SMS
    path = link_in(sms.text)
    # The record keeps the message without its link: a copy of the table opens nothing.
    stored = db.session.scalar(select(Notification.body).where(Notification.channel == "sms"))
    assert path.split("/t/")[1] not in stored and "/t/…" in stored

    stranger = app.test_client()  # another browser, nobody signed in
    tickets_page = text(stranger.get(path))
    assert tickets_page.count("<svg") == 2 and "Passenger 2A" in tickets_page and "Passenger 2B" in tickets_page
    code = order.tickets[0].code
    ticket_page = text(stranger.get(f"{path}/{code}"))
    assert "<svg" in ticket_page and "PDF to print (A4)" in ticket_page
    assert stranger.get(f"{path}/{code}/ticket.pdf").mimetype == "application/pdf"
    assert "BEGIN:VEVENT" in stranger.get(f"{path}/{code}/calendar.ics").get_data(as_text=True)


def test_the_guests_own_browser_opens_the_tickets_after_paying(client, line, sms_gateway):  # noqa: F811
    response = pay_as_guest(client, line, seats=("3A",))
    order_url = response.headers["Location"]
    opened = client.submit(order_url + "/tickets-link")
    assert opened.status_code == 303 and opened.headers["Location"].startswith("/t/")
    assert "<svg" in text(client.get(opened.headers["Location"]))


def test_a_guest_cancels_after_the_confirmation(app, client, line, sms_gateway):  # noqa: F811
    pay_as_guest(client, line, seats=("3A",))
    path = link_in(sms_gateway.messages_to(PHONE)[0].text)
    code = db.session.scalar(select(Ticket.code))
    browser = app.test_client()  # another browser: the link is all it has
    confirm = text(browser.get(f"{path}/{code}/cancel"))
    assert "You get 3,600 RWF back of 4,000 RWF" in confirm and "Keep my ticket" in confirm
    assert "24 hours or more before departure: 90 % back" in confirm
    assert db.session.scalar(select(Ticket.status)) == "paid"  # asking changed nothing
    response = browser.submit(f"{path}/{code}/cancel", {"confirm": "yes"})
    assert response.status_code == 303 and response.headers["Location"] == f"{path}/{code}"
    assert "Cancelled; refund 3,600 RWF" in text(browser.get(response.headers["Location"]))
    assert 'aria-label="Seat 3A"' in text(client.get(seat_url(line)))


def test_a_declined_guest_payment_keeps_the_seats_to_try_again(client, line, sms_gateway):  # noqa: F811
    response = pay_as_guest(client, line, seats=("3A",), decision="decline")
    order = db.session.scalar(select(Order))
    assert response.headers["Location"] == f"/orders/{order.code}/pay"
    page = text(client.get(response.headers["Location"]))
    assert "Try again" in page and "Choose another method" in page and "held for you for another" in page
    assert order.status == "pending"
    assert 'aria-label="Seat 3A, taken"' in text(client.get(seat_url(line)))
    (sms,) = sms_gateway.messages_to(PHONE)
    assert "seats are held for now" in sms.text and f"/orders/{order.code}" in sms.text


# --- Bad input and limits ------------------------------------------------------------------------


def test_a_guest_must_give_a_phone_that_can_be_texted(client, line):  # noqa: F811
    checkout, response = guest_checkout(client, line, ["2A"], phone="12", email="not an email")
    assert response.status_code == 422
    page = text(response)
    assert "That is not a valid phone number." in page or "Enter a phone number such as" in page
    assert "Enter an email address such as name@example.com" in page
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(Hold.status)) == "active"  # the seats are still kept for a second try


def test_guest_holds_are_limited_per_client_address(app, client, line, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "GUEST_HOLDS_PER_ADDRESS_PER_HOUR", 2)
    for seat in ("1A", "1B"):
        assert guest_hold(client, line, [seat]).status_code == 303
    refused = guest_hold(client, line, ["1C"])
    assert refused.status_code == 429
    assert "Too many bookings without an account from this network" in text(refused)
    assert "sign in to book" in text(refused)
    assert db.session.scalar(select(func.count(Hold.id))) == 2


def test_guest_bookings_are_limited_per_phone(app, client, line, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "GUEST_ORDERS_PER_PHONE_PER_HOUR", 1)
    assert guest_checkout(client, line, ["1A"])[1].status_code == 303
    _, refused = guest_checkout(client, line, ["1B"])
    assert refused.status_code == 429
    assert "This phone number has started too many bookings in the last hour" in text(refused)
    assert db.session.scalar(select(func.count(Order.id))) == 1


def test_a_guest_keeps_no_more_seats_than_a_signed_in_buyer(client, line):  # noqa: F811
    assert guest_hold(client, line, ["1A", "1B", "1C"]).status_code == 303
    assert guest_hold(client, line, ["2A", "2B"]).status_code == 303
    refused = guest_hold(client, line, ["3A"])
    assert refused.status_code == 429 and "bookings waiting for payment" in text(refused)


def test_a_visitor_without_a_booking_is_sent_to_sign_in(client, line, now):  # noqa: F811
    hold = holds.create_hold(factories.user(), line.id, seats=["1A"], origin=0, destination=2, now=now)
    response = client.get(f"/checkout/{hold.code}")
    assert response.status_code == 302 and response.location.startswith("/login")


# --- Magic links ---------------------------------------------------------------------------------


@pytest.fixture
def guest_order(line, now):  # noqa: F811
    guest = holds.Guest(guests.new_guest_key())
    hold = holds.create_hold(guest, line.id, seats=["1A"], origin=0, destination=2, now=now)
    contact = guests.Contact("Aline Uwase", PHONE, None, "rw")
    order = orders.checkout(
        guest, hold.code, [orders.Passenger("Aline Uwase")], channel="web", now=now, contact=contact
    )
    orders.mark_paid(order, now=now)
    return order


def test_a_link_is_stored_hashed_and_opens_its_order(guest_order, now):
    token = guests.issue_link(guest_order, now=now)
    link = guests.open_link(token, now=now)
    assert link.order_id == guest_order.id
    secret = token.split(".")[1]
    assert secret not in link.secret_hash and len(link.secret_hash) == 64


def test_a_link_ends_some_days_after_the_trip(app, guest_order, now):
    token = guests.issue_link(guest_order, now=now)
    arrival = guest_order.tickets[0].trip.time_at(2)
    expires = arrival + timedelta(days=app.config["GUEST_LINK_DAYS_AFTER_TRIP"])
    assert guests.open_link(token, now=expires - timedelta(seconds=1))
    with pytest.raises(LinkEnded):
        guests.open_link(token, now=expires)


def test_forged_links_are_not_found(guest_order, now):
    token = guests.issue_link(guest_order, now=now)
    link_id, secret, mac = token.split(".")
    for forged in (f"{link_id}.{secret}.x{mac[1:]}", f"{link_id}.{secret[::-1]}.{mac}", "", "1.2", "../../etc"):
        with pytest.raises(NotFound):
            guests.open_link(forged, now=now)


def test_revoking_ends_every_link_of_the_order(client, guest_order, now):
    first, second = guests.issue_link(guest_order, now=now), guests.issue_link(guest_order, now=now)
    tx.commit()
    response = client.submit(f"/t/{first}/revoke")
    assert response.status_code == 303 and response.headers["Location"] == "/tickets/lost"
    for token in (first, second):
        ended = client.get(f"/t/{token}")
        assert ended.status_code == 410 and "This link has ended" in text(ended)
        assert "Get a new link by SMS" in text(ended)


def test_sending_a_new_link_ends_the_old_ones(client, guest_order, now, sms_gateway):  # noqa: F811
    old = guests.issue_link(guest_order, now=now)
    tx.commit()
    assert client.submit(f"/t/{old}/resend").status_code == 303
    assert client.get(f"/t/{old}").status_code == 410
    (sms,) = new_links(sms_gateway)
    assert "<svg" in text(client.get(link_in(sms.text)))


def test_lost_links_are_sent_again_to_the_bookings_phone_only(app, client, guest_order, sms_gateway, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "GUEST_LINKS_PER_PHONE_PER_HOUR", 2)
    tx.commit()
    wrong = client.submit("/tickets/lost", {"code": guest_order.code, "phone": "0788 999 999"})
    right = client.submit("/tickets/lost", {"code": guest_order.code.lower(), "phone": "0788 200 001"})
    assert wrong.status_code == right.status_code == 303  # the same answer: nothing to learn
    assert "If a booking has this code and number" in text(client.get("/tickets/lost"))
    assert len(new_links(sms_gateway)) == 1
    assert client.submit("/tickets/lost", {"code": guest_order.code, "phone": PHONE}).status_code == 303
    refused = client.submit("/tickets/lost", {"code": guest_order.code, "phone": PHONE})
    assert refused.status_code == 429 and "We sent this phone several links in the last hour" in text(refused)
    assert len(new_links(sms_gateway)) == 2


def test_guest_messages_go_out_in_the_guests_language(guest_order, now, sms_gateway):  # noqa: F811

    guests.send_new_link(guest_order, now=now)
    tx.commit()
    (sms,) = [m for m in sms_gateway.messages_to(PHONE) if "/t/" in m.text and guest_order.tickets[0].code in m.text][
        -1:
    ]
    record = db.session.scalar(select(Notification).where(Notification.kind == "ticket_link"))
    assert record.context["language"] == "rw"
    values = record.context
    with force_locale("rw"):
        expected = gettext(
            "%(company)s: new link to your tickets %(codes)s, %(journey)s %(boards)s: %(url)s",
            company=values["company"],
            codes=values["tickets"][0]["code"],
            journey=f"{values['tickets'][0]['origin']}-{values['tickets'][0]['destination']}",
            boards=local_time(
                datetime.fromisoformat(values["tickets"][0]["boards_at"]), TIME_FORMAT, zone=values["timezone"]
            ),
            url="http://tms.test" + link_in(sms.text),
        )
    assert sms.text == expected


# --- Claiming guest tickets into an account --------------------------------------------------------


def test_an_account_claims_the_guest_tickets_of_its_phone_with_a_code(client, login_as, guest_order, sms_gateway):  # noqa: F811
    tx.commit()
    user = login_as("customer", phone=PHONE)
    assert "1 booking was made without an account with your phone number" in text(client.get("/tickets"))
    page = text(client.get("/tickets/claim"))
    assert "1 booking made without an account with +250788200001 can join this account" in page
    assert client.submit("/tickets/claim/code").status_code == 303
    (sms,) = [m for m in sms_gateway.messages_to(PHONE) if "your code is" in m.text]
    code = re.search(r"your code is (\d{6})", sms.text).group(1)
    assert code not in db.session.scalar(select(Notification.body).where(Notification.kind == "claim_code"))

    wrong = client.submit("/tickets/claim", {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and "That code is not right" in text(wrong)
    response = client.submit("/tickets/claim", {"code": code})
    assert response.status_code == 303 and response.headers["Location"] == "/tickets"
    assert guest_order.user_id == user.id
    mine = text(client.get("/tickets"))
    assert guest_order.tickets[0].code in mine and "without an account" not in mine


def test_a_proven_number_claims_later_guest_tickets_at_a_click_until_it_changes(client, login_as, guest_order, now):
    user = login_as("customer", phone=PHONE)
    user.phone_verified_at = now
    tx.commit()
    page = text(client.get("/tickets/claim"))
    assert "You proved this number is yours before." in page
    response = client.submit("/tickets/claim", {"verified": "yes"})
    assert response.status_code == 303 and guest_order.user_id == user.id

    from app.accounts.services import update_profile

    update_profile(user, name=user.name, email=user.email, phone="+250788200002")
    assert user.phone_verified_at is None
    assert client.submit("/tickets/claim", {"verified": "yes"}).status_code == 422


def test_another_number_claims_nothing(client, login_as, guest_order):
    tx.commit()
    login_as("customer", phone="+250788200002")
    assert "No booking made without an account with +250788200002" in text(client.get("/tickets/claim"))
    assert client.submit("/tickets/claim", {"code": "123456"}).status_code == 422
    assert guest_order.user_id is None


def test_claim_codes_are_limited_per_phone(app, client, login_as, sms_gateway, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "CLAIM_CODES_PER_PHONE_PER_HOUR", 1)
    login_as("customer", phone=PHONE)
    client.submit("/tickets/claim/code")
    refused = client.submit("/tickets/claim/code")
    assert "We sent several codes to this phone in the last hour" in text(client.get(refused.headers["Location"]))
    assert len([m for m in sms_gateway.messages_to(PHONE) if "your code is" in m.text]) == 1
    assert db.session.scalar(select(func.count(GuestLink.id))) == 0
