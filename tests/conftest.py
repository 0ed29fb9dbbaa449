"""Shared fixtures: a real PostgreSQL database migrated to head, real Redis, a real SMTP server.

Each test runs inside one outer transaction that is rolled back at the end; the app's own commits
become savepoints inside it, so tests see exactly what a request would and leave nothing behind.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import psycopg
import pytest
import redis as redis_lib
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests import factories

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://tms:tms@127.0.0.1:5432/tms_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def recreate_database(url: str) -> None:
    """Drop and create the database named in ``url`` (a fresh schema every run)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """Messages received by the loopback SMTP server."""

    messages: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.arrived:
            self.messages.clear()

    def wait_for(self, to: str, timeout: float = 15.0) -> EmailMessage:
        def find():
            return next((m for m in self.messages if to in m["To"]), None)

        with self.arrived:
            self.arrived.wait_for(lambda: find() is not None, timeout=timeout)
            found = find()
        assert found is not None, f"no email to {to} within {timeout}s"
        return found

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @classmethod
    def link_in(cls, message: EmailMessage) -> str:
        match = re.search(r"https?://\S+", cls.text_of(message))
        assert match, "the email carries no link"
        return match.group(0)


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    box, _ = smtp_server
    box.clear()
    return box


# --- App and database -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def app(smtp_server):
    _, smtp_port = smtp_server
    recreate_database(DATABASE_URL)
    app = create_app(
        {
            "TMS_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "REDIS_URL": REDIS_URL,
            "JOBS_INLINE": True,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "BASE_URL": "http://tms.test",
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(request, app):
    """One rolled-back transaction and an empty Redis database per test."""
    if request.node.get_closest_marker("e2e") or request.node.get_closest_marker("own_transactions"):
        yield
        return
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    with app.app_context():
        engines = db._app_engines[app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection  # every session binds to this connection...
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")  # ...and commits to savepoints
        try:
            yield
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            engines[None] = engine


@pytest.fixture
def committed(app):
    """For race tests (mark them ``own_transactions``): an app context whose commits are real, so
    threads with their own connections see the data; every table is emptied afterwards."""
    ctx = app.app_context()
    ctx.push()
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    try:
        yield app
    finally:
        db.session.rollback()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables if t.name != "alembic_version")
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
        db.session.remove()
        ctx.pop()


@pytest.fixture
def now() -> datetime:
    """The time the test started (UTC, whole seconds): one reference for what a test builds and
    hands to services. Computed per test, never when a module is collected: a long run would leave
    a module-level "now" minutes behind the clock (tests/test_suite_hygiene.py keeps it so)."""
    return datetime.now(UTC).replace(microsecond=0)


# --- Clients ----------------------------------------------------------------------------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client(FlaskClient):
    """A browser-like test client: knows its CSRF token and can speak htmx.

    Each request gets its own app context, as in production (fresh ``g`` and database session);
    afterwards the test's own session forgets what it had loaded, so it sees what was committed.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response

    def csrf_token(self) -> str:
        page = self.get("/")
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the home page"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        """POST a form the way a browser does, with the page's CSRF token."""
        return self.post(url, data={"csrf_token": self.csrf_token(), **(data or {})}, **kwargs)

    def htmx(self, method: str, url: str, *, csrf: bool = True, headers: dict | None = None, **kwargs):
        sent = {"HX-Request": "true", **(headers or {})}
        if csrf:
            sent["X-CSRFToken"] = self.csrf_token()
        return self.open(url, method=method.upper(), headers=sent, **kwargs)

    def login(self, email: str, password: str = factories.PASSWORD):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, f"login failed: {response.status_code}"
        return response


@pytest.fixture
def client(app) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def login_as(client):
    """Sign the client in as a new user with ``role``; return the user."""

    def login(role: str, **kwargs):
        user = factories.user_with_role(role, **kwargs)
        client.login(user.email)
        return user

    return login


# --- Browser ----------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium for every Playwright test; nothing is downloaded."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# --- Fuzzing summary --------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter, config):
    """The fuzz runs' case counts and times (tests/fuzzing.py), for the record."""
    from tests.fuzzing import summary

    lines = summary()
    if not lines:
        return
    terminalreporter.write_sep("-", "fuzzing")
    for line in lines:
        terminalreporter.write_line(line)
    (config._tmp_path_factory.getbasetemp() / "fuzzing.txt").write_text("\n".join(lines) + "\n")
