"""Selling seats. Every sale locks the trip row first (bookings and swaps on one trip take turns),
then inserts seat-leg rows whose unique constraint refuses any double sale."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.booking.models import Order, SeatLeg, Ticket
from app.booking.rules import MAX_SEATS_PER_ORDER
from app.core.errors import DomainError, InvalidInput
from app.extensions import db
from app.fleet import queries, rules
from app.fleet.services.network import fare_for

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread at a counter


class SeatUnavailable(DomainError):
    code = "seat_unavailable"
    message = "That seat was just taken. Please choose another."


class TripNotOnSale(DomainError):
    code = "trip_not_on_sale"
    message = "Seats on this trip are not on sale."


@dataclass(frozen=True)
class Passenger:
    name: str
    phone: str | None = None


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


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
    """Sell ``seats`` from stop position ``origin`` to ``destination``: all of them or none."""
    if not seats or len(seats) > MAX_SEATS_PER_ORDER:
        raise InvalidInput(fields={"seats": [f"Choose 1 to {MAX_SEATS_PER_ORDER} seats."]})
    if len(set(seats)) != len(seats) or len(passengers) != len(seats):
        raise InvalidInput(fields={"seats": ["Each seat once, with one passenger per seat."]})
    trip = queries.lock_trip(trip_id)
    if trip.status not in rules.ON_SALE or trip.bus is None:
        raise TripNotOnSale()
    if not (0 <= origin < destination < len(trip.stops)):
        raise InvalidInput(fields={"destination": ["The trip does not go from that stop to that one."]})
    layout = {seat.label: seat for seat in trip.bus.seats}
    unknown = [label for label in seats if label not in layout]
    if unknown:
        raise SeatUnavailable(f"Bus {trip.bus.plate} has no seat {', '.join(unknown)}.")
    origin_stop, destination_stop = trip.stops[origin], trip.stops[destination]
    company = trip.route.company
    order = Order(
        code=new_code(),
        company_id=trip.company_id,
        trip_id=trip.id,
        user_id=getattr(actor, "id", None),
        status="paid" if paid else "pending",
        total=0,
        currency=company.currency,
        channel=channel,
        paid_at=now if paid else None,
    )
    db.session.add(order)
    for label, passenger in zip(seats, passengers, strict=True):
        seat_class = layout[label].seat_class
        price = fare_for(trip.route, origin_stop.station_id, destination_stop.station_id, seat_class)
        ticket = Ticket(
            code=new_code(),
            order=order,
            trip_id=trip.id,
            seat_label=label,
            seat_class=seat_class,
            origin_position=origin,
            destination_position=destination,
            origin_station_id=origin_stop.station_id,
            destination_station_id=destination_stop.station_id,
            passenger_name=passenger.name,
            passenger_phone=passenger.phone,
            price=price,
            currency=company.currency,
            status="paid" if paid else "pending",
        )
        order.total += price
        db.session.add(ticket)
    try:
        with db.session.begin_nested():
            db.session.flush()
            db.session.add_all(
                SeatLeg(trip_id=trip.id, seat_label=t.seat_label, leg=leg, ticket_id=t.id)
                for t in order.tickets
                for leg in t.legs
            )
            db.session.flush()
    except IntegrityError as error:
        taken = _taken(trip.id, seats, range(origin, destination))
        raise SeatUnavailable(
            f"Seat {', '.join(taken) or ', '.join(seats)} is no longer free for this journey."
        ) from error
    return order


def _taken(trip_id: int, seats: list[str], legs: range) -> list[str]:
    return sorted(
        set(
            db.session.scalars(
                select(SeatLeg.seat_label).where(
                    SeatLeg.trip_id == trip_id, SeatLeg.seat_label.in_(seats), SeatLeg.leg.in_(list(legs))
                )
            )
        )
    )
