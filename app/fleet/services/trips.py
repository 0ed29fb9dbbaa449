"""Trips: create (one-off or from timetables), assign bus and driver, move through the status
table, delay and cancel. Every change locks the trip row first, so it serialises with bookings
and swaps on the same trip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.services import record, snapshot
from app.booking.services import tickets as booking_tickets
from app.companies.models import Company
from app.core import events
from app.core.errors import InvalidInput
from app.core.i18n import local_time
from app.core.models import utcnow
from app.extensions import db
from app.fleet import queries, rules
from app.fleet.errors import AssignmentConflict, DriverBusy, TransitionRefused, TripNotEditable
from app.fleet.models import Bus, Route, Timetable, Trip, TripStop
from app.fleet.rules import TripStatus

AUDITED = ("status", "departs_at", "arrives_at", "bus_id", "driver_id", "delay_reason", "cancel_reason")


def zone(company: Company) -> ZoneInfo:
    return ZoneInfo(company.timezone)


def local_datetime(company: Company, day: date, at: time) -> datetime:
    """A wall-clock time at the company's stations, as UTC."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(company.timezone)).astimezone(ZoneInfo("UTC"))


def _ensure_editable(trip: Trip) -> None:
    if trip.status not in rules.EDITABLE:
        raise TripNotEditable(rules.not_editable_reason(trip.status))


def _ensure_free(trip: Trip, bus: Bus | None, driver_id: int | None) -> None:
    with db.session.no_autoflush:  # the pending change is what is being checked
        _check_free(trip, bus, driver_id)


def _check_free(trip: Trip, bus: Bus | None, driver_id: int | None) -> None:
    if bus is not None:
        if bus.status != "active":
            raise AssignmentConflict(
                _(
                    "Bus %(plate)s is not in service (%(status)s).",
                    plate=bus.plate,
                    status=str(rules.BUS_STATUS_LABELS[bus.status]).lower(),
                )
            )
        other = queries.overlapping_trip(trip, bus_id=bus.id)
        if other is not None:
            raise AssignmentConflict(_("Bus %(plate)s is already on %(trip)s.", plate=bus.plate, trip=_describe(other)))
    if driver_id is not None:
        other = queries.overlapping_trip(trip, driver_id=driver_id)
        if other is not None:
            raise AssignmentConflict(
                _("%(driver)s is already driving %(trip)s.", driver=other.driver.name, trip=_describe(other))
            )


def _describe(trip: Trip) -> str:
    when = local_time(trip.departs_at, "%a %d %b %H:%M", zone=trip.route.company.timezone)
    return _("trip %(id)s (%(route)s, %(when)s)", id=trip.id, route=trip.route.name, when=when)


