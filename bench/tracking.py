"""Live tracking under load: 500 buses reporting every 5 s over driver websockets, 2,000
passengers watching over trip websockets, on the socket server (gunicorn, gevent workers) with real
PostgreSQL and Redis.

A throwaway database (``tms_bench_tracking``) gets one operator, one route (Kigali → Muhanga →
Huye, real coordinates), ``--buses`` buses each on its own running trip with its own driver, and
four share links per trip (the subscribers: ``--subscribers`` in all). The socket server
(``TMS_SERVER=sockets``) serves it with ``--workers`` processes at its default sizing; the client
is one asyncio process standing in for every phone, so the per-address cap is lifted.

Phases, each printed:

1. **connect**: the subscribers connect; the server's resident memory before and after, per
   connection (target ≤ 250 KB);
2. **steady**: the drivers connect and each sends a fix every 5 s (staggered: ``buses / 5`` fixes a
   second; target ≥ 100/s sustained) for ``--seconds``; every subscriber times each position from
   the fix's own timestamp to its arrival (end-to-end latency, target p99 ≤ 250 ms); the server's
   CPU time over the phase gives its CPU share and the CPU per fix (the ingest path: socket, checks,
   Redis, fan-out). One subscriber per ``--slow-every`` trips never reads: the others on its trip
   must not see a higher latency than the rest;
3. **reconnect burst**: every driver drops, buffers ten fixes one second apart, and all reconnect at
   once and flush them (ten times the steady rate in one go): every fix must be acknowledged and
   reach the history table (no loss), and the latency of the burst's newest positions is printed.

    .venv/bin/python bench/tracking.py [--buses 500] [--subscribers 2000] [--seconds 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import gunicorn, resident_kb, worker_pids  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = "tms_bench_tracking"
KIGALI, MUHANGA, HUYE = (-1.9441, 30.0619), (-2.0845, 29.7566), (-2.5967, 29.7394)
PERIOD = 5.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def fresh_database() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False)


@dataclass
class World:
    trips: list[int]
    drivers: list[str]  # session cookie values, one per trip
    shares: list[tuple[int, str]]  # (trip, token)
    cookie_name: str


def build(database_url: str, buses: int, subscribers: int) -> World:
    """The operator, route, buses, drivers, running trips and share links, straight through the
    models (what the console would have made); drivers' sessions started and signed as a login
    would."""
    import redis as redis_lib
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts.models import Membership, User
    from app.accounts.rules import SessionPolicy
    from app.accounts.services import hash_password, start_session
    from app.booking.models import Order, Ticket
    from app.companies.models import Company, Station, Town
    from app.core import tx
    from app.extensions import db
    from app.fleet.models import Bus, BusSeat, Route, RouteStop, Trip, TripStop
    from app.tracking.models import ShareLink

    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        upgrade()
        company = Company(code="bench", name="Bench Lines")
        db.session.add(company)
        route = Route(company=company, name="Kigali – Huye")
        for position, (name, (lat, lon), minutes, km) in enumerate(
            [("Nyabugogo", KIGALI, 0, 0.0), ("Muhanga", MUHANGA, 60, 50.0), ("Huye", HUYE, 150, 130.0)]
        ):
            town = Town(code=f"bench-{position}", name=name)
            station = Station(code=f"bench-{position}", name=name, town=town, latitude=lat, longitude=lon)
            route.stops.append(
                RouteStop(position=position, station=station, minutes_from_start=minutes, km_from_start=km)
            )
        db.session.add(route)
        db.session.flush()
        password = hash_password("bench-tracking-pass")
        departed = now - timedelta(minutes=5)
        trips, users = [], []
        for n in range(buses):
            bus = Bus(company=company, plate=f"RB{n // 1000:01d} {n % 1000:03d}A", status="active")
            bus.seats = [BusSeat(label="1A", row=1, column=1, seat_class="standard")]
            driver = User(email=f"driver{n}@bench.rw", name=f"Driver {n}", password_hash=password)
            db.session.add_all([bus, driver, Membership(user=driver, company=company, role="driver")])
            trip = Trip(
                company_id=company.id,
                route=route,
                service_date=departed.date(),
                scheduled_departs_at=departed,
                departs_at=departed,
                arrives_at=departed + timedelta(minutes=150),
                bus=bus,
                driver=driver,
                status="departed",
                departed_at=departed,
                stops=[
                    TripStop(
                        position=s.position,
                        station_id=s.station_id,
                        minutes_from_start=s.minutes_from_start,
                        km_from_start=s.km_from_start,
                        departs_at=departed + timedelta(minutes=s.minutes_from_start),
                    )
                    for s in route.stops
                ],
            )
            db.session.add(trip)
            trips.append(trip)
            users.append(driver)
        db.session.flush()
        shares = []
        per_trip = max(1, subscribers // buses)
        for n, trip in enumerate(trips):
            order = Order(
                code=f"B{n:07d}",
                company_id=company.id,
                trip_id=trip.id,
                status="paid",
                total=0,
                currency="RWF",
                channel="console",
            )
            ticket = Ticket(
                order=order,
                trip_id=trip.id,
                code=f"T{n:07d}",
                seat_label="1A",
                seat_class="standard",
                origin_position=0,
                destination_position=2,
                origin_station_id=route.stops[0].station_id,
                destination_station_id=route.stops[-1].station_id,
                passenger_name="Watcher",
                price=0,
                currency="RWF",
                status="paid",
            )
            db.session.add_all([order, ticket])
            db.session.flush()
            for k in range(per_trip):
                token = f"bench-{n}-{k}-{random.getrandbits(64):016x}"
                db.session.add(
                    ShareLink(token=token, trip_id=trip.id, ticket_id=ticket.id, expires_at=now + timedelta(hours=6))
                )
                shares.append((trip.id, token))
        policy = SessionPolicy.from_config(app.config)
        tokens = [
            start_session(user, user_agent="bench", address="127.0.0.1", now=now, policy=policy)[1] for user in users
        ]
        tx.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        cookies = [serializer.dumps({"_user_id": token, "_fresh": True}) for token in tokens]
        return World([t.id for t in trips], cookies, shares[:subscribers], app.config["SESSION_COOKIE_NAME"])


# --- Server measurements -------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


# --- Clients ---------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    latency_at: list[float] = field(default_factory=list)  # when each of those arrived (perf_counter)
    slow_trip_latencies: list[tuple[float, float]] = field(default_factory=list)  # (latency, arrived)
    acked: int = 0
    ack_times: list[float] = field(default_factory=list)
    connected_at: list[float] = field(default_factory=list)  # each driver's socket open (perf_counter)
    errors: list[str] = field(default_factory=list)
    burst_latencies: list[float] = field(default_factory=list)
    flushed_at: dict[int, float] = field(default_factory=dict)  # trip → epoch ms of the buffer's flush
    in_burst: bool = False


T0 = time.time()


def position_at(trip_index: int, at: float) -> tuple[float, float]:
    """Where bus ``trip_index`` is at the wall-clock time ``at``: along Kigali → Muhanga at 54 km/h
    (15 m/s) from the bench's start, each bus starting a little further along."""
    t = min(0.95, 0.02 + (trip_index % 40) * 0.02 + (at - T0) * 15 / 50_000)
    return KIGALI[0] + (MUHANGA[0] - KIGALI[0]) * t, KIGALI[1] + (MUHANGA[1] - KIGALI[1]) * t


