"""Trackers report in the OsmAnd protocol (query string, form or Traccar Client's JSON) at
/api/v1/positions/osmand and at the bare /osmand; their fixes move their bus on the live map."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.security import Counter
from app.extensions import db, redis
from app.tracking import live, osmand
from app.tracking.models import Tracker
from app.tracking.views import api as tracking_api
from tests.tracking.conftest import KIGALI, MUHANGA

DEVICE = "862462030000001"


@pytest.fixture
def tracker(running) -> Tracker:
    row = Tracker(
        company_id=running.trip.company_id, bus_id=running.trip.bus_id, device_id=DEVICE, label="Dashboard unit"
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def trip_messages(running):
    """Position messages published on the running trip's channel, for the passengers' maps."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.trip_channel(running.trip.id))
    pubsub.get_message(timeout=0.1)

    def read() -> list[dict]:
        found = []
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            found.append(json.loads(message["data"]))
        return found

    yield read
    pubsub.close()


def now_s() -> int:
    return int(datetime.now(UTC).timestamp())


def error_of(response) -> dict:
    assert response.status_code == 400, response.get_data(as_text=True)
    return response.get_json()["error"]


def test_a_query_string_report_moves_the_bus_for_its_running_trip(client, running, tracker, trip_messages):
    sent_at = now_s() - 5
    response = client.get(
        "/osmand",
        query_string={
            "id": DEVICE,
            "lat": KIGALI[0],
            "lon": KIGALI[1],
            "timestamp": sent_at,
            "speed": 27,  # knots
            "bearing": 190,
            "altitude": 1560,
            "accuracy": 8,
            "hdop": 0.9,
            "batt": 76,
            "charge": "true",
        },
    )
    assert response.status_code == 200
    assert response.get_json() == {"accepted": True, "moved": True}
    position = live.latest(running.trip.bus_id)
    assert (position["lat"], position["lon"]) == KIGALI
    assert position["trip"] == running.trip.id and position["source"] == "tracker"
    assert position["ts"] == sent_at * 1000
    assert position["speed"] == pytest.approx(27 * 1.852)  # 50 km/h
    assert (position["heading"], position["accuracy"]) == (190, 8)
    (message,) = trip_messages()
    assert message["trip"] == running.trip.id and message["lat"] == KIGALI[0]
    assert message["progress"]["next_stop"] == 1  # heading for Muhanga
    db.session.refresh(tracker)
    assert tracker.battery == 76 and tracker.last_seen_at is not None
    assert "Set-Cookie" not in response.headers  # a device gets no session


