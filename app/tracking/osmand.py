"""The OsmAnd protocol, as Traccar Client and many hardware trackers speak it, read into a fix.

One report per request, in one of three shapes:

- query string (GET) or form body (POST): ``id`` or ``deviceid``; ``lat`` and ``lon``, or
  ``location=lat,lon``; ``timestamp`` as Unix seconds or milliseconds, ISO-8601 or
  ``yyyy-MM-dd HH:mm:ss`` (UTC when no offset is given); ``speed`` in knots; ``bearing`` or
  ``heading``; ``altitude``, ``accuracy`` (metres), ``hdop``; ``batt`` (percent); ``valid``.
- JSON (Traccar Client 9+): ``{"device_id", "location": {"timestamp", "coords": {"latitude",
  "longitude", "accuracy", "speed" (m/s), "heading", "altitude"}, "battery": {"level" (0..1),
  "is_charging"}, ...}}``.

Other keys (``charge``, ``driverUniqueId``, ``odometer``, ``event``...) are accepted and ignored.
Here a report is checked for form (numbers, ranges, times); whether the fix is plausible (region,
clock, speed since the previous fix) is decided by ``live`` like any other fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app.core.schema import Model, QueryModel, text
from app.tracking.live import Fix, FixRefused, make_fix, parse_number

# Trackers are set up with a host, a port and at most a path: besides /api/v1/positions/osmand,
# reports are taken at this short path on the site's root.
BARE_PATH = "/osmand"
KMH_PER_KNOT = 1.852
KMH_PER_MS = 3.6
# A bare number this large is in milliseconds (as seconds it would be the year 5138).
MILLISECONDS_FROM = 100_000_000_000
DEVICE_ID_MAX = 64  # trackers.device_id


Value = text(40, min_length=0)


class OsmAndFields(QueryModel):
    """A report in a query string or a form: text on the wire, read by :func:`parse`."""

    id: text(DEVICE_ID_MAX, min_length=0) | None = None
    """The device's identifier, as registered on its bus"""
    deviceid: text(DEVICE_ID_MAX, min_length=0) | None = None
    """Another name for id"""
    lat: Value | None = None
    """Latitude in decimal degrees"""
    lon: Value | None = None
    """Longitude in decimal degrees"""
    location: Value | None = None
    """lat,lon: instead of lat and lon"""
    timestamp: Value | None = None
    """Unix seconds or milliseconds, ISO-8601, or yyyy-MM-dd HH:mm:ss (UTC); when received if left out"""
    speed: Value | None = None
    """Knots; -1 for unknown"""
    bearing: Value | None = None
    """Degrees from north; -1 for unknown"""
    heading: Value | None = None
    """Another name for bearing"""
    altitude: Value | None = None
    """Metres"""
    accuracy: Value | None = None
    """Metres; negative: the device does not trust this position"""
    hdop: Value | None = None
    batt: Value | None = None
    """Battery, percent"""
    valid: Value | None = None
    """false or 0: the device has no satellite fix"""


class TraccarCoords(Model):
    latitude: float
    longitude: float
    accuracy: float | None = None
    """Metres"""
    speed: float | None = None
    """Metres per second; -1 for unknown"""
    heading: float | None = None
    altitude: float | None = None


class TraccarBattery(Model):
    level: float | None = None
    """0 to 1; negative for unknown"""
    is_charging: bool | None = None


class TraccarLocation(Model):
    timestamp: text(40) | float | None = None
    """ISO-8601 or Unix seconds or milliseconds; when received if left out"""
    coords: TraccarCoords
    battery: TraccarBattery | None = None


class TraccarReport(Model):
    """Traccar Client 9's JSON report (other keys are accepted and ignored)."""

    device_id: text(DEVICE_ID_MAX) | int
    location: TraccarLocation


@dataclass(frozen=True)
class Report:
    device_id: str
    fix: Fix | None  # None: the device says it has no position (``valid=false``, or 0,0)
    battery: float | None  # percent


def device_id_of(values: Mapping, body: dict | None) -> str:
    """The reporting device's id, refused when missing or longer than any registered id."""
    raw = body.get("device_id") if body is not None else values.get("id") or values.get("deviceid")
    device_id = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not device_id:
        where = "device_id" if body is not None else "id or deviceid"
        raise FixRefused(f"Send the device's identifier in {where}.")
    if len(device_id) > DEVICE_ID_MAX:
        raise FixRefused(f"Unknown device: identifiers have at most {DEVICE_ID_MAX} characters.")
    return device_id


