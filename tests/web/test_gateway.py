"""The gateway as deployed (deploy/nginx, installed by its script): what goes where, what it keeps
out of its log, what it serves itself and what it slows down."""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.parse

import pytest
import redis as redis_lib
import simple_websocket
from sqlalchemy.engine import make_url

from tests.conftest import DATABASE_URL, REDIS_URL, recreate_database
from tests.stack import Stack
from tests.tracking.conftest import WsClient

pytestmark = pytest.mark.own_transactions


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    database = make_url(DATABASE_URL).set(database=f"{make_url(DATABASE_URL).database}_gateway")
    database_url = database.render_as_string(hide_password=False)
    recreate_database(database_url)
    env = {
        **os.environ,
        "TMS_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "gateway-secret-" + "x" * 32,
        "JWT_SIGNING_KEY": "gateway-jwt-" + "y" * 32,
        "QR_SIGNING_KEYS": "gw:" + "z" * 40,
        "WEB_CONCURRENCY": "1",
        "SOCKETS_CONCURRENCY": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": "1",
        "PROXY_FIX_X_FOR": "1",
    }
    stack = Stack(env, tmp_path_factory.mktemp("gateway"))
    stack.flask("db", "upgrade")
    stack.start(worker=False)
    yield stack
    stack.stop()


def get(stack: Stack, path: str, method: str = "GET", body: str | None = None, headers: dict | None = None):
    parts = urllib.parse.urlsplit(stack.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def log_of(stack: Stack, name: str, *, showing: str | None = None) -> str:
    """A process's log, once it shows ``showing`` (a line is written just after its answer)."""
    deadline = time.monotonic() + 10
    while True:
        log = (stack.logs / f"{name}.log").read_text()
        if showing is None or re.search(showing, log) or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


def test_websockets_go_to_the_socket_server_and_pages_to_the_page_server(gateway):
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    status, _, _ = get(gateway, "/healthz?from=gateway-test")
    assert status == 200
    assert "from=gateway-test" in log_of(gateway, "pages", showing="from=gateway-test")
    assert "from=gateway-test" not in log_of(gateway, "sockets")

    # An anonymous upgrade is refused by the socket server's own surface (its log says so), not
    # answered by the page server.
    with pytest.raises(simple_websocket.ConnectionError) as refused:
        WsClient(
            gateway.url.replace("http://", "ws://") + "/ws/fleet?from=socket-test", headers={"Origin": gateway.url}
        )
    assert refused.value.status_code == 401
    assert "from=socket-test" in log_of(gateway, "sockets", showing="from=socket-test")
    assert "from=socket-test" not in log_of(gateway, "pages")


def test_tokens_in_addresses_never_reach_the_gateways_log(gateway):
    token = "IjEyMyI.Z2F0ZXdheQ.c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ"
    get(gateway, f"/password/reset/{token}")
    get(gateway, "/live/3nKMPpANddFkXMqydd2Lfna1PnFYPOdKUsZVTyB5P3U?share=abc")
    log = log_of(gateway, "gateway", showing=r"GET /live/")
    assert token not in log and "3nKMPpANddFkXMqydd2Lfna1PnFYPOdKUsZVTyB5P3U" not in log
    assert re.search(r'"GET /password/reset/\[token\] HTTP/1.1" \d{3}', log)
    assert re.search(r'"GET /live/\[token\] HTTP/1.1" \d{3}', log)


def test_the_gateway_serves_static_files_itself_for_a_week(gateway):
    status, headers, body = get(gateway, "/static/css/app.css")
    assert status == 200 and body
    assert headers["Cache-Control"] == "max-age=604800"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "/static/css/app.css" not in log_of(gateway, "pages")


def test_sign_in_attempts_beyond_the_gateways_rate_answer_429(gateway):
    form = "email=someone%40example.rw&password=wrong"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses = [get(gateway, "/login", "POST", form, headers)[0] for _ in range(15)]
    assert 429 in statuses  # 30 a minute with a burst of 10, per address
    assert statuses[0] != 429
    assert get(gateway, "/login")[0] == 200  # the form itself is never slowed down
