"""The fuzz job's HTTP half: hostile JSON bodies and query strings to the API, hostile fields to the
forms people fill in (sign-in, sign-up, search, checkout). Whatever arrives, the answer is never a
5xx, a refusal carries the error body and writes nothing, and what was written is whole."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import strategies as st

from app.booking import qr
from tests import factories
from tests.fuzzing import INTEGERS, JSON, TEXT, WIRE_TEXT, bookings_are_whole, fuzz, near, refused_cleanly, rows

pytestmark = pytest.mark.fuzz


@pytest.fixture
def line():
    return factories.trip_ahead("Fuzz Express", days=2, rows=4, leg_fare=1500)


@pytest.fixture
def token(client):
    def bearer(user) -> dict:
        answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
        return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}

    return bearer


def stations(line) -> list[int]:
    return [stop.station_id for stop in line.stops]


def booking_fields(line):
    """Bodies near the real thing: the trip's id, its stations, its seats, and everything else."""
    seat = st.sampled_from(["1A", "1B", "2C", "4D", "9Z", "1A "]) | TEXT | INTEGERS
    passenger = st.fixed_dictionaries({"name": st.sampled_from(["Aline Uwase", "J"]) | TEXT}, optional={"phone": TEXT})
    return {
        "trip_id": st.just(line.id) | INTEGERS | JSON,
        "from": st.sampled_from(stations(line)) | INTEGERS | JSON,
        "to": st.sampled_from(stations(line)) | INTEGERS | JSON,
        "seats": st.lists(seat, max_size=7) | JSON,
        "passengers": st.lists(passenger | JSON, max_size=7) | JSON,
        "hold": TEXT | JSON,
    }


def bodies(fields: dict, valid: dict | None = None):
    anything = st.fixed_dictionaries({}, optional=fields) | JSON
    return near(valid, fields) | anything if valid else anything


@pytest.mark.parametrize("path", ["/holds", "/orders"])
def test_hostile_booking_bodies_never_fail_or_half_book(client, token, line, path):
    headers = token(factories.user())
    first, _, last = stations(line)
    valid = {"trip_id": line.id, "from": first, "to": last, "seats": ["2A"], "passengers": [{"name": "Aline Uwase"}]}

    @fuzz(f"api json: POST {path}", body=bodies(booking_fields(line), valid))
    def case(body):
        before = rows()
        response = client.post(f"/api/v1{path}", json=body, headers=headers)
        refused_cleanly(response, before)
        bookings_are_whole()


def test_hostile_token_and_verify_bodies_are_refused_cleanly(client, token, line):
    factories.user(email="known@example.rw")
    driver = token(factories.member("driver", of=line.route.company))
    fields = {"email": st.just("known@example.rw") | TEXT | JSON, "password": TEXT | JSON}

    valid = {"email": "known@example.rw", "password": factories.PASSWORD}

    @fuzz("api json: POST /auth/token", examples=30, body=bodies(fields, valid))
    def sign_in(body):
        before = rows()
        refused_cleanly(client.post("/api/v1/auth/token", json=body), before)

    ticket = factories.order(line, ["4D"]).tickets[0]
    valid = {"qr": qr.text_for(ticket), "trip_id": line.id}
    fields = {"qr": TEXT | JSON | st.just(valid["qr"][:-2]), "trip_id": st.just(line.id) | INTEGERS}

    @fuzz("api json: POST /tickets/verify", body=bodies(fields, valid))
    def verify(body):
        before = rows()
        refused_cleanly(client.post("/api/v1/tickets/verify", json=body, headers=driver), before)


def test_hostile_payment_bodies_and_keys_never_pay_half(client, token, line):
    buyer = factories.user()
    headers = token(buyer)
    body = {"trip_id": line.id, "seats": ["3A"], "passengers": [{"name": "Aline Uwase"}]}
    order = client.post("/api/v1/orders", json=body, headers=headers).get_json()["order"]
    fields = {
        "provider": st.sampled_from(["sandbox", "momo", "cash", "paypal"]) | TEXT | JSON,
        "decision": st.sampled_from(["approve", "decline"]) | TEXT,
        "amount": st.just(order["total"]) | INTEGERS | JSON,
        "phone": TEXT | JSON,
        "currency": TEXT | JSON,
    }
    codes = st.just(order["code"]) | WIRE_TEXT
    # What a header can carry: Latin-1, no line breaks.
    keys = st.uuids().map(str) | WIRE_TEXT.filter(lambda key: key.isascii() and "\r" not in key and "\n" not in key)

    valid = {"provider": "sandbox", "decision": "approve", "amount": order["total"]}

    @fuzz("api json: POST /orders/{code}/payments and /cash", body=bodies(fields, valid), code=codes, key=keys)
    def case(body, code, key):
        sent = {**headers, "Idempotency-Key": key}
        for path in (f"/orders/{quote(code, safe='')}/payments", f"/orders/{quote(code, safe='')}/cash"):
            before = rows()
            refused_cleanly(client.post(f"/api/v1{path}", json=body, headers=sent), before)
        bookings_are_whole()