def test_a_form_post_without_a_csrf_token_is_taken_on_the_api_path(client, running, tracker):
    sent_ms = now_s() * 1000 - 2500
    response = client.post(
        "/api/v1/positions/osmand",
        data={"deviceid": DEVICE, "location": f"{MUHANGA[0]},{MUHANGA[1]}", "timestamp": sent_ms, "speed": "0"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    position = live.latest(running.trip.bus_id)
    assert (position["lat"], position["lon"], position["ts"]) == (*MUHANGA, sent_ms)
    assert position["speed"] == 0 and position["trip"] == running.trip.id


def test_traccar_client_json_is_read_with_its_units(client, running, tracker):
    taken = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    body = {
        "device_id": DEVICE,
        "location": {
            "timestamp": taken.isoformat().replace("+00:00", "Z"),
            "coords": {
                "latitude": KIGALI[0],
                "longitude": KIGALI[1],
                "accuracy": 12.5,
                "speed": 10,  # m/s
                "heading": 95.5,
                "altitude": 1550,
            },
            "is_moving": True,
            "odometer": 1200,
            "event": "motionchange",
            "battery": {"level": 0.55, "is_charging": False},
            "activity": {"type": "in_vehicle"},
        },
    }
    response = client.post("/osmand", json=body)
    assert response.status_code == 200 and response.get_json()["accepted"] is True
    position = live.latest(running.trip.bus_id)
    assert position["ts"] == int(taken.timestamp() * 1000)
    assert position["speed"] == pytest.approx(36.0)
    assert (position["heading"], position["accuracy"]) == (95.5, 12.5)
    db.session.refresh(tracker)
    assert tracker.battery == 55


@pytest.mark.parametrize(
    "stamp",
    [
        lambda at: str(int(at.timestamp())),  # seconds
        lambda at: str(int(at.timestamp() * 1000)),  # milliseconds
        lambda at: at.strftime("%Y-%m-%d %H:%M:%S"),  # Traccar's own format, UTC
        lambda at: at.isoformat(),
        lambda at: at.astimezone(timezone(timedelta(hours=2))).isoformat(),  # Kigali's offset
    ],
    ids=["seconds", "milliseconds", "traccar", "iso-utc", "iso-offset"],
)
def test_every_timestamp_form_means_the_same_moment(client, running, tracker, stamp):
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    response = client.get(
        "/osmand", query_string={"id": DEVICE, "lat": KIGALI[0], "lon": KIGALI[1], "timestamp": stamp(at)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert live.latest(running.trip.bus_id)["ts"] == int(at.timestamp()) * 1000


def test_a_report_without_a_time_is_taken_as_received(client, running, tracker):
    before = now_s() * 1000
    client.get("/osmand", query_string={"id": DEVICE, "lat": KIGALI[0], "lon": KIGALI[1]})
    assert live.latest(running.trip.bus_id)["ts"] >= before


def test_speed_is_knots_in_fields_and_metres_per_second_in_json():
    now = datetime.now(UTC)
    fields = osmand.parse({"id": "x", "lat": "-1.9", "lon": "30.1", "speed": "10"}, None, now=now)
    assert fields.fix.speed_kmh == pytest.approx(18.52)
    body = {"device_id": "x", "location": {"coords": {"latitude": -1.9, "longitude": 30.1, "speed": 10}}}
    assert osmand.parse({}, body, now=now).fix.speed_kmh == pytest.approx(36.0)


def test_an_unknown_device_is_refused_with_a_json_error_on_both_paths(client, running, tracker):
    for path in ("/osmand", "/api/v1/positions/osmand"):
        response = client.get(path, query_string={"id": "123456", "lat": KIGALI[0], "lon": KIGALI[1]})
        error = error_of(response)
        assert error["code"] == "bad_fix"
        assert "Unknown device '123456'" in error["message"] and "register it" in error["message"]
    assert error_of(client.post("/osmand", data={"lat": KIGALI[0], "lon": KIGALI[1]}))["message"] == (
        "Send the device's identifier in id or deviceid."
    )
    assert "device_id" in error_of(client.post("/osmand", json={"location": {}}))["message"]
    assert live.latest(running.trip.bus_id) is None


def fields(**values) -> dict:
    return {"id": DEVICE, "lat": KIGALI[0], "lon": KIGALI[1], "timestamp": now_s(), **values}


def report(changes: dict) -> dict:
    """A report's fields with ``changes`` applied when the test runs (never when the module is
    collected: the clock moves on while a long suite runs): None leaves a field out, and a function
    of the current Unix time gives a time relative to it."""
    sent = fields(**{name: value(now_s()) if callable(value) else value for name, value in changes.items()})
    return {name: value for name, value in sent.items() if value is not None}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lat": "abc"}, "lat must be a number"),
        ({"lon": "nan"}, "lon must be a finite number"),
        ({"lat": 95}, "not a place on Earth"),
        ({"lat": None, "lon": None}, "A position needs lat and lon."),
        ({"lat": "", "lon": "", "location": "-1.94;30.06"}, "location must be lat,lon."),
        ({"timestamp": "yesterday"}, "timestamp 'yesterday' is not a time"),
        ({"timestamp": "2026-13-45 25:00:00"}, "is not a time"),
        ({"timestamp": lambda now: now + 600}, "in the future; check the device clock"),
        ({"lat": -1.29, "lon": 36.82}, "outside the area we serve"),  # Nairobi
        ({"speed": "fast"}, "speed must be a number"),
        ({"speed": 700}, "km/h is out of range"),  # 700 knots
        ({"bearing": 400}, "heading 400.0 is not between 0 and 360"),
        ({"accuracy": "good"}, "accuracy must be a number"),
        ({"altitude": "high"}, "altitude must be a number"),
        ({"hdop": -2}, "hdop cannot be negative"),
        ({"batt": 150}, "batt 150 is out of range: send 0 to 100"),
    ],
)
def test_bad_values_are_refused_each_with_its_reason(client, running, tracker, changes, message):
    error = error_of(client.get("/osmand", query_string=report(changes)))
    assert message in error["message"]
    assert live.latest(running.trip.bus_id) is None


def test_bad_json_is_refused(client, running, tracker):
    assert "JSON object" in error_of(client.post("/osmand", data="[1, 2", content_type="application/json"))["message"]
    body = {"device_id": DEVICE, "location": {"coords": {"latitude": KIGALI[0], "longitude": KIGALI[1]}}}
    body["location"]["battery"] = {"level": 55}  # a percentage where a fraction belongs
    assert "battery level 55 is out of range: send 0 to 1" in error_of(client.post("/osmand", json=body))["message"]


def test_fixes_that_can_never_be_taken_are_answered_200_so_the_tracker_moves_on(client, running, tracker):
    """Traccar Client sends a refused report again and again, holding back newer ones; a fix that
    is too old or no fix at all will never be taken, so it is acknowledged and left out."""
    old = now_s() - 3 * 3600
    response = client.get("/osmand", query_string=fields(timestamp=old, batt=40))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": False, "reason": "The position is 180 minutes old: too old to show."}
    for no_fix in (fields(valid="false"), fields(lat=0, lon=0), fields(accuracy=-1)):
        response = client.get("/osmand", query_string=no_fix)
        assert response.get_json() == {"accepted": False, "reason": "The device reports no satellite fix."}
    assert live.latest(running.trip.bus_id) is None
    db.session.refresh(tracker)
    assert tracker.last_seen_at is not None and tracker.battery == 40


def test_an_impossible_jump_is_acknowledged_but_does_not_move_the_bus(client, running, tracker):
    client.get("/osmand", query_string=fields(timestamp=now_s() - 60))
    jump = client.get("/osmand", query_string=fields(lat=MUHANGA[0], lon=MUHANGA[1]))  # 30 km in a minute
    assert jump.status_code == 200 and jump.get_json()["accepted"] is False
    assert "faster than 150 km/h" in jump.get_json()["reason"]
    assert (live.latest(running.trip.bus_id)["lat"], live.latest(running.trip.bus_id)["lon"]) == KIGALI


def test_phones_unknown_speed_and_heading_are_left_out(client, running, tracker):
    body = {
        "device_id": DEVICE,
        "location": {"coords": {"latitude": KIGALI[0], "longitude": KIGALI[1], "speed": -1, "heading": -1}},
    }
    assert client.post("/osmand", json=body).get_json()["accepted"] is True
    position = live.latest(running.trip.bus_id)
    assert position["speed"] is None and position["heading"] is None


def test_a_bus_without_a_running_trip_still_moves_on_the_fleet_map(client, tracker, running):
    running.trip.status = "arrived"
    db.session.flush()
    assert client.get("/osmand", query_string=fields()).status_code == 200
    assert live.latest(running.trip.bus_id)["trip"] is None


def test_a_runaway_tracker_is_slowed_down(client, running, tracker, monkeypatch):
    monkeypatch.setattr(tracking_api, "_reports", Counter("osmand-test", 3, 60))
    monkeypatch.setattr(tracking_api, "REPORTS_PER_MINUTE", 3)
    answers = [client.get("/osmand", query_string=fields(timestamp=now_s() - 10 + i)) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    other = client.get("/osmand", query_string=fields(id="another-device"))
    assert other.status_code == 400  # counted per device: others are not held back
