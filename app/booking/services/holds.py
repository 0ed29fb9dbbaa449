"""Holds: seats kept for one buyer for a few minutes while they fill in names and pay.

A hold is a committed row that owns seat-leg rows and carries an expiry; nothing stays locked while
the buyer types. It ends released (the buyer gave up), expired (time ran out: lazily under the
trip's lock before any sale, and by a periodic job), or converted (it became an order).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from app.accounts.models import User
from app.booking.errors import HoldLimitReached
from app.booking.models import Hold, Order, SeatLeg, Ticket
from app.booking.rules import MAX_ACTIVE_HOLDS_PER_USER, MAX_HELD_SEATS_PER_USER, MAX_SEATS_PER_ORDER
from app.booking.services import inventory
from app.core.errors import InvalidInput, NotFound
from app.extensions import db
from app.fleet import queries


@dataclass(frozen=True)
class Guest:
    """A buyer without an account: the random key kept in their browser's session. Their holds
    and orders carry the key, so they are theirs exactly as a user's are the user's."""

    key: str
    id = None  # not an account: orders and payments name no user
    phone = None
    name = ""


def is_guest(buyer) -> bool:
    return isinstance(buyer, Guest)


def owned_by(model, buyer):
    """The SQL condition "``model`` (a hold or an order) belongs to ``buyer``"."""
    return model.guest_key == buyer.key if is_guest(buyer) else model.user_id == buyer.id


def validate_seat_choice(seats: list[str]) -> list[str]:
    seats = [label.strip().upper() for label in seats if label and label.strip()]
    if not seats or len(seats) > MAX_SEATS_PER_ORDER:
        message = _("Choose 1 to %(most)s seats.", most=MAX_SEATS_PER_ORDER)
        raise InvalidInput(message, fields={"seats": [message]})
    if len(set(seats)) != len(seats):
        raise InvalidInput(_("Each seat once."), fields={"seats": [_("Each seat once.")]})
    return seats


def create_hold(
    user: User | Guest, trip_id: int, *, seats: list[str], origin: int, destination: int, now: datetime
) -> Hold:
    """Keep ``seats`` from stop ``origin`` to ``destination`` for ``user``: all of them or none."""
    seats = validate_seat_choice(seats)
    check_allowance(user, len(seats), now)
    trip = inventory.lock_for_sale(trip_id, now)
    inventory.check_leg_range(trip, origin, destination)
    inventory.check_not_left(trip, origin, now)
    inventory.check_seats(trip, seats)
    company = trip.route.company
    hold = Hold(
        code=secrets.token_urlsafe(12),
        trip_id=trip.id,
        user_id=user.id,
        guest_key=user.key if is_guest(user) else None,
        origin_position=origin,
        destination_position=destination,
        seats=seats,
        status="active",
        expires_at=now + timedelta(minutes=company.hold_minutes),
    )
    with inventory.claiming(trip, seats, hold.legs):
        db.session.add(hold)
        db.session.flush()
        db.session.add_all(
            SeatLeg(trip_id=trip.id, seat_label=seat, leg=leg, hold_id=hold.id) for seat in seats for leg in hold.legs
        )
    return hold


def check_allowance(user: User | Guest, wanted: int, now: datetime) -> None:
    """Refuse a buyer who already keeps too many seats out of sale, held or waiting for payment.

    Takes the user's row lock before any trip's (one order of locks everywhere, so no deadlock),
    so two tabs of one user cannot both slip under the limits; a guest's key takes a transaction
    lock of its own on PostgreSQL."""
    if not is_guest(user):
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    elif db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"guest:{user.key}"))))
    held = list(
        db.session.scalars(
            select(Hold.seats).where(owned_by(Hold, user), Hold.status == "active", Hold.expires_at > now)
        )
    )
    unpaid = db.session.execute(
        select(Order.id, func.count(Ticket.id))
        .join(Ticket, Ticket.order_id == Order.id)
        .where(owned_by(Order, user), Order.status == "pending", Order.expires_at > now)
        .group_by(Order.id)
    ).all()
    waiting = len(held) + len(unpaid)
    if waiting >= MAX_ACTIVE_HOLDS_PER_USER:
        raise HoldLimitReached(
            _("You already have %(count)s bookings waiting for payment. Finish or give up one first.", count=waiting)
        )
    kept = sum(len(seats) for seats in held) + sum(count for _, count in unpaid)
    if kept + wanted > MAX_HELD_SEATS_PER_USER:
        raise HoldLimitReached(
            _(
                "You are keeping %(kept)s seats already; one person may keep at most %(most)s at a time.",
                kept=kept,
                most=MAX_HELD_SEATS_PER_USER,
            )
        )


def hold_of(user: User | Guest, code: str) -> Hold:
    """The buyer's hold by its code; another buyer's is not found."""
    hold = db.session.scalar(select(Hold).where(Hold.code == code, owned_by(Hold, user)))
    if hold is None:
        raise NotFound(_("No such booking in progress."))
    return hold


def release_hold(user: User | Guest, code: str, *, now: datetime) -> Hold:
    """The buyer gives up: the seats are free again at once."""
    hold = hold_of(user, code)
    if hold.status == "active":
        inventory.release_expired(queries.lock_trip(hold.trip_id), now)
        db.session.refresh(hold)
        if hold.status == "active":  # not expired while we waited for the lock
            db.session.execute(delete(SeatLeg).where(SeatLeg.hold_id == hold.id))
            hold.status = "released"
            db.session.flush()
    return hold


def seconds_left(hold: Hold, now: datetime) -> int:
    return max(int((hold.expires_at - now).total_seconds()), 0)


def expire_all(now: datetime) -> int:
    """Release every expired hold and unpaid order, trip by trip under each trip's lock."""
    trips = set(db.session.scalars(select(Hold.trip_id).where(Hold.status == "active", Hold.expires_at <= now))) | set(
        db.session.scalars(select(Order.trip_id).where(Order.status == "pending", Order.expires_at <= now))
    )
    for trip_id in sorted(trips):
        inventory.release_expired(queries.lock_trip(trip_id), now)
    return len(trips)
