"""The company console's home: the signed-in member's own company, nobody else's."""

from __future__ import annotations

from flask import Blueprint, g

from app.analytics import queries as analytics
from app.core.htmx import render
from app.core.models import utcnow
from app.fleet.queries import local_day_bounds
from app.fleet.services.trips import today_for

blueprint = Blueprint("companies", __name__)


@blueprint.get("/")
def dashboard():
    company = g.access.company
    now = utcnow()
    day = today_for(company, now)
    return render(
        "companies/console/dashboard.html",
        membership=g.access,
        company=company,
        day=day,
        day_start=local_day_bounds(day, company.timezone)[0],
        today=analytics.today(company, day, now),
    )


from app.companies.views.console import settings, staff, stations  # noqa: E402, F401  (register routes)
