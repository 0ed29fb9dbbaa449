"""Bearer tokens for device clients, and JSON errors for every bad request."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from app.core.models import utcnow
from app.extensions import db
from tests import factories


def get_token(client, email, password=factories.PASSWORD):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_a_short_lived_pinned_jwt_that_opens_the_api(app, client):
    user = factories.member("driver", email="driver@example.rw")
    response = get_token(client, "driver@example.rw")
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "tms-api" and claims["sub"] == str(user.id)
    assert claims["exp"] - claims["iat"] == 900

    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["email"] == "driver@example.rw"
    assert me.json["memberships"][0]["role"] == "driver"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"email", "password"}),
        ({"email": 5, "password": "x"}, {"email"}),
        ({"email": "a@b.rw", "password": ["x"]}, {"password"}),
        ({"email": True, "password": None}, {"email", "password"}),
        ({"email": "a" * 300, "password": "x"}, {"email"}),
    ],
)
def test_bad_token_requests_get_field_errors(client, body, fields):
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields


def test_non_object_and_non_json_bodies_are_refused(client):
    assert client.post("/api/v1/auth/token", json=["a", "list"]).status_code == 422
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 422
    response = client.post("/api/v1/auth/token", data={"email": "a@b.rw", "password": "x"})
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_wrong_password_is_a_generic_json_401(client):
    factories.user(email="known@example.rw")
    for email in ("known@example.rw", "unknown@example.rw"):
        response = get_token(client, email, "wrong-password")
        assert response.status_code == 401
        assert response.json["error"]["message"] == "That email and password do not match an account."


def test_token_endpoint_shares_the_login_rate_limit(client):
    factories.user(email="known@example.rw")
    for _ in range(10):
        get_token(client, "known@example.rw", "wrong-password")
    response = get_token(client, "known@example.rw")
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def forged(app, user, **overrides):
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "aud": "tms-api",
        "iss": "tms",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "epoch": user.session_epoch,
    }
    key = overrides.pop("key", app.config["JWT_SIGNING_KEY"])
    algorithm = overrides.pop("algorithm", "HS256")
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": lambda now: int((now - timedelta(seconds=1)).timestamp())},  # read when the test runs
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"key": "a-different-signing-key-of-good-length"},
        {"algorithm": "HS512"},
        {"sub": "999999"},
        {"exp": None},
    ],
    ids=["expired", "audience", "issuer", "key", "algorithm", "unknown-user", "no-expiry"],
)
def test_tokens_that_fail_verification_are_refused(app, client, overrides):
    user = factories.user()
    overrides = {name: value(utcnow()) if callable(value) else value for name, value in overrides.items()}
    assert client.get("/api/v1/me", headers=bearer(forged(app, user))).status_code == 200
    response = client.get("/api/v1/me", headers=bearer(forged(app, user, **overrides)))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "not_authenticated"


def test_unsigned_token_is_refused(app, client):
    user = factories.user()
    token = jwt.encode({"sub": str(user.id), "aud": "tms-api", "iss": "tms"}, None, algorithm="none")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_password_change_revokes_issued_tokens(app, client):
    user = factories.user()
    token = get_token(client, user.email).json["access_token"]
    user.session_epoch += 1
    db.session.flush()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_unknown_api_routes_and_methods_answer_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    response = client.delete("/api/v1/auth/token")
    assert response.status_code == 405
    assert "error" in response.json
