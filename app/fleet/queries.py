"""Read-side lookups for the fleet, always scoped to one company."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.accounts.models import Membership, User
from app.accounts.rules import Role
from app.booking.models import SeatLeg, Ticket
from app.booking.rules import ACTIVE_TICKET_STATUSES
from app.companies.models import Company
from app.core.errors import NotFound
from app.extensions import db
from app.fleet.models import Bus, Route, Timetable, Trip, TripStop
from app.fleet.rules import TripStatus


def company_object_or_404(model, company: Company, object_id: int):
    """``model`` row ``object_id`` if it belongs to ``company``; another company's id is a 404."""
    row = db.session.scalar(select(model).where(model.id == object_id, model.company_id == company.id))
    if row is None:
        raise NotFound()
    return row


def lock_trip(trip_id: int) -> Trip:
    """The trip, its row locked until the transaction ends.

    The lock is taken on the bare row first; the trip and its bus are read after it. Had the lock
    been taken by the query that also joins the bus, PostgreSQL would hand back the updated trip
    row joined to the bus row it saw before waiting (a swap committed meanwhile would leave a
    stale or missing bus).

    Only the trip, its route and company, its bus and its stops are read; seats, fares, the
    driver and station names load when asked for, so a sale reads only what it uses.
    """
    locked = db.session.scalar(select(Trip.id).where(Trip.id == trip_id).with_for_update())
    if locked is None:
        raise NotFound()
    return db.session.scalar(
        select(Trip)
        .where(Trip.id == trip_id)
        .options(
            joinedload(Trip.route).options(joinedload(Route.company), lazyload(Route.stops)),
            joinedload(Trip.bus).lazyload(Bus.seats),
            lazyload(Trip.driver),
            selectinload(Trip.stops).lazyload(TripStop.station),
        )
        .execution_options(populate_existing=True)
    )


def routes_of(company: Company, *, active_only: bool = False) -> list[Route]:
    query = select(Route).where(Route.company_id == company.id).order_by(Route.name)
    if active_only:
        query = query.where(Route.is_active.is_(True))
    return list(db.session.scalars(query))


def buses_of(company: Company, *, status: str | None = None) -> list[Bus]:
    query = select(Bus).where(Bus.company_id == company.id).order_by(Bus.plate)
    if status:
        query = query.where(Bus.status == status)
    return list(db.session.scalars(query))


def drivers_of(company: Company) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.company_id == company.id,
                Membership.role == Role.DRIVER,
                Membership.is_enabled.is_(True),
                User.is_enabled.is_(True),
            )
            .order_by(User.name)
        )
    )


def driver_of_company(company: Company, user_id: int) -> User:
    driver = next((d for d in drivers_of(company) if d.id == user_id), None)
    if driver is None:
        raise NotFound(_("No active driver of this company has that id."))
    return driver


def timetables_of(company: Company) -> list[Timetable]:
    return list(
        db.session.scalars(
            select(Timetable).where(Timetable.company_id == company.id).order_by(Timetable.departure_time)
        )
    )


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tz))
    return start, start + timedelta(days=1)


def trips_on(
    company: Company,
    day: date,
    *,
    route_id: int | None = None,
    status: str | None = None,
    bus_id: int | None = None,
) -> list[Trip]:
    start, end = local_day_bounds(day, company.timezone)
    query = (
        select(Trip)
        .where(Trip.company_id == company.id, Trip.departs_at >= start, Trip.departs_at < end)
        .order_by(Trip.departs_at, Trip.id)
    )
    if route_id:
        query = query.where(Trip.route_id == route_id)
    if status:
        query = query.where(Trip.status == status)
    if bus_id:
        query = query.where(Trip.bus_id == bus_id)
    return list(db.session.scalars(query))


def overlapping_trip(trip: Trip, *, bus_id: int | None = None, driver_id: int | None = None) -> Trip | None:
    """Another live trip of that bus or driver whose time range meets ``trip``'s."""
    column, value = (Trip.bus_id, bus_id) if bus_id is not None else (Trip.driver_id, driver_id)
    if value is None:
        return None
    return db.session.scalar(
        select(Trip)
        .where(
            column == value,
            Trip.id != trip.id if trip.id else True,
            Trip.status != TripStatus.CANCELLED,
            Trip.departs_at < trip.arrives_at,
            Trip.arrives_at > trip.departs_at,
        )
        .limit(1)
    )


def driver_trip_between(driver_id: int, start: datetime, end: datetime) -> Trip | None:
    """The driver's live trip whose time range meets [start, end), if any."""
    return db.session.scalar(
        select(Trip)
        .where(
            Trip.driver_id == driver_id,
            Trip.status != TripStatus.CANCELLED,
            Trip.departs_at < end,
            Trip.arrives_at > start,
        )
        .order_by(Trip.departs_at)
        .limit(1)
    )


def active_tickets(trip: Trip) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.trip_id == trip.id, Ticket.status.in_(ACTIVE_TICKET_STATUSES))
            .order_by(Ticket.order_id, Ticket.id)
        )
    )


def sold_count(trip_ids: list[int]) -> dict[int, int]:
    """Active tickets per trip, in one query."""
    if not trip_ids:
        return {}
    rows = db.session.execute(
        select(Ticket.trip_id, func.count())
        .where(Ticket.trip_id.in_(trip_ids), Ticket.status.in_(ACTIVE_TICKET_STATUSES))
        .group_by(Ticket.trip_id)
    )
    return dict(rows.all())


def boarded_count(trip: Trip) -> int:
    """Passengers of the trip who have boarded."""
    return db.session.scalar(
        select(func.count()).where(Ticket.trip_id == trip.id, Ticket.status == "paid", Ticket.boarded_at.is_not(None))
    )


def occupancy_by_leg(trip: Trip) -> list[int]:
    """Seats taken on each leg of the trip."""
    rows = dict(
        db.session.execute(
            select(SeatLeg.leg, func.count()).where(SeatLeg.trip_id == trip.id).group_by(SeatLeg.leg)
        ).all()
    )
    return [rows.get(leg, 0) for leg in range(trip.legs)]


def trips_with_sales(route: Route) -> int:
    """Trips of ``route`` not yet over that have active tickets."""
    return db.session.scalar(
        select(func.count(func.distinct(Ticket.trip_id)))
        .join(Trip, Trip.id == Ticket.trip_id)
        .where(
            Trip.route_id == route.id,
            Trip.status.in_((TripStatus.SCHEDULED, TripStatus.BOARDING, TripStatus.DEPARTED)),
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
        )
    )


def manifest(trip: Trip) -> list[Ticket]:
    """Active tickets of the trip by seat, for the dispatcher and the driver."""
    tickets = active_tickets(trip)
    return sorted(tickets, key=lambda t: (len(t.seat_label), t.seat_label, t.origin_position))
