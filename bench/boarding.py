"""Boarding scans over HTTP on real PostgreSQL, as a busy morning at the bus park has them.

``--devices`` scanners (8 by default), each signed in as its own dispatcher with a keep-alive
connection, scan distinct paid tickets as fast as the server answers: ``POST
/api/v1/trips/{id}/boardings`` with the ticket's signed QR text, spread over ``--trips`` trips of one
company (a 240-seat bus each, every seat sold on every leg). Every answer must be BOARDED, and the
database must then hold exactly that many boarded tickets, each once.

Prints scans per second and latency percentiles per scan, then the same devices on the cheapest
authenticated request of the same stack (``GET /api/v1/tickets``, none to list) and the ratio of
the two. Target: p95 ≤ 100 ms per scan with 8 devices on this machine.

    .venv/bin/python bench/boarding.py [--devices 8] [--seconds 15]

Then the on-phone verify time (offline scans in Chromium, target ≤ 10 ms), measured by
``bench/boarding_phone.py`` (which also runs alone).
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.boarding_phone import on_phone  # noqa: E402
from bench.booking import call, floor, percentile  # noqa: E402
from bench.server import gunicorn  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
QR_KEYS = "bench1:" + "b" * 40
PASSWORD = "bench-boarding-pass"
STOPS = 5
ROWS = 30  # of eight seats: 240 a bus


def prepare(url: str, devices: int, trips: int) -> list[list[tuple[int, str]]]:
    """A fresh database with one company, its dispatchers (one a device), ``trips`` trips whose
    every seat is sold on every leg. Returns each device's queue of (trip id, QR text)."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app import create_app
    from app.accounts.models import Membership, User
    from app.accounts.services import hash_password
    from app.booking import qr
    from app.booking.models import Order, Ticket
    from app.booking.services.orders import new_code
    from app.companies.models import Company, Station, Town
    from app.core import tx
    from app.extensions import db
    from app.fleet import rules
    from app.fleet.models import Bus, BusSeat, Route, RouteStop, Trip, TripStop

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        upgrade()
        company = Company(code="bench-boarding", name="Bench Boarding Express")
        db.session.add(company)
        db.session.flush()
        digest = hash_password(PASSWORD)
        for n in range(devices):
            user = User(email=f"scanner{n}@bench.rw", name=f"Scanner {n}", password_hash=digest)
            db.session.add(Membership(user=user, company=company, role="dispatcher"))
        stations = [
            Station(
                code=f"bench-{n}",
                name=f"Bench stop {n}",
                town=Town(code=f"bench-{n}", name=f"Bench town {n}", aliases=[]),
                latitude=-1.9 - n / 10,
                longitude=30.0,
            )
            for n in range(STOPS)
        ]
        route = Route(company=company, name="Bench line")
        route.stops = [
            RouteStop(position=n, station=s, minutes_from_start=60 * n, km_from_start=40.0 * n, leg_fare=1000 * (n > 0))
            for n, s in enumerate(stations)
        ]
        layout = "\n".join(" ".join(f"{r}{c}" for c in "ABCDEFGH") for r in range(1, ROWS + 1))
        departs_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        made = []
        for n in range(trips):
            bus = Bus(company=company, plate=f"RAB {n:03d}B", status="active")
            bus.seats = [
                BusSeat(label=s.label, row=s.row, column=s.column, seat_class=s.seat_class)
                for s in rules.parse_layout(layout)
            ]
            trip = Trip(
                company_id=company.id,
                route=route,
                service_date=departs_at.date(),
                scheduled_departs_at=departs_at,
                departs_at=departs_at,
                arrives_at=departs_at + timedelta(hours=STOPS),
                bus=bus,
                status="boarding",
                stops=[
                    TripStop(
                        position=s.position,
                        station=s.station,
                        minutes_from_start=s.minutes_from_start,
                        departs_at=departs_at + timedelta(minutes=s.minutes_from_start),
                    )
                    for s in route.stops
                ],
            )
            db.session.add(trip)
            db.session.flush()
            order = Order(
                code=new_code(), company_id=company.id, trip_id=trip.id, status="paid", total=0, currency="RWF"
            )
            db.session.add(order)
            db.session.flush()
            made.append((trip, order, [seat.label for seat in bus.seats]))
        for trip, order, labels in made:
            db.session.execute(
                insert(Ticket),
                [
                    {
                        "code": new_code(),
                        "order_id": order.id,
                        "trip_id": trip.id,
                        "seat_label": label,
                        "seat_class": "standard",
                        "origin_position": leg,
                        "destination_position": leg + 1,
                        "origin_station_id": stations[leg].id,
                        "destination_station_id": stations[leg + 1].id,
                        "passenger_name": f"Passenger {label}-{leg}",
                        "price": 1000,
                        "currency": "RWF",
                        "status": "paid",
                        "refund_policy": [],
                    }
                    for label in labels
                    for leg in range(STOPS - 1)
                ],
            )
        tx.commit()
        texts = [(t.trip_id, qr.text_for(t)) for t in db.session.scalars(select(Ticket).order_by(Ticket.id))]
    return [texts[n::devices] for n in range(devices)]


