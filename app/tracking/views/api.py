"""Device and partner endpoints for live positions, without a bearer token:

- OsmAnd reports from trackers at ``/api/v1/positions/osmand`` and at the bare ``/osmand`` (a
  tracker is set up with a host, a port and at most a short path). The registered device id is
  the credential, as in Traccar; query string, form or JSON; no CSRF (a device, not a browser,
  and nothing but a position can be sent); counted per device so a runaway tracker cannot flood us.
- Each company's GTFS-Realtime VehiclePositions feed, public like an agency's feed.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, current_app
from sqlalchemy import select

from app.companies.models import Company
from app.core.errors import NotFound, RateLimited
from app.core.models import utcnow
from app.core.schema import Content, Model, QueryModel, operation
from app.core.security import Counter
from app.extensions import db
from app.tracking import gtfs_rt, osmand, services, trackers
from app.tracking.live import FixDiscarded, FixRefused
from app.web.surface import public

blueprint = Blueprint("tracking", __name__)

# Trackers report every few seconds at most; this leaves room for one flushing its offline buffer.
REPORTS_PER_MINUTE = 120
_reports = Counter("osmand", REPORTS_PER_MINUTE, 60)


class Accepted(Model):
    accepted: Literal[True]
    moved: bool
    """False: older than the bus's latest position, kept in its history only"""


class Ignored(Model):
    """A report that can never be taken (too old, an impossible jump, no satellite fix): answered
    200 so the device moves on to newer ones."""

    accepted: Literal[False]
    reason: str


@blueprint.route("/positions/osmand", methods=["GET", "POST"])
@public
@operation(
    query=osmand.OsmAndFields,
    form=osmand.OsmAndFields,
    body=osmand.TraccarReport,
    answers={200: Accepted | Ignored},
    errors=(429,),
    invalid=FixRefused,
)
def osmand_report(
    query: osmand.OsmAndFields, form: osmand.OsmAndFields | None = None, body: osmand.TraccarReport | None = None
):
    """A tracker's position in the OsmAnd protocol (no bearer token: the registered device id
    identifies the bus)

    Also served at /osmand. Query string or form: id|deviceid, lat+lon or location=lat,lon,
    timestamp (Unix s or ms, ISO-8601, yyyy-MM-dd HH:mm:ss UTC), speed (knots), bearing|heading,
    altitude, accuracy, hdop, batt (%), valid. JSON (Traccar Client 9+): {device_id, location:
    {timestamp, coords: {latitude, longitude, speed (m/s), heading, accuracy, altitude}, battery:
    {level (0..1)}}}. Bad values answer 400 `bad_fix` with the reason; each device gets
    120 reports a minute, then 429.
    """
    values = {**(form.wire() if form else {}), **query.wire()}
    report_body = body.wire() if body else None
    device_id = osmand.device_id_of(values, report_body)
    wait = _reports.exceeded(device_id)
    if wait:
        raise RateLimited(f"More than {REPORTS_PER_MINUTE} reports a minute from this device.", retry_after=wait)
    _reports.hit(device_id)
    tracker = services.tracker_for(device_id)
    now = utcnow()
    report = osmand.parse(values, report_body, now=now)
    if report.fix is None:
        trackers.seen(tracker, battery=report.battery, now=now)
        return Ignored(accepted=False, reason="The device reports no satellite fix.")
    try:
        stored = services.from_tracker(tracker, report.fix, battery=report.battery, now=now)
    except FixDiscarded as discarded:
        # Answered 200: a tracker resends a refused report until it is taken, and this one never will be.
        trackers.seen(tracker, battery=report.battery, now=now)
        return Ignored(accepted=False, reason=discarded.message)
    return Accepted(accepted=True, moved=stored.moved)


@blueprint.record_once
def _bare_path(state) -> None:
    """The same view, under the same endpoint, at the site's root: the API surface's rules (public
    views, no CSRF, JSON errors) apply to it as they do under /api/v1."""
    endpoint = f"{state.name_prefix}.{state.name}.osmand_report".lstrip(".")
    state.app.add_url_rule(osmand.BARE_PATH, endpoint, osmand_report, methods=["GET", "POST"])


class FeedQuery(QueryModel):
    format: Literal["json"] | None = None
    """json: the same feed as JSON (field names as in the .proto), for debugging"""


FEED = Content(
    {
        "application/x-protobuf": {"type": "string", "format": "binary"},
        "application/json": {"type": "object", "description": "The FeedMessage as JSON (?format=json)"},
    },
    "A FeedMessage: one VehiclePosition per running trip with a live position",
    headers=("Cache-Control",),
)


@blueprint.get("/companies/<code>/gtfs-rt/vehicle-positions")
@public
@operation(query=FeedQuery, answers={200: FEED})
def vehicle_positions(code: str, query: FeedQuery):
    """A company's GTFS-Realtime VehiclePositions feed (public; cached for 5 s)"""
    company = db.session.scalar(select(Company).where(Company.code == code[:40], Company.status == "active"))
    if company is None:
        raise NotFound("No such company.")
    feed = gtfs_rt.vehicle_positions(company, now=utcnow())
    if query.format == "json":
        response = current_app.json.response(gtfs_rt.as_json(feed))
    else:
        response = Response(feed, mimetype="application/x-protobuf")
    response.headers["Cache-Control"] = f"public, max-age={gtfs_rt.CACHE_SECONDS}"
    return response
