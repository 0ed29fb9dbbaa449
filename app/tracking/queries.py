"""Read-side lookups for the live maps: what a passenger's map shows of a trip, a ticket's share
links, and a company's running trips and silent trackers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.booking.models import Ticket
from app.companies.models import Company, Station
from app.core.errors import NotFound
from app.extensions import db
from app.fleet.models import Bus, Route, RouteStop, Trip
from app.fleet.rules import TripStatus
from app.tracking import eta, live
from app.tracking.models import ShareLink, Tracker
from app.tracking.services import RUNNING

# A passenger's map is shown from the sale until the bus arrives.
WATCHABLE = (TripStatus.SCHEDULED, TripStatus.BOARDING, TripStatus.DEPARTED)
# It listens live from this long before departure (each open socket holds a server thread; days
# ahead there is nothing to follow yet).
LIVE_LEAD = timedelta(hours=2)


def stale_seconds() -> int:
    return current_app.config["TRACKING_STALE_SECONDS"]


def trip_position(trip: Trip) -> dict | None:
    """The latest fix of the trip's bus taken on this trip, with its progress along the route."""
    position = live.latest(trip.bus_id) if trip.bus_id else None
    if position is None or position["trip"] != trip.id:
        return None
    shape = eta.shape_of(trip.id)
    at = datetime.fromtimestamp(position["ts"] / 1000, UTC)
    where = eta.progress(shape, position["lat"], position["lon"], at) if shape else None
    if where is not None:
        position["progress"] = where.as_message()
    return position


@dataclass(frozen=True)
class Outlook:
    """When the bus reaches one stop, as a passenger reads it."""

    state: str  # expected | timetable | departed | passed | arrived | cancelled
    at: datetime | None = None


def outlook(trip: Trip, position: dict | None, stop: int, *, boarding: bool) -> Outlook:
    """The live ETA at ``stop`` when the bus reports, else the timetable (moved by declared delays).
    livemap.js follows the same rules as messages arrive."""
    if trip.status == TripStatus.CANCELLED:
        return Outlook("cancelled")
    if trip.status == TripStatus.ARRIVED:
        return Outlook("departed" if boarding else "arrived")
    etas = (position or {}).get("progress", {}).get("eta", {})
    if str(stop) in etas:
        at = etas[str(stop)]
        if at is None:
            return Outlook("departed" if boarding else "passed")
        return Outlook("expected", datetime.fromtimestamp(at, UTC))
    if trip.status == TripStatus.DEPARTED and stop == 0:
        return Outlook("departed")
    return Outlook("timetable", trip.time_at(stop))


def map_data(trip: Trip, position: dict | None, *, board: int | None, alight: int | None, socket: str) -> dict:
    """What livemap.js needs, as JSON: the stops in order, the passenger's two stops, the bus."""
    config = current_app.config
    return {
        "socket": socket,
        "tiles": {"url": config["MAP_TILE_URL"], "attribution": config["MAP_TILE_ATTRIBUTION"]},
        "staleSeconds": stale_seconds(),
        "timeZone": config["DISPLAY_TIMEZONE"],
        "serverNow": int(datetime.now(UTC).timestamp() * 1000),
        "liveFrom": int((trip.departs_at - LIVE_LEAD).timestamp() * 1000),
        "trip": {"id": trip.id, "status": trip.status, "plate": trip.bus.plate if trip.bus else None},
        "stops": [
            {
                "position": stop.position,
                "name": stop.station.name,
                "lat": stop.station.latitude,
                "lon": stop.station.longitude,
                "due": int(stop.departs_at.timestamp()),
            }
            for stop in trip.stops
        ],
        "board": board,
        "alight": alight,
        "position": position,
    }


# --- Share links ---------------------------------------------------------------------------------


def active_shares(ticket_id: int, user_id: int, now: datetime) -> list[ShareLink]:
    return list(
        db.session.scalars(
            select(ShareLink)
            .where(
                ShareLink.ticket_id == ticket_id,
                ShareLink.created_by_id == user_id,
                ShareLink.revoked_at.is_(None),
                ShareLink.expires_at > now,
            )
            .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
        )
    )


def share_link_for_user(user, ticket: Ticket, link_id: int) -> ShareLink:
    """Share link ``link_id`` of ``ticket`` (already loaded as ``user``'s own), made by ``user``;
    any other link is not found."""
    link = db.session.scalar(
        select(ShareLink).where(
            ShareLink.id == link_id, ShareLink.ticket_id == ticket.id, ShareLink.created_by_id == user.id
        )
    )
    if link is None:
        raise NotFound(_("No such link."))
    return link


def share_by_token(token: str) -> ShareLink | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(ShareLink).where(ShareLink.token == token))


# --- The company's fleet -------------------------------------------------------------------------


def running_trips(company: Company) -> list[Trip]:
    return list(
        db.session.scalars(
            select(Trip)
            .where(Trip.company_id == company.id, Trip.status.in_(RUNNING))
            .order_by(Trip.departs_at, Trip.id)
        ).unique()
    )


def silent_trackers(company: Company, now: datetime) -> list[Tracker]:
    """Registered trackers not heard from within the stale time (or never)."""
    cutoff = now - timedelta(seconds=stale_seconds())
    return list(
        db.session.scalars(
            select(Tracker)
            .where(
                Tracker.company_id == company.id,
                or_(Tracker.last_seen_at.is_(None), Tracker.last_seen_at < cutoff),
            )
            .order_by(Tracker.last_seen_at.asc().nulls_first(), Tracker.id)
        ).unique()
    )


def plates_of(company: Company) -> dict[int, str]:
    return dict(db.session.execute(select(Bus.id, Bus.plate).where(Bus.company_id == company.id)).all())


def area_of(company: Company) -> list[list[float]] | None:
    """South-west and north-east corners around the stations of the company's routes."""
    corners = db.session.execute(
        select(
            func.min(Station.latitude),
            func.min(Station.longitude),
            func.max(Station.latitude),
            func.max(Station.longitude),
        )
        .join(RouteStop, RouteStop.station_id == Station.id)
        .join(Route, Route.id == RouteStop.route_id)
        .where(Route.company_id == company.id)
    ).one()
    if corners[0] is None:
        return None
    return [[corners[0], corners[1]], [corners[2], corners[3]]]
