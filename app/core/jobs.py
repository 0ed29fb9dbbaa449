"""Background jobs: enqueued only after commit, each run inside its own transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable

from app.core import tx
from app.extensions import get_queue


def job(fn: Callable) -> Callable:
    """Mark a module-level function as a job: commit when it returns, roll back when it raises.

    Jobs take ids, not objects, and must be idempotent: RQ may run one twice.
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            tx.commit()
            return result
        except BaseException:
            tx.rollback()
            raise

    return run


def enqueue(queue: str, fn: Callable, *args, **kwargs) -> None:
    """Queue ``fn`` once the current transaction commits; a rollback drops it."""
    target = get_queue(queue)  # resolve now: the callback may run outside this request's context

    def send() -> None:
        target.enqueue(fn, *args, **kwargs)

    tx.after_commit(send)
