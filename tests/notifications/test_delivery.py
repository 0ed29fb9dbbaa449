"""What passengers receive when their plans change: one message per address, channel and event,
sent after commit, never twice, retried when the gateway is down. Jobs run inline here; the real
worker process is in test_worker_delivery.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.booking.services import orders as booking
from app.core import events, tx
from app.core.events import Event
from app.extensions import db
from app.fleet.services.swap import swap_bus
from app.fleet.services.trips import cancel_trip, delay_trip
from app.notifications import jobs, services
from app.notifications.channels import sms
from app.notifications.models import Notification
from tests import factories
from tests.notifications.records import paid_order


def phone(n: int) -> str:
    return f"+25078810{n:04d}"


@pytest.fixture
def trip(now):
    company = factories.company(name="Volcano Express")
    bus = factories.bus(company, plate="RAB 100A", rows=10)
    return factories.trip(factories.route(company), bus_=bus, departs_at=now + timedelta(hours=5))


def records(kind: str, channel: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    if channel:
        query = query.where(Notification.channel == channel)
    return list(db.session.scalars(query))


# --- Ticket issued ---------------------------------------------------------------------------------


def test_paying_sends_the_passenger_an_sms_and_the_buyer_an_email_with_the_pdf(trip, messaging):
    gateway, mailbox = messaging
    buyer = factories.user(name="Aline Uwase", email="aline@example.rw", phone=phone(1))
    order = paid_order(trip, buyer, ["1A", "1B"], [phone(2), None])
    tx.commit()

    codes = {t.seat_label: t.code for t in order.tickets}
    friend, own = gateway.messages_to(phone(2)), gateway.messages_to(phone(1))
    assert len(friend) == 1 and len(own) == 1
    assert codes["1A"] in friend[0].text and "seat 1A" in friend[0].text
    assert f"http://tms.test/tickets/{codes['1A']}" in friend[0].text
    assert codes["1B"] in own[0].text and codes["1A"] not in own[0].text
    assert all(sms.segments(m.text) == 1 for m in friend + own)

    email = mailbox.wait_for("aline@example.rw", timeout=5)
    assert email["Subject"].startswith("Your 2 tickets:")
    text = mailbox.text_of(email)
    assert "Hello Aline" in text and codes["1A"] in text and codes["1B"] in text
    html = email.get_body(preferencelist=("html",)).get_content()
    assert codes["1A"] in html and "<table" in html
    attachments = {part.get_filename(): part.get_content_type() for part in email.iter_attachments()}
    assert attachments == {
        f"ticket-{codes['1A']}.pdf": "application/pdf",
        f"ticket-{codes['1B']}.pdf": "application/pdf",
    }

    assert services.unread_count(buyer.id) == 1
    sent = records("ticket_issued")
    assert {(n.channel, n.status) for n in sent} == {("sms", "sent"), ("email", "sent"), ("inbox", "sent")}
    assert all(n.provider_message_id for n in sent if n.channel == "sms")


def test_a_buyer_who_turned_sms_and_email_off_gets_only_the_portal_item(trip, messaging):
    gateway, mailbox = messaging
    buyer = factories.user(email="quiet@example.rw", phone=phone(3), notify_sms=False, notify_email=False)
    paid_order(trip, buyer, ["2A", "2B"], [None, phone(4)])
    tx.commit()
    assert [m.to for m in gateway.messages] == [phone(4)]  # the passenger's own phone still hears
    assert mailbox.messages == []
    assert services.unread_count(buyer.id) == 1


def test_a_rolled_back_payment_sends_nothing(trip, messaging):
    gateway, mailbox = messaging
    buyer = factories.user(email="undo@example.rw", phone=phone(5))
    paid_order(trip, buyer, ["3A"])
    tx.rollback()
    assert gateway.requests_seen == 0
    assert mailbox.messages == []
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


# --- Bus changed ----------------------------------------------------------------------------------


def test_a_bus_swap_texts_each_of_30_passengers_once_even_when_the_jobs_run_twice(trip, messaging):
    gateway, _ = messaging
    seats = [f"{row}{letter}" for row in range(1, 9) for letter in "ABCD"][:30]
    for start in range(0, 30, 5):  # six orders of five, each passenger with their own phone
        paid_order(trip, factories.user(), seats[start : start + 5], [phone(100 + n) for n in range(start, start + 5)])
    tx.commit()
    gateway.clear()

    new_bus = factories.bus(trip.route.company, plate="RAD 123A", rows=10)
    swap_bus(None, trip, new_bus, now=datetime.now(UTC))
    tx.commit()

    texts = {m.to: m.text for m in gateway.messages if m.to.startswith("+2507881001")}
    assert len(texts) == 30
    assert all("changed to plate RAD 123A" in text for text in texts.values())

    event = db.session.scalar(select(Event).where(Event.name == "trip.bus_changed"))
    events.deliver(event.id)  # the event delivered again
    for notification in records("bus_changed", "sms"):
        jobs.send(notification.id)  # and every send job run a second time
    tx.commit()
    per_phone = [len(gateway.messages_to(phone(100 + n))) for n in range(30)]
    assert per_phone.count(1) == 30
    assert len(records("bus_changed", "sms")) == 30


def test_a_passenger_moved_to_another_seat_is_told_the_new_seat(trip, messaging):
    gateway, _ = messaging
    paid_order(trip, factories.user(), ["10D"], [phone(7)])
    tx.commit()
    gateway.clear()
    smaller = factories.bus(trip.route.company, plate="RAC 222B", rows=4)
    swap_bus(None, trip, smaller, now=datetime.now(UTC))
    tx.commit()
    (text,) = [m.text for m in gateway.messages_to(phone(7))]
    assert "changed to plate RAC 222B" in text and "New seat:" in text
    assert sms.segments(text) == 1


# --- Delayed and cancelled --------------------------------------------------------------------------


def test_a_delay_tells_the_new_departure_time(trip, messaging):
    gateway, mailbox = messaging
    paid_order(trip, factories.user(email="late@example.rw"), ["1C"], [phone(8)])
    tx.commit()
    gateway.clear()
    mailbox.clear()
    new_time = trip.departs_at + timedelta(minutes=45)
    delay_trip(None, trip, new_departure=new_time, reason="Road works", now=datetime.now(UTC))
    tx.commit()
    (text,) = [m.text for m in gateway.messages_to(phone(8))]
    local = new_time.astimezone(ZoneInfo(trip.route.company.timezone)).strftime("%H:%M")
    assert "delayed 45 min" in text and local in text
    assert "Road works" in mailbox.text_of(mailbox.wait_for("late@example.rw", timeout=5))


def test_a_cancelled_trip_sends_each_passenger_one_sms_and_one_email_with_the_refund(trip, messaging):
    gateway, mailbox = messaging
    buyers = [factories.user(email=f"rider{n}@example.rw", phone=phone(20 + n)) for n in range(3)]
    orders = [paid_order(trip, buyer, [f"{n + 1}A"]) for n, buyer in enumerate(buyers)]
    tx.commit()
    gateway.clear()
    mailbox.clear()

    cancel_trip(None, trip, reason="Bus broke down", now=datetime.now(UTC))
    tx.commit()
    event = db.session.scalar(select(Event).where(Event.name == "trip.cancelled"))
    events.deliver(event.id)
    tx.commit()

    for n, order in enumerate(orders):
        price = order.tickets[0].price
        (text,) = [m.text for m in gateway.messages_to(phone(20 + n))]
        assert f"Refund {price:,} RWF" in text
        emails = [m for m in mailbox.messages if m["To"] == f"rider{n}@example.rw"]
        assert len(emails) == 1
        assert f"Refund in total: {price:,} RWF" in mailbox.text_of(emails[0])
        assert "Bus broke down" in mailbox.text_of(emails[0])


# --- Failures ---------------------------------------------------------------------------------------


def test_an_outage_is_retried_then_given_up_and_retried_by_hand(trip, messaging, app, monkeypatch):
    gateway, _ = messaging
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_SECONDS", (0, 0))
    gateway.outage(500)
    paid_order(trip, factories.user(notify_email=False), ["4A"], [phone(9)])
    tx.commit()
    (record,) = records("ticket_issued", "sms")
    assert (record.status, record.attempts) == ("queued", 1)
    assert "500" in record.error

    jobs.send(record.id)  # the scheduled retries
    jobs.send(record.id)
    db.session.refresh(record)
    assert (record.status, record.attempts) == ("gave_up", 3)
    jobs.send(record.id)  # given up: no more tries on its own...
    db.session.refresh(record)
    assert record.attempts == 3 and gateway.messages == []

    gateway.recover()
    assert services.retry(record)  # ...until someone presses retry
    tx.commit()
    db.session.refresh(record)
    assert record.status == "sent" and record.error is None
    assert [m.to for m in gateway.messages] == [phone(9)]


def test_a_number_the_gateway_can_never_reach_fails_for_good(trip, messaging):
    gateway, _ = messaging
    gateway.reject_number(phone(10))
    paid_order(trip, factories.user(notify_email=False), ["4B"], [phone(10)])
    tx.commit()
    (record,) = records("ticket_issued", "sms")
    assert record.status == "failed" and record.next_attempt_at is None
    assert "UserInBlacklist" in record.error


def test_the_sweep_resends_what_was_recorded_but_never_sent(now, trip, messaging):
    gateway, _ = messaging
    services.queue(
        [
            services.Outgoing(
                kind="trip_delayed",
                source="lost",
                channel="sms",
                address=phone(11),
                context={
                    "company": "Volcano Express",
                    "delay_minutes": 20,
                    "tickets": [
                        {"code": "LOST0001", "seat": "1A", "origin": "A", "destination": "B", "boards": "Mon 12:00"}
                    ],
                },
            )
        ],
        now=now - timedelta(minutes=5),
    )
    db.session.flush()  # recorded, but the commit that would have sent it never came
    assert gateway.messages == []
    assert jobs.send_due() == 1
    tx.commit()
    assert "LOST0001" in gateway.messages_to(phone(11))[0].text


# --- Boarding reminders -----------------------------------------------------------------------------


def test_boarding_reminders_go_once_within_the_companys_lead_time(now, trip, messaging):
    gateway, _ = messaging
    early = paid_order(trip, factories.user(notify_email=False), ["5A"], [phone(12)])
    early.paid_at = now - timedelta(days=1)
    tx.commit()
    gateway.clear()
    trip.route.company.reminder_minutes = 60
    assert jobs.send_boarding_reminders() == 0  # five hours out
    trip.route.company.reminder_minutes = 360
    paid_order(trip, factories.user(notify_email=False), ["5B"], [phone(13)])  # bought after the lead began
    tx.commit()
    gateway.clear()
    jobs.send_boarding_reminders()
    jobs.send_boarding_reminders()
    tx.commit()
    (text,) = [m.text for m in gateway.messages_to(phone(12))]
    assert "RAB 100A" in text and "seat 5A" in text
    assert sms.segments(text) == 1
    assert gateway.messages_to(phone(13)) == []


# --- Payment failed ---------------------------------------------------------------------------------


def test_a_declined_payment_tells_the_buyer_and_not_the_passengers(trip, messaging):
    from app.payments.services import payments

    gateway, mailbox = messaging
    buyer = factories.user(email="payer@example.rw", phone=phone(30))
    order = booking.reserve(
        buyer,
        trip.id,
        seats=["6A"],
        origin=0,
        destination=len(trip.stops) - 1,
        passengers=[booking.Passenger(name="Friend", phone=phone(31))],
        now=datetime.now(UTC),
    )
    payment = payments.open_payment(buyer, order, "sandbox", now=datetime.now(UTC))
    payments.decide_sandbox(payment, "decline", now=datetime.now(UTC))
    tx.commit()

    (text,) = [m.text for m in gateway.messages_to(phone(30))]
    assert f"payment for order {order.code} did not go through" in text and "seats are held for now" in text
    assert gateway.messages_to(phone(31)) == []
    email = mailbox.wait_for("payer@example.rw", timeout=5)
    assert email["Subject"] == f"Payment not completed for order {order.code}"
    assert "Declined in the sandbox." in mailbox.text_of(email)


# --- Templates --------------------------------------------------------------------------------------

TICKETS = [
    {
        "id": n,
        "code": code,
        "seat": seat,
        "passenger": "Jean-Paul Habimana",
        "origin": "Kigali (Nyabugogo)",
        "destination": "Rubavu (Gisenyi)",
        "boards": "Tue 01 Dec 06:30",
        "price": 4500,
        "currency": "RWF",
        "refund": 4500,
    }
    for n, (code, seat) in enumerate([("K7Q2M9XA", "12"), ("P3W8N4ZB", "13"), ("H6T9R2YC", "14")])
]
TRIP = {
    "company": "Volcano Express Ltd",
    "company_phone": "+250788300300",
    "route": "Kigali – Rubavu",
    "trip_id": 1,
    "departs": "Tue 01 Dec 06:00",
    "plate": "RAD 123A",
    "name": "Jean-Paul",
    "order_code": "ABCD2345",
    "link": "/orders/ABCD2345",
}
EXTRA = {
    "payment_failed": {"amount": 13500, "currency": "RWF", "provider": "momo", "reason": "", "seats_kept": True},
    "trip_delayed": {"delay_minutes": 120, "reason": "Road works at Mukamira"},
    "trip_cancelled": {"reason": "Landslide", "refund_total": 13500, "currency": "RWF"},
    "bus_changed": {
        "old_plate": "RAB 456B",
        "moved": [{"passenger": "Jean-Paul Habimana", "old_seat": "12", "seat": "22"} for _ in range(3)],
    },
    "ticket_issued": {},
    "boarding_reminder": {},
    "ticket_no_show": {},
}


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("kind", list(EXTRA))
def test_every_trip_sms_fits_one_part_and_every_email_has_both_bodies(app, kind, count):
    from app.notifications import messages

    context = {**TRIP, **EXTRA[kind], "tickets": TICKETS[:count]}
    text = messages.render(kind, "sms", context).text
    assert sms.segments(text) == 1, f"{len(text)} characters: {text}"
    assert "{" not in text and "%(" not in text
    assert messages.render(kind, "inbox", context).text
    email = messages.render(kind, "email", {**context, "tickets": []} if kind == "ticket_issued" else context)
    assert email.subject and email.text and email.html.startswith("<!doctype html>")


def test_a_reason_that_ends_its_sentence_does_not_double_the_period(app):
    """The bell read "did not go through: Declined in the sandbox.."."""
    from app.notifications import messages

    context = {**TRIP, **EXTRA["payment_failed"], "reason": "Declined in the sandbox.", "tickets": TICKETS[:1]}
    text = messages.render("payment_failed", "inbox", context).text
    assert "did not go through: Declined in the sandbox." in text and ".." not in text
