"""Websockets served by a plain Flask view, after its checks have passed.

flask-sock's ``@sock.route`` completes the handshake before the view runs, so a refusal could only
come as a close frame after the socket opened. Our socket views instead load and authorise like any
other view (a refusal is an ordinary 401/403/404 answer to the upgrade request) and only then call
:func:`accept`, which takes the socket's places (below), completes the handshake on the same
connection (gunicorn and Werkzeug hand over the raw socket) and runs the conversation in this
thread or greenlet.

Every open socket holds its server's thread or greenlet for its whole life, so sockets are capped
before the handshake: a total per process (503 when full, never a queue that hangs), and leases
per user, per share link and per client address shared by every process through Redis (429
beyond). A client that stops reading is dropped when a message cannot be sent within
``WS_SEND_TIMEOUT_SECONDS``; one that stops answering pings within two ping intervals. A
keep-alive message goes out as often (``WS_PING_SECONDS``, 25 s): it keeps proxies (nginx closes
idle upstream connections after 60 s) and the pages' own silence watchdogs content.

No database session is held while a socket lives: :func:`accept` ends the request's session first,
and a conversation that needs the database opens a short one per message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l
from simple_websocket import ConnectionClosed, Server
from wsproto.events import TextMessage
from wsproto.frame_protocol import CloseReason

from app.core.errors import DomainError, RateLimited
from app.core.security import fingerprint
from app.extensions import db, redis

log = logging.getLogger(__name__)

# A peer that stops acknowledging what we send (a phone that lost its network without closing)
# is given up after this long, so its thread and its subscription are freed.
UNACKNOWLEDGED_SECONDS = 60
# Leases are renewed this often; one not renewed for LEASE_SECONDS (its process died) lapses.
RENEW_SECONDS = 30
LEASE_SECONDS = 90


class NotAWebsocket(DomainError):
    status = 400
    code = "not_a_websocket"
    message = "This address speaks the websocket protocol only."


class TooManySockets(RateLimited):
    code = "too_many_sockets"
    message = _l("Too many live connections are open from here. Close another tab showing a live map and try again.")


class SocketsFull(DomainError):
    status = 503
    code = "sockets_full"
    message = _l("Live updates are busy right now; the page will try again shortly.")
    retry_after = 5


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` sockets open at once for one subject (a user, a share link, an address)."""

    kind: str
    subject: str
    limit: int


def caps_for(*, user_id: int | None = None, share_token: str | None = None) -> list[Cap]:
    """The caps a socket counts against: its user or its share link, and its client address."""
    config = current_app.config
    caps = [Cap("address", request.remote_addr or "", config["WS_MAX_PER_ADDRESS"])]
    if user_id is not None:
        caps.append(Cap("user", str(user_id), config["WS_MAX_PER_USER"]))
    if share_token is not None:
        caps.append(Cap("link", share_token, config["WS_MAX_PER_LINK"]))
    return caps


class Leases:
    """One socket's places under its caps, counted across every process: a sorted set per subject
    of the sockets holding a place, each scored with the time its lease lapses."""

    def __init__(self, caps: Iterable[Cap]):
        self.caps = list(caps)
        self.id = secrets.token_hex(8)
        self.renewed = time.monotonic()

    @staticmethod
    def _key(cap: Cap) -> str:
        return f"ws:{cap.kind}:{fingerprint(cap.subject)}"

    def take(self) -> None:
        """Take a place under every cap, or none at all (``TooManySockets``)."""
        if not self.caps:
            return
        now = time.time()
        pipe = redis.pipeline(transaction=True)
        for cap in self.caps:
            key = self._key(cap)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {self.id: now + LEASE_SECONDS})
            pipe.zcard(key)
            pipe.expire(key, LEASE_SECONDS)
        counts = pipe.execute()[2::4]
        if any(count > cap.limit for cap, count in zip(self.caps, counts, strict=True)):
            self.give_back()
            raise TooManySockets(retry_after=RENEW_SECONDS)

    def renew(self) -> None:
        if not self.caps or time.monotonic() - self.renewed < RENEW_SECONDS:
            return
        self.renewed = time.monotonic()
        pipe = redis.pipeline(transaction=False)
        for cap in self.caps:
            pipe.zadd(self._key(cap), {self.id: time.time() + LEASE_SECONDS}, xx=True)
            pipe.expire(self._key(cap), LEASE_SECONDS)
        pipe.execute()

    def give_back(self) -> None:
        if not self.caps:
            return
        pipe = redis.pipeline(transaction=False)
        for cap in self.caps:
            pipe.zrem(self._key(cap), self.id)
        with contextlib.suppress(Exception):  # a lapsed lease is as good as one given back
            pipe.execute()


