"""Console pages: the shared list of stations and towns, searchable; adding a missing one, and
correcting one (company admins: every operator sees the change)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app.accounts.rules import Role
from app.companies import queries, services
from app.companies.forms import StationForm, TownForm
from app.companies.models import Station, Town
from app.companies.views.console import blueprint
from app.core.errors import InvalidInput
from app.core.forms import status_of, submit
from app.core.htmx import render
from app.extensions import db
from app.web.surface import requires_role


@blueprint.get("/stations")
def station_list():
    text = request.args.get("q", "").strip()[:80]
    return render(
        "companies/console/stations.html",
        "results",
        stations=queries.search_stations(text),
        q=text,
        can_edit=g.access.role == Role.ADMIN,
    )


def _station_form(station: Station | None) -> StationForm:
    form = StationForm(obj=station, town=station.town_id if station else request.args.get("town", type=int))
    towns = queries.towns_with_station_counts()
    form.town.choices = [SelectChoice(0, _("Choose a town"))] + [SelectChoice(t.id, t.name) for t, _n in towns]
    return form


def _chosen_town(form: StationForm) -> Town:
    town = db.session.get(Town, form.town.data) if form.town.data else None
    if town is None:
        raise InvalidInput(fields={"town": [_("Choose the town; add it first when it is missing.")]})
    return town


@blueprint.route("/stations/new", methods=["GET", "POST"])
def station_new():
    form = _station_form(None)
    station = submit(
        form,
        lambda: services.add_station(
            g.user,
            g.access.company,
            name=form.name.data.strip(),
            town=_chosen_town(form),
            latitude=form.latitude.data,
            longitude=form.longitude.data,
        ),
    )
    if station is not None:
        flash(
            _("%(station)s (%(town)s) added for every operator.", station=station.name, town=station.town.name),
            "success",
        )
        return redirect(url_for(".station_list", q=station.name), 303)
    return render("companies/console/station_form.html", form=form, station=None, status=status_of(form))


@blueprint.route("/stations/<int:station_id>", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def station_edit(station_id: int):
    station = queries.station_or_404(station_id)
    form = _station_form(station)
    saved = submit(
        form,
        lambda: services.update_station(
            g.user,
            g.access.company,
            station,
            name=form.name.data.strip(),
            town=_chosen_town(form),
            latitude=form.latitude.data,
            longitude=form.longitude.data,
        ),
    )
    if saved is not None:
        flash(
            _("%(station)s (%(town)s) saved for every operator.", station=saved.name, town=saved.town.name), "success"
        )
        return redirect(url_for(".station_list", q=saved.name), 303)
    return render("companies/console/station_form.html", form=form, station=station, status=status_of(form))


# --- Towns ----------------------------------------------------------------------------------


@blueprint.get("/towns")
def town_list():
    return render(
        "companies/console/towns.html", towns=queries.towns_with_station_counts(), can_edit=g.access.role == Role.ADMIN
    )


@blueprint.route("/towns/new", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def town_new():
    form = TownForm()
    town = submit(
        form, lambda: services.add_town(g.user, g.access.company, name=form.name.data, aliases=form.alias_list)
    )
    if town is not None:
        flash(_("Town %(town)s added for every operator.", town=town.name), "success")
        return redirect(url_for(".town_list"), 303)
    return render("companies/console/town_form.html", form=form, town=None, status=status_of(form))


@blueprint.route("/towns/<int:town_id>", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def town_edit(town_id: int):
    town = queries.town_or_404(town_id)
    form = TownForm(obj=town, aliases=", ".join(town.aliases or ()))
    saved = submit(
        form, lambda: services.update_town(g.user, g.access.company, town, name=form.name.data, aliases=form.alias_list)
    )
    if saved is not None:
        flash(_("Town %(town)s saved for every operator.", town=saved.name), "success")
        return redirect(url_for(".town_list"), 303)
    return render("companies/console/town_form.html", form=form, town=town, status=status_of(form))
