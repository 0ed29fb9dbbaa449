"""The production shape on loopback, as docs/deployment.md starts it: the nginx gateway (installed
by ``deploy/nginx/install.sh``), the page server and the socket server (gunicorn with
``gunicorn.conf.py``) and, when asked, the RQ worker, each a subprocess with its log in ``logs``.

Only the gateway's port is the site's address (``BASE_URL``); the servers listen on ports of their
own, as they would behind a real gateway. Below it, what load tests and benches share: passengers
of a running trip, signing in by hand, many sockets held open, pages timed meanwhile.
"""

from __future__ import annotations

import asyncio
import getpass
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

from app import create_app
from app.extensions import db
from app.tracking import services
from tests import factories
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def plain_environment() -> dict[str, str]:
    """This process's environment without any of our settings, so a server started with it runs
    at its defaults plus what the caller adds."""
    ours = ("TMS_", "GUNICORN_", "WEB_", "SOCKETS_", "WS_", "DATABASE_", "REDIS_")
    return {key: value for key, value in os.environ.items() if not key.startswith(ours)}


def install_gateway(prefix: Path, *, listen: int, web: str, sockets: str) -> Path:
    """Install the gateway's configuration into ``prefix`` with ``deploy/nginx/install.sh``, as the
    deployment page does into /etc/nginx. Returns the main configuration file."""
    addresses = {
        "TMS_LISTEN": f"127.0.0.1:{listen}",
        "TMS_WEB_UPSTREAM": web,
        "TMS_SOCKETS_UPSTREAM": sockets,
        "TMS_ACCESS_LOG": "/dev/stdout",  # the gateway's own log file (its output) in these tests
    }
    subprocess.run(
        ["sh", str(ROOT / "deploy/nginx/install.sh"), str(prefix)],
        env={**os.environ, **addresses},
        check=True,
        capture_output=True,
    )
    (prefix / "logs").mkdir(exist_ok=True)
    return prefix / "nginx.conf"


class Stack:
    """Processes started in order and stopped together."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.logs = logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web_port, self.sockets_port = free_port(), free_port()
        self.env = {"BASE_URL": self.url, "PYTHONUNBUFFERED": "1", **env}
        self.processes: dict[str, subprocess.Popen] = {}

    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def spawn(self, name: str, *command: str, env: dict[str, str] | None = None) -> None:
        with (self.logs / f"{name}.log").open("w") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
            )

    def gunicorn(self, server: str, port: int) -> None:
        env = {"TMS_SERVER": server, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        self.spawn(server, sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app", env=env)

    def start(self, *, worker: bool = True) -> Stack:
        """The page server, the socket server, the gateway and (``worker``) an RQ worker."""
        try:
            self.gunicorn("pages", self.web_port)
            self.gunicorn("sockets", self.sockets_port)
            prefix = self.logs / "gateway"
            config = install_gateway(
                prefix, listen=self.port, web=f"127.0.0.1:{self.web_port}", sockets=f"127.0.0.1:{self.sockets_port}"
            )
            # As root nginx hands requests to unprivileged workers unless told otherwise; this user
            # can read the checkout and write the gateway's temporary files.
            user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
            self.spawn(
                "gateway", NGINX, "-p", str(prefix), "-c", str(config), "-g", f"daemon off; pid nginx.pid; {user}"
            )
            if worker:
                self.spawn("worker", sys.executable, "worker.py")
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Until the page and socket servers answer through the gateway (on a loaded two-core
        machine, booting four gunicorn workers and a worker has taken more than a minute)."""
        deadline = time.monotonic() + timeout
        pending = [f"{self.url}/readyz", f"http://127.0.0.1:{self.sockets_port}/healthz"]
        while pending and time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early; see {self.logs / name}.log")
            try:
                with urllib.request.urlopen(pending[0], timeout=2) as response:  # noqa: S310  (our loopback server)
                    if response.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"{pending[0]} did not answer; see {self.logs}")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


# --- Load: many sockets, and pages timed meanwhile -------------------------------------------------


@dataclass
class Audience:
    """Passengers of one running trip (their emails; the password is the factories'), each with a
    share link."""

    trip_id: int
    origin: str
    destination: str
    emails: list[str]
    links: list[str]


