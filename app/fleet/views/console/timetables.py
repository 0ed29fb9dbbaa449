"""Console pages: timetables, and generating their trips.

Saving a timetable generates its trips at once (the hourly job would, later), so the dispatcher
sees them on the trips page straight away. Generation is idempotent. When the chosen driver is
already driving at the time of some of those trips, nothing is saved: the page lists them, and the
manager leaves the driver off those trips, picks another driver, or cancels.
"""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from app.core import tx
from app.core.forms import status_of, submit
from app.core.htmx import render
from app.core.models import utcnow
from app.fleet import queries, rules
from app.fleet.errors import DriverBusy
from app.fleet.forms import TimetableForm
from app.fleet.models import Bus, Route, Timetable, Trip
from app.fleet.services import trips
from app.fleet.views.console import blueprint


def _generate(company) -> list[Trip]:
    now = utcnow()
    return trips.generate_trips(company, today=trips.today_for(company, now), days=company.days_ahead, now=now)


def _created(count: int) -> str:
    return ngettext("%(num)d trip created", "%(num)d trips created", count)


def _saved(company, timetable: Timetable) -> str:
    made = _generate(company)
    sentence = _(
        "Timetable saved; %(created)s for the next %(days)s.",
        created=_created(len(made)),
        days=ngettext("%(num)d day", "%(num)d days", company.days_ahead),
    )
    driverless = sum(1 for trip in made if trip.timetable_id == timetable.id and trip.driver_id is None)
    if timetable.driver_id is not None and driverless:
        sentence += " " + ngettext(
            "%(num)d of them has no driver, as you chose: assign one on the trips page.",
            "%(num)d of them have no driver, as you chose: assign one on the trips page.",
            driverless,
        )
    return sentence


def _busy_driver_ok(form: TimetableForm) -> bool:
    """The manager saw which trips the driver is busy for and chose to leave them driverless; the
    choice names the driver it was made for, so choosing another driver asks again."""
    return form.driver_id.data is not None and request.form.get("busy_driver") == f"leave-off:{form.driver_id.data}"


@blueprint.get("/timetables")
def timetable_list():
    company = g.access.company
    return render(
        "fleet/console/timetable_list.html",
        timetables=queries.timetables_of(company),
        weekdays_label=rules.weekdays_label,
        days_ahead=company.days_ahead,
    )


def _form(company, timetable: Timetable | None) -> TimetableForm:
    if timetable is None:
        form = TimetableForm(valid_from=trips.today_for(company))
    else:
        form = TimetableForm(obj=timetable)
        if not form.is_submitted():
            form.weekdays.data = [day for day in range(7) if timetable.weekdays & (1 << day)]
    buses = queries.buses_of(company, status="active")
    if timetable is not None and timetable.bus is not None and timetable.bus not in buses:
        buses.append(timetable.bus)  # keep the bus it has while that bus is in the workshop
    return form.fill(routes=queries.routes_of(company), buses=buses, drivers=queries.drivers_of(company))


def _save(timetable: Timetable | None):
    company = g.access.company
    form = _form(company, timetable)
    saved = submit(
        form,
        lambda: trips.save_timetable(
            g.user,
            company,
            timetable,
            route=queries.company_object_or_404(Route, company, form.route_id.data),
            departure_time=form.departure_time.data,
            weekdays=rules.weekdays_mask(form.weekdays.data),
            bus=queries.company_object_or_404(Bus, company, form.bus_id.data) if form.bus_id.data else None,
            driver_id=queries.driver_of_company(company, form.driver_id.data).id if form.driver_id.data else None,
            valid_from=form.valid_from.data,
            valid_to=form.valid_to.data,
            is_active=form.is_active.data,
            now=utcnow(),
            busy_driver_ok=_busy_driver_ok(form),
        ),
        catch=(DriverBusy,),
    )
    if saved is not None:
        flash(_saved(company, saved), "success")
        return redirect(url_for(".timetable_list"), 303)
    if form.is_submitted():
        tx.rollback()
    failure = getattr(form, "failure", None)
    return render(
        "fleet/console/timetable_form.html",
        form=form,
        timetable=timetable,
        busy=failure.busy if isinstance(failure, DriverBusy) else None,
        company=company,
        status=status_of(form),
    )


@blueprint.route("/timetables/new", methods=["GET", "POST"])
def timetable_new():
    return _save(None)


@blueprint.route("/timetables/<int:timetable_id>", methods=["GET", "POST"])
def timetable_edit(timetable_id: int):
    return _save(queries.company_object_or_404(Timetable, g.access.company, timetable_id))


@blueprint.post("/timetables/generate")
def timetable_generate():
    flash(_("%(created)s.", created=_created(len(_generate(g.access.company)))), "success")
    return redirect(url_for(".timetable_list"), 303)
