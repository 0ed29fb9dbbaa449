"""Console pages: buses, their seat layouts and the trackers that report their positions."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.accounts.rules import Role
from app.core.errors import DomainError
from app.core.forms import status_of, submit
from app.core.htmx import is_htmx, render
from app.core.models import utcnow
from app.fleet import queries, rules
from app.fleet.forms import BusForm, LayoutGeneratorForm, TrackerForm
from app.fleet.models import Bus
from app.fleet.services import buses
from app.fleet.views.console import blueprint
from app.tracking import osmand, trackers
from app.web.surface import requires_role


@blueprint.get("/buses")
def bus_list():
    status = request.args.get("status") if request.args.get("status") in rules.BUS_STATUSES else None
    return render("fleet/console/bus_list.html", buses=queries.buses_of(g.access.company, status=status), status=status)


def _save(bus: Bus | None):
    company = g.access.company
    form = BusForm(obj=bus, layout=rules.layout_text(bus.seats)) if bus else BusForm()
    if bus is None and not form.is_submitted():
        form.layout.data = rules.generate_layout(12, 2, 2, 2, True)
    saved = submit(
        form,
        lambda: buses.save_bus(
            g.user,
            company,
            bus,
            plate=form.plate.data,
            model=form.model.data,
            status=form.status.data,
            layout=form.layout.data,
            now=utcnow(),
        ),
        catch=(DomainError,),
    )
    if saved is not None:
        flash(_("Bus %(plate)s saved with %(seats)s seats.", plate=saved.plate, seats=saved.capacity), "success")
        return redirect(url_for(".bus_edit", bus_id=saved.id), 303)
    return bus_page(bus, form, status=status_of(form))


def bus_page(bus: Bus | None, form: BusForm | None = None, *, status: int = 200, block: str | None = None, **section):
    """The bus's page (or, for htmx, ``block`` of it); ``section`` goes to its trackers section."""
    if form is None:
        form = BusForm(formdata=None, obj=bus, layout=rules.layout_text(bus.seats))
    return render(
        "fleet/console/bus_form.html",
        block,
        form=form,
        bus=bus,
        generator=LayoutGeneratorForm(formdata=None),
        preview=_preview(form.layout.data),
        status=status,
        **(tracker_section(bus, **section) if bus else {}),
    )


def _preview(text: str | None) -> dict:
    try:
        return {"seats": rules.parse_layout(text or ""), "error": None}
    except rules.LayoutError as error:
        return {"seats": [], "error": str(error)}


@blueprint.route("/buses/new", methods=["GET", "POST"])
def bus_new():
    return _save(None)


@blueprint.route("/buses/<int:bus_id>", methods=["GET", "POST"])
def bus_edit(bus_id: int):
    return _save(queries.company_object_or_404(Bus, g.access.company, bus_id))


@blueprint.post("/buses/layout-preview")
def bus_layout_preview():
    return render("fleet/console/_layout_preview.html", preview=_preview(request.form.get("layout", "")[:4000]))


@blueprint.post("/buses/layout-generate")
def bus_layout_generate():
    generator = LayoutGeneratorForm()
    form = BusForm(formdata=None)
    if generator.validate():
        try:
            form.layout.data = rules.generate_layout(
                generator.rows.data,
                generator.left.data,
                generator.right.data,
                generator.vip_rows.data,
                generator.back_row_full.data,
            )
        except rules.LayoutError as error:
            generator.rows.errors = [str(error)]
    else:
        form.layout.data = request.form.get("layout", "")
    return render(
        "fleet/console/_layout_editor.html",
        form=form,
        generator=generator,
        preview=_preview(form.layout.data),
        status=200 if not generator.errors else 422,
    )


# --- Trackers reporting for a bus ------------------------------------------------------------------


def tracker_section(bus: Bus, *, tracker_form: TrackerForm | None = None, notice: str | None = None) -> dict:
    manage = g.access.role == Role.ADMIN
    return {
        "trackers": trackers.of_bus(bus),
        "tracker_form": (tracker_form or TrackerForm(formdata=None)) if manage else None,
        "tracker_notice": notice,
        "osmand_url": current_app.config["BASE_URL"] + osmand.BARE_PATH,
    }


def _trackers_changed(bus: Bus, message: str):
    if is_htmx():
        return bus_page(bus, block="trackers", notice=message)
    flash(message, "success")
    return redirect(url_for(".bus_edit", bus_id=bus.id, _anchor="bus-trackers"), 303)


@blueprint.post("/buses/<int:bus_id>/trackers")
@requires_role(Role.ADMIN)
def tracker_add(bus_id: int):
    bus = queries.company_object_or_404(Bus, g.access.company, bus_id)
    form = TrackerForm()
    tracker = submit(form, lambda: trackers.register(g.user, bus, device_id=form.device_id.data, label=form.label.data))
    if tracker is None:
        return bus_page(bus, status=status_of(form), block="trackers", tracker_form=form)
    return _trackers_changed(
        bus, _("Tracker %(device)s now reports for %(plate)s.", device=tracker.device_id, plate=bus.plate)
    )


@blueprint.post("/buses/<int:bus_id>/trackers/<int:tracker_id>/remove")
@requires_role(Role.ADMIN)
def tracker_remove(bus_id: int, tracker_id: int):
    bus = queries.company_object_or_404(Bus, g.access.company, bus_id)
    tracker = trackers.on_bus_or_404(bus, tracker_id)
    trackers.remove(g.user, tracker)
    return _trackers_changed(
        bus, _("Tracker %(device)s removed from %(plate)s.", device=tracker.device_id, plate=bus.plate)
    )
