"""Loopback fakes of third-party HTTP APIs (payment providers).

Each fake is a real HTTP server on 127.0.0.1 speaking the provider's wire format, so the project's adapters run
unchanged against it: only the base URL differs. Fakes keep their state in memory, are thread-safe, and expose
test controls as Python methods (and, where a browser in another process needs them, as HTTP endpoints).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

__all__ = ["FakeServer", "Request", "Response"]


@dataclass
class Request:
    """One parsed HTTP request as a route handler sees it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def arg(self, name: str) -> str | None:
        """First value of a query-string parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body decoded as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        """The body decoded as ``application/x-www-form-urlencoded``."""
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def basic_auth(self) -> tuple[str, str] | None:
        """``(user, password)`` from an HTTP Basic ``Authorization`` header, None if absent or malformed."""
        scheme, _, encoded = (self.header("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except ValueError:
            return None
        return (user, password) if sep else None

    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer`` header."""
        scheme, _, token = (self.header("Authorization") or "").partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None


@dataclass
class Response:
    """What a route handler answers; ``after`` runs in a new thread once the response has been sent."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    after: Callable[[], None] | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def html(cls, status: int, page: str) -> Response:
        return cls(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> Response:
        return cls(status, b"", {"Location": location})


Handler = Callable[..., Response]


class _RequestHandler(BaseHTTPRequestHandler):
    """Hands every request to the owning ``FakeServer``; one instance per connection."""

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the test output should not fill with access logs."""

    def _serve(self) -> None:
        self.server.fake._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class FakeServer:
    """Base of the fakes: a threaded HTTP server on a free loopback port, a call log and outage simulation.

    Subclasses register routes with :meth:`add_route`; paths starting with one of ``uncounted_prefixes`` are
    test controls or browser pages, so they are neither logged in :attr:`calls` nor affected by :meth:`fail_next`.
    """

    uncounted_prefixes: tuple[str, ...] = ("/_fake/",)

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._calls: list[tuple[str, str]] = []
        self._failures: list[tuple[int, str]] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        httpd.fake = self
        self._httpd = httpd
        # A short poll interval keeps stop() (which waits for the loop to notice) at a few milliseconds.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- call log and outages -------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, str]]:
        """Snapshot of the API requests received, as ``(method, path)`` without the query string."""
        with self.lock:
            return list(self._calls)

    def count(self, method: str, path_prefix: str = "/") -> int:
        """How many API requests with this method had a path starting with ``path_prefix``."""
        method = method.upper()
        with self.lock:
            return sum(1 for m, p in self._calls if m == method and p.startswith(path_prefix))

    def reset_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def fail_next(self, n: int = 1, status: int = 500, *, path_prefix: str = "/") -> None:
        """Answer the next ``n`` API requests (optionally only those under ``path_prefix``) with ``status``.

        Token endpoints are API requests too, so an outage also hits a client that is fetching a token.
        """
        with self.lock:
            self._failures.extend([(status, path_prefix)] * n)

    def outage_body(self, status: int) -> Any:
        """JSON error body for a simulated outage; subclasses use the provider's error shape."""
        return {"error": "fake_outage", "status": status}

    # --- routing --------------------------------------------------------------------------------

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        """Route ``method`` + full-match regex ``pattern``; named groups become keyword arguments."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def _route(self, request: Request) -> Response:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method or (method == "GET" and request.method == "HEAD"):
                return handler(request, **match.groupdict())
            allowed = True
        if allowed:
            return Response.json(405, {"error": "method_not_allowed"})
        return Response.json(404, {"error": "not_found", "path": request.path})

    def _is_counted(self, path: str) -> bool:
        return not path.startswith(self.uncounted_prefixes)

    def _take_failure(self, path: str) -> int | None:
        with self.lock:
            for i, (status, prefix) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[i]
                    return status
        return None

    def _dispatch(self, handler: _RequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        request = Request(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=CaseInsensitiveDict(handler.headers.items()),
            body=handler.rfile.read(length) if length else b"",
        )
        failure: int | None = None
        if self._is_counted(request.path):
            with self.lock:
                self._calls.append((request.method, request.path))
            failure = self._take_failure(request.path)
        if failure is not None:
            response = Response.json(failure, self.outage_body(failure))
        else:
            try:
                response = self._route(request)
            except Exception:  # a bug in the fake: make it loud in the client's error message
                response = Response.json(500, {"error": "fake_crashed", "traceback": traceback.format_exc()})
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        if request.method != "HEAD":
            handler.wfile.write(response.body)
        handler.wfile.flush()
        if response.after is not None:
            threading.Thread(target=response.after, name=f"{type(self).__name__}-after", daemon=True).start()