def _flush_guarded() -> None:
    """Flush; PostgreSQL's exclusion constraints answer a race the checks above could not see."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        if "overlap" in str(error.orig):
            raise AssignmentConflict() from error
        raise


def _copy_stops(trip: Trip, route: Route) -> None:
    trip.stops = [
        TripStop(
            position=stop.position,
            station_id=stop.station_id,
            minutes_from_start=stop.minutes_from_start,
            km_from_start=stop.km_from_start,
        )
        for stop in route.stops
    ]
    trip.arrives_at = trip.departs_at + timedelta(minutes=max(route.duration_minutes, 1))
    trip.place_stops()


def create_trip(
    actor,
    company: Company,
    *,
    route: Route,
    departs_at: datetime,
    bus: Bus | None,
    driver_id: int | None,
    now: datetime,
    timetable: Timetable | None = None,
) -> Trip:
    if len(route.stops) < 2:
        raise InvalidInput(fields={"route_id": [_("This route needs at least two stops.")]})
    if departs_at <= now:
        raise InvalidInput(fields={"departure": [_("Choose a departure in the future.")]})
    local_day = departs_at.astimezone(ZoneInfo(company.timezone)).date()
    trip = Trip(
        company_id=company.id,
        route=route,
        timetable_id=timetable.id if timetable else None,
        service_date=local_day,
        scheduled_departs_at=departs_at,
        departs_at=departs_at,
        status=TripStatus.SCHEDULED,
        bus=bus,
        driver_id=driver_id,
    )
    _copy_stops(trip, route)
    _ensure_free(trip, bus, driver_id)
    db.session.add(trip)
    _flush_guarded()
    if actor is not None:
        record(
            actor,
            "trip.created",
            trip,
            f"Trip {route.name} on {local_day:%d %b %Y}",
            company_id=company.id,
            after=snapshot(trip, AUDITED),
        )
    return trip


def assign(actor, trip: Trip, *, bus: Bus | None, driver_id: int | None) -> Trip:
    """Put a bus (first assignment only; later changes are swaps) and a driver on the trip."""
    trip = queries.lock_trip(trip.id)
    _ensure_editable(trip)
    before = snapshot(trip, AUDITED)
    if bus is not None and trip.bus_id not in (None, bus.id):
        raise AssignmentConflict(_("This trip already has a bus; use a bus swap to replace it."))
    _ensure_free(
        trip,
        bus if bus is not None and bus.id != trip.bus_id else None,
        driver_id if driver_id != trip.driver_id else None,
    )
    if bus is not None:
        trip.bus = bus
    trip.driver_id = driver_id
    _flush_guarded()
    record(
        actor,
        "trip.assigned",
        trip,
        f"Trip {trip.id}: bus and driver set",
        company_id=trip.company_id,
        before=before,
        after=snapshot(trip, AUDITED),
    )
    return trip


def change_status(actor, trip: Trip, target: str, *, now: datetime) -> Trip:
    trip = queries.lock_trip(trip.id)
    if target == TripStatus.CANCELLED:
        raise TransitionRefused(_("Cancel a trip with its reason, from the cancel form."))
    if not rules.can_transition(trip.status, target):
        raise TransitionRefused(rules.transition_refusal(trip.status, target))
    if target in (TripStatus.BOARDING, TripStatus.DEPARTED) and trip.bus_id is None:
        raise TransitionRefused(_("Assign a bus before boarding or departure."))
    _ensure_not_early(trip, target, now)
    before = snapshot(trip, AUDITED)
    trip.status = target
    setattr(trip, f"{target}_at", now)
    db.session.flush()
    record(
        actor,
        f"trip.{target}",
        trip,
        f"Trip {trip.id} is now {target}",
        company_id=trip.company_id,
        before=before,
        after=snapshot(trip, AUDITED),
    )
    events.emit(f"trip.{target}", {"trip_id": trip.id, "status": target}, company_id=trip.company_id, trip_id=trip.id)
    return trip


def _ensure_not_early(trip: Trip, target: str, now: datetime) -> None:
    opens = rules.earliest(target, trip.departs_at)
    if opens is None or now >= opens:
        return
    zone_name = trip.route.company.timezone
    values = {"departs": local_time(trip.departs_at, "%a %d %b %H:%M", zone=zone_name)}
    values["from"] = local_time(opens, "%a %d %b %H:%M", zone=zone_name)
    if target == TripStatus.BOARDING:
        message = _("Too early: this trip leaves %(departs)s; boarding opens at %(from)s.", **values)
    else:
        message = _("Too early: this trip leaves %(departs)s; it can start from %(from)s.", **values)
    raise TransitionRefused(message)


def delay_trip(actor, trip: Trip, *, new_departure: datetime, reason: str, now: datetime) -> Trip:
    trip = queries.lock_trip(trip.id)
    _ensure_editable(trip)
    if new_departure <= trip.scheduled_departs_at and new_departure <= trip.departs_at:
        raise InvalidInput(fields={"new_departure": [_("A delay moves the departure later than planned.")]})
    if new_departure <= now:
        raise InvalidInput(fields={"new_departure": [_("Choose a time in the future.")]})
    before = snapshot(trip, AUDITED)
    duration = trip.arrives_at - trip.departs_at
    trip.departs_at = new_departure
    trip.arrives_at = new_departure + duration
    trip.place_stops()
    trip.delay_reason = reason
    _ensure_free(trip, trip.bus, trip.driver_id)
    _flush_guarded()
    minutes = int(trip.delay.total_seconds() // 60)
    record(
        actor,
        "trip.delayed",
        trip,
        f"Trip {trip.id} delayed by {minutes} min: {reason}",
        company_id=trip.company_id,
        before=before,
        after=snapshot(trip, AUDITED),
    )
    events.emit(
        "trip.delayed",
        {"trip_id": trip.id, "departs_at": trip.departs_at.isoformat(), "delay_minutes": minutes, "reason": reason},
        company_id=trip.company_id,
        trip_id=trip.id,
    )
    return trip


def cancel_trip(actor, trip: Trip, *, reason: str, now: datetime) -> Trip:
    """Cancel before departure. The ``trip.cancelled`` event carries every active ticket so refunds
    and notifications can act on each one."""
    trip = queries.lock_trip(trip.id)
    if not rules.can_transition(trip.status, TripStatus.CANCELLED):
        raise TransitionRefused(rules.transition_refusal(trip.status, TripStatus.CANCELLED))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": [_("Say why the trip is cancelled; passengers will read it.")]})
    before = snapshot(trip, AUDITED)
    tickets = booking_tickets.cancel_for_trip(trip, now=now)
    trip.status = TripStatus.CANCELLED
    trip.cancel_reason = reason
    trip.cancelled_at = now
    db.session.flush()
    record(
        actor,
        "trip.cancelled",
        trip,
        f"Trip {trip.id} cancelled: {reason}",
        company_id=trip.company_id,
        before=before,
        after=snapshot(trip, AUDITED),
    )
    events.emit(
        "trip.cancelled",
        {"trip_id": trip.id, "reason": reason, "tickets": [t.id for t in tickets]},
        company_id=trip.company_id,
        trip_id=trip.id,
    )
    return trip


def refresh_unsold_trips(route: Route, *, now: datetime) -> int:
    """Give the route's new stops and times to its coming trips that have sold nothing."""
    coming = _coming_trips(route, now)
    sold = set(queries.sold_count([t.id for t in coming]))
    changed = [trip for trip in coming if trip.id not in sold]
    with db.session.no_autoflush:  # each new time range is checked against the others as stored
        for trip in changed:
            _copy_stops(trip, route)
        for trip in changed:
            _check_still_free(trip)
    _flush_guarded()
    return len(changed)


