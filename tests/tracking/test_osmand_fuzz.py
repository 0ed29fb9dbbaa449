"""The fuzz job's OsmAnd half: whatever a tracker sends, the parser answers a report or a
``FixRefused`` (400 with the reason), the endpoint never a 5xx, and a refused report moves no bus
and queues nothing for the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import strategies as st

from app.extensions import db, redis
from app.tracking import live, osmand
from app.tracking.live import FixRefused
from app.tracking.models import Tracker
from tests.fuzzing import INTEGERS, JSON, WIRE_TEXT, fuzz, near
from tests.tracking.conftest import KIGALI

pytestmark = pytest.mark.fuzz
DEVICE = "862462030000077"
NOW = datetime(2026, 3, 1, 8, tzinfo=UTC)
NUMBERS = st.one_of(
    st.floats(), INTEGERS, st.sampled_from(["-1", "0", "1e309", "nan", "-inf", "1_000", "0x10", " 5 ", "٣"])
)
STAMPS = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])).map(
        datetime.isoformat
    ),
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "-62135596800", "253402300800000"]),
    INTEGERS.map(str),
    st.floats().map(str),
    WIRE_TEXT,
)
FIELDS = {
    name: NUMBERS.map(str) | WIRE_TEXT
    for name in ("lat", "lon", "speed", "bearing", "heading", "altitude", "accuracy", "hdop", "batt")
} | {
    "id": st.just(DEVICE) | WIRE_TEXT,
    "deviceid": st.just(DEVICE) | WIRE_TEXT,
    "timestamp": STAMPS,
    "location": WIRE_TEXT | st.tuples(NUMBERS, NUMBERS).map(lambda pair: f"{pair[0]},{pair[1]}"),
    "valid": st.sampled_from(["true", "false", "0", "1"]) | WIRE_TEXT,
}


def json_report(values: dict) -> dict:
    coords = {"latitude": values.get("lat"), "longitude": values.get("lon"), "speed": values.get("speed")}
    return {"device_id": values.get("id"), "location": {"timestamp": values.get("timestamp"), "coords": coords}}


def test_the_parser_answers_a_report_or_a_reason(app):
    """Any mapping of fields, any JSON: a Report, or FixRefused; never another exception."""
    anything = {**FIELDS, "extra": JSON, "lat": FIELDS["lat"] | JSON}
    valid = {"id": DEVICE, "lat": "-1.95", "lon": "30.06", "timestamp": "2026-03-01 07:59:00"}
    values = near(valid, anything) | st.fixed_dictionaries({}, optional=anything)

    @fuzz("osmand parser", examples=150, values=values, body=st.none() | JSON)
    def case(values, body):
        try:
            report = osmand.parse(values, body if isinstance(body, dict) else None, now=NOW)
        except FixRefused as refused:
            assert refused.status == 400 and refused.message
        else:
            assert report.fix is None or (-90 <= report.fix.lat <= 90 and report.fix.at.tzinfo is not None)

    @fuzz("osmand parser: times", examples=100, stamp=STAMPS | JSON)
    def times(stamp):
        try:
            assert osmand._time(stamp, NOW).utcoffset() == timedelta(0)
        except FixRefused as refused:
            assert "timestamp" in refused.message


@pytest.fixture
def tracker(running) -> Tracker:
    row = Tracker(company_id=running.trip.company_id, bus_id=running.trip.bus_id, device_id=DEVICE, label="Fuzz unit")
    db.session.add(row)
    db.session.flush()
    return row


def test_reports_over_http_never_fail_and_a_refused_one_moves_nothing(client, running, tracker):
    valid = {"id": DEVICE, "lat": str(KIGALI[0]), "lon": str(KIGALI[1])}
    reports = near(valid, FIELDS) | st.fixed_dictionaries({}, optional=FIELDS)
    shapes = st.sampled_from(["query", "form", "json", "json-api"])

    @fuzz("osmand over http", examples=120, report=reports, shape=shapes)
    def case(report, shape):
        for key in redis.scan_iter("rl:osmand:*"):  # the rate limit is not what is fuzzed here
            redis.delete(key)
        before = (live.latest(running.trip.bus_id), redis.llen("positions:pending"))
        if shape == "query":
            response = client.get("/osmand", query_string=report)
        elif shape == "form":
            response = client.post("/osmand", data=report)
        else:
            path = "/osmand" if shape == "json" else "/api/v1/positions/osmand"
            response = client.post(path, json=json_report(report))
        assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
        answer = response.get_json()
        if response.status_code == 400:
            assert answer["error"]["code"] in ("bad_fix", "bad_request") and answer["error"]["message"]
        if response.status_code == 400 or not answer["accepted"]:
            assert (live.latest(running.trip.bus_id), redis.llen("positions:pending")) == before


def test_odd_json_shapes_are_refused_with_a_reason(client, tracker):
    @fuzz(
        "osmand json bodies",
        examples=60,
        body=JSON | st.fixed_dictionaries({"device_id": st.just(DEVICE)}, optional={"location": JSON}),
    )
    def case(body):
        response = client.post("/osmand", json=body)
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert response.get_json()["error"]["message"]


def test_any_text_in_a_query_is_answered(client, tracker):
    @fuzz("osmand raw query strings", examples=40, raw=st.text(max_size=80) | WIRE_TEXT)
    def case(raw):
        response = client.get("/osmand", query_string=quote(raw, safe="=&%"))
        assert response.status_code in (200, 400)