def seat_passengers(database_url: str, count: int) -> Audience:
    """A trip on the road with ``count`` passengers holding tickets and share links, committed."""
    from tests.tracking.conftest import running_trip, ticket_for  # that module starts stacks too

    app = create_app({"TMS_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_ENGINE_OPTIONS": {}})
    with app.app_context():
        running = running_trip(company_name="Capacity Line", plate=None, rows=count // 4 + 1)
        people = [factories.user() for _ in range(count)]
        now = datetime.now(UTC)
        links = [
            services.share(p, ticket_for(p, running.trip, seat=f"{n // 4 + 1}{'ABCD'[n % 4]}"), hours=2, now=now).token
            for n, p in enumerate(people)
        ]
        first, last = running.trip.stops[0].station, running.trip.stops[-1].station
        # "Nyabugogo, <its town>": other tests' stations (and the demo's bus park) share the name
        where = [f"{station.name}, {station.town.name}" for station in (first, last)]
        audience = Audience(running.trip.id, *where, [p.email for p in people], links)
        db.session.commit()
        db.engine.dispose()
    return audience


def sign_in(host: str, port: int, email: str) -> str:
    """The session cookie after signing in through the form (secure cookies over loopback HTTP, so
    by hand rather than with a cookie jar)."""

    def request(method: str, path: str, cookie: str, body: str | None = None):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Cookie": cookie} if cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        cookies = [value.split(";")[0] for name, value in response.getheaders() if name.lower() == "set-cookie"]
        conn.close()
        return response.status, text, "; ".join(cookies) or cookie

    _, page, cookie = request("GET", "/login", "")
    token = next(group for group in CSRF_FIELD.search(page).groups() if group)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": factories.PASSWORD})
    status, _, cookie = request("POST", "/login", cookie, form)
    assert status in (302, 303) and "tms_session=" in cookie, f"{email} could not sign in ({status})"
    return cookie


class Prober(threading.Thread):
    """Asks for ``paths`` in turn, one at a time, and keeps each answer's status and time."""

    def __init__(self, url: str, paths: list[str]):
        super().__init__(daemon=True)
        self.url, self.paths = url, paths
        self.timings: dict[str, list[float]] = {path: [] for path in paths}
        self.failures: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        while not self.done.is_set():
            for path in self.paths:
                started = time.perf_counter()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        self.failures.append(f"{path}: {response.status}")
                except OSError as error:
                    self.failures.append(f"{path}: {error!r}")
                finally:
                    conn.close()
                self.timings[path].append((time.perf_counter() - started) * 1000)
            self.done.wait(0.05)

    def report(self) -> dict[str, tuple[float, float, int]]:
        """Per path: p50 and p95 in ms, and how many answers."""
        return {
            path: (statistics.median(t), statistics.quantiles(t, n=20)[-1], len(t))
            for path, t in self.timings.items()
            if len(t) >= 2
        }


async def open_sockets(url: str, plan: list[tuple[str, str | None]], hold) -> list:
    """Open a websocket per ``(path, cookie)`` (50 at a time), read everything they are sent,
    run ``hold()`` while they are all open, then close them. Returns every socket's snapshot."""
    base = url.replace("http://", "ws://")
    snapshots: list = []
    opened: list = []
    gate = asyncio.Semaphore(50)

    async def one(path: str, cookie: str | None):
        async with gate:
            ws = await connect(base + path, origin=url, additional_headers={"Cookie": cookie} if cookie else {})
            snapshots.append(json.loads(await ws.recv()))
            opened.append(ws)

    async def drain(ws):
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass

    await asyncio.gather(*(one(path, cookie) for path, cookie in plan))
    readers = [asyncio.create_task(drain(ws)) for ws in opened]
    try:
        await asyncio.to_thread(hold)
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
        for reader in readers:
            reader.cancel()
    return snapshots


def hold_sockets(url: str, plan: list[tuple[str, str | None]], hold) -> list:
    """:func:`open_sockets` on an event loop of its own thread: a browser test earlier in the session
    leaves Playwright's loop running in the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, open_sockets(url, plan, hold)).result()


def wait_for(url: str, process: subprocess.Popen, timeout: float = 60, attempt: float = 2) -> None:
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited early"
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=attempt)
        try:
            conn.request("GET", parts.path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    raise AssertionError(f"{url} did not answer within {timeout} s")
