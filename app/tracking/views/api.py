"""Device and partner endpoints for live positions, without a bearer token:

- OsmAnd reports from trackers at ``/api/v1/positions/osmand`` and at the bare ``/osmand`` (a
  tracker is set up with a host, a port and at most a short path). The registered device id is
  the credential, as in Traccar; query string, form or JSON; no CSRF (a device, not a browser,
  and nothing but a position can be sent); counted per device so a runaway tracker cannot flood us.
- Each company's GTFS-Realtime VehiclePositions feed, public like an agency's feed.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from app.companies.models import Company
from app.core.errors import NotFound, RateLimited
from app.core.models import utcnow
from app.core.security import Counter
from app.extensions import db
from app.tracking import gtfs_rt, osmand, services, trackers
from app.tracking.live import FixDiscarded, FixRefused
from app.web.surface import public

blueprint = Blueprint("tracking", __name__)

# Trackers report every few seconds at most; this leaves room for one flushing its offline buffer.
REPORTS_PER_MINUTE = 120
_reports = Counter("osmand", REPORTS_PER_MINUTE, 60)


@blueprint.route("/positions/osmand", methods=["GET", "POST"])
@public
def osmand_report():
    body = None
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise FixRefused("The body must be a JSON object.")
    device_id = osmand.device_id_of(request.values, body)
    wait = _reports.exceeded(device_id)
    if wait:
        raise RateLimited(f"More than {REPORTS_PER_MINUTE} reports a minute from this device.", retry_after=wait)
    _reports.hit(device_id)
    tracker = services.tracker_for(device_id)
    now = utcnow()
    report = osmand.parse(request.values, body, now=now)
    if report.fix is None:
        trackers.seen(tracker, battery=report.battery, now=now)
        return jsonify(accepted=False, reason="The device reports no satellite fix.")
    try:
        stored = services.from_tracker(tracker, report.fix, battery=report.battery, now=now)
    except FixDiscarded as discarded:
        # Answered 200: a tracker resends a refused report until it is taken, and this one never will be.
        trackers.seen(tracker, battery=report.battery, now=now)
        return jsonify(accepted=False, reason=discarded.message)
    return jsonify(accepted=True, moved=stored.moved)


@blueprint.record_once
def _bare_path(state) -> None:
    """The same view, under the same endpoint, at the site's root: the API surface's rules (public
    views, no CSRF, JSON errors) apply to it as they do under /api/v1."""
    endpoint = f"{state.name_prefix}.{state.name}.osmand_report".lstrip(".")
    state.app.add_url_rule(osmand.BARE_PATH, endpoint, osmand_report, methods=["GET", "POST"])


@blueprint.get("/companies/<code>/gtfs-rt/vehicle-positions")
@public
def vehicle_positions(code: str):
    company = db.session.scalar(select(Company).where(Company.code == code[:40], Company.status == "active"))
    if company is None:
        raise NotFound("No such company.")
    feed = gtfs_rt.vehicle_positions(company, now=utcnow())
    if request.args.get("format") == "json":
        response = jsonify(gtfs_rt.as_json(feed))
    else:
        response = Response(feed, mimetype="application/x-protobuf")
    response.headers["Cache-Control"] = f"public, max-age={gtfs_rt.CACHE_SECONDS}"
    return response