def scan_phase(port: int, tokens: list[str], queues: list[list[tuple[int, str]]], seconds: float) -> dict:
    """Each device scans the next ticket of its queue until the time (or its queue) is up."""
    times: list[float] = []
    results: dict[str, int] = {}
    failed: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def device(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, seen = [], {}
        for trip_id, text in queues[n]:
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            body = {"qr": text, "device": f"bench-{n}"}
            status, answer = call(connection, "POST", f"/api/v1/trips/{trip_id}/boardings", body=body, token=tokens[n])
            mine.append(time.perf_counter() - started)
            if status != 200:
                with lock:
                    failed.append(f"{status} {answer}")
                continue
            seen[answer["result"]] = seen.get(answer["result"], 0) + 1
        with lock:
            times.extend(mine)
            for result, count in seen.items():
                results[result] = results.get(result, 0) + count

    threads = [threading.Thread(target=device, args=(n,)) for n in range(len(tokens))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"times": times, "results": results, "failed": failed, "elapsed": time.perf_counter() - started}


def boarded_once(url: str) -> tuple[int, int]:
    """(tickets boarded, boarding scans recorded as boarded): equal when each boarded once."""
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as connection:
        tickets = connection.execute(text("SELECT count(*) FROM tickets WHERE boarded_at IS NOT NULL")).scalar()
        scans = connection.execute(text("SELECT count(*) FROM boarding_scans WHERE result = 'boarded'")).scalar()
    return tickets, scans


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--trips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--database", default="tms_bench_boarding")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{args.database}"'))
    url = make_url(ADMIN_URL).set(database=args.database).render_as_string(hide_password=False)
    os.environ.update(DATABASE_URL=url, TMS_ENV="development", QR_SIGNING_KEYS=QR_KEYS)
    queues = prepare(url, args.devices, args.trips)

    port = 8767
    settings = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "GUNICORN_THREADS": str(args.threads)}
    if args.workers:
        settings["WEB_CONCURRENCY"] = str(args.workers)
    with gunicorn(port, **settings):
        tokens = [
            call(
                http.client.HTTPConnection("127.0.0.1", port),
                "POST",
                "/api/v1/auth/token",
                body={"email": f"scanner{n}@bench.rw", "password": PASSWORD},
            )[1]["access_token"]
            for n in range(args.devices)
        ]
        floor_rate, floor_p95 = floor(port, tokens, args.seconds)
        scans = scan_phase(port, tokens, queues, args.seconds)

    count = len(scans["times"])
    rate = count / scans["elapsed"]
    p95 = percentile(scans["times"], 0.95)
    print(f"{args.devices} devices, {args.trips} trips, {sum(map(len, queues)):,} tickets to scan")
    print(f"\nonline scans: {count:,} in {scans['elapsed']:.1f} s = {rate:.0f} scans/s; answers {scans['results']}")
    print(
        f"  per scan ms: p50 {percentile(scans['times'], 0.5):.0f}  p95 {p95:.0f}  "
        f"p99 {percentile(scans['times'], 0.99):.0f}  (target p95 <= 100)"
    )
    if scans["failed"]:
        print(f"  {len(scans['failed'])} failed; first: {scans['failed'][0]}")
    tickets, boarded = boarded_once(url)
    print(f"  tickets boarded {tickets:,}, boarding scans {boarded:,} (equal: each ticket boarded once)")
    print(
        f"\nbare request on the same stack (GET /api/v1/tickets, none to list): "
        f"{floor_rate:.0f} requests/s, p95 {floor_p95:.0f} ms"
    )
    print(f"ratio: scans/s {rate / floor_rate:.2f} of the bare rate; p95 {p95 / floor_p95:.1f} x the bare p95")
    print()
    on_phone()  # the offline verify time in Chromium (target <= 10 ms); it needs no server


if __name__ == "__main__":
    main()
