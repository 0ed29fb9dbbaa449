"""The hourly trip generation job."""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select

from app.extensions import db
from app.fleet.jobs import generate_upcoming_trips
from app.fleet.models import Trip
from app.fleet.services import trips
from tests import factories


def trips_of(company) -> int:
    return db.session.scalar(select(func.count()).select_from(Trip).where(Trip.company_id == company.id))


def test_generation_job_fills_each_active_companys_horizon_once():
    company = factories.company(days_ahead=5)
    suspended = factories.company(status="suspended")
    for owner in (company, suspended):
        trips.save_timetable(
            None,
            owner,
            None,
            route=factories.route(owner),
            departure_time=time(23, 59),
            weekdays=127,
            bus=None,
            driver_id=None,
            valid_from=trips.today_for(owner),
            valid_to=None,
            is_active=True,
        )
    first = generate_upcoming_trips()
    # Today's 23:59 in Kigali has gone only in the last minute of the day; the next four days remain.
    assert first in (4, 5) and trips_of(company) == first
    assert generate_upcoming_trips() == 0
    assert trips_of(suspended) == 0
