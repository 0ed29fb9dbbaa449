"""What the idempotency layer adds to a payment-creating request, on real PostgreSQL and Redis.

In-process, one app, inside ``app.test_request_context`` (no HTTP, no WSGI: only the layer and
the database work it sits around). A throwaway PostgreSQL database (``tms_bench_payments``) is
created fresh and migrated, with one user; Redis db 12 is flushed. Then, for ``--requests``
pairs, each with a NEW key (the common case):

- **baseline**: the stand-in for the view's work — parse the JSON body, insert one row into a
  scratch table, build a 201 JSON answer — then ``tx.commit()``;
- **with the layer**: ``fingerprint()``, ``Guard.begin()`` (Redis ``SET NX`` + the key's row inserted
  as the transaction's first write), the same work, ``Guard.finish()`` (the row updated with the answer), then
  ``tx.commit()``, which also runs the after-commit Redis ``SET`` of the answer.

The two run interleaved, alternating which goes first, so drift (autovacuum, checkpoints, the CPU
clock) falls on both; the **added** latency is the per-pair difference (with − baseline), and its
p95 is the figure held to the target: ≤ 2 ms. A pair's difference also carries the baseline's own
noise, so p95 of the difference usually comes out above the difference of the p95s (both printed).
Then the repeats:

- **replay, Redis hit**: the same key and body again; the answer comes from Redis, no SQL;
- **replay, Redis flushed**: after ``FLUSHDB``, the same again on ``--flushed`` keys; the insert
  hits the unique index, the row answers, and Redis is filled again.

Also printed: the load average (other work on the machine widens every tail here), where the
added time goes (p50 per step), and this machine's round trips to Redis and PostgreSQL: on a new
key the layer costs two Redis round trips (``SET NX``, then ``SET`` of the answer) and two
PostgreSQL ones (insert, then update with the answer), both inside the request's own transaction.

    .venv/bin/python bench/payments.py [--requests 2000] [--flushed 300] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TARGET_MS = 2.0
EMAIL = "payer@bench-payments.rw"
PASSWORD = "bench-payments-pass"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of milliseconds."""
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def ms(started: int) -> float:
    return (time.perf_counter_ns() - started) / 1e6


