"""Taking fixes in (drivers' phones, trackers), who may watch a trip, share links, and the batched
history."""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from app.booking.models import Order, Ticket
from app.core import tx
from app.core.errors import DomainError, Forbidden, NotFound
from app.extensions import db, get_queue, redis
from app.fleet.models import Trip
from app.fleet.rules import TripStatus
from app.tracking import live
from app.tracking.live import Fix, FixRefused
from app.tracking.models import Position, ShareLink, Tracker
from app.tracking.rules import HISTORY_BATCH, HISTORY_FLUSH_AT, SHARE_LINK_MAX_HOURS

RUNNING = (TripStatus.DEPARTED,)
DRIVER_RECHECK_SECONDS = 30
_FLUSH_LOCK = "positions:flushing"
_FLUSH_QUEUED = "positions:flush-queued"


class NotYourTrip(Forbidden):
    code = "not_your_trip"


class NothingToShare(DomainError):
    code = "nothing_to_share"
    message = _l("This trip is over; there is nothing to share.")


# --- In ------------------------------------------------------------------------------------------


def driver_trip(user, trip_id, now: datetime) -> Trip:
    """The trip ``user`` drives and that is running now; refused otherwise."""
    trip = db.session.get(Trip, trip_id) if isinstance(trip_id, int) else None
    if trip is None:
        raise NotFound(_("No such trip."))
    if trip.driver_id != user.id:
        raise NotYourTrip(_("You are not the driver of this trip."))
    if trip.status not in RUNNING:
        raise NotYourTrip(_("This trip is not running: start it first."))
    if trip.bus_id is None:
        raise NotYourTrip(_("This trip has no bus."))
    return trip


def from_driver(user, trip_id, fix: Fix, *, now: datetime) -> live.Stored:
    trip = driver_trip(user, trip_id, now)
    live.check_plausible(fix, now)
    stored = live.store(fix, bus_id=trip.bus_id, company_id=trip.company_id, trip_id=trip.id, source="driver", now=now)
    _flush_when_due()
    return stored


class DriverLink:
    """A driver's socket on one trip. The assignment and the session are checked when it opens and
    again every ``recheck_seconds`` to half as much again, spread so sockets opened together do not
    check together (or at once after :meth:`recheck_soon`), so a fix in between costs no database
    work: a socket sends one every 5 s, hundreds of buses at a time."""

    def __init__(
        self,
        trip: Trip,
        user_id: int,
        now: datetime,
        *,
        still_signed_in: Callable[[datetime], bool],
        recheck_seconds: float = DRIVER_RECHECK_SECONDS,
    ):
        """``trip`` as :func:`driver_trip` just passed it; ``still_signed_in(now)`` says whether the
        browser session that opened the socket still lets it in."""
        self.user_id, self.trip_id = user_id, trip.id
        self.still_signed_in = still_signed_in
        self.recheck_seconds = recheck_seconds
        self.bus_id, self.company_id = trip.bus_id, trip.company_id
        jitter = random.uniform(1, 1.5)  # noqa: S311  (timer jitter, not a secret)
        self.recheck_at = now + timedelta(seconds=self.recheck_seconds * jitter)

    def take(self, fix: Fix, now: datetime) -> live.Stored:
        if now >= self.recheck_at:
            self._check(now)
        live.check_plausible(fix, now)
        stored = live.store(
            fix, bus_id=self.bus_id, company_id=self.company_id, trip_id=self.trip_id, source="driver", now=now
        )
        _flush_when_due()
        return stored

    def recheck_soon(self) -> None:
        """Something changed (a bus swap): look again before the next fix."""
        self.recheck_at = datetime.min.replace(tzinfo=UTC)

    def _check(self, now: datetime) -> None:
        from app.accounts.models import User

        try:
            if not self.still_signed_in(now):
                raise NotYourTrip(_("You were signed out. Sign in again to share your position."))
            trip = driver_trip(db.session.get(User, self.user_id), self.trip_id, now)
            self.bus_id, self.company_id = trip.bus_id, trip.company_id
            jitter = random.uniform(1, 1.5)  # noqa: S311  (timer jitter, not a secret)
            self.recheck_at = now + timedelta(seconds=self.recheck_seconds * jitter)
        finally:
            db.session.remove()


def tracker_for(device_id: str) -> Tracker:
    tracker = db.session.scalar(select(Tracker).where(Tracker.device_id == device_id)) if device_id else None
    if tracker is None:
        raise FixRefused(f"Unknown device {device_id!r}: register it to a bus in the console.")
    return tracker


def running_trip_of(bus_id: int) -> Trip | None:
    return db.session.scalar(
        select(Trip).where(Trip.bus_id == bus_id, Trip.status.in_(RUNNING)).order_by(Trip.departs_at.desc()).limit(1)
    )


