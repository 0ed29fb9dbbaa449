"""The seat-leg inventory. Every sale, hold and release takes the trip's row lock first (sales,
holds and swaps on one trip take turns), clears what has expired, then writes seat-leg rows whose
unique constraint refuses any double sale, whatever code path tries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.booking.errors import SeatUnavailable, TripNotOnSale
from app.booking.models import Hold, Order, SeatLeg, Ticket
from app.core.errors import InvalidInput
from app.extensions import db
from app.fleet import queries, rules
from app.fleet.models import BusSeat, Trip


def lock_for_sale(trip_id: int, now: datetime) -> Trip:
    """The trip, locked, with expired holds and unpaid orders released; refused if not on sale."""
    trip = queries.lock_trip(trip_id)
    release_expired(trip, now)
    if trip.status not in rules.ON_SALE or trip.bus is None:
        raise TripNotOnSale()
    return trip


def check_leg_range(trip: Trip, origin: int, destination: int) -> None:
    if not (0 <= origin < destination < len(trip.stops)):
        raise InvalidInput(fields={"destination": [_("This trip does not go from that stop to that one.")]})


def check_not_left(trip: Trip, origin: int, now: datetime) -> None:
    if trip.time_at(origin) <= now:
        raise TripNotOnSale("This bus has already left that stop.")


def release_expired(trip: Trip, now: datetime) -> None:
    """Give back the seats of holds whose time ran out and of orders left unpaid. Called under the
    trip's lock before every sale; the periodic job does the same for trips nobody is buying."""
    holds = list(
        db.session.scalars(
            select(Hold.id).where(Hold.trip_id == trip.id, Hold.status == "active", Hold.expires_at <= now)
        )
    )
    if holds:
        db.session.execute(delete(SeatLeg).where(SeatLeg.hold_id.in_(holds)))
        db.session.execute(update(Hold).where(Hold.id.in_(holds)).values(status="expired"))
    orders = list(
        db.session.scalars(
            select(Order.id).where(Order.trip_id == trip.id, Order.status == "pending", Order.expires_at <= now)
        )
    )
    if orders:
        tickets = select(Ticket.id).where(Ticket.order_id.in_(orders))
        db.session.execute(delete(SeatLeg).where(SeatLeg.ticket_id.in_(tickets)))
        db.session.execute(
            update(Ticket).where(Ticket.order_id.in_(orders), Ticket.status == "pending").values(status="expired")
        )
        db.session.execute(update(Order).where(Order.id.in_(orders)).values(status="expired"))


def check_seats(trip: Trip, seats: list[str]) -> dict[str, str]:
    """Seat label → class for ``seats`` on the trip's bus; refuses labels this bus does not have."""
    classes = dict(
        db.session.execute(
            select(BusSeat.label, BusSeat.seat_class).where(BusSeat.bus_id == trip.bus_id, BusSeat.label.in_(seats))
        ).all()
    )
    unknown = [label for label in seats if label not in classes]
    if unknown:
        message = _("Bus %(plate)s has no seat %(seats)s.", plate=trip.bus.plate, seats=", ".join(unknown))
        raise InvalidInput(message, fields={"seats": [message]})
    return classes


@contextmanager
def claiming(trip: Trip, seats: list[str], legs: range) -> Iterator[None]:
    """Whatever is written inside is kept only if none of its seat-legs was taken meanwhile; then
    the seats are named in the refusal and nothing of the attempt stays behind."""
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as error:
        if "seat_legs" not in str(error.orig):
            raise
        taken = taken_seats(trip.id, seats, legs)
        raise SeatUnavailable(
            _(
                "Seat %(seats)s is no longer free for this journey. Please choose another.",
                seats=", ".join(taken or seats),
            )
        ) from error


def taken_seats(trip_id: int, seats: list[str], legs: range) -> list[str]:
    query = select(SeatLeg.seat_label).where(
        SeatLeg.trip_id == trip_id, SeatLeg.seat_label.in_(seats), SeatLeg.leg.in_(list(legs))
    )
    return sorted(set(db.session.scalars(query)))


def seat_states(
    trip: Trip, origin: int, destination: int, *, now: datetime, viewer_id: int | None, viewer_key: str | None = None
) -> dict:
    """Label → "taken" (sold or being paid), "held" (kept by someone else) or "mine" (kept by the
    viewer: a user by id, a guest by key) for seats used on any leg between the two stops. Expired
    holds count as free."""
    rows = db.session.execute(
        select(SeatLeg.seat_label, Hold.user_id, Hold.guest_key, Hold.expires_at)
        .outerjoin(Hold, Hold.id == SeatLeg.hold_id)
        .where(SeatLeg.trip_id == trip.id, SeatLeg.leg >= origin, SeatLeg.leg < destination)
    )
    states: dict[str, str] = {}
    for label, holder, key, expires_at in rows:
        if expires_at is None:
            states[label] = "taken"
        elif expires_at > now and states.get(label) != "taken":
            mine = (holder is not None and holder == viewer_id) or (key is not None and key == viewer_key)
            states[label] = "mine" if mine else "held"
    return states