def test_hostile_queries_never_fail(client, token, line):
    headers = token(factories.user())
    value = st.sampled_from([str(s) for s in stations(line)]) | WIRE_TEXT | INTEGERS.map(str)
    names = st.sampled_from(["from", "to", "date", "sort", "operator", "time_of_day", "q"]) | WIRE_TEXT
    first, _, last = stations(line)
    valid = {"from": str(first), "to": str(last), "date": line.service_date.isoformat(), "sort": "price"}
    query = near(valid, dict.fromkeys(valid, value)) | st.dictionaries(names, value)
    paths = st.sampled_from(["/trips/search", f"/trips/{line.id}/seats", "/stations", "/tickets", "/me"])

    @fuzz("api query strings", examples=60, path=paths, query=query)
    def case(path, query):
        before = rows()
        refused_cleanly(client.get(f"/api/v1{path}", query_string=query, headers=headers), before)


def test_raw_bodies_of_any_kind_are_refused_cleanly(client, token):
    headers = token(factories.user())
    raw = st.binary(max_size=60) | st.sampled_from([b"[" * 3000, b'{"a":' * 2000, b"NaN", b"1e999", b'"\\ud800"'])
    kinds = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", "application/xml"])
    paths = st.sampled_from(["/holds", "/orders", "/tickets/verify", "/auth/token", "/payments/x/sandbox"])

    @fuzz("api raw bodies", examples=60, path=paths, data=raw, kind=kinds)
    def case(path, data, kind):
        before = rows()
        refused_cleanly(client.post(f"/api/v1{path}", data=data, content_type=kind, headers=headers), before)


# --- Forms -----------------------------------------------------------------------------------------


def test_hostile_sign_in_and_sign_up_forms_never_fail(client):
    factories.user(email="known@example.rw")
    email = st.just("known@example.rw") | WIRE_TEXT | st.emails().map(str)
    password = st.just(factories.PASSWORD) | WIRE_TEXT

    @fuzz("forms: sign-in", examples=25, email=email, password=password, target=WIRE_TEXT)
    def sign_in(email, password, target):
        before = rows()
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"csrf_token": client.csrf_token(), "email": email, "password": password},
        )
        refused_cleanly(response, before)
        client.post("/logout", data={"csrf_token": client.csrf_token()})

    valid = {"name": "Aline Uwase", "email": "aline@example.rw", "phone": "0788123456", "password": "a-long-password"}
    hostile = {"name": WIRE_TEXT, "email": email, "phone": WIRE_TEXT, "password": WIRE_TEXT}

    @fuzz("forms: sign-up", examples=20, fields=near(valid, hostile) | st.fixed_dictionaries(hostile))
    def sign_up(fields):
        before = rows()
        response = client.submit("/signup", {**fields, "confirm": fields.get("password", "")})
        refused_cleanly(response, before)
        added = rows()["users"] - before["users"]
        assert added == (1 if response.status_code == 302 else 0)
        client.post("/logout", data={"csrf_token": client.csrf_token()})


def test_hostile_searches_never_fail(client, line):
    names = [stop.station.name for stop in line.stops]
    place = st.sampled_from(names) | WIRE_TEXT
    hostile = {
        "origin": place,
        "destination": place,
        "date": st.dates().map(str) | WIRE_TEXT,
        "sort": WIRE_TEXT,
        "operator": WIRE_TEXT,
        "time_of_day": WIRE_TEXT,
    }
    valid = {"origin": names[0], "destination": names[-1], "date": line.service_date.isoformat(), "sort": "time"}

    @fuzz("forms: search", examples=40, query=near(valid, hostile) | st.fixed_dictionaries({}, optional=hostile))
    def case(query):
        before = rows()
        refused_cleanly(client.get("/search", query_string=query), before)


def test_hostile_checkouts_never_fail_or_half_order(client, login_as, line):
    login_as("customer")
    first, _, last = stations(line)
    held = client.submit(f"/trips/{line.id}/hold?from={first}&to={last}", {"seats": ["1A", "1B"]})
    assert held.status_code == 303
    checkout = held.location

    valid = {"passengers-0-name": "Aline Uwase", "passengers-1-name": "Jean Mugabo", "passengers-1-phone": "0788123456"}
    hostile = dict.fromkeys([*valid, "passengers-0-phone", "passengers-2-name"], WIRE_TEXT)

    @fuzz("forms: checkout", examples=30, form=near(valid, hostile) | st.fixed_dictionaries({}, optional=hostile))
    def case(form):
        before = rows()
        response = client.submit(checkout, form)
        refused_cleanly(response, before)
        made = rows()["orders"] - before["orders"]
        assert made == 0 or (made == 1 and response.status_code == 303)
        bookings_are_whole()
