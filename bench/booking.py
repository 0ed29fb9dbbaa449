"""Booking throughput over HTTP on real PostgreSQL, against this machine's pgbench.

A booking is a seat bought through the API until its ticket is issued: ``POST /orders`` with the
trip, seat and passenger, then ``POST /orders/{code}/payments`` (the sandbox, approved at once,
under an idempotency key). Three phases, each ``--seconds`` long, with ``--clients`` buyer
threads (each its own account, keep-alive connection):

- **many trips**: every booking picks a random coming demo trip and a random seat;
- **one hot trip**: every booking goes to one 240-seat trip with four legs, one random leg each;
- **the portal's path** on many trips: ``POST /holds``, then ``POST /orders`` with the hold, then
  the payment (three requests), for comparison.

Prints bookings per second, latency percentiles per booking and per request, refusals (seat
taken: the expected answer in a race), and oversell (must be 0), then the same machine's
``pgbench -N`` (simple-update TPC-B, 8 clients) as the base of the ratio. Targets: many trips
≥ 0.05 × pgbench TPS at p95 ≤ 300 ms per request; hot trip ≥ 20 bookings/s at p95 ≤ 500 ms.

    .venv/bin/python bench/booking.py [--clients 8] [--seconds 15]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import gunicorn  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "bench-booking-pass"


def call(connection, method: str, path: str, *, body=None, token=None, key=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    connection.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000 if ordered else float("nan")


def prepare(url: str, clients: int) -> tuple[list[tuple[int, list[str], int]], tuple[int, list[str], list[int]]]:
    """A fresh database with the demo, buyer accounts and the hot trip. Returns the coming trips as
    (id, seat labels, stop count) and the hot trip as (id, seat labels, station ids)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app, demo
    from app.accounts.models import User
    from app.accounts.services import hash_password
    from app.core import tx
    from app.extensions import db
    from app.fleet import rules
    from app.fleet.models import Bus, BusSeat, Route, RouteStop, Trip
    from app.fleet.services.trips import create_trip

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        upgrade()
        demo.load()
        digest = hash_password(PASSWORD)
        db.session.add_all(
            User(email=f"buyer{n}@bench.rw", name=f"Buyer {n}", password_hash=digest) for n in range(clients)
        )
        route = max(db.session.scalars(select(Route)), key=lambda r: len(r.stops))
        hot_route = Route(company_id=route.company_id, name="Bench hot line", vip_markup_percent=0)
        for position, stop in enumerate(route.stops[:5]):
            hot_route.stops.append(
                RouteStop(
                    position=position,
                    station_id=stop.station_id,
                    minutes_from_start=position * 60,
                    km_from_start=position * 40,
                    leg_fare=0 if position == 0 else 1000,
                )
            )
        db.session.add(hot_route)
        bus = Bus(company_id=route.company_id, plate="RAZ 999Z", status="active")
        bus.seats = [
            BusSeat(label=s.label, row=s.row, column=s.column, seat_class=s.seat_class)
            for s in rules.parse_layout("\n".join(" ".join(f"{r}{c}" for c in "ABCDEFGH") for r in range(1, 31)))
        ]
        db.session.add(bus)
        db.session.flush()
        hot = create_trip(
            None,
            route.company,
            route=hot_route,
            departs_at=datetime.now(UTC) + timedelta(days=3),
            bus=bus,
            driver_id=None,
            now=datetime.now(UTC),
        )
        tx.commit()
        now = datetime.now(UTC)
        coming = [
            (trip.id, [seat.label for seat in trip.bus.seats], len(trip.stops))
            for trip in db.session.scalars(
                select(Trip).where(Trip.departs_at > now + timedelta(hours=3), Trip.bus_id.is_not(None))
            )
        ]
        hot_trip = (hot.id, [seat.label for seat in bus.seats], [stop.station_id for stop in hot.stops])
    return coming, hot_trip


def hold_then_order(connection, token: str, name: str, trip_id: int, seat: str, origin, destination):
    """The portal's path: hold the seat, then check it out."""
    status, body = call(
        connection,
        "POST",
        "/api/v1/holds",
        token=token,
        body={"trip_id": trip_id, "seats": [seat], "from": origin, "to": destination},
    )
    if status != 201:
        return status, body
    checkout = {"hold": body["hold"]["code"], "passengers": [{"name": name}]}
    return call(connection, "POST", "/api/v1/orders", token=token, body=checkout)


def one_call_order(connection, token: str, name: str, trip_id: int, seat: str, origin, destination):
    """A partner's path: seats and passenger in one request."""
    body = {"trip_id": trip_id, "seats": [seat], "from": origin, "to": destination, "passengers": [{"name": name}]}
    return call(connection, "POST", "/api/v1/orders", token=token, body=body)


def run_phase(port: int, tokens: list[str], seconds: float, pick, order) -> dict:
    """Buyers book until the time is up: ``order`` (one or two requests) then the sandbox payment.
    Every request is timed; a booking counts once its tickets are issued."""
    booked, refused, failed = [], [], []
    per_request: list[float] = []
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def buyer(n: int) -> None:
        rng = random.Random()  # each phase picks afresh: seats taken earlier stay taken
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            trip_id, seat, origin, destination = pick(rng)
            started = time.perf_counter()
            steps: list[float] = []
            try:
                status, body = order(
                    TimedConnection(connection, steps), tokens[n], f"Buyer {n}", trip_id, seat, origin, destination
                )
                if status == 409:
                    with lock:
                        refused.append(1)
                        per_request.extend(steps)
                    continue
                if status != 201:
                    raise RuntimeError(f"order {status} {body}")
                status, body = call(
                    TimedConnection(connection, steps),
                    "POST",
                    f"/api/v1/orders/{body['order']['code']}/payments",
                    token=tokens[n],
                    body={"provider": "sandbox", "decision": "approve"},
                    key=f"pay-{body['order']['code']}",
                )
                if status != 201 or body["payment"]["order_status"] != "paid":
                    raise RuntimeError(f"payment {status} {body}")
            except (OSError, RuntimeError) as error:
                with lock:
                    failed.append(str(error))
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with lock:
                booked.append(time.perf_counter() - started)
                per_request.extend(steps)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"booked": booked, "refused": len(refused), "failed": failed, "requests": per_request}


