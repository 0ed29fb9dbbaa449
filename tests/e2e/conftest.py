"""A live TMS for the browser, in the production shape (``tests/stack.py``: the nginx gateway, the
page and socket servers, a real RQ worker) on its own PostgreSQL database (the test database plus
``_e2e``) and Redis database, sending mail to the loopback SMTP server and paying through a
loopback fake of MTN MoMo (``momo_fake``; the sandbox provider is on too).

Pages are driven by Debian's Chromium through Playwright; nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis as redis_lib
from flask import Flask
from playwright.sync_api import Browser
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from config import parse_signing_keys
from tests.conftest import DATABASE_URL, REDIS_URL, recreate_database
from tests.fakes.momo import FakeMomo
from tests.fakes.sms import FakeAfricasTalking
from tests.stack import Stack

# The live server's own database beside the test database (tms_test_e2e), and its own Redis database.
_test_database = make_url(DATABASE_URL)
E2E_DATABASE_URL = _test_database.set(database=f"{_test_database.database}_e2e").render_as_string(hide_password=False)
E2E_REDIS_URL = os.environ.get("TEST_E2E_REDIS_URL") or str(make_url(REDIS_URL).set(database="14"))
MOMO_USER_ID = "0b6a1c7e-5f43-4c52-9d1e-2a7f3b8c9d10"  # a MoMo API user is a UUID
MOMO_API_KEY = "e2e-momo-api-key"
MOMO_SUBSCRIPTION_KEY = "e2e-momo-subscription-key"
MOMO_RATE = "0.00064"  # EUR per RWF: the MTN sandbox (and so the fake) takes only EUR
SMS_USERNAME = "tms-e2e"
SMS_API_KEY = "e2e-sms-api-key"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def momo_fake():
    """MTN MoMo on loopback for the live server: tests approve or decline its requests to pay, which
    calls the app back at the X-Callback-Url it sent."""
    fake = FakeMomo(MOMO_USER_ID, MOMO_API_KEY, MOMO_SUBSCRIPTION_KEY, environment="sandbox", currency="EUR")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def sms_fake():
    """Africa's Talking on loopback: the live server's SMS land here, for tests to read."""
    with FakeAfricasTalking(SMS_USERNAME, SMS_API_KEY, sender_ids=("TMS",)) as fake:
        yield fake


@pytest.fixture(scope="session")
def live_server(smtp_server, momo_fake, sms_fake, tmp_path_factory):
    _, smtp_port = smtp_server
    recreate_database(E2E_DATABASE_URL)
    redis_lib.Redis.from_url(E2E_REDIS_URL).flushdb()
    env = {
        **os.environ,
        "TMS_ENV": "test",
        "DATABASE_URL": E2E_DATABASE_URL,
        "REDIS_URL": E2E_REDIS_URL,
        "SECRET_KEY": "e2e-secret-key-" + "x" * 32,
        "JWT_SIGNING_KEY": "e2e-jwt-key-" + "y" * 32,
        "QR_SIGNING_KEYS": "e2e:" + "z" * 40,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "WEB_CONCURRENCY": "2",
        "SOCKETS_CONCURRENCY": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
        "PROXY_FIX_X_FOR": "1",  # behind the gateway, as in production
        "MOMO_BASE_URL": momo_fake.url,
        "MOMO_TARGET_ENVIRONMENT": "sandbox",
        "MOMO_COLLECTION_USER_ID": MOMO_USER_ID,
        "MOMO_COLLECTION_API_KEY": MOMO_API_KEY,
        "MOMO_COLLECTION_SUBSCRIPTION_KEY": MOMO_SUBSCRIPTION_KEY,
        "MOMO_CURRENCY": "EUR",
        "MOMO_RATE": MOMO_RATE,
        "MOMO_DISBURSEMENT_USER_ID": "",  # refunds use the collection user, as the fake does
        "MOMO_DISBURSEMENT_API_KEY": "",
        "MOMO_DISBURSEMENT_SUBSCRIPTION_KEY": "",
        "PAYMENTS_SANDBOX": "1",
        "SMS_PROVIDER": "africastalking",
        "AFRICASTALKING_BASE_URL": sms_fake.url,
        "AFRICASTALKING_USERNAME": SMS_USERNAME,
        "AFRICASTALKING_API_KEY": SMS_API_KEY,
        "AFRICASTALKING_SENDER_ID": "TMS",
        "PAYPAL_CLIENT_ID": "",  # not offered: the journeys pay with MoMo or the sandbox
        "PAYPAL_CLIENT_SECRET": "",
        # Map tiles from a path of the live server that has none: no browser request leaves the
        # machine, and the live maps must work without tiles.
        "MAP_TILE_URL": "/no-tiles/{z}/{x}/{y}.png",
    }
    stack = Stack(env, tmp_path_factory.mktemp("live-server"))
    stack.flask("db", "upgrade")
    stack.flask("demo", "load")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def data_app(live_server: Stack, **config) -> Iterator[Flask]:
    """The app bound to the live server's database and Redis, with its secrets (emailed links'
    tokens, ticket QR keys), for what a journey sets up or checks besides the browser. Events go
    to the live worker."""
    env = live_server.env
    app = create_app(
        {
            "TMS_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": E2E_DATABASE_URL,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "REDIS_URL": E2E_REDIS_URL,
            "JOBS_INLINE": False,
            "BASE_URL": live_server.url,
            "SECRET_KEY": env["SECRET_KEY"],
            "QR_SIGNING_KEYS": parse_signing_keys(env["QR_SIGNING_KEYS"]),
            **config,
        }
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.url


# --- Signing in through the gateway --------------------------------------------------------------

# The forms the gateway paces per address (deploy/nginx/tms.conf.template, zone "logins").
PACED_FORMS = re.compile(r"/(login|signup|password/forgot)(\?.*)?$")
GATEWAY_PATIENCE_SECONDS = 60


def _send_when_the_gateway_lets_us(route) -> None:
    """The gateway lets one address sign in, sign up or ask for a password reset 30 times a minute
    (burst 10), as in production, and every browser here is 127.0.0.1: a form it refuses with 429
    is sent again a moment later, as a person would, until it goes through."""
    if route.request.method != "POST":
        route.fallback()
        return
    deadline = time.monotonic() + GATEWAY_PATIENCE_SECONDS
    while True:
        answer = route.fetch(max_redirects=0)
        if answer.status != 429 or time.monotonic() > deadline:
            route.fulfill(response=answer)
            return
        time.sleep(1)


@pytest.fixture(scope="session", autouse=True)
def paced_forms_wait_for_the_gateway():
    """Every browser context of these tests, made by pytest-playwright or by a test itself."""
    new_context = Browser.new_context

    def patient(self, *args, **kwargs):
        context = new_context(self, *args, **kwargs)
        context.route(PACED_FORMS, _send_when_the_gateway_lets_us)
        return context

    Browser.new_context = patient
    yield
    Browser.new_context = new_context
