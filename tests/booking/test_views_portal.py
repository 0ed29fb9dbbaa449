"""The passenger's journey on the portal: search, seat map, hold, checkout, sandbox payment,
tickets with QR codes, PDF and calendar files, cancellation."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.booking.models import Hold, Order, Ticket
from app.booking.services import tickets
from app.core.events import Event
from app.extensions import db
from app.fleet.services import network
from app.fleet.services.trips import local_datetime, today_for
from tests import factories, qrcodes


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def line():
    """Kigali → Muhanga → Huye in two days at 09:00 local, 2,000 a leg, 12 seats with a VIP row."""
    company = factories.company(name="Volcano Express")
    route = factories.route(company, stops=3, leg_fare=2000, name="Kigali – Huye")
    for stop, name in zip(route.stops, ("Nyabugogo", "Muhanga", "Huye"), strict=True):
        stop.station.name = name
    day = today_for(company) + timedelta(days=2)
    trip = factories.trip(
        route, bus_=factories.bus(company, rows=3, vip_rows=1), departs_at=local_datetime(company, day, time(9))
    )
    db.session.flush()
    return trip


def search_url(trip, origin="Nyabugogo", destination="Huye", **more) -> str:
    day = trip.departs_at.astimezone(ZoneInfo("Africa/Kigali")).date()
    query = {"origin": origin, "destination": destination, "date": day.isoformat(), **more}
    return "/search?" + "&".join(f"{k}={v}" for k, v in query.items())


def seat_url(trip, origin=0, destination=2) -> str:
    return f"/trips/{trip.id}?from={trip.stops[origin].station_id}&to={trip.stops[destination].station_id}"


# --- Search ----------------------------------------------------------------------------------


def test_search_shows_times_at_the_passengers_stops_price_and_free_seats(client, line):
    factories.order(line, ["2A"], origin=0, destination=1)  # sold Kigali → Muhanga only
    page = text(client.get(search_url(line, origin="Muhanga")))
    assert "Muhanga → Huye" in page
    assert "10:00" in page and "11:00" in page  # leaves Muhanga an hour after Kigali
    assert "2,000 RWF" in page and "VIP 3,000 RWF" in page
    assert "12 seats left" in page  # 2A is free from Muhanga on
    assert "Volcano Express" in page

    page = text(client.get(search_url(line)))
    assert "4,000 RWF" in page and "11 seats left" in page


def test_search_answers_htmx_with_the_results_only(client, line):
    body = text(client.get(search_url(line), headers={"HX-Request": "true"}))
    assert body.lstrip().startswith('<div id="search"') and "Nyabugogo → Huye" in body
    assert "<html" not in body


def test_no_trip_the_other_way_or_on_another_day(client, line):
    assert "No bus on sale" in text(client.get(search_url(line, origin="Huye", destination="Nyabugogo")))
    day_after = (line.departs_at + timedelta(days=1)).date().isoformat()
    assert "No bus on sale" in text(client.get(search_url(line, date=day_after)))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"destination": "Nyabugogo"}, "Choose a destination other than where you leave from."),
        ({"origin": "Atlantis"}, "We do not know “Atlantis”. Type a town or a bus park"),
        ({"date": "2020-01-01"}, "Choose today or a later date."),
        ({"date": "someday"}, "Not a valid date value."),
        ({"origin": ""}, "Where do you leave from?"),
    ],
)
def test_bad_searches_get_field_errors(client, line, values, message):
    response = client.get(search_url(line, **values))
    assert response.status_code == 422 and message in text(response)


def test_filters_by_operator_and_time_of_day(client, line):
    other = factories.company(name="Ritco")
    assert "No bus on sale" in text(client.get(search_url(line, operator=other.id)))
    assert "4,000 RWF" in text(client.get(search_url(line, operator=line.company_id)))
    assert "No bus on sale" in text(client.get(search_url(line, time_of_day="evening")))
    assert "4,000 RWF" in text(client.get(search_url(line, time_of_day="morning")))


# --- Seat map, hold, checkout ------------------------------------------------------------------


def test_the_seat_map_names_each_seat_and_shows_taken_ones(client, line):
    factories.order(line, ["3C"])
    page = text(client.get(seat_url(line)))
    assert 'aria-label="Seat 1A, VIP"' in page and 'aria-label="Seat 3C, taken"' in page
    assert "Log in to book" in page


def hold_seats(client, trip, seats, origin=0, destination=2):
    return client.submit(
        f"/trips/{trip.id}/hold?from={trip.stops[origin].station_id}&to={trip.stops[destination].station_id}",
        {"seats": seats},
    )


def test_choosing_seats_needs_an_account(client, line):
    response = hold_seats(client, line, ["2A"])
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_hold_leads_to_checkout_with_a_countdown_and_the_servers_total(client, login_as, line):
    login_as("customer", name="Aline Uwase")
    response = hold_seats(client, line, ["1A", "2B"])
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "We keep your seats for" in page
    assert 590 <= int(re.search(r'data-countdown="(\d+)"', page).group(1)) <= 600
    # "for another 9 min 58 s", not "for 9:58 more minutes"
    assert re.search(
        r"We keep your seats for another <strong data-countdown-text>(9 min [1-5]?\d|10 min 0) s</strong>\.", page
    )
    assert 'data-countdown-format="%(minutes)s min %(seconds)s s"' in page
    assert "Seat 1A (VIP) · 6,000 RWF" in page and "Total: <strong>10,000 RWF</strong>" in page
    assert 'value="Aline Uwase"' in page and "24 hours or more before departure: 90 % back" in page


@pytest.mark.parametrize(
    ("seats", "message"),
    [
        (["1A", "1B", "1C", "1D", "2A", "2B", "2C"], "Choose 1 to 6 seats."),
        (["9Z"], "has no seat 9Z"),
        ([], "Choose 1 to 6 seats."),
    ],
)
def test_bad_seat_choices_are_refused_on_the_seat_map(client, login_as, line, seats, message):
    login_as("customer")
    response = hold_seats(client, line, seats)
    assert response.status_code == 422 and message in text(response)
    assert db.session.scalar(select(func.count(Hold.id))) == 0


def test_a_seat_taken_meanwhile_is_refused_with_its_label(client, login_as, line):
    factories.order(line, ["2A"])
    login_as("customer")
    response = hold_seats(client, line, ["2A", "2B"])
    assert response.status_code == 409 and "Seat 2A is no longer free" in text(response)


def checkout_to_order(client, line, seats, names):
    checkout = hold_seats(client, line, seats).headers["Location"]
    form = {}
    for index, name in enumerate(names):
        form[f"passengers-{index}-name"] = name
        form[f"passengers-{index}-phone"] = "0788123456"
    return checkout, client.submit(checkout, form)


def test_checkout_needs_every_passenger_name(client, login_as, line):
    login_as("customer")
    checkout, response = checkout_to_order(client, line, ["2A", "2B"], ["Aline Uwase", ""])
    assert response.status_code == 422 and "This field is required." in text(response)
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_a_posted_total_or_price_is_ignored(client, login_as, line):
    login_as("customer")
    checkout = hold_seats(client, line, ["2A"]).headers["Location"]
    client.submit(checkout, {"passengers-0-name": "Aline", "total": "1", "price": "1"})
    assert db.session.scalar(select(Order.total)) == 4000


def shown_on_checkout(page: str) -> tuple[dict[str, int], int, str]:
    """Seat → price, the total, and the hidden total the form sends back, as the page shows them."""
    prices = {
        label: int(amount.replace(",", "")) for label, amount in re.findall(r"Seat (\w+)[^·]*· ([\d,]+) RWF", page)
    }
    total = int(re.search(r"Total: <strong>([\d,]+) RWF</strong>", page).group(1).replace(",", ""))
    hidden = re.search(r'name="shown_total" type="hidden" value="(\d*)"', page).group(1)
    return prices, total, hidden


@pytest.mark.parametrize(("origin", "destination"), [(0, 2), (0, 1), (1, 2)], ids=["whole", "first-leg", "last-leg"])
def test_the_total_shown_at_checkout_is_the_total_charged(client, login_as, line, origin, destination):
    network.set_fares(None, line.route, {(line.stops[1].station_id, line.stops[2].station_id, "vip"): 3300})
    login_as("customer")
    checkout = hold_seats(client, line, ["1A", "2B"], origin, destination).headers["Location"]
    prices, total, hidden = shown_on_checkout(text(client.get(checkout)))
    assert prices["1A"] > prices["2B"] and total == prices["1A"] + prices["2B"] and hidden == str(total)

    form = {"shown_total": hidden, "passengers-0-name": "Aline Uwase", "passengers-1-name": "Eric Mugabo"}
    placed = client.submit(checkout, form)
    assert placed.status_code == 303 and "/pay" in placed.headers["Location"]
    pay_page = text(client.get(placed.headers["Location"]))
    assert f"Pay {total:,} RWF" in pay_page and "The fares changed" not in pay_page
    order = db.session.scalar(select(Order))
    assert order.total == total
    assert {t.seat_label: t.price for t in order.tickets} == prices


def test_a_fare_changed_before_submitting_prices_the_order_at_submit_and_says_so(client, login_as, line):
    login_as("customer")
    checkout = hold_seats(client, line, ["2A"]).headers["Location"]
    _, shown, hidden = shown_on_checkout(text(client.get(checkout)))
    assert shown == 4000
    first, last = line.stops[0].station_id, line.stops[2].station_id
    network.set_fares(None, line.route, {(first, last, "standard"): 4500})  # the operator raises the fare

    placed = client.submit(checkout, {"shown_total": hidden, "passengers-0-name": "Aline Uwase"})
    pay_page = text(client.get(placed.headers["Location"]))
    assert "The fares changed while you were booking: this booking costs 4,500 RWF, not 4,000 RWF." in pay_page
    assert "Pay 4,500 RWF" in pay_page
    assert db.session.scalar(select(Order.total)) == 4500


def test_a_free_ride_is_issued_at_checkout_with_nothing_to_pay(client, login_as, line):
    first, last = line.stops[0].station_id, line.stops[2].station_id
    network.set_fares(None, line.route, {(first, last, "standard"): 0})  # the operator made it free
    login_as("customer")
    _, placed = checkout_to_order(client, line, ["2A"], ["Aline Uwase"])
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    assert placed.headers["Location"] == f"/orders/{order.code}"
    page = text(client.get(placed.headers["Location"]))
    assert "Nothing to pay: your tickets are issued." in page and "Paid" in page
    assert (order.status, order.total, order.expires_at) == ("paid", 0, None)
    ticket = db.session.scalar(select(Ticket))
    assert ticket.status == "paid" and client.get(f"/tickets/{ticket.code}").status_code == 200
    assert db.session.scalars(select(Event.name)).all() == ["tickets.issued"]  # the passenger hears of it once
    assert client.get(f"/orders/{order.code}/pay").headers["Location"] == f"/orders/{order.code}"


def test_giving_up_frees_the_seats(client, login_as, line):
    login_as("customer")
    checkout = hold_seats(client, line, ["2A"]).headers["Location"]
    response = client.submit(checkout + "/release")
    assert response.status_code == 303
    assert 'aria-label="Seat 2A"' in text(client.get(response.headers["Location"]))


def test_another_users_checkout_is_not_found(client, login_as, app, line):
    login_as("customer")
    checkout = hold_seats(client, line, ["2A"]).headers["Location"]
    stranger = app.test_client()
    stranger.login(factories.user().email)
    assert stranger.get(checkout).status_code == 404


# --- Payment and tickets -------------------------------------------------------------------------


def pay(client, line, seats=("2A", "2B"), decision="approve"):
    """Check out, choose the sandbox on the payment page, decide on the sandbox's own page."""
    _, response = checkout_to_order(client, line, list(seats), [f"Passenger {s}" for s in seats])
    pay_url = response.headers["Location"]
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', text(client.get(pay_url))).group(1)
    started = client.submit(pay_url, {"provider": "sandbox", "idempotency_key": key})
    assert started.status_code == 303
    sandbox_url = started.headers["Location"]
    assert "Approve payment" in text(client.get(sandbox_url))
    return client.submit(sandbox_url, {"decision": decision})


