"""A running trip Kigali → Muhanga → Huye with real coordinates, its driver, and a clock; a live
server in the production shape (the gateway, page and socket servers with two processes each)."""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import json
import os
import random
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
import simple_websocket
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.accounts.rules import Role
from app.booking.services import orders as booking
from app.companies.models import Station
from app.extensions import db
from app.fleet.models import Route, RouteStop, Trip
from app.fleet.rules import TripStatus
from app.tracking import services
from tests import factories
from tests.conftest import DATABASE_URL, REDIS_URL, recreate_database
from tests.stack import Stack

KIGALI = (-1.9441, 30.0619)
MUHANGA = (-2.0845, 29.7566)
HUYE = (-2.5967, 29.7394)


@dataclass
class Running:
    trip: Trip
    driver: object
    departed: datetime


def southern_route(company, names: tuple[str, str, str] = ("Nyabugogo", "Muhanga", "Huye")) -> Route:
    """Kigali – Huye by Muhanga, at the real places; its stations are found by ``names`` or made."""
    route = Route(company=company, name="Kigali – Huye")
    for position, (name, (lat, lon), minutes, km) in enumerate(
        zip(names, (KIGALI, MUHANGA, HUYE), (0, 60, 150), (0.0, 50.0, 130.0), strict=True)
    ):
        station = db.session.scalar(select(Station).where(Station.name == name)) or factories.station(
            name=name, latitude=lat, longitude=lon
        )
        route.stops.append(
            RouteStop(
                position=position,
                station=station,
                minutes_from_start=minutes,
                km_from_start=km,
                leg_fare=0 if position == 0 else 2000,
            )
        )
    db.session.add(route)
    db.session.flush()
    return route


def running_trip(company_name: str = "Southern Line", plate: str | None = "RAC 500D", rows: int = 3) -> Running:
    company = factories.company(name=company_name)
    driver = factories.member(Role.DRIVER, of=company, name="Eric Driver")
    departed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    trip = factories.trip(
        southern_route(company),
        bus_=factories.bus(company, rows=rows, **({"plate": plate} if plate else {})),
        driver=driver,
        departs_at=departed,
        status=TripStatus.DEPARTED,
        departed_at=departed,
    )
    return Running(trip, driver, departed)


@pytest.fixture
def running():
    return running_trip()


def ticket_for(user, trip: Trip, seat: str = "1A"):
    """A paid ticket for ``user`` over the whole trip, bought before it left."""
    status, trip.status = trip.status, TripStatus.SCHEDULED
    db.session.flush()
    bought = trip.departs_at - timedelta(hours=2)
    order = booking.reserve(
        user,
        trip.id,
        seats=[seat],
        origin=0,
        destination=len(trip.stops) - 1,
        passengers=[booking.Passenger(user.name)],
        now=bought,
    )
    booking.mark_paid(order, now=bought)
    trip.status = status
    db.session.flush()
    return order.tickets[0]


# --- A live server: gunicorn with two worker processes --------------------------------------------
#
# Its own database (the test database plus ``_live``), filled by the tests through ``live.app``, a
# second app bound to it, and committed; it shares the test Redis database (each test flushes that
# first, and these run one at a time). Redis channels are not per database, so the ids of
# companies, buses and trips start far from those of other test runs on the same Redis server.

_test_database = make_url(DATABASE_URL)
LIVE_DATABASE_URL = _test_database.set(database=f"{_test_database.database}_live").render_as_string(hide_password=False)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class WsClient(simple_websocket.Client):
    """simple-websocket's client, which also closes its socket when the server refuses the upgrade,
    and reads the messages that arrived in the same packet as the server's handshake (its own
    handshake leaves them in the parser until more bytes come)."""

    def handshake(self):
        try:
            super().handshake()
        except BaseException:
            self.sock.close()
            raise
        self._handle_events()


class Ws:
    """One websocket to the live server, speaking JSON."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.client = WsClient(url, headers=headers)
        self.pid = None

    def send(self, message) -> None:
        self.client.send(message if isinstance(message, str) else json.dumps(message))

    def next(self, kind: str | None = None, *, timeout: float = 5.0, where=lambda message: True) -> dict:
        """The next message (of type ``kind``, matching ``where``), skipping keep-alives and others."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            raw = self.client.receive(timeout=left)
            if raw is None:
                break
            message = json.loads(raw)
            if message.get("type") != "ping" and (kind is None or message.get("type") == kind) and where(message):
                return message
        raise AssertionError(f"no {kind or 'message'} within {timeout} s")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


