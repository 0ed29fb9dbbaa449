"""Background jobs for the super admin: counts per queue, and failed jobs (from RQ's own failed
registries) to queue again or delete, each on the audit log. Against real Redis and a real worker,
and in the embedded mode, where jobs run inline on an in-process Redis."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import redis as redis_lib
from rq.job import Job
from sqlalchemy import delete, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.extensions import db, get_queue, redis_binding
from tests import factories
from tests.conftest import REDIS_URL
from tests.test_worker import run_worker

RUNS = []  # what ``explode`` saw, when it runs in this process (inline)


def explode(reason: str) -> None:
    """A job that always fails, as a provider outage would make one."""
    RUNS.append(reason)
    raise RuntimeError(f"the provider said no: {reason}")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def audit(action: str) -> AuditEntry | None:
    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == action))


@pytest.fixture
def handed_to_redis(app):
    """The test app handing jobs to real Redis, as in production, with commits that are real (a
    worker process reads them); the rows and Redis keys made here are removed after."""
    app.config["JOBS_INLINE"] = False
    redis_binding.init_app(app)
    connection = redis_lib.Redis.from_url(REDIS_URL)
    connection.flushdb()
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.rollback()
    db.session.execute(delete(AuditEntry).where(AuditEntry.action.like("job.%")))
    db.session.execute(delete(User).where(User.email == "jobs-admin@example.rw"))
    db.session.commit()
    ctx.pop()
    connection.flushdb()
    app.config["JOBS_INLINE"] = True
    redis_binding.init_app(app)


@pytest.mark.own_transactions
def test_a_job_that_really_failed_is_listed_then_requeued_then_deleted(handed_to_redis, client, smtp_server):
    factories.user(email="jobs-admin@example.rw", is_super_admin=True)
    db.session.commit()
    client.login("jobs-admin@example.rw")
    queue = get_queue("low")
    job = queue.enqueue(explode, "outage")
    assert run_worker(smtp_server[1]).returncode == 0

    page = text(client.get("/admin/jobs"))
    assert job.id in page and "tests.system.test_views_admin.explode('outage')" in page
    assert "RuntimeError: the provider said no: outage" in page
    assert 'href="#failed-low">1</a>' in page

    requeued = client.submit(f"/admin/jobs/low/{job.id}/requeue")
    assert requeued.status_code == 303 and requeued.headers["Location"] == "/admin/jobs"
    assert queue.job_ids == [job.id] and job.id not in queue.failed_job_registry
    assert "is queued again on low" in text(client.get("/admin/jobs"))
    entry = audit("job.requeued")
    assert entry.company_id is None and entry.before["job_id"] == job.id and "explode" in entry.summary
    assert client.submit(f"/admin/jobs/low/{job.id}/requeue").status_code == 404  # not failed any more

    assert run_worker(smtp_server[1]).returncode == 0  # it fails again
    assert job.id in queue.failed_job_registry
    deleted = client.submit(f"/admin/jobs/low/{job.id}/delete")
    assert deleted.status_code == 303
    assert queue.failed_job_registry.count == 0 and not Job.exists(job.id, connection=queue.connection)
    assert audit("job.deleted").before["function"] == "tests.system.test_views_admin.explode"
    assert "No failed jobs on any queue." in text(client.get("/admin/jobs"))
    assert client.submit(f"/admin/jobs/nowhere/{job.id}/delete").status_code == 404


def test_counts_per_queue_include_waiting_and_scheduled_jobs(app, client, login_as, monkeypatch):
    login_as("super_admin")
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    redis_binding.init_app(app)
    try:
        get_queue("default").enqueue(explode, "later")
        get_queue("high").enqueue_in(timedelta(hours=1), explode, "much later")
        page = client.get("/admin/jobs").get_data(as_text=True)
    finally:
        monkeypatch.undo()
        redis_binding.init_app(app)
    assert queue_row(page, "default") == ["default", "1", "0", "0", "0"]  # queued, running, scheduled, failed
    assert queue_row(page, "high") == ["high", "0", "0", "1", "0"]


def queue_row(page: str, name: str) -> list[str]:
    """The cells of a queue's row in the counts table, as text."""
    row = re.search(rf'<tr data-queue="{name}">(.*?)</tr>', page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def test_the_embedded_mode_lists_inline_failures_and_runs_a_retry_inline(app, client, login_as, monkeypatch):
    login_as("super_admin")
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    redis_binding.init_app(app)  # the in-process Redis substitute, empty
    try:
        assert "No failed jobs on any queue." in text(client.get("/admin/jobs"))
        RUNS.clear()
        get_queue("default").enqueue(explode, "inline")  # runs at once, fails, is kept as failed
        (job_id,) = get_queue("default").failed_job_registry.get_job_ids()
        assert "RuntimeError: the provider said no: inline" in text(client.get("/admin/jobs"))

        assert client.submit(f"/admin/jobs/default/{job_id}/requeue").status_code == 303
        assert RUNS == ["inline", "inline"]  # ran again, after the request committed
        assert audit("job.requeued").before["job_id"] == job_id
    finally:
        monkeypatch.undo()
        redis_binding.init_app(app)


@pytest.mark.parametrize("role", ["admin", "dispatcher", "customer"])
def test_only_super_admins_see_or_touch_background_jobs(client, login_as, role):
    login_as(role)
    job = get_queue("low").enqueue(explode, "kept")  # inline: fails and is kept
    assert client.get("/admin/jobs").status_code == 403
    assert client.submit(f"/admin/jobs/low/{job.id}/requeue").status_code == 403
    assert client.submit(f"/admin/jobs/low/{job.id}/delete").status_code == 403
    assert job.id in get_queue("low").failed_job_registry
