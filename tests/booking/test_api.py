"""The booking journey over the JSON API, its errors, ticket verification and the OpenAPI spec."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from app.booking import qr
from app.booking.models import Hold, Order
from app.extensions import db
from app.fleet.services import network
from app.fleet.services.trips import local_datetime, today_for
from tests import factories


@pytest.fixture
def line():
    company = factories.company(name="Volcano Express")
    route = factories.route(company, stops=3, leg_fare=2000)
    day = today_for(company) + timedelta(days=2)
    return factories.trip(
        route, bus_=factories.bus(company, rows=3, vip_rows=1), departs_at=local_datetime(company, day, time(9))
    )


@pytest.fixture
def api(client):
    """A JSON client signed in with a bearer token."""

    def call(method, path, user=None, **kwargs):
        headers = {"Authorization": f"Bearer {token(client, user)}"} if user else {}
        return client.open(f"/api/v1{path}", method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

    return call


def token(client, user) -> str:
    response = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
    return response.get_json()["access_token"]


def sandbox_pay(api, user, code: str) -> dict:
    """Pay an order with the sandbox provider, approved at once."""
    body = {"provider": "sandbox", "decision": "approve"}
    response = api("POST", f"/orders/{code}/payments", user, json=body, headers={"Idempotency-Key": f"pay-{code}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stops(trip):
    return [stop.station_id for stop in trip.stops]


def test_the_whole_journey_over_the_api(api, line):
    buyer = factories.user()
    first, _, last = stops(line)
    day = line.service_date.isoformat()

    found = api("GET", f"/trips/search?from={first}&to={last}&date={day}", buyer).get_json()
    [offer] = found["trips"]
    assert offer["trip_id"] == line.id and offer["price"] == {"standard": 4000, "vip": 6000}
    assert offer["seats_free"] == 12 and offer["currency"] == "RWF"

    seat_map = api("GET", f"/trips/{line.id}/seats?from={first}&to={last}", buyer).get_json()
    assert {"label": "1A", "row": 1, "column": 1, "class": "vip", "state": "free"} in seat_map["seats"]

    held = api("POST", "/holds", buyer, json={"trip_id": line.id, "from": first, "to": last, "seats": ["2A", "2B"]})
    assert held.status_code == 201
    hold = held.get_json()["hold"]
    assert hold["status"] == "active" and 590 <= hold["seconds_left"] <= 600
    states = {s["label"]: s["state"] for s in api("GET", f"/trips/{line.id}/seats", buyer).get_json()["seats"]}
    assert states["2A"] == "mine"

    passengers = [{"name": "Aline Uwase", "phone": "0788123456"}, {"name": "Jean Mugabo"}]
    created = api("POST", "/orders", buyer, json={"hold": hold["code"], "passengers": passengers})
    assert created.status_code == 201
    order = created.get_json()["order"]
    assert order["status"] == "pending" and order["total"] == 8000 and order["tickets"][0]["qr"] is None

    paid = sandbox_pay(api, buyer, order["code"])["payment"]
    assert paid["status"] == "succeeded" and paid["order_status"] == "paid"
    mine = api("GET", "/tickets", buyer).get_json()["tickets"]
    assert [t["seat"] for t in mine] == ["2A", "2B"] and all(t["qr"] for t in mine)
    assert api("GET", f"/orders/{order['code']}", buyer).get_json()["order"]["status"] == "paid"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from={a}&to={a}", "to", "Choose a destination other than where you leave from."),
        ("from=999999&to={b}", "from", "Unknown station id 999999"),
        ("from={a}&to={b}&date=2020-01-01", "date", "Choose today or a later date."),
        ("from={a}&to={b}&date=tomorrow", "date", "Give the date as YYYY-MM-DD."),
        ("to={b}", "from", "This field is required."),
        ("from=99999999999&to={b}", "from", "Unknown station id 99999999999"),
    ],
)
def test_bad_searches_answer_422_with_the_field(api, line, query, field, message):
    a, _, b = stops(line)
    response = api("GET", "/trips/search?" + query.format(a=a, b=b), factories.user())
    assert response.status_code == 422
    assert message in " ".join(response.get_json()["error"]["fields"][field])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"seats": ["1A"] * 7}, 422, "invalid"),
        ({"seats": [f"{r}{c}" for r in "12" for c in "ABCD"][:7]}, 422, "invalid"),
        ({"seats": ["9Z"]}, 422, "invalid"),
        ({"seats": []}, 422, "invalid"),
        ({"seats": [1]}, 422, "invalid"),
        ({"seats": ["1A"], "from": "x"}, 422, "invalid"),
        ({"seats": ["1A"], "trip_id": 999999}, 404, "not_found"),
    ],
)
def test_bad_holds_are_refused_and_keep_nothing(api, line, body, status, code):
    response = api("POST", "/holds", factories.user(), json={"trip_id": line.id, **body})
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert db.session.scalar(select(func.count(Hold.id))) == 0


def test_a_taken_seat_is_a_409_naming_it(api, line):
    factories.order(line, ["3C"])
    response = api("POST", "/holds", factories.user(), json={"trip_id": line.id, "seats": ["3B", "3C"]})
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "seat_unavailable",
        "message": "Seat 3C is no longer free for this journey. Please choose another.",
        "fields": {},
    }


def test_a_foreign_or_expired_hold_cannot_become_an_order(app, api, line):
    buyer = factories.user()
    hold = api("POST", "/holds", buyer, json={"trip_id": line.id, "seats": ["1A"]}).get_json()["hold"]
    stranger = api("POST", "/orders", factories.user(), json={"hold": hold["code"], "passengers": [{"name": "X Y"}]})
    assert stranger.status_code == 404
    db.session.get(Hold, db.session.scalar(select(Hold.id))).expires_at -= timedelta(minutes=11)
    expired = api("POST", "/orders", buyer, json={"hold": hold["code"], "passengers": [{"name": "Aline"}]})
    assert expired.status_code == 410 and expired.get_json()["error"]["code"] == "hold_expired"
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_a_tampered_total_is_ignored(api, line):
    buyer = factories.user()
    hold = api("POST", "/holds", buyer, json={"trip_id": line.id, "seats": ["2A"]}).get_json()["hold"]
    body = {"hold": hold["code"], "passengers": [{"name": "Aline"}], "total": 1, "price": 1}
    assert api("POST", "/orders", buyer, json=body).get_json()["order"]["total"] == 4000


def test_seats_can_be_booked_in_one_call(api, line):
    buyer = factories.user()
    first, middle, _ = stops(line)
    body = {"trip_id": line.id, "from": first, "to": middle, "seats": ["2A", "2B"], "total": 1}
    body["passengers"] = [{"name": "Aline Uwase", "phone": "0788123456"}, {"name": "Jean Mugabo"}]
    created = api("POST", "/orders", buyer, json=body)
    assert created.status_code == 201
    order = created.get_json()["order"]
    assert order["status"] == "pending" and order["total"] == 4000 and order["expires_at"]
    assert [(t["seat"], t["from"], t["to"]) for t in order["tickets"]] == [
        ("2A", line.stops[0].station.name, line.stops[1].station.name),
        ("2B", line.stops[0].station.name, line.stops[1].station.name),
    ]
    assert sandbox_pay(api, buyer, order["code"])["payment"]["order_status"] == "paid"
    paid = api("GET", f"/orders/{order['code']}", buyer).get_json()
    assert paid["order"]["status"] == "paid" and all(t["qr"] for t in paid["order"]["tickets"])
    taken = api("POST", "/orders", factories.user(), json={**body, "seats": ["2B"], "passengers": [{"name": "Eric"}]})
    assert taken.status_code == 409 and "Seat 2B" in taken.get_json()["error"]["message"]


def test_the_seat_map_prices_are_what_an_order_charges_and_a_free_ride_is_issued_at_once(api, line):
    buyer = factories.user()
    first, middle, _ = stops(line)
    prices = api("GET", f"/trips/{line.id}/seats?from={first}&to={middle}", buyer).get_json()["prices"]
    body = {"trip_id": line.id, "from": first, "to": middle, "seats": ["1A", "2B"]}
    body["passengers"] = [{"name": "Aline Uwase"}, {"name": "Jean Mugabo"}]
    order = api("POST", "/orders", buyer, json=body).get_json()["order"]
    assert [t["price"] for t in order["tickets"]] == [prices["vip"], prices["standard"]]
    assert order["total"] == prices["vip"] + prices["standard"]

    network.set_fares(None, line.route, {(first, middle, "standard"): 0})
    body = {**body, "seats": ["3A"], "passengers": [{"name": "Eric Nshuti"}]}
    free = api("POST", "/orders", buyer, json=body).get_json()["order"]
    assert (free["status"], free["total"], free["expires_at"]) == ("paid", 0, None)
    assert free["tickets"][0]["status"] == "paid" and free["tickets"][0]["qr"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"trip_id": None, "seats": ["1A"]}, 422, "trip_id"),
        ({"seats": ["1A"], "passengers": [{"name": "A B"}]}, 422, "hold"),
        ({"trip_id": "LINE", "seats": "1A"}, 422, "seats"),
        ({"trip_id": "LINE", "seats": ["1A", "1B"]}, 422, "passengers"),
        ({"trip_id": "LINE", "seats": ["9Z"]}, 422, "seats"),
        ({"trip_id": "LINE", "seats": ["1A"], "from": 999999}, 422, "to"),
        ({"trip_id": 999999, "seats": ["1A"]}, 404, None),
    ],
)
def test_bad_one_call_orders_are_refused_and_keep_nothing(api, line, body, status, field):
    body = {"passengers": [{"name": "Aline Uwase"}], **body}
    if body.get("trip_id") == "LINE":
        body["trip_id"] = line.id
    response = api("POST", "/orders", factories.user(), json=body)
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_releasing_a_hold_frees_the_seat(api, line):
    buyer = factories.user()
    hold = api("POST", "/holds", buyer, json={"trip_id": line.id, "seats": ["2A"]}).get_json()["hold"]
    assert api("DELETE", f"/holds/{hold['code']}", buyer).get_json()["hold"]["status"] == "released"
    again = api("POST", "/holds", factories.user(), json={"trip_id": line.id, "seats": ["2A"]})
    assert again.status_code == 201


def test_the_api_needs_a_token(api, line):
    response = api("GET", f"/trips/{line.id}/seats")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "not_authenticated"


# --- Verification ------------------------------------------------------------------------------


def test_staff_verify_codes_with_a_reason(api, line):
    ticket = factories.order(line, ["2A"]).tickets[0]
    driver = factories.member("driver", of=line.route.company)
    text = qr.text_for(ticket)

    ok = api("POST", "/tickets/verify", driver, json={"qr": text, "trip_id": line.id}).get_json()
    assert (ok["valid"], ok["reason"], ok["ticket"]["seat"]) == (True, "valid", "2A")
    forged = text[:-3] + ("AAA" if not text.endswith("AAA") else "BBB")
    assert api("POST", "/tickets/verify", driver, json={"qr": forged}).get_json()["reason"] in {"forged", "malformed"}
    other_trip = api("POST", "/tickets/verify", driver, json={"qr": text, "trip_id": line.id + 1}).get_json()
    assert other_trip["reason"] == "wrong_trip"

    outsider = factories.member("driver")  # staff of another company learn nothing about this ticket
    foreign = api("POST", "/tickets/verify", outsider, json={"qr": text}).get_json()
    assert (foreign["valid"], foreign["reason"], foreign["ticket"]) == (False, "unknown_ticket", None)
    customer = api("POST", "/tickets/verify", factories.user(), json={"qr": text})
    assert customer.status_code == 403


def test_a_retired_keys_code_for_an_ended_trip_is_refused_with_its_reason(app, api, line, monkeypatch):
    ticket = factories.order(line, ["2A"]).tickets[0]
    text = qr.text_for(ticket)
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", {"k2027a": b"n" * 40, **app.config["QR_SIGNING_KEYS"]})
    line.status = "arrived"
    db.session.flush()
    answer = api("POST", "/tickets/verify", factories.member("driver", of=line.route.company), json={"qr": text})
    assert (answer.status_code, answer.get_json()["valid"], answer.get_json()["reason"]) == (200, False, "retired_key")


# --- OpenAPI -------------------------------------------------------------------------------------


def test_the_openapi_spec_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            served |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == served