async def subscriber(url: str, origin: str, stats: Stats, slow_trips: set[int], trip: int, ready, stop) -> None:
    import websockets

    async with websockets.connect(url, origin=origin, max_queue=None, open_timeout=60, ping_interval=None) as ws:
        await ws.recv()  # the snapshot
        ready()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1)
            except TimeoutError:
                continue
            arrived = time.time() * 1000
            message = json.loads(raw)
            if message.get("type") != "position":
                continue
            if stats.in_burst:  # from the moment the driver flushed its buffer
                flushed = stats.flushed_at.get(trip)
                if flushed is not None:
                    stats.burst_latencies.append(arrived - flushed)
                continue
            latency = arrived - message["ts"]
            stats.latencies.append(latency)
            stats.latency_at.append(time.perf_counter())
            if trip in slow_trips:
                stats.slow_trip_latencies.append((latency, time.perf_counter()))


async def sleeper(url: str, origin: str, stop) -> None:
    """A client that connects and never reads again: the server must not wait for it."""
    import websockets

    async with websockets.connect(url, origin=origin, open_timeout=60, ping_interval=None, max_queue=1) as ws:
        ws.transport.pause_reading()
        await stop.wait()


async def driver(base: str, origin: str, cookie: str, trip: int, index: int, stats: Stats, until: float) -> None:
    import websockets

    try:
        await _drive(base, origin, cookie, trip, index, stats, until)
    except (websockets.exceptions.WebSocketException, OSError, TimeoutError) as error:
        stats.errors.append(f"driver {index}: {error}")