@dataclass
class LiveTms:
    url: str
    app: Flask
    sockets: list[Ws] = field(default_factory=list)
    raws: list[socket.socket] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.url

    def login(self, email: str) -> str:
        """Sign in through the login form; the session cookie, as a Cookie header."""
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = browser.open(f"{self.url}/login", timeout=10).read().decode()
        form = {"csrf_token": CSRF_META.search(page).group(1), "email": email, "password": factories.PASSWORD}
        # The proxy lets a client address sign in 30 times a minute (burst 10), as in production;
        # this module signs in more often than that, so a refused attempt is tried again shortly.
        deadline = time.monotonic() + 30
        while True:
            try:
                browser.open(f"{self.url}/login", data=urllib.parse.urlencode(form).encode(), timeout=10)
                break
            except urllib.error.HTTPError as refused:
                if refused.code != 429 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        assert "tms_session=" in cookie, f"{email} could not sign in"
        return cookie

    def connect(self, path: str, *, cookie: str | None = None, origin: str | None = None) -> Ws:
        """A websocket to ``path`` that says hello with its worker's pid (tests only)."""
        headers = {"Origin": origin or self.origin}
        if cookie:
            headers["Cookie"] = cookie
        url = self.url.replace("http://", "ws://") + path + ("&" if "?" in path else "?") + "hello=1"
        ws = Ws(url, headers)
        self.sockets.append(ws)
        ws.pid = ws.next("hello")["pid"]
        return ws

    def raw(self, path: str, *, cookie: str | None = None, receive_buffer: int | None = None) -> socket.socket:
        """A websocket whose client does nothing by itself (no reading, no pongs): the handshake
        done by hand, the bare TCP socket returned. ``receive_buffer`` shrinks its kernel buffer."""
        parts = urllib.parse.urlsplit(self.url)
        raw = socket.socket()
        if receive_buffer:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        raw.connect((parts.hostname, parts.port))
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
            "Sec-WebSocket-Version: 13",
            f"Origin: {self.origin}",
            *([f"Cookie: {cookie}"] if cookie else []),
        ]
        raw.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(1)  # byte by byte: nothing after the headers is taken from the kernel
            assert chunk, "the server closed the connection during the handshake"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 101"), answer
        self.raws.append(raw)
        return raw

    def refusal(self, path: str, *, cookie: str | None = None, origin: str | None = None) -> int:
        """The HTTP status of a refused upgrade."""
        headers = {"Origin": origin or self.origin, **({"Cookie": cookie} if cookie else {})}
        with pytest.raises(simple_websocket.ConnectionError) as refused:
            Ws(self.url.replace("http://", "ws://") + path, headers).close()
        return refused.value.status_code


@pytest.fixture(scope="session")
def live_server_tms(app, tmp_path_factory):
    recreate_database(LIVE_DATABASE_URL)
    secrets = {"SECRET_KEY": "live-secret-key-" + "x" * 32, "JWT_SIGNING_KEY": "live-jwt-" + "y" * 32}
    env = {
        **os.environ,
        **secrets,
        "TMS_ENV": "test",
        "DATABASE_URL": LIVE_DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "JOBS_INLINE": "1",
        "QR_SIGNING_KEYS": "live:" + "z" * 40,
        "WEB_CONCURRENCY": "2",
        "SOCKETS_CONCURRENCY": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "1",
        "PROXY_FIX_X_FOR": "1",
        # Quick to drop a client that stopped answering or reading (25 s and 10 s by default).
        "WS_PING_SECONDS": "2",
        "WS_SEND_TIMEOUT_SECONDS": "3",
        "WS_RECHECK_SECONDS": "2",
    }
    stack = Stack(env, tmp_path_factory.mktemp("live-tms"))
    data_app = create_app(
        {
            "TMS_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": LIVE_DATABASE_URL,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "REDIS_URL": REDIS_URL,
            "JOBS_INLINE": True,
            "BASE_URL": stack.url,
            **secrets,
        }
    )
    with data_app.app_context():
        from flask_migrate import upgrade

        upgrade()
        offset = random.randrange(10**6, 10**9, 10**6)
        for table in ("companies", "buses", "trips"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {offset})"))
        db.session.commit()
    stack.start(worker=False)
    try:
        yield LiveTms(stack.url, data_app)
    finally:
        stack.stop()
        with data_app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_tms(live_server_tms):
    """The live server for one test: Redis flushed first, every socket closed after."""
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    yield live_server_tms
    for ws in live_server_tms.sockets:
        ws.close()
    for raw in live_server_tms.raws:
        raw.close()
    live_server_tms.sockets.clear()
    live_server_tms.raws.clear()


@dataclass
class LiveTrip:
    id: int
    bus_id: int
    company_id: int
    driver: str  # emails
    passenger: str
    share: str  # a share link's token


def running_live_trip(live: LiveTms) -> LiveTrip:
    """Committed to the live server's database: a trip that left half an hour ago, its driver, a
    passenger with a paid ticket and a share link."""
    with live.app.app_context():
        running = running_trip(company_name=f"Live Line {random.randrange(10**9)}", plate=None)
        passenger = factories.user(name="Ada Passenger")
        ticket = ticket_for(passenger, running.trip)
        link = services.share(passenger, ticket, hours=2, now=datetime.now(UTC))
        made = LiveTrip(
            running.trip.id,
            running.trip.bus_id,
            running.trip.company_id,
            running.driver.email,
            passenger.email,
            link.token,
        )
        db.session.commit()
    return made
