"""Holds, checkout, payment outcomes and cancellation on the seat-leg inventory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.booking.errors import (
    HoldExpired,
    HoldLimitReached,
    OrderNotPayable,
    SeatUnavailable,
    TicketNotCancellable,
    TripNotOnSale,
)
from app.booking.models import Hold, Order, SeatLeg, Ticket
from app.booking.services import holds, orders, tickets
from app.booking.services.inventory import seat_states
from app.core.errors import InvalidInput, NotFound
from app.core.events import Event
from app.extensions import db
from app.fleet.models import Trip
from tests import factories


@pytest.fixture
def trip(now) -> Trip:
    """Kigali (0) → Muhanga (1) → Huye (2), 2,000 a leg, 12 seats (1A..3D), leaving in two days."""
    company = factories.company()
    return factories.trip(
        factories.route(company, stops=3, leg_fare=2000),
        bus_=factories.bus(company, rows=3, vip_rows=1),
        departs_at=now + timedelta(days=2),
    )


def hold(trip, seats, origin=0, destination=2, user=None, *, now):
    return holds.create_hold(
        user or factories.user(), trip.id, seats=seats, origin=origin, destination=destination, now=now
    )


def people(*names):
    return [orders.Passenger(name, "0788 123 456") for name in names]


def legs_of(trip) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.execute(
        select(SeatLeg.seat_label, SeatLeg.leg, SeatLeg.hold_id.is_not(None)).where(SeatLeg.trip_id == trip.id)
    )
    return sorted(rows.all())


# --- Holds -----------------------------------------------------------------------------------


def test_a_hold_keeps_its_seats_on_its_legs_only(now, trip):
    kept = hold(trip, ["3A", "3B"], origin=0, destination=1, now=now)
    assert kept.status == "active" and kept.expires_at == now + timedelta(minutes=10)
    assert legs_of(trip) == [("3A", 0, True), ("3B", 0, True)]

    # Sold (or held) Kigali → Muhanga is free Muhanga → Huye.
    later = hold(trip, ["3A"], origin=1, destination=2, now=now)
    assert later.status == "active"
    with pytest.raises(SeatUnavailable, match="Seat 3B is no longer free"):
        hold(trip, ["3C", "3B"], origin=0, destination=2, now=now)
    assert ("3C", 0, True) not in legs_of(trip)  # all or nothing
    assert db.session.scalar(select(func.count(Hold.id))) == 2  # and no hold row left behind


def test_a_refused_direct_sale_leaves_no_order_behind(trip):
    factories.order(trip, ["2B"])
    with pytest.raises(SeatUnavailable, match="Seat 2B"):
        factories.order(trip, ["2A", "2B"])
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert db.session.scalar(select(func.count(Ticket.id))) == 1


def test_the_seat_map_tells_mine_held_taken_and_forgets_expired_holds(now, trip):
    buyer = factories.user()
    hold(trip, ["1A"], user=buyer, now=now)
    hold(trip, ["1B"], now=now)
    factories.order(trip, ["2A"])
    states = seat_states(trip, 0, 2, now=now, viewer_id=buyer.id)
    assert states == {"1A": "mine", "1B": "held", "2A": "taken"}
    later = now + timedelta(minutes=11)
    assert seat_states(trip, 0, 2, now=later, viewer_id=buyer.id) == {"2A": "taken"}


def test_an_expired_hold_frees_its_seats_for_the_next_buyer(now, trip):
    first = hold(trip, ["2B"], now=now)
    later = now + timedelta(minutes=10, seconds=1)
    second = hold(trip, ["2B"], now=later)
    db.session.expire_all()
    assert db.session.get(Hold, first.id).status == "expired"
    assert second.status == "active"


def test_giving_up_releases_at_once_and_only_the_owner_can(now, trip):
    buyer = factories.user()
    kept = hold(trip, ["2C", "2D"], user=buyer, now=now)
    with pytest.raises(NotFound):
        holds.release_hold(factories.user(), kept.code, now=now)
    holds.release_hold(buyer, kept.code, now=now)
    assert kept.status == "released" and legs_of(trip) == []
    assert hold(trip, ["2C"], now=now).status == "active"


@pytest.mark.parametrize(
    ("seats", "origin", "destination", "error", "message"),
    [
        (["1A"] * 2, 0, 2, InvalidInput, "Each seat once."),
        ([f"{r}{c}" for r in "123" for c in "AB"] + ["3C"], 0, 2, InvalidInput, "Choose 1 to 6 seats."),
        ([], 0, 2, InvalidInput, "Choose 1 to 6 seats."),
        (["9Z"], 0, 2, InvalidInput, "has no seat 9Z"),
        (["1A"], 2, 2, InvalidInput, "Some fields need attention."),
        (["1A"], 2, 1, InvalidInput, "Some fields need attention."),
    ],
)
def test_bad_requests_are_refused_and_keep_nothing(now, trip, seats, origin, destination, error, message):
    with pytest.raises(error, match=message) as raised:
        hold(trip, seats, origin=origin, destination=destination, now=now)
    if origin >= destination:
        assert raised.value.fields == {"destination": ["This trip does not go from that stop to that one."]}
    assert db.session.scalar(select(func.count(Hold.id))) == 0 and legs_of(trip) == []


def test_a_trip_not_on_sale_or_already_gone_is_refused(now, trip):
    with pytest.raises(TripNotOnSale, match="already left"):
        hold(trip, ["1A"], now=trip.departs_at + timedelta(minutes=1))
    trip.status = "cancelled"
    with pytest.raises(TripNotOnSale):
        hold(trip, ["1A"], now=now)


def test_one_person_keeps_at_most_six_seats_in_two_holds(now, trip):
    buyer = factories.user()
    hold(trip, ["1A", "1B", "1C", "1D"], user=buyer, now=now)
    with pytest.raises(HoldLimitReached, match="keeping 4 seats already"):
        hold(trip, ["2A", "2B", "2C"], user=buyer, now=now)
    hold(trip, ["2A", "2B"], user=buyer, now=now)
    with pytest.raises(HoldLimitReached, match="2 bookings waiting"):
        hold(trip, ["3A"], user=buyer, now=now)
    assert hold(trip, ["3A"], user=buyer, now=now + timedelta(minutes=11)).status == "active"  # the others expired


def test_orders_waiting_for_payment_count_against_the_limits_as_holds(now, trip):
    buyer = factories.user()
    for seats in (["1A", "1B"], ["2A"]):
        orders.checkout(buyer, hold(trip, seats, user=buyer, now=now).code, people(*seats), channel="web", now=now)
    with pytest.raises(HoldLimitReached, match="2 bookings waiting"):
        hold(trip, ["3A"], user=buyer, now=now)
    with pytest.raises(HoldLimitReached, match="2 bookings waiting"):
        orders.reserve(buyer, trip.id, seats=["3A"], origin=0, destination=2, passengers=people("A B"), now=now)
    paid = db.session.scalar(select(Order).where(Order.user_id == buyer.id).order_by(Order.id).limit(1))
    orders.mark_paid(paid, now=now)
    assert hold(trip, ["3A"], user=buyer, now=now).status == "active"  # a paid order keeps nothing out of sale


def test_a_one_call_order_keeps_its_seats_for_the_hold_time(now, trip):
    buyer = factories.user()
    order = orders.reserve(
        buyer, trip.id, seats=["1A", "2A"], origin=1, destination=2, passengers=people("A B", "C D"), now=now
    )
    assert order.status == "pending" and order.expires_at == now + timedelta(minutes=10) and order.total == 5000
    assert legs_of(trip) == [("1A", 1, False), ("2A", 1, False)]
    with pytest.raises(SeatUnavailable, match="Seat 2A"):
        orders.reserve(
            factories.user(), trip.id, seats=["2A"], origin=0, destination=2, passengers=people("E F"), now=now
        )
    later = now + timedelta(minutes=10)
    again = orders.reserve(
        factories.user(), trip.id, seats=["2A"], origin=0, destination=2, passengers=people("E F"), now=later
    )
    assert again.status == "pending" and db.session.get(Order, order.id).status == "expired"
    with pytest.raises(TripNotOnSale, match="already left"):
        orders.reserve(
            buyer, trip.id, seats=["3A"], origin=0, destination=2, passengers=people("G H"), now=now + timedelta(days=3)
        )


# --- Checkout and payment ------------------------------------------------------------------------


def test_checkout_prices_from_the_fare_table_and_moves_the_seats_to_tickets(now, trip):
    buyer = factories.user()
    kept = hold(trip, ["1A", "3D"], user=buyer, now=now)  # row 1 is VIP: +50 %
    order = orders.checkout(buyer, kept.code, people("Aline Uwase", "Jean Mugabo"), channel="web", now=now)
    assert order.status == "pending" and order.expires_at == kept.expires_at
    assert [(t.seat_label, t.seat_class, t.price) for t in order.tickets] == [
        ("1A", "vip", 6000),
        ("3D", "standard", 4000),
    ]
    assert order.total == 10000 and order.tickets[0].passenger_phone == "+250788123456"
    assert order.tickets[0].refund_policy == [[24, 90], [2, 50]]
    assert kept.status == "converted" and all(not is_hold for *_, is_hold in legs_of(trip))
    assert orders.checkout(buyer, kept.code, people("A B", "C D"), channel="web", now=now) is order  # resubmitted


def test_checkout_needs_a_name_per_seat_and_a_valid_phone(now, trip):
    buyer = factories.user()
    kept = hold(trip, ["1A", "1B"], user=buyer, now=now)
    with pytest.raises(InvalidInput) as raised:
        orders.checkout(
            buyer, kept.code, [orders.Passenger("", None), orders.Passenger("Jean", "12")], channel="web", now=now
        )
    assert set(raised.value.fields) == {"name-0", "phone-1"}
    with pytest.raises(InvalidInput):
        orders.checkout(buyer, kept.code, people("Only One"), channel="web", now=now)
    assert db.session.scalar(select(func.count(Order.id))) == 0 and kept.status == "active"


def test_an_expired_or_foreign_hold_cannot_be_checked_out(now, trip):
    buyer = factories.user()
    kept = hold(trip, ["1A"], user=buyer, now=now)
    with pytest.raises(NotFound):
        orders.checkout(factories.user(), kept.code, people("Aline"), channel="web", now=now)
    with pytest.raises(HoldExpired):
        orders.checkout(buyer, kept.code, people("Aline"), channel="web", now=now + timedelta(minutes=10))
    assert legs_of(trip) == []


def test_paying_issues_the_tickets_once_and_announces_them(now, trip):
    buyer = factories.user()
    order = orders.checkout(
        buyer, hold(trip, ["2A"], user=buyer, now=now).code, people("Aline"), channel="web", now=now
    )
    orders.mark_paid(order, now=now + timedelta(minutes=1))
    orders.mark_paid(order, now=now + timedelta(minutes=2))
    assert order.status == "paid" and order.tickets[0].status == "paid"
    assert db.session.scalar(select(func.count(Event.id)).where(Event.name == "tickets.issued")) == 1


def test_an_unpaid_order_gives_its_seats_back_when_time_runs_out(now, trip):
    buyer = factories.user()
    order = orders.checkout(
        buyer, hold(trip, ["2A"], user=buyer, now=now).code, people("Aline"), channel="web", now=now
    )
    later = now + timedelta(minutes=10)
    with pytest.raises(OrderNotPayable, match="ran out"):
        orders.mark_paid(order, now=later)
    assert hold(trip, ["2A"], now=later).status == "active"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "expired"
    assert db.session.get(Ticket, order.tickets[0].id).status == "expired"


def test_a_declined_payment_frees_the_seats(now, trip):
    buyer = factories.user()
    order = orders.checkout(
        buyer, hold(trip, ["2A"], user=buyer, now=now).code, people("Aline"), channel="web", now=now
    )
    orders.mark_failed(order, now=now)
    assert order.status == "failed" and legs_of(trip) == []
    with pytest.raises(OrderNotPayable):
        orders.mark_paid(order, now=now)


def test_the_periodic_sweep_releases_what_nobody_touched(now, trip):
    buyer = factories.user()
    hold(trip, ["1A"], now=now)
    orders.checkout(buyer, hold(trip, ["1B"], user=buyer, now=now).code, people("Aline"), channel="web", now=now)
    assert holds.expire_all(now + timedelta(minutes=5)) == 0 and len(legs_of(trip)) == 4
    assert holds.expire_all(now + timedelta(minutes=10)) == 1
    assert legs_of(trip) == []


# --- Cancellation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_before", "refund"),
    [(48, 3600), (24, 3600), (23.9, 2000), (2, 2000), (1.9, 0)],
)
def test_cancelling_refunds_by_the_terms_stored_at_purchase(trip, hours_before, refund):
    order = factories.order(trip, ["3A"], origin=0, destination=2)  # 4,000
    trip.route.company.refund_policy = [[1, 100]]  # changing the terms later changes nothing
    ticket = order.tickets[0]
    tickets.cancel_ticket(ticket, now=trip.departs_at - timedelta(hours=hours_before))
    assert ticket.status == "cancelled" and ticket.refund_amount == refund
    assert order.status == "cancelled" and legs_of(trip) == []
    event = db.session.scalar(select(Event).where(Event.name == "ticket.cancelled"))
    assert event.payload["refund_amount"] == refund


def test_a_ticket_cannot_be_cancelled_twice_or_after_the_bus_left(now, trip):
    order = factories.order(trip, ["3A", "3B"])
    first, second = order.tickets
    tickets.cancel_ticket(first, now=now)
    assert order.status == "paid"  # one of two tickets is still valid
    with pytest.raises(TicketNotCancellable):
        tickets.cancel_ticket(first, now=now)
    with pytest.raises(TicketNotCancellable, match="has left"):
        tickets.cancel_ticket(second, now=trip.departs_at)
