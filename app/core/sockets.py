"""Websockets served by a plain Flask view, after its checks have passed.

flask-sock's ``@sock.route`` completes the handshake before the view runs, so a refusal could only
come as a close frame after the socket opened. Our socket views instead load and authorise like any
other view (a refusal is an ordinary 401/403/404 answer to the upgrade request) and only then call
:func:`accept`, which completes the handshake on the same connection (gunicorn's gthread workers
and Werkzeug's server hand over the raw socket) and runs the conversation in this thread.

No database session is held while a socket lives: :func:`accept` ends the request's session first,
and a conversation that needs the database opens a short one per message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable

from flask import Response, current_app, request
from simple_websocket import ConnectionClosed, Server
from wsproto.frame_protocol import CloseReason

from app.core.errors import DomainError
from app.extensions import db

log = logging.getLogger(__name__)

# A keep-alive message this long after the last one sent keeps proxies (nginx closes idle upstream
# connections after 60 s) and the client's own silence watchdog content.
PING_SECONDS = 25
# A peer that stops acknowledging what we send (a phone that lost its network without closing)
# is given up after this long, so its thread and its subscription are freed.
UNACKNOWLEDGED_SECONDS = 60


class NotAWebsocket(DomainError):
    status = 400
    code = "not_a_websocket"
    message = "This address speaks the websocket protocol only."


class Socket:
    """One accepted websocket that speaks JSON objects."""

    def __init__(self, ws: Server):
        self.ws = ws
        self.last_sent = time.monotonic()

    @property
    def open(self) -> bool:
        return self.ws.connected

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message, separators=(",", ":"), default=str))
        self.last_sent = time.monotonic()

    def receive(self, timeout: float) -> str | bytes | None:
        """The next message, or None after ``timeout`` seconds. Raises ConnectionClosed once closed."""
        return self.ws.receive(timeout=timeout)

    def keep_alive(self) -> None:
        if time.monotonic() - self.last_sent >= PING_SECONDS:
            self.send({"type": "ping"})

    def close(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str | None = None) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            self.ws.close(reason=code, message=reason)


def refused(error: DomainError) -> Response:
    """A refused upgrade: the status and one sentence, no page (no browser shows it)."""
    return Response(error.message, status=error.status, mimetype="text/plain")


def accept(conversation: Callable[[Socket], None], *, max_message_bytes: int = 16 * 1024) -> Response:
    """Complete the handshake and run ``conversation(socket)`` until either side closes."""
    db.session.remove()
    try:
        ws = Server.accept(request.environ, max_message_size=max_message_bytes)
    except Exception as error:  # no raw socket (a test client) or a malformed handshake
        log.warning("websocket handshake failed on %s: %s", request.path, error)
        raise NotAWebsocket() from error
    _give_up_on_silent_peers(ws.sock)
    sock = Socket(ws)
    try:
        if current_app.config["TESTING"] and request.args.get("hello"):
            sock.send({"type": "hello", "pid": os.getpid()})  # tests prove which worker they reached
        conversation(sock)
    except ConnectionClosed:
        pass
    except Exception:
        log.exception("websocket conversation on %s failed", request.path)
        sock.close(CloseReason.INTERNAL_ERROR, "Server error")
    finally:
        sock.close()
        db.session.remove()
    return _Served(ws.mode)


def _give_up_on_silent_peers(raw: socket.socket) -> None:
    with contextlib.suppress(OSError, AttributeError):
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, UNACKNOWLEDGED_SECONDS * 1000)


class _Served(Response):
    """What the view returns once the socket is closed: the connection was taken over, so nothing
    more may be written on it."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def __call__(self, environ, start_response):
        if self.mode == "gunicorn":
            # gunicorn's worker treats StopIteration as "close the connection, write nothing".
            raise StopIteration()
        if self.mode == "werkzeug":
            return super().__call__(environ, start_response)  # the dev server drops it: the socket is closed
        return []
