"""Redis pub/sub: publish after commit; one subscriber thread per process fans out to sockets.

Each local listener owns a small bounded queue. A slow listener loses its oldest messages, never
blocks the fan-out thread, and never grows memory without bound.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections import defaultdict

import redis as redis_lib

from app.core import tx
from app.extensions import redis

log = logging.getLogger(__name__)


def publish(channel: str, message: dict) -> None:
    """Publish ``message`` on ``channel`` once the current transaction commits."""
    client = redis._get_current_object()
    payload = json.dumps(message, separators=(",", ":"), default=str)
    tx.after_commit(lambda: client.publish(channel, payload))


class Listener:
    """One consumer's view of a channel: a bounded queue of decoded messages."""

    def __init__(self, hub: Hub, channel: str, maxsize: int):
        self.hub = hub
        self.channel = channel
        self.messages: queue.Queue[dict] = queue.Queue(maxsize=maxsize)

    def offer(self, message: dict) -> None:
        while True:
            try:
                self.messages.put_nowait(message)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.messages.get_nowait()  # drop the oldest: the newest state matters most

    def get(self, timeout: float | None = None) -> dict | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub.unsubscribe(self)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Hub:
    """One Redis subscription for the whole process, shared by every local listener."""

    def __init__(self, client: redis_lib.Redis):
        self._client = client
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def subscribe(self, channel: str, *, maxsize: int = 16) -> Listener:
        listener = Listener(self, channel, maxsize)
        with self._lock:
            first = not self._listeners[channel]
            self._listeners[channel].add(listener)
            if first:
                self._pubsub.subscribe(channel)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="realtime-hub", daemon=True)
                self._thread.start()
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            listeners = self._listeners.get(listener.channel)
            if listeners is None:
                return
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.channel]
                self._pubsub.unsubscribe(listener.channel)

    def _run(self) -> None:
        while True:
            try:
                message = self._pubsub.get_message(timeout=1.0)
            except (redis_lib.ConnectionError, RuntimeError):
                log.warning("realtime hub lost Redis; resubscribing")
                self._resubscribe()
                continue
            if not message or message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            try:
                data = json.loads(message["data"])
            except (TypeError, ValueError):
                log.warning("dropping malformed message on %s", channel)
                continue
            with self._lock:
                listeners = list(self._listeners.get(channel, ()))
            for listener in listeners:
                listener.offer(data)

    def _resubscribe(self) -> None:
        threading.Event().wait(1.0)
        with self._lock:
            self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            if self._listeners:
                self._pubsub.subscribe(*self._listeners)


_hub_lock = threading.Lock()


def hub() -> Hub:
    """This process's hub for the current app, started on first use."""
    from flask import current_app

    app = current_app._get_current_object()
    with _hub_lock:
        if "realtime_hub" not in app.extensions:
            app.extensions["realtime_hub"] = Hub(app.extensions["redis"])
        return app.extensions["realtime_hub"]