def test_approving_the_sandbox_payment_issues_tickets_with_qr_codes(client, login_as, line):
    login_as("customer")
    response = pay(client, line)
    assert response.status_code == 303
    order_page = text(client.get(response.headers["Location"]))
    assert "Paid" in order_page and "10,000" not in order_page and "8,000 RWF" in order_page

    mine = text(client.get("/tickets"))
    codes = re.findall(r"/tickets/([A-Z0-9]{8})\"", mine)
    assert len(codes) == 2
    ticket_page = text(client.get(f"/tickets/{codes[0]}"))
    assert "<svg" in ticket_page and "Show this code when you board." in ticket_page
    assert "Cancelling now refunds <strong>3,600 RWF</strong>" in ticket_page


def test_a_declined_payment_keeps_the_seats_with_try_again_and_the_time_left(client, login_as, line, now):
    login_as("customer")
    response = pay(client, line, decision="decline")
    order = db.session.scalar(select(Order))
    assert response.headers["Location"] == f"/orders/{order.code}/pay"
    page = text(client.get(response.headers["Location"]))
    assert "The payment did not go through" in page and "Declined in the sandbox." in page
    assert "Try again" in page and "Choose another method" in page
    assert re.search(r"held for you for another <strong data-countdown-text>\d+ min \d+ s</strong>\.", page)
    assert order.status == "pending" and order.expires_at > now
    seats = text(client.get(seat_url(line)))
    assert 'aria-label="Seat 2A, taken"' in seats  # nobody else can take them meanwhile

    # "Try again" posts the same method again: the sandbox asks once more, and approving issues the tickets.
    retry = re.search(r'<form method="post" action="([^"]+)" class="inline" id="retry-form">(.*?)</form>', page, re.S)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', retry.group(2)))
    started = client.post(retry.group(1), data=fields)
    assert started.status_code == 303
    client.submit(started.headers["Location"], {"decision": "approve"})
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status == "paid")) == 2


