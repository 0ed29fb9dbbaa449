"""Orders and tickets: a checkout turns a hold into an order of tickets priced from the fare table;
paying issues them. Direct sales (console, station counter) skip the hold."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.rules import normalize_phone
from app.booking.errors import HoldExpired, OrderNotPayable, SeatUnavailable
from app.booking.models import Order, SeatLeg, Ticket
from app.booking.services import inventory
from app.booking.services.holds import check_allowance, hold_of, is_guest, validate_seat_choice
from app.core import events
from app.core.errors import InvalidInput
from app.extensions import db
from app.fleet import queries, rules
from app.fleet.models import Trip
from app.fleet.services.network import fare_for

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread at a counter


@dataclass(frozen=True)
class Passenger:
    name: str
    phone: str | None = None


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def clean_passengers(passengers: list[Passenger], count: int) -> list[Passenger]:
    """Names and phones as typed; field errors name the seat they belong to."""
    if len(passengers) != count:
        raise InvalidInput(fields={"passengers": [_("Give a name for each of the %(count)s seats.", count=count)]})
    errors: dict[str, list[str]] = {}
    cleaned = []
    for index, passenger in enumerate(passengers):
        name = " ".join((passenger.name or "").split())
        if not 2 <= len(name) <= 120:
            errors[f"name-{index}"] = [_("Enter the passenger's name as on their ID.")]
        phone = None
        if passenger.phone and passenger.phone.strip():
            try:
                phone = normalize_phone(passenger.phone)
            except ValueError as error:
                errors[f"phone-{index}"] = [str(error)]
        cleaned.append(Passenger(name, phone))
    if errors:
        raise InvalidInput(fields=errors)
    return cleaned


@dataclass(frozen=True)
class Quote:
    """What seats cost from one stop of a trip to another, as the server charges them: one line
    per seat (label, class, price) and the total, in the operator's currency."""

    lines: tuple[tuple[str, str, int], ...]
    total: int
    currency: str

    def price_of(self, label: str) -> int:
        return next(price for seat, _, price in self.lines if seat == label)

    def class_of(self, label: str) -> str:
        return next(seat_class for seat, seat_class, _ in self.lines if seat == label)


def quote(trip: Trip, seats: list[str], origin: int, destination: int) -> Quote:
    """Price ``seats`` from stop position ``origin`` to ``destination`` from the fare table: what
    the checkout page shows and, read again when the order is placed, exactly what it charges."""
    classes = inventory.check_seats(trip, seats)
    origin_station, destination_station = trip.stops[origin].station_id, trip.stops[destination].station_id
    prices = {cls: fare_for(trip.route, origin_station, destination_station, cls) for cls in set(classes.values())}
    lines = tuple((label, classes[label], prices[classes[label]]) for label in seats)
    return Quote(lines=lines, total=sum(price for *_, price in lines), currency=trip.route.company.currency)


def _new_order(
    trip: Trip, actor, seats, origin: int, destination: int, passengers, *, channel: str, paid: bool, now, expires_at
) -> Order:
    """An order with one ticket per seat, priced by :func:`quote` at this moment, with today's
    refund terms. Prices are read before anything is written, so the order is inserted once. An
    order that costs nothing (the operator made the leg free) is issued at once: there is nothing
    to wait for."""
    priced = quote(trip, seats, origin, destination)
    paid = paid or priced.total == 0
    company = trip.route.company
    origin_station, destination_station = trip.stops[origin].station_id, trip.stops[destination].station_id
    order = Order(
        code=new_code(),
        company_id=trip.company_id,
        trip_id=trip.id,
        user_id=getattr(actor, "id", None),
        status="paid" if paid else "pending",
        total=priced.total,
        currency=priced.currency,
        channel=channel,
        paid_at=now if paid else None,
        expires_at=None if paid else expires_at,
        tickets=[],  # a loaded collection keeps the new tickets in memory until the answer is sent
    )
    db.session.add(order)
    for label, passenger in zip(seats, passengers, strict=True):
        order.tickets.append(
            Ticket(
                code=new_code(),
                trip=trip,
                seat_label=label,
                seat_class=priced.class_of(label),
                origin_position=origin,
                destination_position=destination,
                origin_station_id=origin_station,
                destination_station_id=destination_station,
                passenger_name=passenger.name,
                passenger_phone=passenger.phone,
                price=priced.price_of(label),
                currency=company.currency,
                status=order.status,
                refund_policy=[list(tier) for tier in company.refund_policy],
            )
        )
    db.session.flush()
    return order


def book_seats(
    actor,
    trip_id: int,
    *,
    seats: list[str],
    origin: int,
    destination: int,
    passengers: list[Passenger],
    channel: str,
    paid: bool,
    now: datetime,
) -> Order:
    """Sell ``seats`` from stop position ``origin`` to ``destination`` at once: all or none. An
    unpaid order keeps its seats for the company's hold time, as a hold would."""
    seats = validate_seat_choice(seats)
    if len(passengers) != len(seats):
        raise InvalidInput(fields={"seats": [_("Each seat once, with one passenger per seat.")]})
    trip = inventory.lock_for_sale(trip_id, now)
    inventory.check_leg_range(trip, origin, destination)
    return _sell(trip, actor, seats, origin, destination, passengers, channel=channel, paid=paid, now=now)


def reserve(
    user, trip_id: int, *, seats: list[str], origin: int, destination: int, passengers: list[Passenger], now: datetime
) -> Order:
    """Seats straight to an order waiting for payment, in one call, for partners' and devices'
    bookings: counted against the buyer's limits as a hold is, and released as a hold is if unpaid."""
    seats = validate_seat_choice(seats)
    passengers = clean_passengers(passengers, len(seats))
    check_allowance(user, len(seats), now)
    trip = inventory.lock_for_sale(trip_id, now)
    inventory.check_leg_range(trip, origin, destination)
    inventory.check_not_left(trip, origin, now)
    return _sell(trip, user, seats, origin, destination, passengers, channel="api", paid=False, now=now)


