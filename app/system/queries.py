"""Reading RQ's queues and registries: how much work waits, runs and failed on each queue, and the
failed jobs themselves (RQ keeps them, with their traceback, until its failure TTL runs out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rq import Queue
from rq.job import Job
from rq.results import Result

from app.core.errors import NotFound
from app.extensions import QUEUE_NAMES, get_queue

SHOWN_PER_QUEUE = 100


@dataclass(frozen=True)
class QueueState:
    name: str
    queued: int
    started: int
    scheduled: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    queue: str
    job_id: str  # not ``id``: the audit log's object id is an integer
    function: str
    arguments: str
    failed_at: datetime | None
    exception: str  # the whole traceback
    expired: bool = False  # still listed, but RQ no longer has its data

    @property
    def call(self) -> str:
        return "(its data expired)" if self.expired else f"{self.function}({self.arguments})"

    @property
    def last_lines(self) -> str:
        return "\n".join(self.exception.strip().splitlines()[-3:])


def queue_named(name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise NotFound()
    return get_queue(name)


def queue_states() -> list[QueueState]:
    """Counts per queue. Only the failed registry is cleaned first (it drops expired entries);
    cleaning the started one would move jobs, which is the workers' business."""
    states = []
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        states.append(
            QueueState(
                name=name,
                queued=queue.count,
                started=queue.started_job_registry.get_job_count(cleanup=False),
                scheduled=queue.scheduled_job_registry.get_job_count(cleanup=False),
                failed=queue.failed_job_registry.get_job_count(cleanup=True),
            )
        )
    return states


def failed_jobs(queue: Queue, limit: int = SHOWN_PER_QUEUE) -> list[FailedJob]:
    """The queue's most recent failures first."""
    ids = queue.failed_job_registry.get_job_ids(0, limit - 1, desc=True)
    jobs = Job.fetch_many(ids, connection=queue.connection, serializer=queue.serializer)
    return [_described(queue.name, job_id, job) for job_id, job in zip(ids, jobs, strict=True)]


def failed_job(queue: Queue, job_id: str) -> FailedJob:
    """One failed job of the queue; a job that is not (or no longer) in its failed registry is a 404."""
    if job_id not in queue.failed_job_registry:
        raise NotFound()
    (job,) = Job.fetch_many([job_id], connection=queue.connection, serializer=queue.serializer)
    return _described(queue.name, job_id, job)


def _described(queue: str, job_id: str, job: Job | None) -> FailedJob:
    if job is None:  # listed, but its data expired: it can still be deleted
        return FailedJob(queue, job_id, "?", "", None, "", expired=True)
    try:
        function = job.func_name or "?"
        arguments = ", ".join([repr(a) for a in job.args] + [f"{k}={v!r}" for k, v in job.kwargs.items()])
    except Exception:  # arguments pickled from a class that no longer exists: list the job anyway
        function, arguments = "?", "(unreadable)"
    result = job.latest_result()
    failure = result if result is not None and result.type == Result.Type.FAILED else None
    failed_at = job.ended_at or (failure.created_at if failure else None)
    if failed_at is not None and failed_at.tzinfo is None:
        failed_at = failed_at.replace(tzinfo=UTC)
    return FailedJob(queue, job_id, function, arguments[:500], failed_at, failure.exc_string if failure else "")
