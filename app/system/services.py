"""Acting on failed background jobs: queue one again, or throw it away. Both are audited.

Redis is changed first and the audit entry written after, so the log says what happened; a job
that vanished meanwhile (another admin, its TTL) is a 404 and nothing is recorded."""

from __future__ import annotations

from flask_babel import gettext as _
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from app.audit.services import record
from app.core import tx
from app.core.errors import NotFound
from app.system.queries import FailedJob, failed_job


def requeue(actor, queue: Queue, job_id: str) -> FailedJob:
    failed = failed_job(queue, job_id)
    registry = queue.failed_job_registry
    try:
        if queue.is_async:
            registry.requeue(job_id)
        else:
            # Inline (the embedded mode): no worker reads Redis, so run it again once this
            # request has committed, as an inline enqueue would.
            job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
            registry.remove(job)
            tx.after_commit(lambda: queue.enqueue_job(job))
    except (InvalidJobOperation, NoSuchJobError) as gone:
        raise NotFound(_("That job is no longer in the failed list.")) from gone
    record(
        actor,
        "job.requeued",
        failed,
        f"{failed.function} queued again on {queue.name}",
        company_id=None,
        **_about(failed),
    )
    return failed


def delete(actor, queue: Queue, job_id: str) -> FailedJob:
    failed = failed_job(queue, job_id)
    try:
        Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer).delete()
    except NoSuchJobError:  # its data expired before its registry entry: drop the entry
        queue.failed_job_registry.remove(job_id)
    record(
        actor,
        "job.deleted",
        failed,
        f"Failed {failed.function} deleted from {queue.name}",
        company_id=None,
        **_about(failed),
    )
    return failed


def _about(failed: FailedJob) -> dict:
    return {
        "before": {
            "queue": failed.queue,
            "job_id": failed.job_id,
            "function": failed.function,
            "arguments": failed.arguments,
            "failed_at": failed.failed_at,
            "exception": failed.last_lines,
        }
    }
