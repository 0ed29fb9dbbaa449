"""Open sockets never starve the site: the production shape at its default settings holds a
thousand live maps while pages answer, and the embedded ``make run`` server holds two hundred.

Timings are printed (``-s`` shows them; bench/sockets.py measures the same with a baseline) and
asserted only as "answered, promptly": a starved server does not answer at all.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest
import redis as redis_lib
from sqlalchemy.engine import make_url

from app.tracking import live
from tests.conftest import DATABASE_URL, REDIS_URL, free_port, recreate_database
from tests.stack import ROOT, Prober, Stack, hold_sockets, plain_environment, seat_passengers, sign_in, wait_for

pytestmark = pytest.mark.own_transactions

SECRETS = {
    "SECRET_KEY": "serving-secret-key-" + "x" * 32,
    "JWT_SIGNING_KEY": "serving-jwt-key-" + "y" * 32,
    "QR_SIGNING_KEYS": "serving:" + "z" * 40,
}


@pytest.fixture
def production(smtp_server, tmp_path):
    """The production shape exactly as docs/deployment.md starts it, with only the required settings."""
    _, smtp_port = smtp_server
    database = make_url(DATABASE_URL).set(database=f"{make_url(DATABASE_URL).database}_serving")
    database_url = database.render_as_string(hide_password=False)
    recreate_database(database_url)
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    env = plain_environment()
    env |= {
        **SECRETS,
        "TMS_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "SMS_PROVIDER": "africastalking",  # nothing is sent here; production wants a gateway named
        "AFRICASTALKING_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "AFRICASTALKING_USERNAME": "tms",
        "AFRICASTALKING_API_KEY": "serving-test",
    }
    stack = Stack(env, tmp_path)
    stack.flask("db", "upgrade")
    stack.start()
    try:
        yield stack, database_url
    finally:
        stack.stop()


def test_a_thousand_live_maps_leave_pages_answering_and_one_client_over_its_cap_is_refused(production):
    stack, database_url = production
    audience = seat_passengers(database_url, 25)
    # Signed in at the page server itself: the gateway slows sign-ins from one address (10 at once).
    cookies = [sign_in("127.0.0.1", stack.web_port, email) for email in audience.emails]
    cap = 20  # WS_MAX_PER_USER and WS_MAX_PER_LINK at their defaults
    trip = f"/ws/trips/{audience.trip_id}"
    plan = [(trip, cookie) for cookie in cookies for _ in range(cap)]
    plan += [(f"{trip}?share={token}", None) for token in audience.links for _ in range(cap)]
    assert len(plan) == 1000

    search = "/search?" + urllib.parse.urlencode({"origin": audience.origin, "destination": audience.destination})
    prober = Prober(stack.url, ["/healthz", search])
    publisher = redis_lib.Redis.from_url(REDIS_URL)

    def hold() -> None:
        """While every socket is open: the bus reports every second, pages are asked for."""
        prober.start()
        for n in range(15):
            publisher.publish(live.trip_channel(audience.trip_id), json.dumps({"type": "position", "bus": 0, "n": n}))
            time.sleep(1)
        prober.done.set()
        prober.join()
        over = subprocess.run(
            [sys.executable, "-c", OVER_THE_CAP, stack.url, trip, cookies[0]],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert over.stdout.strip() == "429", over.stdout + over.stderr

    snapshots = hold_sockets(stack.url, plan, hold)

    assert len(snapshots) == 1000 and all(s["type"] == "snapshot" for s in snapshots)
    assert not prober.failures, prober.failures[:5]
    report = prober.report()
    for path, (p50, p95, count) in report.items():
        print(f"\n{path}: {count} answers with 1,000 sockets open, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        assert p95 < 200, f"{path} answered slowly with 1,000 sockets open: p95 {p95:.0f} ms"
    assert report[search][2] >= 20 and report["/healthz"][2] >= 20


# A socket opened apart from the test's own event loop: one more for a passenger at the cap.
OVER_THE_CAP = """
import sys
import simple_websocket
url, path, cookie = sys.argv[1:]
try:
    simple_websocket.Client(url.replace("http://", "ws://") + path, headers={"Origin": url, "Cookie": cookie}).close()
    print(101)
except simple_websocket.ConnectionError as refused:
    print(refused.status_code)
"""


def test_the_embedded_server_holds_two_hundred_live_maps_and_keeps_answering(tmp_path):
    """``make run``'s server (one process, SQLite, Redis inside it) at its own defaults."""
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'tms.db'}"
    env = plain_environment()
    env |= {"DATABASE_URL": database_url, "BASE_URL": f"http://127.0.0.1:{port}", **SECRETS}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    audience = seat_passengers(database_url, 10)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        plan = [(f"/ws/trips/{audience.trip_id}?share={token}", None) for token in audience.links for _ in range(20)]
        prober = Prober(f"http://127.0.0.1:{port}", ["/healthz", "/"])

        def hold() -> None:
            prober.start()
            time.sleep(8)
            prober.done.set()
            prober.join()

        snapshots = hold_sockets(f"http://127.0.0.1:{port}", plan, hold)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    assert len(snapshots) == 200
    assert not prober.failures, prober.failures[:5]
    for path, (p50, p95, count) in prober.report().items():
        print(f"\nembedded {path}: {count} answers with 200 sockets open, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        assert p95 < 200, f"{path} answered slowly with 200 sockets open: p95 {p95:.0f} ms"


def test_in_production_gunicorn_refuses_an_address_the_gateway_does_not_guard(tmp_path):
    env = plain_environment()
    env |= {"TMS_ENV": "production", "GUNICORN_BIND": f"0.0.0.0:{free_port()}"}  # what is refused
    for server in ("pages", "sockets"):
        refused = subprocess.run(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env={**env, "TMS_SERVER": server},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode != 0
        assert "refusing to bind 0.0.0.0" in refused.stdout + refused.stderr


def test_clients_that_stall_while_sending_headers_give_their_page_thread_back(tmp_path):
    """Reached directly (never so in production), a page server with 2 threads still answers
    while 6 clients sit on half-sent requests: each read gives up after GUNICORN_READ_TIMEOUT."""
    port = free_port()
    env = plain_environment()
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tms.db'}",
        "REDIS_URL": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_THREADS": "2",
        "WS_MAX_PER_PROCESS": "0",
        "GUNICORN_READ_TIMEOUT": "2",
        **SECRETS,
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stalled = []
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        for _ in range(6):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: tms\r\nX-Slow: ")
            stalled.append(client)
        started = time.monotonic()
        wait_for(f"http://127.0.0.1:{port}/healthz", server, timeout=30, attempt=25)
        print(f"\nanswered {time.monotonic() - started:.1f} s after 6 stalled clients took both threads")
    finally:
        for client in stalled:
            client.close()
        server.terminate()
        server.wait(timeout=20)
        log.close()
