"""Console pages: routes with their ordered stops, and the fare matrix."""

from __future__ import annotations

import math

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.accounts.rules import Role
from app.companies.queries import stations_by_city
from app.core import tx
from app.core.edge import ID_MAX
from app.core.errors import DomainError, InvalidInput
from app.core.htmx import render
from app.core.models import utcnow
from app.fleet import queries
from app.fleet.forms import RouteForm
from app.fleet.models import Route
from app.fleet.rules import SEAT_CLASSES
from app.fleet.services import network
from app.fleet.views.console import blueprint
from app.web.surface import requires_role


@blueprint.get("/routes")
def route_list():
    return render("fleet/console/route_list.html", routes=queries.routes_of(g.access.company))


def _number(raw: str, kind=int):
    try:
        value = kind(raw) if raw.strip() != "" else None
    except ValueError:
        return -1  # refused by the service with a message for that row
    if value is not None and not (math.isfinite(value) and abs(value) <= ID_MAX):
        return -1  # nothing a column can hold
    return value


def _posted_stops() -> list[network.StopInput]:
    rows = zip(
        request.form.getlist("station_id"),
        request.form.getlist("minutes"),
        request.form.getlist("km"),
        request.form.getlist("leg_fare"),
        strict=False,
    )
    return [network.StopInput(_number(s), _number(m), _number(k, float), _number(f)) for s, m, k, f in list(rows)[:30]]


def _edited(stops: list[network.StopInput], op: str) -> list[network.StopInput]:
    """Apply an editor button: add a row, remove one, or move one up or down."""
    action, _, index = op.partition("-")
    i = int(index) if index.isdigit() else -1
    if action == "add":
        return [*stops, network.StopInput(None, None, None, None)]
    if action == "remove" and 0 <= i < len(stops):
        return stops[:i] + stops[i + 1 :]
    if action in ("up", "down"):
        j = i - 1 if action == "up" else i + 1
        if 0 <= i < len(stops) and 0 <= j < len(stops):
            stops = list(stops)
            stops[i], stops[j] = stops[j], stops[i]
    return stops


def _initial_stops(route: Route | None) -> list[network.StopInput]:
    if route is None:
        return [network.StopInput(None, 0, 0, 0), network.StopInput(None, None, None, None)]
    return [network.StopInput(s.station_id, s.minutes_from_start, s.km_from_start, s.leg_fare) for s in route.stops]


def _save(route: Route | None):
    company = g.access.company
    form = RouteForm(obj=route)
    stops = _posted_stops() if request.method == "POST" else _initial_stops(route)
    op = request.form.get("op", "save")
    stop_errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST" and op != "save":
        stops = _edited(stops, op)
    elif form.validate_on_submit():
        try:
            saved = network.save_route(
                g.user,
                company,
                route,
                name=form.name.data,
                vip_markup_percent=form.vip_markup_percent.data,
                is_active=form.is_active.data,
                stops=stops,
                now=utcnow(),
            )
        except InvalidInput as error:
            tx.rollback()  # the page shown again reads the stored route
            stop_errors = {k: v for k, v in error.fields.items() if k.startswith("stops")}
            for name, messages in error.fields.items():
                if not name.startswith("stops"):
                    getattr(form, name).errors = [*getattr(form, name).errors, *messages]
            status = 422
        except DomainError as error:
            tx.rollback()
            form.form_errors.append(error.message)
            status = error.status
        else:
            flash(_("Route %(name)s saved.", name=saved.name), "success")
            return redirect(url_for(".route_list"), 303)
    elif request.method == "POST":
        status = 422
    return render(
        "fleet/console/route_form.html",
        "editor",
        form=form,
        route=route,
        stops=stops,
        stop_errors=stop_errors,
        stations=stations_by_city(),
        status=status,
    )


@blueprint.route("/routes/new", methods=["GET", "POST"])
def route_new():
    return _save(None)


@blueprint.route("/routes/<int:route_id>", methods=["GET", "POST"])
def route_edit(route_id: int):
    return _save(queries.company_object_or_404(Route, g.access.company, route_id))


@blueprint.route("/routes/<int:route_id>/fares", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def route_fares(route_id: int):
    route = queries.company_object_or_404(Route, g.access.company, route_id)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        amounts = {}
        for key in network.fare_matrix(route):
            raw = request.form.get(f"fare-{key[0]}-{key[1]}-{key[2]}", "").strip()
            amounts[key] = None if raw == "" else _number(raw)
        try:
            network.set_fares(g.user, route, amounts)
        except InvalidInput as error:
            tx.rollback()
            errors, status = error.fields, 422
        else:
            flash(_("Fares saved."), "success")
            return redirect(url_for(".route_fares", route_id=route.id), 303)
    return render(
        "fleet/console/fares.html",
        route=route,
        matrix=network.fare_matrix(route),
        posted=request.form if errors else {},
        errors=errors,
        classes=SEAT_CLASSES,
        status=status,
    )