def _check_still_free(trip: Trip) -> None:
    """New route times must not stretch a trip into the next one of its bus or driver."""
    for other in (
        queries.overlapping_trip(trip, bus_id=trip.bus_id),
        queries.overlapping_trip(trip, driver_id=trip.driver_id),
    ):
        if other is not None:
            raise AssignmentConflict(
                _(
                    "With these times %(trip)s would run into %(other)s, which has the same bus or driver. "
                    "Change one of the two trips first.",
                    trip=_describe(trip),
                    other=_describe(other),
                )
            )


def _coming_trips(route: Route, now: datetime) -> list[Trip]:
    return list(
        db.session.scalars(
            select(Trip).where(Trip.route_id == route.id, Trip.status == TripStatus.SCHEDULED, Trip.departs_at > now)
        )
    )


# --- Timetables -----------------------------------------------------------------------------

TIMETABLE_AUDITED = (
    "route_id",
    "departure_time",
    "weekdays",
    "bus_id",
    "driver_id",
    "valid_from",
    "valid_to",
    "is_active",
)


@dataclass(frozen=True)
class BusyDriver:
    """A trip the timetable would create while its driver drives ``other``."""

    departs_at: datetime
    other: Trip


def save_timetable(
    actor,
    company: Company,
    timetable: Timetable | None,
    *,
    now: datetime | None = None,
    busy_driver_ok: bool = False,
    **values,
) -> Timetable:
    """Create or change a timetable. When its driver already drives at the time of trips it is
    about to create, refuse with :class:`DriverBusy` naming them, unless ``busy_driver_ok``: the
    manager chose to have those trips made without a driver (the generator leaves a busy driver
    off, as it always has)."""
    if values["valid_to"] is not None and values["valid_to"] < values["valid_from"]:
        raise InvalidInput(fields={"valid_to": [_("The end date comes after the start date.")]})
    if not values["weekdays"]:
        raise InvalidInput(fields={"weekdays": [_("Pick at least one day of the week.")]})
    if len(values["route"].stops) < 2:
        raise InvalidInput(fields={"route_id": [_("This route needs at least two stops.")]})
    created = timetable is None
    before = None if created else snapshot(timetable, TIMETABLE_AUDITED)
    if created:
        timetable = Timetable(company_id=company.id)
        db.session.add(timetable)
    for name, value in values.items():
        setattr(timetable, name, value)
    db.session.flush()
    days = rules.weekdays_label(timetable.weekdays)
    summary = f"Timetable {timetable.route.name} at {timetable.departure_time:%H:%M}, {days}"
    action = "timetable.created" if created else "timetable.updated"
    if not busy_driver_ok:
        now = now or utcnow()
        busy = busy_driver(company, timetable, today=today_for(company, now), days=company.days_ahead, now=now)
        if busy:
            raise DriverBusy(busy, _busy_sentence(busy))
    record(
        actor,
        action,
        timetable,
        summary,
        company_id=company.id,
        before=before,
        after=snapshot(timetable, TIMETABLE_AUDITED),
    )
    return timetable


