"""Live positions in Redis: the latest fix of each bus, a geo index of live buses, and the fix
published on its trip's channel (and its company's fleet channel), all in one transaction.

``bus:{bus_id}:location`` is a hash (lat, lon, speed, heading, accuracy, ts in epoch milliseconds,
trip, source). A fix older than the one stored never replaces it, so out-of-order fixes (a phone
flushing its offline buffer, two trackers on one bus) never move the bus backwards; they are still
kept in the history. Every accepted fix waits in ``positions:pending`` until a batch is written to
PostgreSQL.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import redis as redis_lib
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.extensions import redis
from app.tracking import eta
from app.tracking.rules import FUTURE_TOLERANCE_SECONDS, JITTER_ALLOWANCE_METRES, LIVE_TTL_SECONDS

GEO_KEY = "buses:live"
PENDING_KEY = "positions:pending"


class FixRefused(DomainError):
    status = 400
    code = "bad_fix"
    message = _l("This position cannot be accepted.")


class FixDiscarded(FixRefused):
    """A well-formed fix we will never show: too old, or an impossible jump from the bus's previous
    position. Sending it again cannot succeed, so a tracker's queue should move past it."""


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    at: datetime  # UTC
    speed_kmh: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None

    @property
    def ms(self) -> int:
        return int(self.at.timestamp() * 1000)


def location_key(bus_id: int) -> str:
    return f"bus:{bus_id}:location"


def trip_channel(trip_id: int) -> str:
    return f"trip:{trip_id}"


def fleet_channel(company_id: int) -> str:
    return f"company:{company_id}:fleet"


def make_fix(lat, lon, at: datetime, *, speed_kmh=None, heading=None, accuracy_m=None) -> Fix:
    """A fix from already-parsed values, refused when a number is missing, not finite or out of range."""
    lat, lon = parse_number("lat", lat), parse_number("lon", lon)
    if lat is None or lon is None:
        raise FixRefused(_("A position needs lat and lon."))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise FixRefused(_("lat %(lat)s, lon %(lon)s is not a place on Earth.", lat=lat, lon=lon))
    speed, heading, accuracy = (
        parse_number("speed", speed_kmh),
        parse_number("heading", heading),
        parse_number("accuracy", accuracy_m),
    )
    if speed is not None and not 0 <= speed < 1000:
        raise FixRefused(_("speed %(speed)s km/h is out of range.", speed=speed))
    if heading is not None and not 0 <= heading <= 360:
        raise FixRefused(_("heading %(heading)s is not between 0 and 360 degrees.", heading=heading))
    if accuracy is not None and accuracy < 0:
        raise FixRefused(_("accuracy cannot be negative."))
    return Fix(lat, lon, at.astimezone(UTC), speed, heading, accuracy)


