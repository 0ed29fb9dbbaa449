"""Boarding on the driver's phone (``/driver/trips/<id>/...``): the scan page, the JSON its script
(scanner.js) talks to, and the manifest with Depart stop. Session and CSRF like the rest of
/driver; every trip is loaded as one of the driver's own, so another's id answers 404."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.booking.services import boarding
from app.core.errors import InvalidInput, NotFound
from app.core.htmx import render, wants_fragment
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Trip, TripStop

blueprint = Blueprint("boarding", __name__)


def _my_trip(trip_id: int) -> Trip:
    trip = db.session.scalar(
        select(Trip)
        .where(Trip.id == trip_id, Trip.company_id == g.access.company_id, Trip.driver_id == g.user.id)
        .options(selectinload(Trip.stops).joinedload(TripStop.station))
    )
    if trip is None:
        raise NotFound(_("That is not one of your trips."))
    return trip


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(_("Send the scan as a JSON object."))
    return body


def _text(body: dict, name: str, *, limit: int = 512) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(_("That scan is not readable."))
    return value


def _device(body: dict) -> str:
    return (_text(body, "device", limit=64) or "").strip() or _("unnamed phone")


def _stop(body: dict) -> int | None:
    stop = body.get("stop")
    if stop is not None and (not isinstance(stop, int) or isinstance(stop, bool) or not 0 <= stop < 256):
        raise InvalidInput(_("That stop is not on this trip."))
    return stop


@blueprint.get("/trips/<int:trip_id>/scan")
def scan_page(trip_id: int):
    trip = _my_trip(trip_id)
    return render(
        "home/driver/scan.html",
        trip=trip,
        manifest=boarding.manifest(trip),
        time_zone=current_app.config["DISPLAY_TIMEZONE"],
    )


@blueprint.get("/trips/<int:trip_id>/pack")
def pack(trip_id: int):
    _my_trip(trip_id)
    return jsonify(boarding.offline_pack(g.user, trip_id, now=utcnow()))


@blueprint.post("/trips/<int:trip_id>/scans")
def scan(trip_id: int):
    _my_trip(trip_id)
    body = _body()
    answer = boarding.scan(
        g.user,
        trip_id,
        qr=_text(body, "qr"),
        code=_text(body, "code", limit=20),
        device=_device(body),
        stop=_stop(body),
        scan_id=_text(body, "scan_id", limit=36),
        now=utcnow(),
    )
    return jsonify(answer.as_json())


@blueprint.post("/trips/<int:trip_id>/scans/batch")
def scan_batch(trip_id: int):
    _my_trip(trip_id)
    body = _body()
    scans = body.get("scans")
    if not isinstance(scans, list) or not all(isinstance(scan, dict) for scan in scans) or len(scans) > 500:
        raise InvalidInput(_("Send the waiting scans as a list."))
    for scan in scans:
        _text(scan, "qr"), _text(scan, "code", limit=20), _text(scan, "scan_id", limit=36), _stop(scan)
        _scanned_at(scan)
    answers = boarding.upload(g.user, trip_id, scans, device=_device(body), now=utcnow())
    return jsonify({"answers": [answer.as_json() for answer in answers]})


def _scanned_at(scan: dict) -> None:
    """A client's time the service can read (ISO 8601), checked here so a bad one is a 422."""
    text = _text(scan, "scanned_at", limit=40)
    if text is not None:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(_("That scan's time is not readable.")) from None


@blueprint.post("/trips/<int:trip_id>/scans/<code>/undo")
def undo(trip_id: int, code: str):
    _my_trip(trip_id)
    answer = boarding.undo(g.user, trip_id, code[:20], device=_device(_body()), now=utcnow())
    return jsonify(answer.as_json())


@blueprint.get("/trips/<int:trip_id>/manifest")
def manifest(trip_id: int):
    trip = _my_trip(trip_id)
    return render("home/driver/manifest.html", "manifest", trip=trip, manifest=boarding.manifest(trip))


@blueprint.post("/trips/<int:trip_id>/depart-stop")
def depart_stop(trip_id: int):
    trip = _my_trip(trip_id)
    try:
        position = int(request.form.get("position", ""))
    except ValueError:
        raise InvalidInput(_("Which stop is the bus leaving?")) from None
    boarding.depart_stop(g.user, trip_id, position, no_shows=request.form.getlist("no_show"), now=utcnow())
    if not wants_fragment():
        return redirect(url_for("driver.boarding.scan_page", trip_id=trip_id), 303)
    db.session.refresh(trip)
    return render("home/driver/manifest.html", "manifest", trip=trip, manifest=boarding.manifest(trip))
