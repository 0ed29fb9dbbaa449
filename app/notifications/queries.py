"""Reading the portal inbox: a user's own items, newest first."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification

PAGE_SIZE = 30
LAST_PAGE = 10_000  # far beyond any inbox; keeps a made-up page number from overflowing OFFSET


def _mine(user_id: int):
    return select(Notification).where(Notification.user_id == user_id, Notification.channel == "inbox")


def inbox(user_id: int, page: int = 1) -> tuple[list[Notification], bool]:
    """One page of the user's portal items and whether an older page follows."""
    offset = (min(max(page, 1), LAST_PAGE) - 1) * PAGE_SIZE
    rows = list(
        db.session.scalars(
            _mine(user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def inbox_item(user_id: int, notification_id: int) -> Notification | None:
    """One of the user's portal items; another user's, or an SMS or email record, is None."""
    return db.session.scalar(_mine(user_id).where(Notification.id == notification_id))
