"""The company's audit log in the console: who changed what, when, before and after."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, g, request

from app.accounts.rules import Role
from app.audit import queries
from app.core.edge import day, db_id, page_number
from app.core.htmx import render
from app.web.surface import requires_role

blueprint = Blueprint("audit", __name__)


def _int(name: str) -> int | None:
    return request.args.get(name, type=db_id)


def _date(name: str) -> date | None:
    return request.args.get(name, type=day)


@blueprint.get("/audit")
@requires_role(Role.ADMIN)
def index():
    company = g.access.company
    where = queries.AuditFilter(
        action=request.args.get("action", "")[:60],
        actor_id=_int("actor"),
        object_type=request.args.get("type", "")[:40],
        object_id=_int("object"),
        since=_date("since"),
        until=_date("until"),
        page=request.args.get("page", 1, type=page_number),
    )
    entries, more = queries.entries(company.id, where, company.timezone)
    actions, types, actors = queries.facets(company.id)
    return render(
        "audit/console/index.html",
        "results",
        entries=entries,
        more=more,
        where=where,
        actions=actions,
        types=types,
        actors=actors,
    )
