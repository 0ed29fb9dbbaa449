"""Where a bus is along its route, how late it runs, and when it reaches each stop.

A trip's shape is its stops in order with their coordinates, distance and time offsets. A fix is
projected onto the nearest leg (flat-earth metres around the fix: legs are tens of kilometres at
most); progress is the distance covered at that point and the timetable says when the bus should
have been there. The difference is the delay, carried forward to every stop still ahead (a bus
running early is expected to wait at its stops, so early never makes an ETA earlier than the
timetable).
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.fleet.models import Trip, TripStop

EARTH_RADIUS_M = 6_371_000
_SHAPE_TTL_SECONDS = 60


@dataclass(frozen=True)
class Stop:
    position: int
    name: str
    lat: float
    lon: float
    km: float
    minutes: int


@dataclass(frozen=True)
class Shape:
    trip_id: int
    departs_at: datetime
    stops: tuple[Stop, ...]


@dataclass(frozen=True)
class Progress:
    leg: int  # the bus is between stops[leg] and stops[leg + 1]
    fraction: float  # how far along that leg, 0..1
    off_route_m: float
    km: float
    delay_seconds: int
    etas: dict[int, datetime | None]  # per stop position; None once passed

    def as_message(self) -> dict:
        return {
            "km": round(self.km, 2),
            "delay_s": self.delay_seconds,
            "next_stop": self.leg + 1,
            "off_route_m": round(self.off_route_m),
            "eta": {str(p): int(at.timestamp()) if at else None for p, at in self.etas.items()},
        }


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def progress(shape: Shape, lat: float, lon: float, at: datetime) -> Progress | None:
    stops = shape.stops
    if len(stops) < 2:
        return None
    scale = math.cos(math.radians(lat))

    def xy(s_lat: float, s_lon: float) -> tuple[float, float]:
        return (
            math.radians(s_lon - lon) * scale * EARTH_RADIUS_M,
            math.radians(s_lat - lat) * EARTH_RADIUS_M,
        )

    best = None
    for leg in range(len(stops) - 1):
        (ax, ay), (bx, by) = xy(stops[leg].lat, stops[leg].lon), xy(stops[leg + 1].lat, stops[leg + 1].lon)
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        off = math.hypot(ax + t * dx, ay + t * dy)  # the fix is the origin
        if best is None or off < best[2] - 1e-6:
            best = (leg, t, off)
    leg, t, off = best
    a, b = stops[leg], stops[leg + 1]
    km = a.km + t * (b.km - a.km)
    due_minutes = a.minutes + t * (b.minutes - a.minutes)
    delay = int((at - shape.departs_at).total_seconds() - due_minutes * 60)
    ahead = max(delay, 0)
    etas: dict[int, datetime | None] = {}
    for stop in stops:
        if stop.position <= a.position or (stop.position == b.position and t >= 1.0):
            etas[stop.position] = None
        else:
            etas[stop.position] = shape.departs_at + timedelta(minutes=stop.minutes, seconds=ahead)
    return Progress(leg, t, off, km, delay, etas)


# --- Shapes, cached per process: a fix must not cost a database read -------------------------------

_shapes: dict[int, tuple[float, Shape | None]] = {}
_lock = threading.Lock()


def shape_of(trip_id: int) -> Shape | None:
    now = time.monotonic()
    with _lock:
        cached = _shapes.get(trip_id)
    if cached and cached[0] > now:
        return cached[1]
    trip = db.session.get(Trip, trip_id)
    found = None
    if trip is not None:
        stops = db.session.scalars(select(TripStop).where(TripStop.trip_id == trip_id).order_by(TripStop.position))
        found = Shape(
            trip_id,
            trip.departs_at,
            tuple(
                Stop(
                    s.position,
                    s.station.name,
                    s.station.latitude,
                    s.station.longitude,
                    s.km_from_start,
                    s.minutes_from_start,
                )
                for s in stops
            ),
        )
    with _lock:
        # Spread: shapes loaded together (a fleet that started at once) are not reloaded together.
        _shapes[trip_id] = (now + _SHAPE_TTL_SECONDS * random.uniform(1, 2), found)  # noqa: S311  (timer jitter, not a secret)
        if len(_shapes) > 5000:  # trips end; keep the cache small
            for key in [k for k, (expiry, _) in _shapes.items() if expiry <= now]:
                del _shapes[key]
    return found
