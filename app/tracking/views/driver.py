"""The driver's page: today's trips, Start trip and End trip, and, while a trip runs, the phone's
position sent by driver.js over ``/ws/driver/trips/<id>``."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, flash, g, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.core import tx
from app.core.errors import NotFound
from app.core.htmx import render
from app.core.models import utcnow
from app.extensions import db
from app.fleet import rules
from app.fleet.errors import TransitionRefused
from app.fleet.models import Route, Trip, TripStop
from app.fleet.queries import local_day_bounds
from app.fleet.rules import TripStatus
from app.fleet.services import trips

blueprint = Blueprint("tracking", __name__)

STARTABLE = (TripStatus.SCHEDULED, TripStatus.BOARDING)
BOARDABLE = (*STARTABLE, TripStatus.DEPARTED)  # passengers board at every stop until the bus arrives


def trips_today(membership, now: datetime) -> list[Trip]:
    """The driver's trips leaving today (the company's date), and any of theirs still on the road."""
    company = membership.company
    start, end = local_day_bounds(trips.today_for(company, now), company.timezone)
    return list(
        db.session.scalars(
            select(Trip)
            .where(
                Trip.company_id == company.id,
                Trip.driver_id == membership.user_id,
                or_(and_(Trip.departs_at >= start, Trip.departs_at < end), Trip.status == TripStatus.DEPARTED),
            )
            .options(
                joinedload(Trip.route).lazyload(Route.stops),
                joinedload(Trip.bus),
                selectinload(Trip.stops).joinedload(TripStop.station),
            )
            .order_by(Trip.departs_at, Trip.id)
        )
    )


# The order a driver reads their day in: the trip on the road, then the coming ones, then the
# finished ones (each by departure time).
PAGE_ORDER = {
    TripStatus.DEPARTED: 0,
    TripStatus.BOARDING: 1,
    TripStatus.SCHEDULED: 1,
    TripStatus.ARRIVED: 2,
    TripStatus.CANCELLED: 2,
}


def in_page_order(day: list[Trip]) -> list[Trip]:
    return sorted(day, key=lambda trip: PAGE_ORDER[TripStatus(trip.status)])  # stable: times stay in order


def today_page(*, error: str | None = None, status: int = 200) -> Response:
    now = utcnow()

    def earliest_start(trip: Trip) -> datetime | None:
        """When Start trip will be accepted, while that is still ahead."""
        opens = rules.earliest(TripStatus.DEPARTED, trip.departs_at)
        return opens if opens is not None and opens > now else None

    return render(
        "home/driver/index.html",
        status=status,
        membership=g.access,
        trips=in_page_order(trips_today(g.access, now)),
        startable=STARTABLE,
        boardable=BOARDABLE,
        earliest_start=earliest_start,
        error=error,
    )


def _my_trip(trip_id: int) -> Trip:
    trip = db.session.scalar(
        select(Trip).where(Trip.id == trip_id, Trip.company_id == g.access.company_id, Trip.driver_id == g.user.id)
    )
    if trip is None:
        raise NotFound(_("That is not one of your trips."))
    return trip


@blueprint.post("/trips/<int:trip_id>/start")
def start_trip(trip_id: int):
    trip = _my_trip(trip_id)
    if trip.bus_id is None:
        return today_page(error=_("This trip has no bus yet: ask your dispatcher to assign one."), status=409)
    return _move(trip, TripStatus.DEPARTED, _("Trip started. Keep this page open: it shares the bus's position."))


@blueprint.post("/trips/<int:trip_id>/end")
def end_trip(trip_id: int):
    return _move(_my_trip(trip_id), TripStatus.ARRIVED, _("Trip ended. Position sharing has stopped."))


def _move(trip: Trip, target: TripStatus, done: str) -> Response:
    try:
        trips.change_status(g.user, trip, target, now=utcnow())
    except TransitionRefused as error:
        tx.rollback()  # the page shown again reads what is stored
        return today_page(error=error.message, status=error.status)
    flash(done, "success")
    return redirect(url_for("driver.home.index"), 303)
