"""gunicorn settings for both servers: ``gunicorn -c gunicorn.conf.py wsgi:app``.

``TMS_SERVER=pages`` (the default) serves pages and the JSON API with gthread workers.
``TMS_SERVER=sockets`` serves the websockets (``/ws/...``) with gevent workers, behind the same
gateway, which routes by path: each open socket holds a greenlet for its life, so thousands cost
little, and none of them can take a thread that a page needs. The page server still answers an
upgrade that reaches it, on threads of its own: ``WS_MAX_PER_PROCESS`` of them on top of
``GUNICORN_THREADS`` for pages. The embedded default (no ``REDIS_URL``: one process with Redis
inside it) serves its sockets that way. Environment variables override every default here.

This file runs in gunicorn's master process: no application imports (the gevent workers patch the
standard library after forking, before the app is loaded).
"""

import contextlib
import ipaddress
import os
import socket
import struct

server = os.environ.get("TMS_SERVER", "pages")
if server not in {"pages", "sockets"}:
    raise SystemExit(f"TMS_SERVER must be pages or sockets, not {server!r}")
embedded = not os.environ.get("REDIS_URL")
cores = os.cpu_count() or 1

if server == "sockets":
    bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
    workers = int(os.environ.get("SOCKETS_CONCURRENCY", str(cores)))
    worker_class = "gevent"
    sockets = int(os.environ.setdefault("WS_MAX_PER_PROCESS", "2000"))
    # Room above the sockets for refusals (503 when full) and the health check: never a queue.
    worker_connections = sockets + 100
else:
    bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
    # The embedded default keeps Redis inside the process: more than one worker would split it.
    # With Redis, one process per core and one more, so a request waiting on the database or the
    # trip's lock never leaves a core idle (on 2 cores, 3 workers booked 20 % more than 2).
    workers = int(os.environ.get("WEB_CONCURRENCY", "1" if embedded else str(cores + 1)))
    worker_class = "gthread"
    # Threads for pages, plus one per socket this process may hold: sockets never use the pages'.
    sockets = int(os.environ.setdefault("WS_MAX_PER_PROCESS", "256" if embedded else "8"))
    threads = int(os.environ.get("GUNICORN_THREADS", "32")) + sockets
    # Connections beyond the threads wait in keep-alive between requests, without a thread.
    worker_connections = threads * 2

timeout = 60
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
# A request line of 8 KB and 50 header fields of 8 KB at most.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190
control_socket_disable = True
# In production the gateway logs every request (its paths with tokens masked); gunicorn's access
# log would repeat them with their tokens.
accesslog = None if os.environ.get("TMS_ENV") == "production" else "-"
errorlog = "-"


# gunicorn has no deadline for reading a request: a client that sends its headers a byte at a
# time would hold a page thread for as long as it likes. The gateway buffers requests, so this
# only matters if gunicorn is reached directly; then each read gives up after this long (the
# kernel's receive timeout, set on the listening socket and inherited by every connection).
READ_TIMEOUT_SECONDS = int(os.environ.get("GUNICORN_READ_TIMEOUT", "15"))


def when_ready(arbiter) -> None:
    for listener in arbiter.LISTENERS:
        with contextlib.suppress(OSError, AttributeError):
            listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", READ_TIMEOUT_SECONDS, 0))
    if server == "pages" and os.environ.get("TMS_ENV") != "production":
        # The address really bound (a port taken from GUNICORN_BIND, or the one the kernel chose
        # for port 0), last on `make run`'s screen, under the demo logins.
        served = ", ".join(str(listener) for listener in arbiter.LISTENERS)
        arbiter.log.info("Serving TMS on %s (Ctrl-C to stop)", served)


def post_worker_init(worker) -> None:
    """The socket server's workers hold thousands of sockets, millions of objects the cyclic
    garbage collector would walk in full every time enough survivors pile up: 200 to 600 ms during
    which no socket of the process moves (measured with bench/tracking.py: the p99 of delivering a
    position rose from about 20 ms to 300 ms). The app loaded at start is set aside for good
    (``gc.freeze``), and a full collection waits for a hundred times more young collections than
    Python's default. Reference counting still frees everything that is not in a cycle at once."""
    if server != "sockets":
        return
    import gc

    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)


def _check_private(address: str) -> None:
    """In production gunicorn sits behind the gateway only (it has no defence against clients that
    send their headers slowly; nginx buffers them): a public address is refused unless the network
    is one only the gateway reaches."""
    if os.environ.get("TMS_ENV") != "production" or address.startswith(("unix:", "fd://")):
        return
    host = address.rpartition(":")[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and os.environ.get("GUNICORN_PRIVATE_NETWORK") != "1":
        raise SystemExit(
            f"refusing to bind {address} in production: bind 127.0.0.1 behind the gateway, or set "
            "GUNICORN_PRIVATE_NETWORK=1 where only the gateway can reach it (docs/deployment.md)"
        )


for _address in bind.split(","):
    _check_private(_address.strip())