class TimedConnection:
    """An HTTP connection that notes how long each request took, answer included."""

    def __init__(self, connection: http.client.HTTPConnection, times: list[float]):
        self.connection, self.times = connection, times

    def request(self, *args, **kwargs):
        self.started = time.perf_counter()
        self.connection.request(*args, **kwargs)

    def getresponse(self):
        response = self.connection.getresponse()
        data = response.read()
        self.times.append(time.perf_counter() - self.started)
        return Answer(response.status, data)


class Answer:
    def __init__(self, status: int, data: bytes):
        self.status, self.data = status, data

    def read(self) -> bytes:
        return self.data


def floor(port: int, tokens: list[str], seconds: float) -> tuple[float, float]:
    """The same clients on the cheapest authenticated request (``GET /api/v1/tickets`` of a buyer
    with none): what the web stack alone allows on this machine. Returns (requests/s, p95 ms)."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = call(connection, "GET", "/api/v1/tickets", token=tokens[n])
            mine.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"tickets {status}")
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(times) / seconds, percentile(times, 0.95)


def report(name: str, result: dict, seconds: float) -> float:
    rate = len(result["booked"]) / seconds
    print(
        f"\n{name}: {len(result['booked']):,} bookings in {seconds:.0f} s = {rate:.1f} bookings/s; "
        f"{result['refused']} refused (seat taken), {len(result['failed'])} failed"
    )
    print(
        f"  per booking ms: p50 {percentile(result['booked'], 0.5):.0f}  p95 {percentile(result['booked'], 0.95):.0f}"
    )
    print(
        f"  per request ms: p50 {percentile(result['requests'], 0.5):.0f}  "
        f"p95 {percentile(result['requests'], 0.95):.0f}  p99 {percentile(result['requests'], 0.99):.0f}"
    )
    if result["failed"]:
        print(f"  first failure: {result['failed'][0]}")
    return rate


def oversold(url: str) -> int:
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as connection:
        return connection.execute(
            text(
                """
            SELECT count(*) FROM (
                SELECT t.trip_id, t.seat_label, leg FROM tickets t
                CROSS JOIN LATERAL generate_series(t.origin_position, t.destination_position - 1) AS leg
                WHERE t.status = 'paid' GROUP BY 1, 2, 3 HAVING count(*) > 1) doubled
            """
            )
        ).scalar()


def pgbench(database: str, clients: int, seconds: int) -> float:
    host = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["pgbench", *host, "-i", "-q", "-s", "10", database], check=True, capture_output=True)
    done = subprocess.run(
        ["pgbench", *host, "-N", "-c", str(clients), "-j", "2", "-T", str(seconds), database],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--database", default="tms_bench_booking")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in (args.database, "tms_pgbench"):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=args.database).render_as_string(hide_password=False)
    os.environ.update(DATABASE_URL=url, TMS_ENV="development")
    coming, hot = prepare(url, args.clients)

    port = 8766
    settings = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "GUNICORN_THREADS": str(args.threads)}
    if args.workers:
        settings["WEB_CONCURRENCY"] = str(args.workers)
    with gunicorn(port, **settings):
        tokens = [
            call(
                http.client.HTTPConnection("127.0.0.1", port),
                "POST",
                "/api/v1/auth/token",
                body={"email": f"buyer{n}@bench.rw", "password": PASSWORD},
            )[1]["access_token"]
            for n in range(args.clients)
        ]

        def any_trip(rng):
            trip_id, labels, _ = rng.choice(coming)
            return trip_id, rng.choice(labels), None, None  # end to end

        def hot_leg(rng):
            trip_id, labels, stations = hot
            leg = rng.randrange(len(stations) - 1)
            return trip_id, rng.choice(labels), stations[leg], stations[leg + 1]

        floor_rate, floor_p95 = floor(port, tokens, args.seconds)
        many = run_phase(port, tokens, args.seconds, any_trip, one_call_order)
        crowded = run_phase(port, tokens, args.seconds, hot_leg, one_call_order)
        portal = run_phase(port, tokens, args.seconds, any_trip, hold_then_order)

    print(f"coming trips: {len(coming):,}; hot trip {hot[0]} with {len(hot[1])} seats and {len(hot[2]) - 1} legs")
    many_rate = report("many trips, one-call order + payment (2 requests)", many, args.seconds)
    hot_rate = report("one hot trip, one-call order + payment (2 requests)", crowded, args.seconds)
    report("many trips, hold + order + payment (3 requests, the portal's path)", portal, args.seconds)
    print(
        f"\nfloor, the cheapest authenticated request (GET /api/v1/tickets, none to list): "
        f"{floor_rate:.0f} requests/s, p95 {floor_p95:.0f} ms"
    )
    print(f"\noversold seat-legs: {oversold(url)}")
    tps = pgbench("tms_pgbench", 8, 15)
    print(f"pgbench -N (8 clients, 15 s): {tps:.0f} tps")
    print(
        f"ratio many trips / pgbench: {many_rate / tps:.3f} (target >= 0.05); hot trip {hot_rate:.1f}/s (target >= 20)"
    )


if __name__ == "__main__":
    main()
