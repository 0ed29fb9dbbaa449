"""Trip search on big data, through the full stack.

Builds a throwaway PostgreSQL database (``tms_bench`` by default) with the demo operators plus
generated routes, 2,000,000 trips over a year with their stops, and seats sold on the coming
fortnight's trips; serves it with gunicorn; then clients search station pairs over HTTP
(``GET /api/v1/trips/search``) for ``--seconds``. Prints the generation time, requests per
second, latency percentiles, and PostgreSQL's plan for one search (it must use the
``ix_trip_stops_station_id_departs_at`` index). Target: p95 ≤ 150 ms.

    .venv/bin/python bench/search.py [--trips 2000000] [--clients 8] [--seconds 20] [--keep]

The overlap exclusion constraints are dropped in this database: the generated timetable does not
model bus rotations, and assignment is not what is measured here.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import gunicorn  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def sql(app, script: str, **params) -> None:
    """Run statements separated by ";" at line ends, in one transaction."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        for statement in filter(str.strip, script.split(";\n")):
            used = {k: v for k, v in params.items() if f":{k}" in statement}
            db.session.execute(text(statement), used)
        db.session.commit()


def generate(app, trips: int, routes: int) -> None:
    """Routes over the demo stations plus generated ones, then ``trips`` trips spread over a year."""
    sql(app, "ALTER TABLE trips DROP CONSTRAINT IF EXISTS ex_trips_bus_id_overlap")
    sql(app, "ALTER TABLE trips DROP CONSTRAINT IF EXISTS ex_trips_driver_id_overlap")
    sql(
        app,
        """
        INSERT INTO stations (code, name, city, latitude, longitude, is_enabled, created_at, updated_at)
        SELECT 'gen-' || n, 'Generated Park ' || n, 'Town ' || n, -2.0 + n * 0.01, 29.5 + n * 0.01, true, now(), now()
        FROM generate_series(1, 60) AS n
        """,
    )
    # Routes: 3 to 6 distinct stations each, an hour apart, 1,500 a leg.
    sql(
        app,
        """
        WITH stations_ AS (SELECT array_agg(id ORDER BY id) AS ids FROM stations),
        companies_ AS (SELECT array_agg(id ORDER BY id) AS ids FROM companies),
        new_routes AS (
            INSERT INTO routes (company_id, name, is_active, vip_markup_percent, created_at, updated_at)
            SELECT (SELECT ids FROM companies_)[1 + n % cardinality((SELECT ids FROM companies_))],
                   'Generated route ' || n, true, 50, now(), now()
            FROM generate_series(1, :routes) AS n
            RETURNING id
        )
        INSERT INTO route_stops (route_id, position, station_id, minutes_from_start, km_from_start, leg_fare)
        SELECT r.id, p.position,
               (SELECT ids FROM stations_)[
                   1 + ((r.id * 7919 + p.position * 104729) % cardinality((SELECT ids FROM stations_)))],
               p.position * 60, p.position * 40, CASE WHEN p.position = 0 THEN 0 ELSE 1500 END
        FROM new_routes r CROSS JOIN LATERAL generate_series(0, 2 + r.id % 4) AS p(position)
        """,
        routes=routes,
    )
    # A route that names one station twice is not a route: drop those.
    sql(
        app,
        """
        DELETE FROM routes WHERE name LIKE 'Generated route %' AND id IN (
            SELECT route_id FROM route_stops GROUP BY route_id HAVING count(*) <> count(DISTINCT station_id))
        """,
    )
    # Trips: spread evenly over the routes and over 365 days from 90 days ago, between 05:00 and 20:00.
    sql(
        app,
        """
        CREATE TEMP TABLE bench_routes AS
        SELECT r.id, r.company_id, row_number() OVER (ORDER BY r.id) - 1 AS n,
               (SELECT max(minutes_from_start) FROM route_stops s WHERE s.route_id = r.id) AS minutes
        FROM routes r;
        CREATE TEMP TABLE bench_buses AS
        SELECT b.id, b.company_id, row_number() OVER (PARTITION BY b.company_id ORDER BY b.id) - 1 AS n,
               count(*) OVER (PARTITION BY b.company_id) AS total
        FROM buses b;
        INSERT INTO trips (company_id, route_id, service_date, scheduled_departs_at, departs_at, arrives_at,
                           bus_id, status, created_at, updated_at)
        SELECT r.company_id, r.id, (t.at AT TIME ZONE 'Africa/Kigali')::date, t.at, t.at,
               t.at + make_interval(mins => r.minutes),
               (SELECT b.id FROM bench_buses b WHERE b.company_id = r.company_id AND b.n = g.n % b.total),
               CASE WHEN t.at < now() THEN 'arrived' ELSE 'scheduled' END, now(), now()
        FROM generate_series(0, :trips - 1) AS g(n)
        JOIN bench_routes r ON r.n = g.n % (SELECT count(*) FROM bench_routes)
        CROSS JOIN LATERAL (
            SELECT (date_trunc('day', now() AT TIME ZONE 'Africa/Kigali') - interval '90 days'
                    + make_interval(days => ((g.n / (SELECT count(*) FROM bench_routes)) % 365)::int)
                    + make_interval(mins => (300 + (g.n * 37) % 900)::int)) AT TIME ZONE 'Africa/Kigali' AS at
        ) t;
        INSERT INTO trip_stops (trip_id, position, station_id, minutes_from_start, km_from_start, departs_at)
        SELECT t.id, s.position, s.station_id, s.minutes_from_start, s.km_from_start,
               t.departs_at + make_interval(mins => s.minutes_from_start)
        FROM trips t JOIN route_stops s ON s.route_id = t.route_id
        WHERE NOT EXISTS (SELECT 1 FROM trip_stops x WHERE x.trip_id = t.id);
        """,
        trips=trips,
    )
    # Ten seats sold end to end on every generated trip of the coming fortnight ("0..." codes are
    # outside the alphabet of real codes).
    sql(
        app,
        """
        INSERT INTO orders (code, company_id, trip_id, status, total, currency, channel, paid_at,
                            created_at, updated_at)
        SELECT '0' || t.id, t.company_id, t.id, 'paid', 0, 'RWF', 'console', now(), now(), now()
        FROM trips t WHERE t.departs_at BETWEEN now() AND now() + interval '14 days'
        AND NOT EXISTS (SELECT 1 FROM tickets k WHERE k.trip_id = t.id);
        INSERT INTO tickets (code, order_id, trip_id, seat_label, seat_class, origin_position, destination_position,
                             origin_station_id, destination_station_id, passenger_name, price, currency, status,
                             refund_policy, created_at, updated_at)
        SELECT '0' || o.trip_id || s.label, o.id, o.trip_id, s.label, s.seat_class, 0,
               (SELECT max(position) FROM trip_stops x WHERE x.trip_id = o.trip_id),
               (SELECT station_id FROM trip_stops x WHERE x.trip_id = o.trip_id AND position = 0),
               (SELECT station_id FROM trip_stops x WHERE x.trip_id = o.trip_id ORDER BY position DESC LIMIT 1),
               'Bench passenger', 0, 'RWF', 'paid', '[]', now(), now()
        FROM orders o JOIN trips t ON t.id = o.trip_id
        CROSS JOIN LATERAL (SELECT label, seat_class FROM bus_seats WHERE bus_id = t.bus_id ORDER BY id LIMIT 10) s
        WHERE o.code LIKE '0%';
        INSERT INTO seat_legs (trip_id, seat_label, leg, ticket_id)
        SELECT k.trip_id, k.seat_label, leg, k.id
        FROM tickets k CROSS JOIN LATERAL generate_series(k.origin_position, k.destination_position - 1) AS leg
        WHERE k.code LIKE '0%';
        """,
    )


