"""Fleet background work."""

from __future__ import annotations

from sqlalchemy import select

from app.companies.models import Company
from app.core.jobs import job
from app.core.models import utcnow
from app.extensions import db
from app.fleet.services.trips import generate_trips, today_for


@job
def generate_upcoming_trips() -> int:
    """Create every active company's timetabled trips up to its ``days_ahead``. Idempotent: run
    hourly by the scheduler, and at will (``flask fleet generate-trips``)."""
    now = utcnow()
    created = 0
    for company in db.session.scalars(select(Company).where(Company.status == "active")):
        created += len(generate_trips(company, today=today_for(company, now), days=company.days_ahead, now=now))
    return created