async def _drive(base: str, origin: str, cookie: str, trip: int, index: int, stats: Stats, until: float) -> None:
    import websockets

    url = f"{base}/ws/driver/trips/{trip}"
    async with websockets.connect(
        url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=60, ping_interval=None
    ) as ws:
        stats.connected_at.append(time.perf_counter())
        next_at = time.time() + random.uniform(0, PERIOD)
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.time()))
            next_at += PERIOD  # on a fixed schedule: the offered rate does not drift with the answers
            lat, lon = position_at(index, time.time())
            await ws.send(
                json.dumps(
                    {
                        "type": "fix",
                        "lat": lat,
                        "lon": lon,
                        "accuracy": 8,
                        "speed": 15,
                        "heading": 240,
                        "ts": int(time.time() * 1000),
                    }
                )
            )
            answer = json.loads(await ws.recv())
            if answer.get("type") == "ack":
                stats.acked += 1
                stats.ack_times.append(time.perf_counter())
            else:
                stats.errors.append(str(answer))


async def burst_driver(base: str, origin: str, cookie: str, trip: int, index: int, stats: Stats) -> int:
    """Reconnect and flush ten buffered fixes, one second apart, ending now."""
    import websockets

    now = time.time()
    fixes = []
    for k in range(10):
        at = now - (9 - k)
        lat, lon = position_at(index, at)
        fixes.append({"lat": lat, "lon": lon, "accuracy": 8, "speed": 15, "heading": 240, "ts": int(at * 1000)})
    async with websockets.connect(
        f"{base}/ws/driver/trips/{trip}",
        origin=origin,
        additional_headers={"Cookie": cookie},
        open_timeout=120,
        ping_interval=None,
    ) as ws:
        stats.flushed_at[trip] = time.time() * 1000
        await ws.send(json.dumps({"type": "fixes", "fixes": fixes}))
        acked = answered = 0
        while answered < len(fixes):
            answer = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
            if answer.get("type") == "ack":
                acked += 1
                answered += 1
            elif answer.get("type") == "error":
                stats.errors.append(str(answer))
                answered += 1
        return acked