def from_tracker(tracker: Tracker, fix: Fix, *, battery: float | None, now: datetime) -> live.Stored:
    """A hardware tracker reports its bus's position whether or not a trip runs; the fix is tied to
    the trip the bus is running, if any."""
    live.check_plausible(fix, now)
    trip = running_trip_of(tracker.bus_id)
    stored = live.store(
        fix,
        bus_id=tracker.bus_id,
        company_id=tracker.company_id,
        trip_id=trip.id if trip else None,
        source="tracker",
        now=now,
    )
    tracker.last_seen_at = now
    if battery is not None:
        tracker.battery = battery
    db.session.flush()
    _flush_when_due()
    return stored


# --- Who may watch -------------------------------------------------------------------------------


def holds_ticket(user, trip_id: int) -> bool:
    if user is None:
        return False
    return (
        db.session.scalar(
            select(Ticket.id)
            .join(Order, Order.id == Ticket.order_id)
            .where(Ticket.trip_id == trip_id, Ticket.status == "paid", Order.user_id == user.id)
            .limit(1)
        )
        is not None
    )


def valid_share(token: str | None, now: datetime) -> ShareLink | None:
    """The share link, while it lasts: not revoked, not expired, its ticket still paid (a cancelled
    ticket shares nothing) and its trip not over."""
    if not token or len(token) > 64:
        return None
    link = db.session.scalar(select(ShareLink).where(ShareLink.token == token))
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        return None
    ticket = db.session.get(Ticket, link.ticket_id)
    if ticket is None or ticket.status != "paid":
        return None
    trip = db.session.get(Trip, link.trip_id)
    if trip is None or trip.status in (TripStatus.ARRIVED, TripStatus.CANCELLED):
        return None
    return link


def may_watch(user, trip_id: int, *, share_token: str | None, now: datetime) -> bool:
    if share_token is not None:
        link = valid_share(share_token, now)
        return link is not None and link.trip_id == trip_id
    return holds_ticket(user, trip_id)


def share(user, ticket: Ticket, *, hours: int, now: datetime) -> ShareLink:
    """A link to the ticket's trip that anyone may open until the trip ends or ``hours`` pass."""
    if ticket.order.user_id != user.id:
        raise NotFound(_("No such ticket."))
    if ticket.status != "paid":
        raise NothingToShare(_("This ticket was cancelled; there is nothing to share."))
    if ticket.trip.status in (TripStatus.ARRIVED, TripStatus.CANCELLED):
        raise NotYourTrip(NothingToShare.message)
    hours = max(1, min(hours, SHARE_LINK_MAX_HOURS))
    link = ShareLink(
        token=secrets.token_urlsafe(32),
        trip_id=ticket.trip_id,
        ticket_id=ticket.id,
        created_by_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(link)
    db.session.flush()
    return link


# --- History -------------------------------------------------------------------------------------


def _flush_when_due() -> None:
    """Write the waiting fixes once enough have gathered (the scheduler also does every minute)."""
    if redis.llen(live.PENDING_KEY) < HISTORY_FLUSH_AT:
        return
    if redis.set(_FLUSH_QUEUED, 1, nx=True, ex=30):
        from app.tracking.jobs import flush_positions

        get_queue("default").enqueue(flush_positions)


def flush_history(limit: int = 50) -> int:
    """Write waiting fixes to PostgreSQL, a batch per commit, removing each batch from Redis only
    once it is committed (a crash in between writes that batch twice, never loses it). One
    flusher at a time."""
    if not redis.set(_FLUSH_LOCK, 1, nx=True, ex=120):
        return 0
    written = 0
    try:
        for _ in range(limit):
            raw = redis.lrange(live.PENDING_KEY, 0, HISTORY_BATCH - 1)
            if not raw:
                break
            rows = [_history_row(json.loads(item)) for item in raw]
            db.session.execute(insert(Position), rows)
            tx.commit()
            redis.ltrim(live.PENDING_KEY, len(raw), -1)
            written += len(rows)
    finally:
        redis.delete(_FLUSH_LOCK, _FLUSH_QUEUED)
    return written


def _history_row(item: dict) -> dict:
    return {
        "bus_id": item["bus"],
        "trip_id": item["trip"],
        "recorded_at": datetime.fromtimestamp(item["ms"] / 1000, UTC),
        "received_at": datetime.fromtimestamp(item["received_ms"] / 1000, UTC),
        "lat": item["lat"],
        "lon": item["lon"],
        "speed_kmh": item["speed"],
        "heading": item["heading"],
        "accuracy_m": item["accuracy"],
        "source": item["source"],
    }


# --- Share links, ended by their maker ------------------------------------------------------------


def revoke_share(user, link_id: int, *, now: datetime) -> ShareLink:
    """Stop a share link working at once; only the passenger who made it may. Revoking twice is
    harmless."""
    link = db.session.get(ShareLink, link_id)
    if link is None or user is None or link.created_by_id != user.id:
        raise NotFound(_("No such link."))
    if link.revoked_at is None:
        link.revoked_at = now
        db.session.flush()
    return link