def pairs(app, count: int) -> list[tuple[int, int, str]]:
    """Station pairs with trips on the coming days: (from, to, date)."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            text(
                """
                SELECT a.station_id, b.station_id, (a.departs_at AT TIME ZONE 'Africa/Kigali')::date
                FROM trip_stops a JOIN trip_stops b ON b.trip_id = a.trip_id AND b.position > a.position
                WHERE a.departs_at BETWEEN now() + interval '1 day' AND now() + interval '7 days'
                ORDER BY random() LIMIT :count
                """
            ),
            {"count": count},
        ).all()
    return [(a, b, d.isoformat()) for a, b, d in rows]


def explain(app, origin: int, destination: int, day: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from app.booking.queries import search_statement
    from app.extensions import db

    zone = ZoneInfo("Africa/Kigali")
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    values = {"origin": origin, "destination": destination, "start": start, "end": start + timedelta(days=1)}
    query = search_statement().params(values, now=datetime.now(UTC), limit=100)
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    with app.app_context():
        plan = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
    return "\n".join(plan)


def call(port: int, method: str, path: str, *, body=None, headers=None, connection=None):
    """One HTTP request to the local server; (status, parsed JSON or None)."""
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if payload else {})}
    connection.request(method, path, body=payload, headers=sent)
    response = connection.getresponse()
    data = response.read()
    is_json = response.getheader("Content-Type", "").startswith("application/json")
    return response.status, json.loads(data) if is_json else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trips", type=int, default=2_000_000)
    parser.add_argument("--routes", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database", default="tms_bench")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it is already filled")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(ADMIN_URL).set(database=args.database).render_as_string(hide_password=False)
    os.environ.update(DATABASE_URL=url, TMS_ENV="development")
    from flask_migrate import upgrade

    from app import create_app, demo
    from app.core import tx

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": args.database}).scalar()
        if exists and not args.keep:
            connection.execute(text(f'DROP DATABASE "{args.database}" WITH (FORCE)'))
        if not exists or not args.keep:
            connection.execute(text(f'CREATE DATABASE "{args.database}"'))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.fleet.models import Trip

        upgrade()
        have = db.session.scalar(select(func.count(Trip.id)))
    if have < args.trips:
        started = time.perf_counter()
        with app.app_context():
            demo.load()
            tx.commit()
        generate(app, args.trips, args.routes)
        print(f"generated {args.trips:,} trips in {time.perf_counter() - started:.0f} s")
    with app.app_context():
        print(f"trips: {db.session.scalar(select(func.count(Trip.id))):,}")

    sql(app, "ANALYZE")
    sample = pairs(app, 300)
    print("\nplan of one search:\n" + explain(app, *sample[0]))

    port = 8765
    with gunicorn(port, DATABASE_URL=url, REDIS_URL=REDIS_URL, TMS_ENV="development"):
        login = {"email": "passenger@tms.rw", "password": demo.DEMO_PASSWORD}
        token = call(port, "POST", "/api/v1/auth/token", body=login)[1]["access_token"]
        latencies: list[float] = []
        found: list[int] = []
        failures: list[str] = []
        deadline = time.perf_counter() + args.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # kept alive
            headers = {"Authorization": f"Bearer {token}"}
            while time.perf_counter() < deadline:
                origin, destination, day = rng.choice(sample)
                started = time.perf_counter()
                try:
                    status, body = call(
                        port,
                        "GET",
                        f"/api/v1/trips/search?from={origin}&to={destination}&date={day}",
                        headers=headers,
                        connection=connection,
                    )
                except OSError as error:
                    failures.append(str(error))
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    continue
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    failures.append(str(status))
                else:
                    found.append(len(body["trips"]))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    latencies.sort()
    p = lambda q: latencies[min(int(q * len(latencies)), len(latencies) - 1)] * 1000  # noqa: E731
    print(f"\nsearches: {len(latencies):,} in {args.seconds:.0f} s with {args.clients} clients, {len(failures)} failed")
    print(f"requests/s: {len(latencies) / args.seconds:.1f}")
    print(f"latency ms: p50 {p(0.50):.1f}  p95 {p(0.95):.1f}  p99 {p(0.99):.1f}  (target p95 <= 150)")
    print(f"trips per answer: median {statistics.median(found):.0f}, max {max(found)}")


if __name__ == "__main__":
    main()
