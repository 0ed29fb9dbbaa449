"""Redis pub/sub: publish after commit; one subscriber thread per process fans out to sockets.

Each local listener owns a small bounded queue. A slow listener loses its oldest messages, never
blocks the fan-out thread, and never grows memory without bound. A listener for state (a map of
buses) keeps only the newest message per key, so a slow client is sent where a bus is now, not
where it was.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable

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


class LatestListener(Listener):
    """A listener that keeps, for messages with a key (a bus's position), only the newest one, and
    queues the others (events) up to ``maxsize``, dropping the oldest. Messages come out in the
    order of their latest arrival."""

    def __init__(self, hub: Hub, channel: str, maxsize: int, key: Callable[[dict], Hashable | None]):
        self.hub = hub
        self.channel = channel
        self.maxsize = maxsize
        self.key = key
        self._pending: OrderedDict[tuple, dict] = OrderedDict()
        self._queued = 0
        self._serial = 0
        self._ready = threading.Condition()

    def offer(self, message: dict) -> None:
        key = self.key(message)
        with self._ready:
            if key is None:
                if self._queued >= self.maxsize:
                    oldest = next(k for k in self._pending if k[0] == "queued")
                    del self._pending[oldest]
                    self._queued -= 1
                self._serial += 1
                self._pending[("queued", self._serial)] = message
                self._queued += 1
            else:
                self._pending.pop(("latest", key), None)
                self._pending[("latest", key)] = message
            self._ready.notify()

    def get(self, timeout: float | None = None) -> dict | None:
        with self._ready:
            if not self._pending and not self._ready.wait_for(lambda: self._pending, timeout):
                return None
            (kind, _), message = self._pending.popitem(last=False)
            if kind == "queued":
                self._queued -= 1
            return message


class Hub:
    """One Redis subscription for the whole process, shared by every local listener."""

    def __init__(self, client: redis_lib.Redis):
        self._client = client
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def subscribe(
        self, channel: str, *, maxsize: int = 16, latest_by: Callable[[dict], Hashable | None] | None = None
    ) -> Listener:
        """A listener on ``channel``; with ``latest_by``, one that keeps only the newest message per
        key (see :class:`LatestListener`)."""
        if latest_by is None:
            listener = Listener(self, channel, maxsize)
        else:
            listener = LatestListener(self, channel, maxsize, latest_by)
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
