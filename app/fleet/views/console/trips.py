"""Console pages: the trips of a day, one trip with what a dispatcher may do to it, bus swap and
the manifest.

A refused action (the status table, an edit of a trip that has left, an overlap, a swap that does
not fit) re-renders the page with the service's sentence and its status (409) for a full-page
POST; htmx requests let the error rise, and the error handler answers with a toast.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Response, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.booking.services import boarding
from app.core import edge, tx
from app.core.forms import status_of, submit
from app.core.htmx import is_htmx, render
from app.core.i18n import local_time
from app.core.models import utcnow
from app.fleet import queries, rules
from app.fleet.errors import AssignmentConflict, SwapRefused, TransitionRefused, TripNotEditable
from app.fleet.forms import AssignForm, CancelForm, DelayForm, StatusForm, SwapForm, TripForm, swap_choices
from app.fleet.models import Bus, Route, Trip
from app.fleet.rules import TripStatus
from app.fleet.services import swap, trips
from app.fleet.views.console import blueprint

CANCELLED = TripStatus.CANCELLED
REFUSALS = (TransitionRefused, TripNotEditable, AssignmentConflict, SwapRefused)


def _refusals() -> tuple:
    return () if is_htmx() else REFUSALS


def _trip(trip_id: int) -> Trip:
    return queries.company_object_or_404(Trip, g.access.company, trip_id)


def _bus(bus_id: int | None) -> Bus | None:
    return queries.company_object_or_404(Bus, g.access.company, bus_id) if bus_id else None


def _driver_id(driver_id: int | None) -> int | None:
    return queries.driver_of_company(g.access.company, driver_id).id if driver_id else None


def _fleet() -> dict:
    company = g.access.company
    return {"buses": queries.buses_of(company, status="active"), "drivers": queries.drivers_of(company)}


def _done(trip: Trip, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for(".trip_detail", trip_id=trip.id), 303)


# --- Trips of a day ----------------------------------------------------------------------------


@blueprint.get("/trips")
def trip_list():
    company = g.access.company
    day = request.args.get("date", type=edge.day) or trips.today_for(company)
    route_id = request.args.get("route", type=edge.db_id)
    status = request.args.get("status") if request.args.get("status") in rules.TRIP_STATUSES else None
    found = queries.trips_on(company, day, route_id=route_id, status=status)
    return render(
        "fleet/console/trip_list.html",
        "results",
        day=day,
        trips=found,
        sold=queries.sold_count([t.id for t in found]),
        routes=queries.routes_of(company),
        route_id=route_id,
        status=status,
        statuses=rules.TRIP_STATUSES,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
    )


@blueprint.route("/trips/new", methods=["GET", "POST"])
def trip_new():
    company = g.access.company
    form = TripForm(day=trips.today_for(company)).fill(routes=queries.routes_of(company, active_only=True), **_fleet())
    trip = submit(
        form,
        lambda: trips.create_trip(
            g.user,
            company,
            route=queries.company_object_or_404(Route, company, form.route_id.data),
            departs_at=trips.local_datetime(company, form.day.data, form.departure.data),
            bus=_bus(form.bus_id.data),
            driver_id=_driver_id(form.driver_id.data),
            now=utcnow(),
        ),
        catch=_refusals(),
    )
    if trip is not None:
        return _done(
            trip,
            _(
                "Trip created: %(route)s, %(when)s.",
                route=trip.route.name,
                when=local_time(trip.departs_at, "%a %d %b %H:%M", zone=company.timezone),
            ),
        )
    if form.is_submitted():
        tx.rollback()
    return render("fleet/console/trip_new.html", form=form, status=status_of(form))


# --- One trip ----------------------------------------------------------------------------------


def _detail(trip: Trip, failed: str | None = None, form=None) -> Response:
    """The trip page; ``failed`` names the action whose ``form`` is shown again with its errors."""
    if failed:
        tx.rollback()  # a refused service may have changed the trip in memory before refusing
    expected = trip.departs_at.astimezone(ZoneInfo(g.access.company.timezone))
    forms = {
        "status": StatusForm(formdata=None),
        "assign": AssignForm(formdata=None, driver_id=trip.driver_id).fill(**_fleet()),
        "delay": DelayForm(formdata=None, day=expected.date(), new_departure=expected.time()),
        "cancel": CancelForm(formdata=None),
    }
    editable = trip.status in rules.EDITABLE
    shown = {
        "status": True,
        "assign": editable,
        "delay": editable,
        "cancel": rules.can_transition(trip.status, CANCELLED),
    }
    alerts = []
    if failed:
        forms[failed] = form
        alerts = list(form.form_errors)
        if failed == "status" or not shown[failed]:  # no field on the page to show these next to
            alerts += [message for name, errors in form.errors.items() if name for message in errors]
    occupancy = queries.occupancy_by_leg(trip)
    next_statuses = [s for s in rules.TRIP_STATUSES if s != CANCELLED and rules.can_transition(trip.status, s)]
    now = utcnow()
    opens = {s: rules.earliest(s, trip.departs_at) for s in next_statuses}
    return render(
        "fleet/console/trip_detail.html",
        "trip",
        status=status_of(form) if failed else 200,
        trip=trip,
        legs=[(trip.stops[i], trip.stops[i + 1], taken) for i, taken in enumerate(occupancy)],
        capacity=trip.bus.capacity if trip.bus else 0,
        sold=queries.sold_count([trip.id]).get(trip.id, 0),
        boarded=queries.boarded_count(trip),
        next_statuses=next_statuses,
        not_before={s: at for s, at in opens.items() if at is not None and at > now},
        shown=shown,
        forms=forms,
        failed=failed,
        alerts=alerts,
    )


@blueprint.get("/trips/<int:trip_id>")
def trip_detail(trip_id: int):
    return _detail(_trip(trip_id))


@blueprint.post("/trips/<int:trip_id>/status")
def trip_status(trip_id: int):
    trip, form = _trip(trip_id), StatusForm()
    done = submit(form, lambda: trips.change_status(g.user, trip, form.status.data, now=utcnow()), catch=_refusals())
    if done is not None:
        return _done(done, _("The trip is now %(status)s.", status=TripStatus(done.status).label.lower()))
    return _detail(trip, "status", form)


@blueprint.post("/trips/<int:trip_id>/assign")
def trip_assign(trip_id: int):
    trip, form = _trip(trip_id), AssignForm().fill(**_fleet())
    done = submit(
        form,
        lambda: trips.assign(g.user, trip, bus=_bus(form.bus_id.data), driver_id=_driver_id(form.driver_id.data)),
        catch=_refusals(),
    )
    if done is not None:
        bus = done.bus.plate if done.bus else _("no bus yet")
        driver = queries.driver_of_company(g.access.company, done.driver_id).name if done.driver_id else _("none yet")
        return _done(done, _("Saved: bus %(bus)s, driver %(driver)s.", bus=bus, driver=driver))
    return _detail(trip, "assign", form)


@blueprint.post("/trips/<int:trip_id>/delay")
def trip_delay(trip_id: int):
    trip, form = _trip(trip_id), DelayForm()
    done = submit(
        form,
        lambda: trips.delay_trip(
            g.user,
            trip,
            new_departure=trips.local_datetime(g.access.company, form.day.data, form.new_departure.data),
            reason=form.reason.data,
            now=utcnow(),
        ),
        catch=_refusals(),
    )
    if done is not None:
        minutes = int(done.delay.total_seconds() // 60)
        return _done(done, _("Delay saved: the trip now leaves %(minutes)s minutes late.", minutes=minutes))
    return _detail(trip, "delay", form)


@blueprint.post("/trips/<int:trip_id>/cancel")
def trip_cancel(trip_id: int):
    trip, form = _trip(trip_id), CancelForm()
    done = submit(
        form, lambda: trips.cancel_trip(g.user, trip, reason=form.reason.data, now=utcnow()), catch=_refusals()
    )
    if done is not None:
        return _done(done, _("The trip is cancelled. Its passengers will be told and refunded."))
    return _detail(trip, "cancel", form)


# --- Bus swap ----------------------------------------------------------------------------------


def _candidates(trip: Trip) -> list[dict]:
    """The company's buses in service that could replace the trip's bus, with what would stop them."""
    needed = swap.peak_by_class(queries.active_tickets(trip), trip.legs)
    rows = []
    for bus in queries.buses_of(g.access.company, status="active"):
        if bus.id == trip.bus_id:
            continue
        busy = queries.overlapping_trip(trip, bus_id=bus.id)
        short = [
            _("%(count)s %(seat_class)s needed", count=needed[c], seat_class=rules.SEAT_CLASS_LABELS[c])
            for c in needed
            if bus.seats_of_class(c) < needed[c]
        ]
        rows.append({"bus": bus, "vip": bus.seats_of_class("vip"), "busy": busy, "short": short})
    return rows


@blueprint.route("/trips/<int:trip_id>/swap", methods=["GET", "POST"])
def trip_swap(trip_id: int):
    trip = _trip(trip_id)
    candidates = _candidates(trip)
    form = SwapForm()
    form.bus_id.choices = swap_choices(row["bus"] for row in candidates)
    seats = {t.id: t.seat_label for t in queries.active_tickets(trip)}
    done = submit(form, lambda: swap.swap_bus(g.user, trip, _bus(form.bus_id.data), now=utcnow()), catch=_refusals())
    if done is not None:
        moved = sum(1 for t in queries.active_tickets(done) if seats.get(t.id) != t.seat_label)
        changed = ngettext(
            "Bus changed to %(plate)s; %(num)d passenger re-seated.",
            "Bus changed to %(plate)s; %(num)d passengers re-seated.",
            moved,
            plate=done.bus.plate,
        )
        return _done(done, changed)
    if form.is_submitted():
        tx.rollback()
    return render(
        "fleet/console/trip_swap.html",
        status=status_of(form),
        trip=trip,
        form=form,
        candidates=candidates,
        sold=len(seats),
        editable=trip.status in rules.EDITABLE,
        closed_reason=rules.not_editable_reason(trip.status),
    )


# --- Manifest ----------------------------------------------------------------------------------


@blueprint.get("/trips/<int:trip_id>/manifest")
def trip_manifest(trip_id: int):
    trip = _trip(trip_id)
    passengers = boarding.manifest(trip)
    statuses = ("boarded", "not_yet", "no_show")
    totals = {status: sum(stop.count(status) for stop in passengers.stops) for status in statuses}
    return render(
        "fleet/console/manifest.html",
        trip=trip,
        manifest=passengers,
        totals=totals,
        socket=f"/ws/console/trips/{trip.id}",
    )


MANIFEST_HEADER = (
    _l("Seat"),
    _l("Passenger"),
    _l("Phone"),
    _l("From"),
    _l("To"),
    _l("Class"),
    _l("Ticket"),
    _l("Payment"),
    _l("Boarded at"),
)


def _cell(value) -> str:
    """A cell a spreadsheet shows as text instead of running it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@blueprint.get("/trips/<int:trip_id>/manifest.csv")
def trip_manifest_csv(trip_id: int):
    trip = _trip(trip_id)
    zone = ZoneInfo(g.access.company.timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MANIFEST_HEADER)
    for t in queries.manifest(trip):
        row = (
            t.seat_label,
            t.passenger_name,
            t.passenger_phone,
            t.origin.name,
            t.destination.name,
            rules.SEAT_CLASS_LABELS[t.seat_class],
            t.code,
            _("paid") if t.status == "paid" else _("pending"),
            t.boarded_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if t.boarded_at else "",
        )
        writer.writerow([_cell(value) for value in row])
    filename = f"manifest-trip-{trip.id}-{trip.service_date.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