class Slots:
    """The sockets this process serves at once (``WS_MAX_PER_PROCESS``): taken without waiting."""

    def __init__(self, size: int):
        self.size = size
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.size:
                return False
            self.used += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.used -= 1


def slots() -> Slots:
    app = current_app._get_current_object()
    return app.extensions.setdefault("socket_slots", Slots(app.config["WS_MAX_PER_PROCESS"]))


class Socket:
    """One accepted websocket that speaks JSON objects."""

    def __init__(self, ws: Server, leases: Leases, ping_seconds: float):
        self.ws = ws
        self.leases = leases
        self.ping_seconds = ping_seconds
        self.last_sent = time.monotonic()

    @property
    def open(self) -> bool:
        return self.ws.connected

    def send(self, message: dict) -> None:
        """Send one message whole within the socket's send timeout, or drop the client.

        simple-websocket's own ``send`` makes one ``socket.send`` call and ignores a partial
        write, which a client that stops reading causes; frames are written here with
        ``sendall``, bounded as a whole by the socket's timeout."""
        if not self.ws.connected:
            raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
        frame = self.ws.ws.send(TextMessage(data=json.dumps(message, separators=(",", ":"), default=str)))
        try:
            self.ws.sock.sendall(frame)
        except OSError as error:  # TimeoutError included: the client stopped reading
            log.info("dropped a websocket client on %s: %s", request.path, error or "send timed out")
            self.ws.connected = False
            raise ConnectionClosed(CloseReason.POLICY_VIOLATION, "Too slow") from error
        self.last_sent = time.monotonic()

    def receive(self, timeout: float) -> str | bytes | None:
        """The next message, or None after ``timeout`` seconds. Raises ConnectionClosed once closed."""
        return self.ws.receive(timeout=timeout)

    def keep_alive(self) -> None:
        """Called by every conversation's loop: a keep-alive message when due, leases renewed."""
        if time.monotonic() - self.last_sent >= self.ping_seconds:
            self.send({"type": "ping"})
        self.leases.renew()

    def close(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str | None = None) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            self.ws.close(reason=code, message=reason)


def refused(error: DomainError) -> Response:
    """A refused upgrade: the status and one sentence, no page (no browser shows it)."""
    response = Response(error.message, status=error.status, mimetype="text/plain")
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def accept(
    conversation: Callable[[Socket], None], *, caps: Iterable[Cap] = (), max_message_bytes: int = 16 * 1024
) -> Response:
    """Take a place for the socket, complete the handshake and run ``conversation(socket)`` until
    either side closes."""
    process = slots()
    if not process.take():
        log.warning("refused a websocket on %s: all %d of this process's places are taken", request.path, process.size)
        raise SocketsFull()
    leases = Leases(caps)
    try:
        leases.take()
        db.session.remove()
        return _serve(conversation, leases, max_message_bytes)
    finally:
        leases.give_back()
        process.give_back()


def _serve(conversation: Callable[[Socket], None], leases: Leases, max_message_bytes: int) -> Response:
    config = current_app.config
    try:
        ws = Server.accept(request.environ, max_message_size=max_message_bytes, ping_interval=config["WS_PING_SECONDS"])
    except Exception as error:  # no raw socket (a test client) or a malformed handshake
        log.warning("websocket handshake failed on %s: %s", request.path, error)
        raise NotAWebsocket() from error
    _bound_waits(ws.sock, config["WS_SEND_TIMEOUT_SECONDS"])
    sock = Socket(ws, leases, config["WS_PING_SECONDS"])
    try:
        if config["TESTING"] and request.args.get("hello"):
            sock.send({"type": "hello", "pid": os.getpid(), "server": os.environ.get("TMS_SERVER")})  # which worker
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


def _bound_waits(raw: socket.socket, send_timeout: float) -> None:
    """Writes give up after ``send_timeout`` (a client that stopped reading), and the kernel gives
    up on a peer that stopped acknowledging. Reads are unaffected: simple-websocket reads only
    what its selector says has arrived."""
    raw.settimeout(send_timeout)
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
