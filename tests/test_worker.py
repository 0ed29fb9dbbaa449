"""A real RQ worker process runs jobs inside the app, committing or rolling back each one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue
from sqlalchemy import delete, select

from app.accounts.models import User
from app.accounts.services import request_password_reset
from app.companies.models import Company
from app.core import tx
from app.core.jobs import job
from app.extensions import db
from tests import factories
from tests.conftest import DATABASE_URL, REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.own_transactions


@job
def create_company_then(code: str, fail: bool) -> None:
    db.session.add(Company(code=code, name=f"Worker {code}"))
    db.session.flush()
    if fail:
        raise RuntimeError("the provider said no")


def run_worker(smtp_port: int) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TMS_ENV": "test",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "BASE_URL": "http://tms.test",
    }
    return subprocess.run(
        [sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def worker_app(app):
    """The test app with jobs handed to Redis, as in production; rows made here are removed after."""
    from app.extensions import redis_binding

    app.config["JOBS_INLINE"] = False
    redis_binding.init_app(app)
    ctx = app.app_context()
    ctx.push()
    db.session.execute(delete(Company).where(Company.code.like("worker-%")))
    db.session.commit()
    yield app
    db.session.rollback()
    db.session.execute(delete(User).where(User.email == "worker@example.rw"))
    db.session.execute(delete(Company).where(Company.code.like("worker-%")))
    db.session.commit()
    ctx.pop()
    app.config["JOBS_INLINE"] = True
    redis_binding.init_app(app)


def test_worker_sends_the_password_reset_email(worker_app, smtp_server, mailbox):
    factories.user(email="worker@example.rw")
    request_password_reset(email="worker@example.rw")
    tx.commit()
    result = run_worker(smtp_server[1])
    assert result.returncode == 0, result.stderr
    message = mailbox.wait_for("worker@example.rw", timeout=5)
    assert "/password/reset/" in mailbox.link_in(message)


def test_worker_commits_a_good_job_and_rolls_back_a_failed_one(worker_app, smtp_server):
    worker_app.extensions["queues"]["default"].enqueue(create_company_then, "worker-ok", False)
    worker_app.extensions["queues"]["default"].enqueue(create_company_then, "worker-bad", True)
    result = run_worker(smtp_server[1])
    assert result.returncode == 0, result.stderr
    codes = set(db.session.scalars(select(Company.code).where(Company.code.like("worker-%"))))
    assert codes == {"worker-ok"}
    failed = worker_app.extensions["queues"]["default"].failed_job_registry
    assert failed.count == 1


def test_the_cron_scheduler_hands_periodic_jobs_to_the_workers():
    import worker

    connection = redis_lib.Redis.from_url(REDIS_URL)
    connection.flushdb()
    cron_jobs = {cron.func_name: cron for cron in worker.cron_scheduler(connection).get_jobs()}
    assert {name: cron.cron for name, cron in cron_jobs.items()} == {
        "app.fleet.jobs.generate_upcoming_trips": "15 * * * *",
        "app.booking.jobs.release_expired_holds": "* * * * *",
        "app.payments.jobs.reconcile": "* * * * *",
        "app.notifications.jobs.send_due": "* * * * *",
        "app.notifications.jobs.send_boarding_reminders": "*/5 * * * *",
        "app.tracking.jobs.flush_positions": "* * * * *",
        "app.payments.jobs.purge_idempotency_keys": "30 3 * * *",
    }
    for cron in cron_jobs.values():
        cron.enqueue(connection)  # what the scheduler does when the minute comes
    assert [queued.func_name for queued in Queue("default", connection=connection).jobs] == [
        "app.fleet.jobs.generate_upcoming_trips",
        "app.tracking.jobs.flush_positions",
    ]
    assert [queued.func_name for queued in Queue("high", connection=connection).jobs] == [
        "app.booking.jobs.release_expired_holds",
        "app.payments.jobs.reconcile",
        "app.notifications.jobs.send_due",
        "app.notifications.jobs.send_boarding_reminders",
    ]
    assert [queued.func_name for queued in Queue("low", connection=connection).jobs] == [
        "app.payments.jobs.purge_idempotency_keys"
    ]
