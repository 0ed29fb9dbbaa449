"""What /api/v1/openapi.json promises clients, generated from the endpoints' declared messages
(core.schema) rather than kept by hand: who may call, what each call can refuse with, the headers
that matter, and the OsmAnd and GTFS-Realtime variants."""

from __future__ import annotations

import pytest

from app.core.edge import ID_MAX
from app.core.schema import Operation

PUBLIC = {
    ("/auth/token", "post"),
    ("/openapi.json", "get"),
    ("/webhooks/paypal", "post"),
    ("/webhooks/momo/{reference}", "post"),
    ("/webhooks/momo/{reference}", "put"),
    ("/positions/osmand", "get"),
    ("/positions/osmand", "post"),
    ("/companies/{code}/gtfs-rt/vehicle-positions", "get"),
}


@pytest.fixture
def spec(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_api_view_declares_its_messages(app):
    views = {app.view_functions[rule.endpoint] for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert views and all(isinstance(getattr(view, "api_operation", None), Operation) for view in views)


def test_public_calls_need_no_token_and_the_rest_say_401(spec):
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, method, operation in operations(spec):
        public = (path, method) in PUBLIC
        assert (operation.get("security") == []) == public, (path, method)
        refuses_sign_in = path == "/auth/token"  # a wrong password
        assert ("401" in operation["responses"]) == (not public or refuses_sign_in), (path, method)
        assert operation["summary"], (path, method)


def test_every_refusal_is_the_error_body_and_says_when_to_retry(spec):
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    assert spec["components"]["schemas"]["ErrorDetail"]["required"] == ["code", "message"]
    hold = spec["paths"]["/holds"]["post"]["responses"]
    assert set(hold) == {"201", "400", "401", "404", "409", "415", "422", "429"}
    for name in ("RateLimited", "Conflict"):
        assert "Retry-After" in spec["components"]["responses"][name]["headers"]
    for _, _, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert answer["$ref"].startswith("#/components/responses/")


def test_payments_take_an_idempotency_key(spec):
    for path in ("/orders/{code}/payments", "/orders/{code}/cash"):
        operation = spec["paths"][path]["post"]
        [header] = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key" and header["required"] and header["schema"]["maxLength"] == 255
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
        assert {"400", "409", "422"} <= set(operation["responses"])


def test_ids_and_station_fields_are_described_with_their_range_and_names_as_sent(spec):
    search = {p["name"]: p for p in spec["paths"]["/trips/search"]["get"]["parameters"]}
    # From and To take a town, a station's name or a station id: text, described as such.
    assert search["from"]["required"] and search["from"]["schema"]["type"] == "string"
    assert search["from"]["schema"]["maxLength"] == 160 and "town" in search["from"]["description"]
    assert search["sort"]["schema"]["enum"] == ["time", "price"]
    [trip_id] = spec["paths"]["/trips/{trip_id}/seats"]["get"]["parameters"][:1]
    assert trip_id == {
        "name": "trip_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    }
    booking = spec["components"]["schemas"]["BookingRequest"]["properties"]
    assert {"from", "to", "trip_id", "seats", "passengers"} <= set(booking)
    assert booking["seats"]["maxItems"] == 6 and booking["seats"]["items"]["maxLength"] == 6
    order = spec["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert order == {
        "oneOf": [{"$ref": "#/components/schemas/CheckoutRequest"}, {"$ref": "#/components/schemas/BookingRequest"}]
    }


def test_osmand_is_described_as_query_form_and_json(spec):
    get, post = spec["paths"]["/positions/osmand"]["get"], spec["paths"]["/positions/osmand"]["post"]
    names = {p["name"] for p in get["parameters"]}
    assert {"id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "batt", "valid"} <= names
    content = post["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/TraccarReport"}
    assert content["application/x-www-form-urlencoded"]["schema"] == {"$ref": "#/components/schemas/OsmAndFields"}
    assert not post["requestBody"]["required"]  # Traccar Client posts its fields in the query string
    assert {"400", "429"} <= set(post["responses"]) and "422" not in post["responses"]


def test_the_gtfs_realtime_feed_is_protobuf_or_json(spec):
    answer = spec["paths"]["/companies/{code}/gtfs-rt/vehicle-positions"]["get"]["responses"]["200"]
    assert set(answer["content"]) == {"application/x-protobuf", "application/json"}
    assert "Cache-Control" in answer["headers"]