async def loop_lag(lags: list[float], stop) -> None:
    """How late this client's own event loop wakes (its delays show in every latency it measures)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append((time.perf_counter() - started - 0.05) * 1000)


async def run(args, world: World, port: int, pids: list[int]) -> int:
    """The three phases; answers how many fixes the server acknowledged."""
    base, origin = f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    stats, stop = Stats(), asyncio.Event()
    slow_trips = set(world.trips[:: args.slow_every])
    connected = 0

    def ready() -> None:
        nonlocal connected
        connected += 1

    before = resident_kb(pids)
    started = time.perf_counter()
    watchers = []
    for trip, token in world.shares:
        watchers.append(
            asyncio.create_task(
                subscriber(f"{base}/ws/trips/{trip}?share={token}", origin, stats, slow_trips, trip, ready, stop)
            )
        )
        if len(watchers) % 100 == 0:
            await asyncio.sleep(0.05)
    sleepers = [
        asyncio.create_task(sleeper(f"{base}/ws/trips/{trip}?share={token}", origin, stop))
        for trip, token in world.shares
        if trip in slow_trips
    ][: len(slow_trips)]
    while connected < len(world.shares):
        await asyncio.sleep(0.2)
        if time.perf_counter() - started > 300:
            raise SystemExit(f"only {connected} of {len(world.shares)} subscribers connected in 300 s")
    await asyncio.sleep(2)
    after = resident_kb(pids)
    sockets = len(world.shares) + len(sleepers)
    print(
        f"connect: {len(world.shares):,} subscribers (+{len(sleepers)} that never read) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    print(
        f"  server RSS {before / 1024:.0f} MB → {after / 1024:.0f} MB: "
        f"{(after - before) / sockets:.0f} KB per connection (target ≤ 250)"
    )

    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lags, stop))
    cookie = lambda value: f"{world.cookie_name}={value}"  # noqa: E731
    until = time.time() + args.seconds + PERIOD
    cpu_before, wall_before = cpu_seconds(pids), time.perf_counter()
    drivers = [
        asyncio.create_task(driver(base, origin, cookie(c), trip, n, stats, until))
        for n, (trip, c) in enumerate(zip(world.trips, world.drivers, strict=True))
    ]
    await asyncio.gather(*drivers)
    wall = time.perf_counter() - wall_before
    cpu = cpu_seconds(pids) - cpu_before
    await asyncio.sleep(1)
    # Sustained: the acknowledgements between the ramp-up (every driver connected and one period
    # on, so each is on its schedule) and the ramp-down (the last period, as drivers stop).
    window = (max(stats.connected_at, default=wall_before) + PERIOD, wall_before + wall - PERIOD)
    rate = sum(window[0] <= t < window[1] for t in stats.ack_times) / (window[1] - window[0])
    cores = os.cpu_count() or 1
    print(
        f"steady: {stats.acked:,} fixes from {len(world.trips)} buses in {wall:.1f} s; sustained {rate:.1f} fixes/s "
        f"(offered {len(world.trips) / PERIOD:.0f}/s; target ≥ 100); errors {len(stats.errors)}"
    )
    print(
        f"  server CPU {cpu:.1f} s over {wall:.1f} s = {cpu / wall / cores:.0%} of {cores} cores; "
        f"{cpu / max(stats.acked, 1) * 1000:.2f} ms per fix (socket, checks, Redis, "
        f"fan-out to {len(world.shares) // len(world.trips)} watchers)"
    )
    if stats.errors:
        print(f"  first errors: {stats.errors[:3]}")
    print(f"  this client's own CPU so far: {time.process_time():.1f} s (it shares the {cores} cores with the server)")
    lat = stats.latencies
    print(
        f"  end-to-end latency, whole phase (the drivers connect at its start), {len(lat):,} deliveries: "
        f"p50 {percentile(lat, 0.5):.1f} ms, "
        f"p95 {percentile(lat, 0.95):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms (target p99 ≤ 250)"
    )
    steady = [lat for lat, at in zip(stats.latencies, stats.latency_at, strict=True) if window[0] <= at < window[1]]
    print(
        f"  in the sustained window ({window[1] - window[0]:.0f} s, from a period after the last driver connected): "
        f"{len(steady):,} deliveries, p50 {percentile(steady, 0.5):.1f} ms, p95 {percentile(steady, 0.95):.1f} ms, "
        f"p99 {percentile(steady, 0.99):.1f} ms"
    )
    print(
        f"  this client's event loop woke late by p50 {percentile(lags, 0.5):.1f} ms, "
        f"p99 {percentile(lags, 0.99):.1f} ms, max {max(lags, default=0):.0f} ms (part of every latency above)"
    )
    slow = [lat for lat, at in stats.slow_trip_latencies if window[0] <= at < window[1]]
    print(
        f"  the other watchers of trips with a client that never reads, same window: p50 "
        f"{percentile(slow, 0.5):.1f} ms, p99 {percentile(slow, 0.99):.1f} ms over {len(slow):,} deliveries"
    )

    stats.in_burst = True
    await asyncio.sleep(2)
    burst_started = time.perf_counter()
    acked = await asyncio.gather(
        *[
            burst_driver(base, origin, cookie(c), trip, n, stats)
            for n, (trip, c) in enumerate(zip(world.trips, world.drivers, strict=True))
        ]
    )
    burst_wall = time.perf_counter() - burst_started
    await asyncio.sleep(2)
    sent = 10 * len(world.trips)
    print(
        f"burst: {len(world.trips)} drivers reconnected at once with {sent:,} buffered fixes: {sum(acked):,} "
        f"acknowledged in {burst_wall:.1f} s ({sum(acked) / burst_wall:.0f}/s), errors {len(stats.errors)}"
    )
    bl = stats.burst_latencies
    print(
        f"  positions delivered during the burst: {len(bl):,}, p50 {percentile(bl, 0.5):.0f} ms, "
        f"p99 {percentile(bl, 0.99):.0f} ms from the buffer's flush to the watchers"
    )
    stop.set()
    await lag_task
    for task in watchers + sleepers:
        task.cancel()
    await asyncio.gather(*watchers, *sleepers, return_exceptions=True)
    return stats.acked + sum(acked)


def history_count(database_url: str) -> int:
    from app import create_app
    from app.extensions import db
    from app.tracking import services
    from app.tracking.models import Position

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        services.flush_history(limit=10_000)
        return db.session.query(Position).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buses", type=int, default=500)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slow-every", type=int, default=50, help="one never-reading client per this many trips")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    database_url = fresh_database()
    started = time.perf_counter()
    world = build(database_url, args.buses, args.subscribers)
    print(
        f"{DATABASE}, Redis {REDIS_URL}: {args.buses} buses on running trips, "
        f"{len(world.shares):,} share links (built in {time.perf_counter() - started:.1f} s)"
    )
    settings = {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "TMS_SERVER": "sockets",
        "SOCKETS_CONCURRENCY": str(args.workers),
        "WS_MAX_PER_ADDRESS": "100000",
        "TMS_ENV": "development",
        "BASE_URL": f"http://127.0.0.1:{args.port}",
        "GUNICORN_GRACEFUL_TIMEOUT": "3",
        # Pools sized for a thousand sockets a process: a connect storm of 250 drivers a worker
        # each checks its trip once; Redis serves every socket's publishes.
        "DATABASE_POOL_SIZE": "20",
        "DATABASE_MAX_OVERFLOW": "10",
        "REDIS_MAX_CONNECTIONS": "400",
    }
    print(
        f"socket server: {args.workers} gevent workers; "
        f"load average before {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    with gunicorn(args.port, **settings) as master:
        pids = worker_pids(master)
        for _ in range(100):  # every worker forked and serving
            if len(pids) >= args.workers:
                break
            time.sleep(0.1)
            pids = worker_pids(master)
        acknowledged = asyncio.run(run(args, world, args.port, pids))
    stored = history_count(database_url)
    verdict = "no loss" if stored == acknowledged else f"{acknowledged - stored:,} LOST"
    print(f"history: {stored:,} positions in PostgreSQL for {acknowledged:,} acknowledged fixes: {verdict}")


if __name__ == "__main__":
    main()