def _sell(trip: Trip, actor, seats, origin: int, destination: int, passengers, *, channel, paid, now) -> Order:
    legs = range(origin, destination)
    expires_at = None if paid else now + timedelta(minutes=trip.route.company.hold_minutes)
    with inventory.claiming(trip, seats, legs):
        order = _new_order(
            trip,
            actor,
            seats,
            origin,
            destination,
            passengers,
            channel=channel,
            paid=paid,
            now=now,
            expires_at=expires_at,
        )
        db.session.add_all(
            SeatLeg(trip_id=trip.id, seat_label=t.seat_label, leg=leg, ticket_id=t.id)
            for t in order.tickets
            for leg in legs
        )
    if order.status == "paid":
        _announce_paid(order)
    return order


def checkout(user, hold_code: str, passengers: list[Passenger], *, channel: str, now: datetime, contact=None) -> Order:
    """Turn the buyer's hold into an order waiting for payment, priced now (:func:`quote`). The
    seats pass from the hold to the tickets without ever being free; the order keeps the hold's
    deadline. A guest's order keeps their ``contact`` (:class:`~app.booking.services.guests.Contact`)."""
    if is_guest(user) and contact is None:
        raise InvalidInput(fields={"contact_phone": ["Give a phone number for the tickets."]})
    hold = hold_of(user, hold_code)
    passengers = clean_passengers(passengers, len(hold.seats))
    trip = queries.lock_trip(hold.trip_id)
    inventory.release_expired(trip, now)
    db.session.refresh(hold)
    if hold.status == "converted" and hold.order is not None:
        return hold.order  # submitted twice: the first checkout stands
    if hold.status != "active":
        raise HoldExpired()
    order = _new_order(
        trip,
        user,
        hold.seats,
        hold.origin_position,
        hold.destination_position,
        passengers,
        channel=channel,
        paid=False,
        now=now,
        expires_at=hold.expires_at,
    )
    for ticket in order.tickets:
        db.session.execute(
            update(SeatLeg)
            .where(SeatLeg.hold_id == hold.id, SeatLeg.seat_label == ticket.seat_label)
            .values(ticket_id=ticket.id, hold_id=None)
        )
    hold.status, hold.order = "converted", order
    if is_guest(user):
        from app.booking.services.guests import keep_contact

        keep_contact(order, user.key, contact)
    db.session.flush()
    if order.status == "paid":  # it cost nothing
        _announce_paid(order)
    return order


def mark_paid(order: Order, *, now: datetime) -> Order:
    """The payment settled: the tickets are issued. Paying twice changes nothing."""
    _keep_trip(order, queries.lock_trip(order.trip_id))
    if order.status == "paid":
        return order
    if order.status != "pending" or (order.expires_at is not None and order.expires_at <= now):
        raise OrderNotPayable(_("Time to pay for this booking ran out, so its seats were released."))
    order.status, order.paid_at = "paid", now
    for ticket in order.tickets:
        ticket.status = "paid"
    db.session.flush()
    _announce_paid(order)
    return order


def accept_payment(order: Order, *, now: datetime) -> bool:
    """Money for ``order`` has arrived: issue its tickets if it can still have them. An order whose
    time ran out (or whose payment was declined) gets its seats back when they are still free on a
    trip still on sale; otherwise False, and the payments side gives the money back."""
    trip = queries.lock_trip(order.trip_id)
    _keep_trip(order, trip)
    if order.status == "pending" and (order.expires_at is None or order.expires_at > now):
        mark_paid(order, now=now)
        return True
    if order.status not in ("pending", "expired", "failed") or trip.status not in rules.ON_SALE:
        return False
    if trip.bus_id is None or trip.time_at(order.tickets[0].origin_position) <= now:
        return False
    inventory.release_expired(trip, now)
    db.session.refresh(order)
    tickets = order.tickets
    try:
        with inventory.claiming(trip, [t.seat_label for t in tickets], tickets[0].legs):
            db.session.add_all(
                SeatLeg(trip_id=trip.id, seat_label=t.seat_label, leg=leg, ticket_id=t.id)
                for t in tickets
                for leg in t.legs
            )
    except SeatUnavailable:
        return False
    order.status, order.expires_at = "pending", None
    mark_paid(order, now=now)
    return True


def mark_failed(order: Order, *, now: datetime) -> Order:
    """The payment was declined: the order fails and its seats are free again."""
    _keep_trip(order, queries.lock_trip(order.trip_id))
    if order.status != "pending":
        return order
    ticket_ids = [t.id for t in order.tickets]
    db.session.execute(SeatLeg.__table__.delete().where(SeatLeg.ticket_id.in_(ticket_ids)))
    order.status = "failed"
    for ticket in order.tickets:
        ticket.status = "expired"
    db.session.flush()
    events.emit("order.failed", {"order_id": order.id}, company_id=order.company_id, trip_id=order.trip_id)
    return order


def _keep_trip(order: Order, trip: Trip) -> None:
    """Reread the order under the trip's lock and hand its tickets the locked trip, so that nothing
    after this loads the trip again."""
    db.session.refresh(order)
    for ticket in order.tickets:
        set_committed_value(ticket, "trip", trip)


def _announce_paid(order: Order) -> None:
    events.emit(
        "tickets.issued",
        {"order_id": order.id, "tickets": [t.id for t in order.tickets]},
        company_id=order.company_id,
        trip_id=order.trip_id,
    )
