"""The company console's home: the signed-in member's own company, nobody else's."""

from __future__ import annotations

from flask import Blueprint, g

from app.companies.queries import members_of
from app.core.htmx import render

blueprint = Blueprint("companies", __name__)


@blueprint.get("/")
def dashboard():
    membership = g.access
    return render(
        "companies/console/dashboard.html",
        membership=membership,
        company=membership.company,
        members=members_of(membership.company),
    )
