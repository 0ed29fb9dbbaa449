"""Who hears about what: delivery records are made once per recipient, channel and event, and
each is sent by its own job.

Making records is idempotent: ``queue`` inserts with the record's ``dedupe_key`` and skips those
already there, so an event delivered twice, or a reminder scan run twice, messages nobody twice.
Sending is claimed with one conditional ``UPDATE``: a job run twice, or enqueued twice, finds the
record no longer queued and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.core import realtime, tx
from app.core.jobs import enqueue
from app.core.models import utcnow
from app.extensions import db, get_queue
from app.notifications import messages
from app.notifications.channels import DeliveryFailed, email, sms
from app.notifications.models import Notification
from app.notifications.rules import SENDING_LEASE_SECONDS

log = logging.getLogger(__name__)


@dataclass
class Outgoing:
    """One message to one address, before it is on record."""

    kind: str
    source: str  # what happened, unique within the kind: "event42", "order7", "trip3@202611251430"
    channel: str
    address: str
    context: dict
    user_id: int | None = None
    company_id: int | None = None
    trip_id: int | None = None
    order_id: int | None = None
    link: str | None = None

    @property
    def dedupe_key(self) -> str:
        return f"{self.kind}:{self.source}:{self.channel}:{self.address}"[:255]


@dataclass
class Queued:
    ids: list[int] = field(default_factory=list)
    skipped: int = 0  # already on record: a repeat of something we have handled


def queue(outgoing: list[Outgoing], *, now: datetime | None = None) -> Queued:
    """Put the messages on record (skipping any already there) and send them after commit. Portal
    items are delivered as they are recorded; SMS and email go out through a job each."""
    if not outgoing:
        return Queued()
    now = now or utcnow()
    rows = []
    for item in outgoing:
        row = {
            "dedupe_key": item.dedupe_key,
            "kind": item.kind,
            "channel": item.channel,
            "address": item.address,
            "user_id": item.user_id,
            "company_id": item.company_id,
            "trip_id": item.trip_id,
            "order_id": item.order_id,
            "context": item.context,
            "link": item.link,
            "status": "queued",
            "attempts": 0,
            "created_at": now,
            "subject": None,
            "body": None,
            "provider": None,
            "sent_at": None,
        }
        if item.channel == "inbox":
            rendered = messages.render(item.kind, "inbox", item.context)
            row.update(status="sent", body=rendered.text, subject=rendered.subject, provider="portal", sent_at=now)
        rows.append(row)
    from app.notifications.jobs import send

    inserted = db.session.execute(
        _insert_new(rows).returning(Notification.id, Notification.channel, Notification.user_id)
    )
    result = Queued()
    for notification_id, channel, user_id in inserted:
        result.ids.append(notification_id)
        if channel == "inbox":
            realtime.publish(f"user:{user_id}:inbox", {"notification": notification_id})
        else:
            enqueue("high", send, notification_id)
    result.skipped = len(rows) - len(result.ids)
    return result


def _insert_new(rows: list[dict]):
    """``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` in the database's own dialect."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])


# --- Sending -----------------------------------------------------------------------------------


def claim(notification_id: int, now: datetime) -> Notification | None:
    """Take the record for sending, or None when it is not ours to send: already sent, failed for
    good, not due yet, or being sent by another worker whose lease has not run out."""
    lease_over = now - timedelta(seconds=SENDING_LEASE_SECONDS)
    # RQ keeps scheduled times in whole seconds, so a retry's job may start up to a second early.
    due = or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now + timedelta(seconds=1))
    claimed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.channel != "inbox",
            or_(
                and_(Notification.status == "queued", due),
                and_(Notification.status == "sending", Notification.claimed_at < lease_over),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    tx.commit()  # the claim stands even if this worker dies mid-send
    return db.session.get(Notification, claimed) if claimed else None


def deliver(notification: Notification, *, now: datetime) -> None:
    """Send one claimed record and write down how it went."""
    try:
        rendered = messages.render(notification.kind, notification.channel, notification.context)
        if notification.channel == "sms":
            notification.body = rendered.stored_text
            provider, message_id = sms.provider_name(), sms.send(notification.address, rendered.text)
        else:
            notification.subject = rendered.subject
            provider = email.provider_name()
            message_id = email.send(
                to=notification.address,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                attachments=rendered.attachments,
            )
    except DeliveryFailed as failure:
        _record_failure(notification, failure, now=now)
        return
    notification.status, notification.sent_at = "sent", now
    notification.provider, notification.provider_message_id = provider, message_id
    notification.error = notification.next_attempt_at = None
    db.session.flush()


def _record_failure(notification: Notification, failure: DeliveryFailed, *, now: datetime) -> None:
    waits = current_app.config["NOTIFY_RETRY_SECONDS"]
    notification.error = str(failure)[:2000]
    if not failure.temporary:
        notification.status, notification.next_attempt_at = "failed", None
        log.warning("notification %s failed for good: %s", notification.id, failure)
    elif notification.attempts <= len(waits):
        wait = waits[notification.attempts - 1]
        notification.status, notification.next_attempt_at = "queued", now + timedelta(seconds=wait)
        _send_later(notification.id, wait)
    else:
        notification.status, notification.next_attempt_at = "gave_up", None
        log.error("notification %s gave up after %s attempts: %s", notification.id, notification.attempts, failure)
    db.session.flush()


def _send_later(notification_id: int, seconds: int) -> None:
    """Schedule the next attempt (RQ's scheduler runs in every worker). Inline, there is no
    scheduler: the minutely ``send_due`` sweep picks the record up instead."""
    if current_app.config["JOBS_INLINE"]:
        return
    from app.notifications.jobs import send

    target = get_queue("high")
    tx.after_commit(lambda: target.enqueue_in(timedelta(seconds=seconds), send, notification_id))


def due(now: datetime, limit: int = 500) -> list[int]:
    """Records that should be on their way and are not: queued and due (their job was lost), or
    stuck sending past the lease (their worker died)."""
    lease_over = now - timedelta(seconds=SENDING_LEASE_SECONDS)
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.channel != "inbox",
                or_(
                    and_(
                        Notification.status == "queued",
                        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
                        Notification.created_at <= now - timedelta(minutes=1),
                    ),
                    and_(Notification.status == "sending", Notification.claimed_at < lease_over),
                ),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def retry(notification: Notification) -> bool:
    """Send a failed or given-up record again, from a fresh round of attempts (super admin)."""
    if notification.status not in ("failed", "gave_up"):
        return False
    notification.status, notification.attempts, notification.next_attempt_at = "queued", 0, None
    db.session.flush()
    from app.notifications.jobs import send

    enqueue("high", send, notification.id)
    return True


# --- The portal's bell -------------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.channel == "inbox", Notification.read_at.is_(None))
    )


def mark_read(user_id: int, *, now: datetime, notification_id: int | None = None) -> int:
    """Mark one of the user's portal items read, or all of them."""
    statement = update(Notification).where(
        Notification.user_id == user_id, Notification.channel == "inbox", Notification.read_at.is_(None)
    )
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    result = db.session.execute(statement.values(read_at=now).execution_options(synchronize_session=False))
    return result.rowcount or 0
