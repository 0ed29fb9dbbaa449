"""Who is aboard: the trip's manifest by stop, and the pack a phone keeps to board with no signal."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.booking import qr
from app.booking.models import BoardingScan, Ticket
from app.booking.rules import PACK_VALID_AFTER_ARRIVAL
from app.booking.services.boarding.scans import boarding_trip, trip_json
from app.extensions import db
from app.fleet.models import Trip

REVOKED_STATUSES = ("cancelled", "expired", "no_show")


# --- Before the bus leaves: the offline pack -----------------------------------------------------------


def offline_pack(user, trip_id: int, *, now: datetime) -> dict:
    """What a phone keeps to board this trip with no signal: its tickets, the revoked codes and the
    trip's own verification keys (never the master key: a stolen phone can mint tickets for this
    trip at most). Tickets give their stops as positions in ``trip.stops``."""
    trip = boarding_trip(user, trip_id)
    tickets = list(db.session.scalars(select(Ticket).where(Ticket.trip_id == trip.id).order_by(Ticket.id)))
    return {
        "trip": {
            **trip_json(trip),
            "current_stop": trip.current_stop,
            "stops": [
                {"position": stop.position, "name": stop.station.name, "town": stop.station.town.name}
                for stop in trip.stops
            ],
        },
        "keys": {kid: _text(key) for kid, key in qr.trip_keys(trip.id).items()},
        "tickets": [
            {
                "code": t.code,
                "seat": t.seat_label,
                "class": t.seat_class,
                "from": t.origin_position,
                "to": t.destination_position,
                "name": t.passenger_name,
                "status": t.status,
                "boarded_at": t.boarded_at.isoformat() if t.boarded_at else None,
                "boarded_device": t.boarded_device,
            }
            for t in tickets
            if t.status == "paid"
        ],
        "revoked": [t.code for t in tickets if t.status in REVOKED_STATUSES],
        "issued_at": now.isoformat(),
        "valid_until": (trip.arrives_at + PACK_VALID_AFTER_ARRIVAL).isoformat(),
    }


def _text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


# --- The manifest --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passenger:
    code: str
    name: str
    seat: str
    seat_class: str
    destination: str
    status: str  # boarded, not_yet, no_show
    boarded_at: datetime | None


@dataclass(frozen=True)
class StopManifest:
    position: int
    name: str
    town: str
    is_current: bool
    passengers: list[Passenger]

    def count(self, status: str) -> int:
        return sum(1 for p in self.passengers if p.status == status)


@dataclass(frozen=True)
class Duplicate:
    """A ticket a second phone boarded with no signal after the first: the report shows it."""

    code: str
    name: str
    seat: str
    device: str  # the later phone's
    scanned_at: datetime
    boarded_device: str | None  # the first boarding's
    boarded_at: datetime | None


@dataclass(frozen=True)
class Manifest:
    trip_id: int
    current_stop: int
    stops: list[StopManifest]
    duplicates: list[Duplicate]

    def as_json(self) -> dict:
        def plain(value):
            return value.isoformat() if isinstance(value, datetime) else value

        return {
            "trip_id": self.trip_id,
            "current_stop": self.current_stop,
            "stops": [
                {
                    "position": s.position,
                    "name": s.name,
                    "town": s.town,
                    "is_current": s.is_current,
                    "counts": {status: s.count(status) for status in ("boarded", "not_yet", "no_show")},
                    "passengers": [{k: plain(v) for k, v in p.__dict__.items()} for p in s.passengers],
                }
                for s in self.stops
            ],
            "duplicates": [{k: plain(v) for k, v in d.__dict__.items()} for d in self.duplicates],
        }


def manifest(trip: Trip) -> Manifest:
    """Per stop in route order, the passengers boarding there and whether they have; the
    duplicate offline boardings flagged."""
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.trip_id == trip.id, Ticket.status.in_(("paid", "no_show")))
    ).all()
    by_stop: dict[int, list[Passenger]] = {}
    for t in sorted(tickets, key=lambda t: (len(t.seat_label), t.seat_label)):
        status = "no_show" if t.status == "no_show" else ("boarded" if t.boarded_at else "not_yet")
        by_stop.setdefault(t.origin_position, []).append(
            Passenger(t.code, t.passenger_name, t.seat_label, t.seat_class, t.destination.name, status, t.boarded_at)
        )
    flagged = db.session.scalars(
        select(BoardingScan)
        .where(BoardingScan.trip_id == trip.id, BoardingScan.duplicate.is_(True))
        .order_by(BoardingScan.scanned_at)
    )
    return Manifest(
        trip_id=trip.id,
        current_stop=trip.current_stop,
        stops=[
            StopManifest(
                stop.position,
                stop.station.name,
                stop.station.town.name,
                stop.position == trip.current_stop,
                by_stop.get(stop.position, []),
            )
            for stop in trip.stops[:-1]  # nobody boards at the last stop
        ],
        duplicates=[
            Duplicate(
                s.ticket.code,
                s.ticket.passenger_name,
                s.ticket.seat_label,
                s.device,
                s.scanned_at,
                s.ticket.boarded_device,
                s.ticket.boarded_at,
            )
            for s in flagged
            if s.ticket is not None
        ],
    )