def _busy_sentence(busy: list[BusyDriver]) -> str:
    name = busy[0].other.driver.name
    return ngettext(
        "%(name)s is already driving at the time of %(num)d trip this timetable would create.",
        "%(name)s is already driving at the time of %(num)d trips this timetable would create.",
        len(busy),
        name=name,
    )


def busy_driver(company: Company, timetable: Timetable, *, today: date, days: int, now: datetime) -> list[BusyDriver]:
    """The trips :func:`generate_trips` would create for ``timetable`` from ``today`` on whose
    driver is on another trip at that time (and would be left off them)."""
    route = timetable.route
    if timetable.driver_id is None or not timetable.is_active or len(route.stops) < 2:
        return []
    made = set(
        db.session.scalars(
            select(Trip.service_date).where(Trip.timetable_id == timetable.id, Trip.service_date >= today)
        )
    )
    length = timedelta(minutes=max(route.duration_minutes, 1))
    busy = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        if not timetable.runs_on(day) or day in made:
            continue
        departs_at = local_datetime(company, day, timetable.departure_time)
        if departs_at <= now:
            continue
        other = queries.driver_trip_between(timetable.driver_id, departs_at, departs_at + length)
        if other is not None:
            busy.append(BusyDriver(departs_at, other))
    return busy


def generate_trips(company: Company, *, today: date, days: int, now: datetime) -> list[Trip]:
    """Create the trips of every active timetable for ``today`` and the following days.

    Idempotent: a (timetable, date) pair that already has a trip is skipped, and the unique
    constraint on it settles two generators running at once. A timetable whose bus or driver is
    busy still gets its trip, without that bus or driver, for a dispatcher to assign.
    """
    timetables = [t for t in queries.timetables_of(company) if t.is_active]
    existing = set(
        db.session.execute(
            select(Trip.timetable_id, Trip.service_date).where(
                Trip.company_id == company.id, Trip.service_date >= today, Trip.timetable_id.is_not(None)
            )
        ).all()
    )
    created = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        for timetable in timetables:
            if not timetable.runs_on(day) or (timetable.id, day) in existing:
                continue
            departs_at = local_datetime(company, day, timetable.departure_time)
            if departs_at <= now or len(timetable.route.stops) < 2:
                continue
            trip = _generated_trip(company, timetable, day, departs_at)
            if trip is not None:
                created.append(trip)
    return created


def _generated_trip(company: Company, timetable: Timetable, day: date, departs_at: datetime) -> Trip | None:
    trip = Trip(
        company_id=company.id,
        route=timetable.route,
        timetable_id=timetable.id,
        service_date=day,
        scheduled_departs_at=departs_at,
        departs_at=departs_at,
        status=TripStatus.SCHEDULED,
    )
    _copy_stops(trip, timetable.route)
    bus = timetable.bus if timetable.bus is not None and timetable.bus.status == "active" else None
    if bus is not None and queries.overlapping_trip(trip, bus_id=bus.id) is None:
        trip.bus = bus
    if timetable.driver_id is not None and queries.overlapping_trip(trip, driver_id=timetable.driver_id) is None:
        trip.driver_id = timetable.driver_id
    try:
        with db.session.begin_nested():
            db.session.add(trip)
            db.session.flush()
    except IntegrityError:
        return None  # another generator made it first (or took the bus meanwhile): leave theirs
    return trip


def today_for(company: Company, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(company.timezone)).date()
