"""Console pages: the shared list of stations, searchable, and adding a missing one."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.companies import queries, services
from app.companies.forms import StationForm
from app.companies.views.console import blueprint
from app.core.forms import status_of, submit
from app.core.htmx import render


@blueprint.get("/stations")
def station_list():
    text = request.args.get("q", "").strip()[:80]
    return render("companies/console/stations.html", "results", stations=queries.search_stations(text), q=text)


@blueprint.route("/stations/new", methods=["GET", "POST"])
def station_new():
    form = StationForm()
    station = submit(
        form,
        lambda: services.add_station(
            g.user,
            g.access.company,
            name=form.name.data,
            city=form.city.data.strip(),
            latitude=form.latitude.data,
            longitude=form.longitude.data,
        ),
    )
    if station is not None:
        flash(_("%(name)s (%(city)s) added for every operator.", name=station.name, city=station.city), "success")
        return redirect(url_for(".station_list", q=station.name), 303)
    return render("companies/console/station_new.html", form=form, status=status_of(form))