def parse_number(name: str, value) -> float | None:
    """``value`` as a float, None when absent; FixRefused when it is not a finite number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FixRefused(_("%(name)s must be a number.", name=name))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FixRefused(_("%(name)s must be a number.", name=name)) from None
    if not math.isfinite(number):
        raise FixRefused(_("%(name)s must be a finite number.", name=name))
    return number


def check_plausible(fix: Fix, now: datetime) -> None:
    """Refuse fixes outside the region, from the future, or too old to matter."""
    config = current_app.config
    south, west, north, east = config["TRACKING_REGION"]
    if not (south <= fix.lat <= north and west <= fix.lon <= east):
        place = f"{fix.lat:.5f}, {fix.lon:.5f}"
        raise FixRefused(_("%(place)s is outside the area we serve.", place=place))
    age = (now - fix.at).total_seconds()
    if age < -FUTURE_TOLERANCE_SECONDS:
        raise FixRefused(_("The position's time is in the future; check the device clock."))
    if age > config["TRACKING_MAX_FIX_AGE_SECONDS"]:
        raise FixDiscarded(_("The position is %(minutes)s minutes old: too old to show.", minutes=int(age // 60)))


@dataclass(frozen=True)
class Stored:
    moved: bool  # False: older than the bus's latest fix, kept in the history only
    message: dict | None  # what was published, when moved


def store(fix: Fix, *, bus_id: int, company_id: int, trip_id: int | None, source: str, now: datetime) -> Stored:
    """Check the fix against the bus's previous one and store it. Speed between the two fixes above
    the limit (less GPS jitter) is refused; an older fix is kept for history only."""
    key = location_key(bus_id)
    history = json.dumps(
        {
            "bus": bus_id,
            "trip": trip_id,
            "lat": fix.lat,
            "lon": fix.lon,
            "ms": fix.ms,
            "received_ms": int(now.timestamp() * 1000),
            "speed": fix.speed_kmh,
            "heading": fix.heading,
            "accuracy": fix.accuracy_m,
            "source": source,
        },
        separators=(",", ":"),
    )
    message = None
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                previous = _decode(pipe.hgetall(key))
                newer = not previous or fix.ms > int(previous["ts"])
                if newer and previous and previous.get("trip") == str(trip_id or ""):
                    _check_speed(previous, fix)
                pipe.multi()
                if newer:
                    message = _position_message(fix, bus_id=bus_id, trip_id=trip_id, source=source)
                    payload = json.dumps(message, separators=(",", ":"))
                    pipe.hset(key, mapping=_hash(fix, trip_id, source))
                    pipe.expire(key, LIVE_TTL_SECONDS)
                    pipe.geoadd(GEO_KEY, (fix.lon, fix.lat, bus_id))
                    if trip_id is not None:
                        pipe.publish(trip_channel(trip_id), payload)
                    pipe.publish(fleet_channel(company_id), payload)
                pipe.rpush(PENDING_KEY, history)
                pipe.execute()
                break
            except redis_lib.WatchError:
                continue
    return Stored(newer, message)


def _check_speed(previous: dict, fix: Fix) -> None:
    seconds = (fix.ms - int(previous["ts"])) / 1000
    metres = eta.distance_m(float(previous["lat"]), float(previous["lon"]), fix.lat, fix.lon)
    jitter = min((fix.accuracy_m or 0) + float(previous.get("accuracy") or 0), JITTER_ALLOWANCE_METRES)
    metres = max(metres - jitter, 0)
    limit = current_app.config["TRACKING_MAX_SPEED_KMH"]
    if metres and metres / seconds * 3.6 > limit:
        km, whole_seconds = round(metres / 1000, 1), round(seconds)
        raise FixDiscarded(
            _(
                "%(km)s km in %(seconds)s s since the last position is faster than %(limit)s km/h.",
                km=km,
                seconds=whole_seconds,
                limit=limit,
            )
        )


def _position_message(fix: Fix, *, bus_id: int, trip_id: int | None, source: str) -> dict:
    message = {
        "type": "position",
        "bus": bus_id,
        "trip": trip_id,
        "lat": round(fix.lat, 6),
        "lon": round(fix.lon, 6),
        "speed": None if fix.speed_kmh is None else round(fix.speed_kmh, 1),
        "heading": fix.heading,
        "accuracy": fix.accuracy_m,
        "ts": fix.ms,
        "source": source,
    }
    if trip_id is not None:
        shape = eta.shape_of(trip_id)
        where = eta.progress(shape, fix.lat, fix.lon, fix.at) if shape else None
        if where is not None:
            message["progress"] = where.as_message()
    return message


def _hash(fix: Fix, trip_id: int | None, source: str) -> dict:
    return {
        "lat": repr(fix.lat),
        "lon": repr(fix.lon),
        "speed": "" if fix.speed_kmh is None else repr(fix.speed_kmh),
        "heading": "" if fix.heading is None else repr(fix.heading),
        "accuracy": "" if fix.accuracy_m is None else repr(fix.accuracy_m),
        "ts": str(fix.ms),
        "trip": str(trip_id or ""),
        "source": source,
    }


def _decode(raw: dict) -> dict:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()
    }


def latest(bus_id: int) -> dict | None:
    """The bus's latest fix as a position message (no progress), or None."""
    return _as_position(bus_id, _decode(redis.hgetall(location_key(bus_id))))


def latest_many(bus_ids: list[int]) -> dict[int, dict]:
    pipe = redis.pipeline(transaction=False)
    for bus_id in bus_ids:
        pipe.hgetall(location_key(bus_id))
    found = {}
    for bus_id, raw in zip(bus_ids, pipe.execute(), strict=True):
        position = _as_position(bus_id, _decode(raw))
        if position is not None:
            found[bus_id] = position
    return found


def _as_position(bus_id: int, data: dict) -> dict | None:
    if not data:
        return None

    def number(name: str) -> float | None:
        return float(data[name]) if data.get(name) else None

    return {
        "type": "position",
        "bus": bus_id,
        "trip": int(data["trip"]) if data.get("trip") else None,
        "lat": float(data["lat"]),
        "lon": float(data["lon"]),
        "speed": number("speed"),
        "heading": number("heading"),
        "accuracy": number("accuracy"),
        "ts": int(data["ts"]),
        "source": data.get("source"),
    }


def forget_bus(bus_id: int) -> None:
    """The bus is off duty: out of the live index (its last fix stays until it expires)."""
    redis.zrem(GEO_KEY, bus_id)
