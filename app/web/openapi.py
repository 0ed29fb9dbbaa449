"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/api/v1/openapi.json``. A test checks
that every API route is described here and nothing else is."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.web.surface import public

blueprint = Blueprint("openapi", __name__)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(properties: dict, required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(name: str, kind: str, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": {"type": kind}, "description": description}


def _path(name: str, kind: str = "string") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


ERRORS = {
    "401": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
    "409": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"},
}

STRING, INTEGER = {"type": "string"}, {"type": "integer"}
PASSENGERS = {
    "type": "array",
    "items": {"type": "object", "properties": {"name": STRING, "phone": STRING}, "required": ["name"]},
}

ERROR = {"$ref": "#/components/responses/Error"}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}}
PAYMENT_ANSWER = _json({"type": "object", "properties": {"payment": {"$ref": "#/components/schemas/Payment"}}})

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "TMS API",
        "version": "1",
        "description": "Bus tickets and fleet. Authenticate with POST /auth/token, then send "
        "`Authorization: Bearer <token>`. Request bodies are JSON. Errors are "
        '`{"error": {"code", "message", "fields"}}`.',
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/auth/token": {
            "post": {
                "summary": "Exchange an email and password for a short-lived bearer token",
                "security": [],
                "requestBody": _body({"email": STRING, "password": STRING}, ["email", "password"]),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"access_token": STRING, "token_type": STRING, "expires_in": INTEGER},
                        }
                    ),
                    "401": {"$ref": "#/components/responses/Error"},
                    "429": {"$ref": "#/components/responses/Error"},
                },
            }
        },
        "/me": {"get": {"summary": "The token's user and their company roles", "responses": {"200": _json({})}}},
        "/stations": {
            "get": {
                "summary": "Search stations by name or town",
                "parameters": [_query("q", "string", "Part of a name or town")],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"stations": {"type": "array", "items": _ref("Station")}}}
                    )
                },
            }
        },
        "/trips/search": {
            "get": {
                "summary": "Trips passing `from` before `to` on a date (Africa/Kigali)",
                "parameters": [
                    _query("from", "integer", "Origin station id", True),
                    _query("to", "integer", "Destination station id", True),
                    _query("date", "string", "YYYY-MM-DD, default today"),
                    _query("sort", "string", "time (default) or price"),
                    _query("operator", "integer", "Company id"),
                    _query("time_of_day", "string", "morning, afternoon or evening"),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"date": STRING, "trips": {"type": "array", "items": _ref("Offer")}},
                        }
                    ),
                    **ERRORS,
                },
            }
        },
        "/trips/{trip_id}/seats": {
            "get": {
                "summary": "Seat map for a leg range: free, taken, held, or mine",
                "parameters": [
                    _path("trip_id", "integer"),
                    _query("from", "integer", "Origin station id"),
                    _query("to", "integer", "Destination station id"),
                ],
                "responses": {"200": _json({}), **ERRORS},
            }
        },
        "/holds": {
            "post": {
                "summary": "Hold 1-6 seats for a few minutes (all or none)",
                "requestBody": _body(
                    {"trip_id": INTEGER, "from": INTEGER, "to": INTEGER, "seats": {"type": "array", "items": STRING}},
                    ["trip_id", "seats"],
                ),
                "responses": {
                    "201": _json({"type": "object", "properties": {"hold": _ref("Hold")}}),
                    "429": {"$ref": "#/components/responses/Error"},
                    **ERRORS,
                },
            }
        },
        "/holds/{code}": {
            "delete": {
                "summary": "Give up a hold; the seats are free at once",
                "parameters": [_path("code")],
                "responses": {"200": _json({"type": "object", "properties": {"hold": _ref("Hold")}}), **ERRORS},
            }
        },
        "/orders": {
            "post": {
                "summary": "Check out a hold, or book seats in one call; prices come from the fare table",
                "description": (
                    "Either `hold` (a hold's code) or `trip_id` with `seats` (and `from`/`to` station ids, "
                    "the whole trip if left out). One passenger per seat. A one-call order keeps its seats "
                    "for the company's hold time and counts against the same limits as a hold."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "properties": {"hold": STRING, "passengers": PASSENGERS},
                                        "required": ["hold", "passengers"],
                                    },
                                    {
                                        "type": "object",
                                        "properties": {
                                            "trip_id": INTEGER,
                                            "from": INTEGER,
                                            "to": INTEGER,
                                            "seats": {"type": "array", "items": STRING, "minItems": 1, "maxItems": 6},
                                            "passengers": PASSENGERS,
                                        },
                                        "required": ["trip_id", "seats", "passengers"],
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json({"type": "object", "properties": {"order": _ref("Order")}}),
                    "410": {"$ref": "#/components/responses/Error"},
                    **ERRORS,
                },
            }
        },
        "/orders/{code}": {
            "get": {
                "summary": "One of my orders with its tickets",
                "parameters": [_path("code")],
                "responses": {"200": _json({"type": "object", "properties": {"order": _ref("Order")}}), **ERRORS},
            }
        },
        "/orders/{code}/payments": {
            "post": {
                "summary": "Pay for one of my orders (idempotent)",
                "description": "Send an `Idempotency-Key` header (a UUID per payment attempt). The same key "
                "and body answer the first result again with `Idempotent-Replayed: true`; the same key with "
                "another body answers 422; while the first request runs, 409 with `Retry-After`. MTN MoMo "
                "needs `phone`: the payer approves on the phone, then the payment settles (poll GET "
                "/payments/{reference}). PayPal answers an `approve_url` to send the payer to. The sandbox "
                "takes `decision` to settle at once.",
                "parameters": [_path("code"), IDEMPOTENCY_KEY],
                "requestBody": _body(
                    {
                        "provider": {"type": "string", "enum": ["momo", "paypal", "sandbox"]},
                        "phone": STRING,
                        "amount": INTEGER,
                        "currency": STRING,
                        "decision": {"type": "string", "enum": ["approve", "decline"]},
                    },
                    ["provider"],
                ),
                "responses": {"201": PAYMENT_ANSWER, "400": ERROR, "502": ERROR, **ERRORS},
            }
        },
        "/orders/{code}/cash": {
            "post": {
                "summary": "Company staff: record cash taken at a counter (idempotent)",
                "parameters": [_path("code"), IDEMPOTENCY_KEY],
                "requestBody": _body({"amount": INTEGER}, ["amount"]),
                "responses": {"201": PAYMENT_ANSWER, "400": ERROR, "403": ERROR, **ERRORS},
            }
        },
        "/payments/{reference}": {
            "get": {
                "summary": "One of my payments, with its refunds",
                "parameters": [_path("reference")],
                "responses": {"200": PAYMENT_ANSWER, **ERRORS},
            }
        },
        "/payments/{reference}/sandbox": {
            "post": {
                "summary": "Approve or decline a sandbox payment",
                "parameters": [_path("reference")],
                "requestBody": _body({"decision": {"type": "string", "enum": ["approve", "decline"]}}, ["decision"]),
                "responses": {"200": PAYMENT_ANSWER, **ERRORS},
            }
        },
        "/payment-methods": {
            "get": {
                "summary": "Payment methods this platform offers",
                "responses": {"200": _json({"type": "object", "properties": {"providers": {"type": "array"}}})},
            }
        },
        "/webhooks/paypal": {
            "post": {
                "summary": "PayPal webhooks (signature-verified; no bearer token)",
                "security": [],
                "responses": {"200": _json({"type": "object"}), "400": ERROR},
            }
        },
        "/webhooks/momo/{reference}": {
            "post": {
                "summary": "MTN MoMo callback for one payment (a trigger for a status lookup; no bearer token)",
                "security": [],
                "parameters": [_path("reference")],
                "responses": {"200": _json({"type": "object"}), "404": ERROR},
            },
            "put": {
                "summary": "MTN MoMo callback for one payment (as PUT)",
                "security": [],
                "parameters": [_path("reference")],
                "responses": {"200": _json({"type": "object"}), "404": ERROR},
            },
        },
        "/tickets": {
            "get": {
                "summary": "My tickets",
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"tickets": {"type": "array", "items": _ref("Ticket")}}}
                    )
                },
            }
        },
        "/tickets/verify": {
            "post": {
                "summary": "For company staff: is this QR text a ticket to travel?",
                "requestBody": _body({"qr": STRING, "trip_id": INTEGER}, ["qr"]),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "valid": {"type": "boolean"},
                                "reason": {
                                    "type": "string",
                                    "enum": [
                                        "valid",
                                        "malformed",
                                        "forged",
                                        "unknown_key",
                                        "unknown_ticket",
                                        "cancelled",
                                        "unpaid",
                                        "wrong_trip",
                                    ],
                                },
                                "message": STRING,
                                "ticket": {"oneOf": [_ref("Ticket"), {"type": "null"}]},
                            },
                        }
                    ),
                    "403": {"$ref": "#/components/responses/Error"},
                    **ERRORS,
                },
            }
        },
        "/positions/osmand": {
            method: {
                "summary": "A tracker's position in the OsmAnd protocol (also served at /osmand; no bearer token: "
                "the registered device id identifies the bus)",
                "description": "Query string or form: id|deviceid, lat+lon or location=lat,lon, timestamp (Unix s or "
                "ms, ISO-8601, yyyy-MM-dd HH:mm:ss UTC), speed (knots), bearing|heading, altitude, accuracy, hdop, "
                "batt (%), valid. JSON (Traccar Client 9+): {device_id, location: {timestamp, coords: {latitude, "
                "longitude, speed (m/s), heading, accuracy, altitude}, battery: {level (0..1)}}}. Reports a fix "
                "cannot be taken from (too old, an impossible jump, no satellite fix) answer 200 with "
                "accepted=false, so the device moves on.",
                "security": [],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "accepted": {"type": "boolean"},
                                "moved": {"type": "boolean"},
                                "reason": STRING,
                            },
                        }
                    ),
                    "400": ERROR,
                    "429": ERROR,
                },
            }
            for method in ("get", "post")
        },
        "/companies/{code}/gtfs-rt/vehicle-positions": {
            "get": {
                "summary": "A company's GTFS-Realtime VehiclePositions feed (public; cached for 5 s)",
                "security": [],
                "parameters": [_path("code"), _query("format", "string", "json: the same feed as JSON, for debugging")],
                "responses": {
                    "200": {
                        "description": "A FeedMessage: one VehiclePosition per running trip with a live position",
                        "content": {"application/x-protobuf": {}, "application/json": {"schema": {"type": "object"}}},
                    },
                    "404": ERROR,
                },
            }
        },
        "/openapi.json": {"get": {"summary": "This description", "security": [], "responses": {"200": _json({})}}},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "responses": {
            "Error": _json(
                {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": STRING, "message": STRING, "fields": {"type": "object"}},
                        }
                    },
                },
                "An error, with field messages where they apply",
            )
        },
        "schemas": {
            "Station": {
                "type": "object",
                "properties": {
                    "id": INTEGER,
                    "name": STRING,
                    "city": STRING,
                    "latitude": {"type": "number"},
                    "longitude": {"type": "number"},
                },
            },
            "Offer": {
                "type": "object",
                "properties": {
                    "trip_id": INTEGER,
                    "operator": STRING,
                    "route": STRING,
                    "seats_free": INTEGER,
                    "price": {"type": "object"},
                    "currency": STRING,
                },
            },
            "Hold": {
                "type": "object",
                "properties": {
                    "code": STRING,
                    "trip_id": INTEGER,
                    "seats": {"type": "array", "items": STRING},
                    "status": STRING,
                    "expires_at": STRING,
                    "seconds_left": INTEGER,
                },
            },
            "Order": {
                "type": "object",
                "properties": {
                    "code": STRING,
                    "status": STRING,
                    "total": INTEGER,
                    "currency": STRING,
                    "expires_at": STRING,
                    "tickets": {"type": "array", "items": _ref("Ticket")},
                },
            },
            "Payment": {
                "type": "object",
                "properties": {
                    "reference": STRING,
                    "order": STRING,
                    "provider": STRING,
                    "status": {
                        "type": "string",
                        "enum": ["initiated", "pending", "succeeded", "failed", "cancelled", "mismatch"],
                    },
                    "amount": INTEGER,
                    "currency": STRING,
                    "provider_amount": STRING,
                    "provider_currency": STRING,
                    "approve_url": STRING,
                    "failure_reason": STRING,
                    "order_status": STRING,
                    "refunds": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Ticket": {
                "type": "object",
                "properties": {
                    "code": STRING,
                    "status": STRING,
                    "trip_id": INTEGER,
                    "seat": STRING,
                    "class": STRING,
                    "passenger": STRING,
                    "price": INTEGER,
                    "refund_amount": INTEGER,
                    "qr": STRING,
                    "url": STRING,
                },
            },
        },
    },
}


@blueprint.get("/openapi.json")
@public
def openapi():
    return jsonify(SPEC)