def fresh_database(name: str, keep: bool) -> str:
    """Drop and create ``name`` (kept as it is with ``keep`` if it exists); returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).scalar()
        if exists and not keep:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or not keep:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def prepare(app) -> int:
    """Migrate, add the scratch table and the paying user; returns the user's id."""
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from app.accounts.models import User
    from app.accounts.services import hash_password
    from app.core import tx
    from app.extensions import db

    with app.app_context():
        upgrade()
        db.session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_payment_writes ("
                " id bigserial PRIMARY KEY, user_id integer NOT NULL, reference varchar(40) NOT NULL,"
                " amount integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        if user is None:
            user = User(email=EMAIL, name="Bench Payer", password_hash=hash_password(PASSWORD))
            db.session.add(user)
            db.session.flush()
        user_id = user.id
        tx.commit()
    return user_id


class Bench:
    """One app, one user; each method is one request, timed inside its request context."""

    def __init__(self, app, user_id: int):
        self.app, self.user_id = app, user_id
        self.serial = 0

    def request_for(self, n: int) -> tuple[str, dict]:
        """The path and body of the n-th payment: like ``POST /api/v1/orders/{code}/payments``."""
        body = {"provider": "sandbox", "decision": "approve", "amount": 5000 + n, "currency": "RWF"}
        return f"/api/v1/orders/B{n:07d}/payments", body

    def work(self) -> object:
        """The stand-in for the view: read the body, write one row, answer 201 with a payment-like body."""
        from flask import Response, request
        from sqlalchemy import text

        from app.extensions import db

        raw = request.get_json()
        self.serial += 1
        reference = f"PAY-{self.serial:010d}"
        db.session.execute(
            text("INSERT INTO bench_payment_writes (user_id, reference, amount) VALUES (:u, :r, :a)"),
            {"u": self.user_id, "r": reference, "a": raw["amount"]},
        )
        payment = {
            "reference": reference,
            "provider": raw["provider"],
            "status": "pending",
            "amount": raw["amount"],
            "currency": raw["currency"],
            "order_code": request.path.split("/")[4],
            "order_status": "awaiting_payment",
        }
        return Response(
            json.dumps({"payment": payment}),
            status=201,
            mimetype="application/json",
            headers={"Location": f"/api/v1/payments/{reference}"},
        )

    def baseline(self, n: int) -> dict[str, float]:
        from app.core import tx

        path, body = self.request_for(n)
        with self.app.test_request_context(path, method="POST", json=body):
            started = time.perf_counter_ns()
            self.work()
            worked = time.perf_counter_ns()
            tx.commit()
            done = time.perf_counter_ns()
        return {"total": (done - started) / 1e6, "work": (worked - started) / 1e6, "commit": (done - worked) / 1e6}

    def guarded(self, n: int, key: str) -> dict[str, float]:
        from app.core import tx
        from app.payments.idempotency import Guard, fingerprint

        path, body = self.request_for(n)
        with self.app.test_request_context(path, method="POST", json=body):
            t0 = time.perf_counter_ns()
            guard = Guard(self.user_id, key, fingerprint())
            t1 = time.perf_counter_ns()
            replay = guard.begin()
            t2 = time.perf_counter_ns()
            response = self.work()
            t3 = time.perf_counter_ns()
            guard.finish(response)
            t4 = time.perf_counter_ns()
            tx.commit()
            t5 = time.perf_counter_ns()
        if replay is not None:
            raise RuntimeError(f"a new key was answered as a replay: {key}")
        steps = {"fingerprint": t1 - t0, "begin": t2 - t1, "work": t3 - t2, "finish": t4 - t3, "commit": t5 - t4}
        return {"total": (t5 - t0) / 1e6, **{name: value / 1e6 for name, value in steps.items()}}

    def replay(self, n: int, key: str) -> float:
        """The same key and body again: a replayed answer, then the boundary's commit (a 201)."""
        from app.core import tx
        from app.payments.idempotency import Guard, fingerprint

        path, body = self.request_for(n)
        with self.app.test_request_context(path, method="POST", json=body):
            started = time.perf_counter_ns()
            answer = Guard(self.user_id, key, fingerprint()).begin()
            tx.commit()
            elapsed = ms(started)
        if answer is None or answer.headers.get("Idempotent-Replayed") != "true" or answer.status_code != 201:
            raise RuntimeError(f"expected a replayed 201 for {key}, got {answer!r}")
        return elapsed


def round_trips(app, count: int = 500) -> tuple[float, float]:
    """p50 ms of a Redis PING and of a PostgreSQL ``SELECT 1`` on an open connection."""
    from sqlalchemy import text

    from app.core import tx
    from app.extensions import db, redis

    with app.app_context():
        pings, selects = [], []
        for _ in range(count):
            started = time.perf_counter_ns()
            redis.ping()
            pings.append(ms(started))
        db.session.execute(text("SELECT 1"))
        for _ in range(count):
            started = time.perf_counter_ns()
            db.session.execute(text("SELECT 1"))
            selects.append(ms(started))
        tx.rollback()
    return percentile(pings, 0.5), percentile(selects, 0.5)


def row(label: str, values: list[float], note: str = "") -> None:
    p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
    print(f"{label:<34}{len(values):>7,}{p50:>9.3f}{p95:>9.3f}{p99:>9.3f}  {note}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured pairs, each with a new key")
    parser.add_argument("--warmup", type=int, default=100, help="pairs run first and not counted")
    parser.add_argument("--flushed", type=int, default=300, help="keys replayed after Redis is flushed")
    parser.add_argument("--database", default="tms_bench_payments")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it exists")
    args = parser.parse_args()

    url = fresh_database(args.database, args.keep)
    os.environ.update(DATABASE_URL=url, TMS_ENV="development")  # as deployed: pool_pre_ping on
    from sqlalchemy import func, select, text

    from app import create_app
    from app.extensions import db, redis
    from app.payments.models import IdempotencyKey

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        redis.flushdb()  # this bench's db only
    user_id = prepare(app)
    load_before = os.getloadavg()[0]
    redis_rtt, pg_rtt = round_trips(app)

    bench = Bench(app, user_id)
    baseline: list[dict[str, float]] = []
    guarded: list[dict[str, float]] = []
    keys: list[tuple[int, str]] = []  # (request number, key) of the measured guarded requests
    started = time.perf_counter()
    for i in range(args.warmup + args.requests):
        key = str(uuid.uuid4())
        if i % 2:  # alternate which of the pair goes first
            b = bench.baseline(2 * i)
            g = bench.guarded(2 * i + 1, key)
        else:
            g = bench.guarded(2 * i + 1, key)
            b = bench.baseline(2 * i)
        if i >= args.warmup:
            baseline.append(b)
            guarded.append(g)
            keys.append((2 * i + 1, key))
    paired_seconds = time.perf_counter() - started

    hits = [bench.replay(n, key) for n, key in keys]
    with app.app_context():
        redis.flushdb()
    flushed = [bench.replay(n, key) for n, key in keys[: args.flushed]]
    hits_after = [bench.replay(n, key) for n, key in keys[: args.flushed]]  # Redis refilled by the row's answer

    with app.app_context():
        mine = [key for _, key in keys]
        done = db.session.scalar(
            select(func.count())
            .select_from(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key.in_(mine), IdempotencyKey.state == "done")
        )
        writes = db.session.scalar(text("SELECT count(*) FROM bench_payment_writes"))
        db.session.rollback()
        db.engine.dispose()

    added = [g["total"] - b["total"] for g, b in zip(guarded, baseline, strict=True)]
    base_total = [b["total"] for b in baseline]
    with_total = [g["total"] for g in guarded]

    print(
        f"PostgreSQL {args.database}, Redis {REDIS_URL}; {args.requests:,} pairs (+{args.warmup} warm-up) "
        f"in {paired_seconds:.1f} s, each guarded request with a new key"
    )
    print(
        f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} CPUs "
        "(anything else running shows in the tails: run it on a quiet machine)"
    )
    print(f"round trips on this machine (p50): Redis PING {redis_rtt:.3f} ms, PostgreSQL SELECT 1 {pg_rtt:.3f} ms")
    print(f"\n{'per request, ms':<34}{'n':>7}{'p50':>9}{'p95':>9}{'p99':>9}")
    row("baseline (work + commit)", base_total)
    row("with the idempotency layer", with_total)
    row("added (paired: with - baseline)", added, f"target p95 <= {TARGET_MS:g}")
    row("replay, Redis hit", hits)
    row("replay, Redis flushed (row answers)", flushed)
    row("replay, Redis hit again after that", hits_after)

    difference_of_p95 = percentile(with_total, 0.95) - percentile(base_total, 0.95)
    print(
        f"\nadded p50 = {percentile(added, 0.5):.3f} ms = {percentile(added, 0.5) / percentile(base_total, 0.5):.0%} "
        f"of the baseline p50; p95(with) - p95(baseline) = {difference_of_p95:.3f} ms"
    )
    print(
        f"replay (Redis hit) p50 = {percentile(hits, 0.5) / percentile(base_total, 0.5):.2f} x the baseline p50; "
        f"flushed replay p50 = {percentile(flushed, 0.5) / percentile(hits, 0.5):.1f} x the Redis hit"
    )

    print("\nwhere the time goes, p50 ms per step")
    steps = ("fingerprint", "begin", "work", "finish", "commit")
    print("  with the layer: " + "  ".join(f"{s} {percentile([g[s] for g in guarded], 0.5):.3f}" for s in steps))
    print(
        "  baseline:       "
        + "  ".join(f"{s} {percentile([b[s] for b in baseline], 0.5):.3f}" for s in ("work", "commit"))
    )
    print("  (the connection checkout, with its pre-ping, falls in begin when guarded and in work otherwise)")

    print(
        f"\nchecks: {done:,} of {len(keys):,} measured keys stored as done; "
        f"{writes:,} scratch rows written in this database"
    )
    p95 = percentile(added, 0.95)
    verdict = "met" if p95 <= TARGET_MS else "NOT met"
    print(f"idempotency added latency p95 = {p95:.2f} ms (target <= {TARGET_MS:g} ms): {verdict}")


if __name__ == "__main__":
    main()