def test_seats_of_a_declined_payment_are_free_again_when_the_time_runs_out(client, login_as, line, now):
    from app.booking.services import holds

    login_as("customer")
    pay(client, line, decision="decline")
    order = db.session.scalar(select(Order))
    holds.expire_all(order.expires_at + timedelta(seconds=1))
    assert 'aria-label="Seat 2A"' in text(client.get(seat_url(line)))
    assert order.status == "expired"


def test_the_pdf_holds_a_qr_a_decoder_reads_and_that_verifies(client, login_as, line):
    login_as("customer")
    pay(client, line, seats=("3A",))
    code = db.session.scalar(select(Ticket.code))
    response = client.get(f"/tickets/{code}/ticket.pdf")
    assert response.mimetype == "application/pdf"
    page = PdfReader(io.BytesIO(response.data)).pages[0]
    assert code in page.extract_text()
    decoded = qrcodes.read(page.images[0].image)
    assert tickets.verify_ticket(decoded).ticket.code == code


def test_the_calendar_file_has_the_departure_and_arrival(client, login_as, line):
    login_as("customer")
    pay(client, line, seats=("3A",))
    code = db.session.scalar(select(Ticket.code))
    body = client.get(f"/tickets/{code}/calendar.ics").get_data(as_text=True)
    assert "BEGIN:VEVENT" in body and f"UID:ticket-{code}@tms" in body
    assert f"DTSTART:{line.departs_at.astimezone(UTC):%Y%m%dT%H%M%SZ}" in body
    assert all(len(row.encode()) <= 75 for row in body.split("\r\n"))


