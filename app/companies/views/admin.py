"""Super-admin view of every company on the platform."""

from __future__ import annotations

from flask import Blueprint

from app.companies.queries import all_companies_with_staff_counts
from app.core.htmx import render

blueprint = Blueprint("companies", __name__)


@blueprint.get("/")
def index():
    return render("companies/admin/index.html", "content", companies=all_companies_with_staff_counts())
