"""The company's live fleet map: every running bus on a map (fleetmap.js on /ws/fleet), the running
trips with the age of their last position, and what has gone quiet: running trips without a recent
position and registered trackers not heard from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, current_app, g

from app.core.htmx import render, wants_fragment
from app.core.models import utcnow
from app.fleet.models import Trip
from app.tracking import live, queries

blueprint = Blueprint("tracking", __name__)


@dataclass(frozen=True)
class Running:
    trip: Trip
    position: dict | None  # the bus's latest fix, whichever trip it was taken on
    age: int | None  # seconds

    @property
    def stale(self) -> bool:
        return self.age is None or self.age > queries.stale_seconds()


def _running(now: datetime) -> list[Running]:
    trips = queries.running_trips(g.access.company)
    positions = live.latest_many([trip.bus_id for trip in trips if trip.bus_id])
    rows = []
    for trip in trips:
        position = positions.get(trip.bus_id)
        age = None if position is None else max(int(now.timestamp() - position["ts"] / 1000), 0)
        rows.append(Running(trip, position, age))
    return rows


def _map_data(rows: list[Running]) -> dict:
    config, company = current_app.config, g.access.company
    return {
        "socket": "/ws/fleet",
        "tiles": {"url": config["MAP_TILE_URL"], "attribution": config["MAP_TILE_ATTRIBUTION"]},
        "staleSeconds": queries.stale_seconds(),
        "timeZone": config["DISPLAY_TIMEZONE"],
        "serverNow": int(datetime.now(UTC).timestamp() * 1000),
        "plates": {str(bus_id): plate for bus_id, plate in queries.plates_of(company).items()},
        "positions": [row.position | {"trip": row.trip.id} for row in rows if row.position],
        "bounds": queries.area_of(company),
    }


@blueprint.get("/fleet/live")
def fleet_live():
    now = utcnow()
    rows = _running(now)
    return render(
        "tracking/console/fleet.html",
        "lists",
        rows=rows,
        quiet=[row for row in rows if row.stale],
        trackers=queries.silent_trackers(g.access.company, now),
        stale_seconds=queries.stale_seconds(),
        now=now,
        data=None if wants_fragment() else _map_data(rows),
    )