def parse(values: Mapping, body: dict | None, *, now: datetime) -> Report:
    """Read one report: ``body`` is the JSON object when one was posted, else ``values`` holds the
    query string and form fields."""
    if body is not None:
        return _from_json(body, now)
    return _from_fields(values, now)


def _from_fields(values: Mapping, now: datetime) -> Report:
    device_id = device_id_of(values, None)
    lat, lon = values.get("lat"), values.get("lon")
    if values.get("location") and lat in (None, "") and lon in (None, ""):
        parts = values["location"].split(",")
        if len(parts) != 2:
            raise FixRefused("location must be lat,lon.")
        lat, lon = parts
    parse_number("altitude", values.get("altitude"))
    _not_negative("hdop", values.get("hdop"))
    fix = _fix(
        lat,
        lon,
        _time(values.get("timestamp"), now),
        speed=values.get("speed"),
        kmh_per_unit=KMH_PER_KNOT,
        heading=values.get("bearing") or values.get("heading"),
        accuracy=values.get("accuracy"),
        valid=str(values.get("valid", "true")).lower() not in ("false", "0"),
    )
    return Report(device_id, fix, _battery("batt", values.get("batt"), scale=100))


def _from_json(body: dict, now: datetime) -> Report:
    device_id = device_id_of({}, body)
    location = body.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise FixRefused('A JSON report needs "location" with its "coords".')
    coords = location["coords"]
    parse_number("altitude", coords.get("altitude"))
    battery = location.get("battery")
    fix = _fix(
        coords.get("latitude"),
        coords.get("longitude"),
        _time(location.get("timestamp"), now),
        speed=coords.get("speed"),
        kmh_per_unit=KMH_PER_MS,
        heading=coords.get("heading"),
        accuracy=coords.get("accuracy"),
        valid=True,
    )
    level = battery.get("level") if isinstance(battery, dict) else None
    return Report(device_id, fix, _battery("battery level", level, scale=1))


def _fix(lat, lon, at: datetime, *, speed, kmh_per_unit: float, heading, accuracy, valid: bool) -> Fix | None:
    """The fix, or None when the device says it has none. Phones report an unknown speed or
    heading as -1 (left out here) and a position they do not trust with a negative accuracy."""
    speed, heading, accuracy = (
        parse_number("speed", speed),
        parse_number("heading", heading),
        parse_number("accuracy", accuracy),
    )
    fix = make_fix(
        lat,
        lon,
        at,
        speed_kmh=None if speed is None or speed < 0 else speed * kmh_per_unit,
        heading=None if heading is None or heading < 0 else heading,
        accuracy_m=None if accuracy is None or accuracy < 0 else accuracy,
    )
    # Without a satellite lock trackers say valid=false, or send 0,0 ("Null Island").
    if not valid or (accuracy is not None and accuracy < 0) or (fix.lat == 0 and fix.lon == 0):
        return None
    return fix


def _time(value, now: datetime) -> datetime:
    """The fix's time; without one, the time it arrived (as Traccar does)."""
    if value is None or value == "":
        return now
    if isinstance(value, bool):
        raise FixRefused("timestamp must be a time.")
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        if number is not None:
            if not math.isfinite(number):
                raise ValueError(text)
            seconds = number / 1000 if abs(number) >= MILLISECONDS_FROM else number
            return datetime.fromtimestamp(seconds, UTC)
        at = datetime.fromisoformat(text)
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # year 1 at +14:00 overflows
    except (ValueError, OverflowError, OSError):
        raise FixRefused(
            f"timestamp {text[:40]!r} is not a time: send Unix seconds or milliseconds, ISO-8601 "
            "or yyyy-MM-dd HH:mm:ss (UTC)."
        ) from None


def _not_negative(name: str, value) -> float | None:
    number = parse_number(name, value)
    if number is not None and number < 0:
        raise FixRefused(f"{name} cannot be negative.")
    return number


def _battery(name: str, value, *, scale: int) -> float | None:
    """Battery in percent, from 0..``scale``. A negative level is how phones say "unknown"."""
    number = parse_number(name, value)
    if number is None or number < 0:
        return None
    if number > scale:
        raise FixRefused(f"{name} {number:g} is out of range: send 0 to {scale}.")
    return round(number * 100 / scale, 1)
