"""A live TMS for the browser: gunicorn and a real RQ worker as subprocesses on their own
PostgreSQL database (the test database plus ``_e2e``) and Redis database, sending mail to the loopback SMTP server and
paying through a loopback fake of MTN MoMo (``momo_fake``; the sandbox provider is on too).

Pages are driven by Debian's Chromium through Playwright; nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy.engine import make_url

from tests.conftest import DATABASE_URL, REDIS_URL, free_port, recreate_database
from tests.fakes.momo import FakeMomo

ROOT = Path(__file__).resolve().parents[2]
# The live server's own database beside the test database (tms_test_e2e), and its own Redis database.
_test_database = make_url(DATABASE_URL)
E2E_DATABASE_URL = _test_database.set(database=f"{_test_database.database}_e2e").render_as_string(hide_password=False)
E2E_REDIS_URL = os.environ.get("TEST_E2E_REDIS_URL") or str(make_url(REDIS_URL).set(database="14"))
MOMO_USER_ID = "0b6a1c7e-5f43-4c52-9d1e-2a7f3b8c9d10"  # a MoMo API user is a UUID
MOMO_API_KEY = "e2e-momo-api-key"
MOMO_SUBSCRIPTION_KEY = "e2e-momo-subscription-key"
MOMO_RATE = "0.00064"  # EUR per RWF: the MTN sandbox (and so the fake) takes only EUR


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


class LiveServer:
    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.url = env["BASE_URL"]
        self.processes: list[subprocess.Popen] = []

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

    def spawn(self, name: str, *command: str) -> None:
        with (self.logs / f"{name}.log").open("w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a server process exited early; see {self.logs}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:  # noqa: S310  (our own server on loopback)
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the live server did not become ready; see {self.logs}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def momo_fake():
    """MTN MoMo on loopback for the live server: tests approve or decline its requests to pay, which
    calls the app back at the X-Callback-Url it sent."""
    fake = FakeMomo(MOMO_USER_ID, MOMO_API_KEY, MOMO_SUBSCRIPTION_KEY, environment="sandbox", currency="EUR")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def live_server(smtp_server, momo_fake, tmp_path_factory):
    _, smtp_port = smtp_server
    port = free_port()
    recreate_database(E2E_DATABASE_URL)
    redis_lib.Redis.from_url(E2E_REDIS_URL).flushdb()
    env = {
        **os.environ,
        "TMS_ENV": "test",
        "DATABASE_URL": E2E_DATABASE_URL,
        "REDIS_URL": E2E_REDIS_URL,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "e2e-secret-key-" + "x" * 32,
        "JWT_SIGNING_KEY": "e2e-jwt-key-" + "y" * 32,
        "QR_SIGNING_KEYS": "e2e:" + "z" * 40,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
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
        "PAYPAL_CLIENT_ID": "",  # not offered: the journeys pay with MoMo or the sandbox
        "PAYPAL_CLIENT_SECRET": "",
        # Map tiles from a path of the live server that has none: no browser request leaves the
        # machine, and the live maps must work without tiles.
        "MAP_TILE_URL": "/no-tiles/{z}/{x}/{y}.png",
    }
    server = LiveServer(env, tmp_path_factory.mktemp("live-server"))
    server.flask("db", "upgrade")
    server.flask("demo", "load")
    server.spawn("web", sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app")
    server.spawn("worker", sys.executable, "worker.py")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.url