def test_cancelling_shows_the_refund_and_frees_the_seat(client, login_as, line):
    login_as("customer")
    pay(client, line, seats=("3A",))
    code = db.session.scalar(select(Ticket.code))
    confirmation = text(client.get(f"/tickets/{code}/cancel"))
    assert "You get 3,600 RWF back of 4,000 RWF" in confirmation
    assert "24 hours or more before departure: 90 % back" in confirmation
    assert client.submit(f"/tickets/{code}/cancel").status_code == 200  # not confirmed: asked again
    assert db.session.scalar(select(Ticket.status)) == "paid"
    response = client.submit(f"/tickets/{code}/cancel", {"confirm": "yes"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Cancelled; refund 3,600 RWF" in page and "<svg" not in page
    assert 'aria-label="Seat 3A"' in text(client.get(seat_url(line)))


def test_someone_elses_ticket_is_not_found(client, login_as, app, line):
    login_as("customer")
    pay(client, line, seats=("3A",))
    code = db.session.scalar(select(Ticket.code))
    stranger = app.test_client()
    stranger.login(factories.user().email)
    for path in (f"/tickets/{code}", f"/tickets/{code}/ticket.pdf", f"/tickets/{code}/calendar.ics"):
        assert stranger.get(path).status_code == 404
    assert stranger.get(f"/tickets/{code}/cancel").status_code == 404
    assert stranger.submit(f"/tickets/{code}/cancel", {"confirm": "yes"}).status_code == 404


def test_a_seat_not_yet_paid_for_is_no_ticket_even_to_its_buyer(client, login_as, line):
    login_as("customer")
    checkout_to_order(client, line, ["3A"], ["Aline Uwase"])
    code = db.session.scalar(select(Ticket.code))
    assert db.session.scalar(select(Ticket.status)) == "pending"
    for path in (f"/tickets/{code}", f"/tickets/{code}/ticket.pdf", f"/tickets/{code}/calendar.ics"):
        assert client.get(path).status_code == 404
    assert client.submit(f"/tickets/{code}/shares", {"duration": "2"}).status_code == 404


def test_an_htmx_search_with_a_mistake_says_what_is_wrong_in_the_results(client, line):
    response = client.get(search_url(line, destination="Nyabugogo"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<div id="search"')  # the form, with the message at its field
    assert body.count("Choose a destination other than where you leave from.") == 1
    assert 'aria-invalid="true"' in body


def test_search_prices_every_pair_as_the_fare_table_does(client, line):
    """Search prices pairs from plain columns; they must agree with the console's fare matrix,
    hand-set amounts and the VIP markup included."""
    route = line.route
    first, middle, last = (stop.station_id for stop in route.stops)
    network.set_fares(None, route, {(first, last, "standard"): 3500, (middle, last, "vip"): 9999})
    matrix = {key: amount for key, (amount, _) in network.fare_matrix(route).items()}
    for origin, destination in ((first, middle), (first, last), (middle, last)):
        priced = network.pair_fares({route.id}, origin, destination)[route.id]
        assert priced == {c: matrix[(origin, destination, c)] for c in ("standard", "vip")}
    assert network.pair_fares({route.id}, last, first) == {}  # the other way round is not served
    assert "3,500 RWF" in text(client.get(search_url(line)))


def test_my_tickets_are_grouped_by_the_trips_real_state_not_only_the_clock(client, login_as):
    """A trip marked Arrived before its time stayed under "Upcoming"."""
    customer = login_as("customer")
    company = factories.company()
    route = factories.route(company)
    now = datetime.now(UTC).replace(microsecond=0)
    ended_early = factories.trip(route, bus_=factories.bus(company), departs_at=now + timedelta(hours=3))
    running_late = factories.trip(route, bus_=factories.bus(company), departs_at=now + timedelta(hours=1))
    coming = factories.trip(route, bus_=factories.bus(company), departs_at=now + timedelta(days=2))
    codes = {}
    for trip in (ended_early, running_late, coming):
        order = factories.order(trip, ["1A"])
        order.user_id = customer.id
        codes[trip.id] = order.tickets[0].code
    ended_early.status, running_late.status = "arrived", "departed"
    running_late.departs_at = now - timedelta(hours=4)  # and past its arrival time at the last stop
    db.session.flush()

    page = text(client.get("/tickets"))
    upcoming, past = page.split("Past and cancelled")
    assert codes[running_late.id] in upcoming and "On the road" in upcoming
    assert codes[coming.id] in upcoming
    assert codes[ended_early.id] in past and "Arrived" in past
