"""Pages while live maps are open: the production shape at its default settings (the nginx
gateway, the page server, the socket server; real PostgreSQL and Redis), first with no socket open
(the baseline), then with ``--sockets`` open (1,000 by default, from many passengers and share
links) while the bus reports every second. Prints /healthz and a search's p50 and p95 in both
phases and their ratio (target: p95 under 200 ms with the sockets open), and the socket server's
resident memory per open socket.

    .venv/bin/python bench/sockets.py [--sockets 1000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis as redis_lib  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.tracking import live  # noqa: E402
from bench.server import resident_kb, worker_pids  # noqa: E402
from tests.conftest import recreate_database  # noqa: E402
from tests.stack import Prober, Stack, open_sockets, plain_environment, seat_passengers, sign_in  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://tms:tms@127.0.0.1:5432/tms_bench_sockets")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PER_SUBJECT = 20  # WS_MAX_PER_USER and WS_MAX_PER_LINK at their defaults


def phase(name: str, url: str, paths: list[str], seconds: float, tick=None) -> dict:
    prober = Prober(url, paths)
    prober.start()
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        if tick:
            tick(n)
        n += 1
        time.sleep(1)
    prober.done.set()
    prober.join()
    report = prober.report()
    for path, (p50, p95, count) in report.items():
        label = "/search" if path.startswith("/search") else path
        print(f"  {name:<9} {label:<9} {count:>5} answers  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    if prober.failures:
        print(f"  {name}: {len(prober.failures)} failures, e.g. {prober.failures[:3]}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    recreate_database(DATABASE_URL)
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    env = plain_environment()
    env |= {
        "TMS_ENV": "production",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-" + "s" * 40,
        "JWT_SIGNING_KEY": "bench-" + "j" * 40,
        "QR_SIGNING_KEYS": "bench:" + "q" * 40,
        "MESSAGES_LOG_ONLY": "1",  # nothing is sent
    }
    passengers = -(-args.sockets // (2 * PER_SUBJECT))
    with tempfile.TemporaryDirectory() as logs:
        stack = Stack(env, Path(logs))
        stack.flask("db", "upgrade")
        audience = seat_passengers(make_url(DATABASE_URL).render_as_string(hide_password=False), passengers)
        stack.start()
        try:
            cookies = [sign_in("127.0.0.1", stack.web_port, email) for email in audience.emails]
            trip = f"/ws/trips/{audience.trip_id}"
            plan = [(trip, c) for c in cookies for _ in range(PER_SUBJECT)]
            plan += [(f"{trip}?share={t}", None) for t in audience.links for _ in range(PER_SUBJECT)]
            plan = plan[: args.sockets]
            search = "/search?" + urllib.parse.urlencode(
                {"origin": audience.origin, "destination": audience.destination}
            )
            paths = ["/healthz", search]
            workers = worker_pids(stack.processes["sockets"].pid)
            print(
                f"production defaults on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
                f"socket server workers {len(workers)}"
            )
            baseline = phase("baseline", stack.url, paths, args.seconds)
            before = resident_kb(workers)
            publisher = redis_lib.Redis.from_url(REDIS_URL)
            channel = live.trip_channel(audience.trip_id)
            result: dict = {}

            def hold() -> None:
                result["memory"] = resident_kb(workers)

                def report(n: int) -> None:
                    publisher.publish(channel, json.dumps({"type": "position", "bus": 0, "n": n}))

                result["open"] = phase(f"{len(plan)} open", stack.url, paths, args.seconds, report)

            started = time.perf_counter()
            snapshots = asyncio.run(open_sockets(stack.url, plan, hold))
            print(f"  {len(snapshots)} sockets opened and served (whole phase {time.perf_counter() - started:.1f} s)")
            per_socket = (result["memory"] - before) / max(len(snapshots), 1)
            print(f"  socket server memory: {before / 1024:.0f} MB idle, +{per_socket:.0f} KB per open socket")
            for path in paths:
                label = "/search" if path.startswith("/search") else path
                b, o = baseline[path], result["open"][path]
                print(
                    f"  {label}: p95 {o[1]:.1f} ms with sockets open vs {b[1]:.1f} ms without: ratio {o[1] / b[1]:.2f}"
                )
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
