"""Payment providers as loopback fakes speaking their real wire formats, wired into the app's
settings for the length of a test; orders ready to pay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests import factories
from tests.fakes.momo import FakeMomo
from tests.fakes.paypal import FakePayPal


@pytest.fixture(scope="session")
def momo_server():
    with FakeMomo("momo-user", "momo-key", "momo-subscription", currency="EUR") as server:
        yield server


@pytest.fixture(scope="session")
def paypal_server():
    with FakePayPal("paypal-client", "paypal-secret", webhook_id="WH-TMS-TEST") as server:
        yield server


@pytest.fixture
def momo(app, momo_server, monkeypatch):
    # The app under test is not listening on a port: tests deliver callbacks through the client.
    momo_server.callbacks_enabled, momo_server.auto_outcome = False, None
    momo_server.refund_outcome = "SUCCESSFUL"
    momo_server.reset_calls()
    for name, value in {
        "MOMO_BASE_URL": momo_server.url,
        "MOMO_TARGET_ENVIRONMENT": "sandbox",
        "MOMO_COLLECTION_USER_ID": "momo-user",
        "MOMO_COLLECTION_API_KEY": "momo-key",
        "MOMO_COLLECTION_SUBSCRIPTION_KEY": "momo-subscription",
        "MOMO_CURRENCY": "EUR",
        "MOMO_RATE": Decimal("0.0007"),
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return momo_server


@pytest.fixture
def paypal(app, paypal_server, monkeypatch):
    with paypal_server.lock:
        paypal_server.capture_outcome = "COMPLETED"
        paypal_server.captures = 0
        paypal_server.refunds.clear()
    paypal_server.reset_calls()
    for name, value in {
        "PAYPAL_BASE_URL": paypal_server.url,
        "PAYPAL_CLIENT_ID": "paypal-client",
        "PAYPAL_CLIENT_SECRET": "paypal-secret",
        "PAYPAL_WEBHOOK_ID": "WH-TMS-TEST",
        "PAYPAL_CURRENCY": "USD",
        "PAYPAL_RATE": Decimal("0.00069"),
        "PAYPAL_CERT_ORIGINS": (paypal_server.url,),
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return paypal_server


def make_trip():
    """Three stops, 1,250 RWF a leg, three days ahead, a 16-seat bus."""
    return factories.trip_ahead("Horizon Express", days=3, rows=4, leg_fare=1250, hour=8)


@pytest.fixture
def trip():
    return make_trip()


@pytest.fixture
def api(client):
    """JSON calls as a user, with a bearer token; ``key`` sends an Idempotency-Key."""
    tokens: dict[int, str] = {}

    def call(method, path, user, *, key=None, **kwargs):
        if user.id not in tokens:
            answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
            tokens[user.id] = answer.get_json()["access_token"]
        headers = {"Authorization": f"Bearer {tokens[user.id]}", **({"Idempotency-Key": key} if key else {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def pending_order(trip, api):
    """A passenger and their order (2,500 RWF a seat; two seats by default), waiting for payment."""

    def make(seats=("2A", "2B"), user=None):
        user = user or factories.user(phone="+250788111222")
        body = {"trip_id": trip.id, "seats": list(seats), "passengers": [{"name": f"P {s}"} for s in seats]}
        response = api("POST", "/orders", user, json=body)
        assert response.status_code == 201, response.get_json()
        return user, response.get_json()["order"]

    return make
