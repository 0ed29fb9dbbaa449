"""The transaction boundary: one commit per request or job, side effects only after it.

Services ``flush()``; the boundary calls :func:`commit`. Callbacks registered with
:func:`after_commit` run once the commit has succeeded and are dropped on rollback, so a job is
never enqueued, nor a message published, for work that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)
_KEY = "after_commit"


def after_commit(callback: Callable[[], object]) -> None:
    db.session.info.setdefault(_KEY, []).append(callback)


def commit() -> None:
    session = db.session
    session.commit()
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the data is committed; a failed side effect must not undo the answer
            log.exception("after-commit callback %r failed", callback)


def rollback() -> None:
    # Callbacks can be queued before any SQL ran; no transaction then, so no rollback event.
    db.session.info.pop(_KEY, None)
    db.session.rollback()


@event.listens_for(Session, "after_soft_rollback")
def _forget_callbacks(session: Session, previous_transaction) -> None:
    session.info.pop(_KEY, None)
