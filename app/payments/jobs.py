"""Payments' background work on the ``high`` queue: processing notifications, looking payments
and refunds up (reconciliation), sending refunds, and paying back cancelled tickets. Every job
takes ids and is safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.booking.models import Ticket
from app.core import events
from app.core.jobs import enqueue, job
from app.core.models import utcnow
from app.extensions import db
from app.payments import idempotency, rules
from app.payments.models import Payment, Refund, WebhookEvent
from app.payments.providers import ProviderError
from app.payments.services import payments, refunds, webhooks

log = logging.getLogger(__name__)


@job
def process_webhook(event_id: int) -> None:
    event = db.session.get(WebhookEvent, event_id)
    if event is not None:
        _guarded(lambda: webhooks.process(event, now=utcnow()), event)


@job
def check_payment(payment_id: int) -> None:
    payment = db.session.get(Payment, payment_id)
    if payment is not None:
        _guarded(lambda: payments.check(payment, now=utcnow()), payment)


@job
def send_refund(refund_id: int) -> None:
    refund = db.session.get(Refund, refund_id)
    if refund is not None:
        _guarded(lambda: refunds.send(refund, now=utcnow()), refund)


@job
def check_refund(refund_id: int) -> None:
    refund = db.session.get(Refund, refund_id)
    if refund is not None:
        _guarded(lambda: refunds.check(refund, now=utcnow()), refund)


@job
def reconcile() -> int:
    """Look up every payment and refund that is due (every minute): a payment that succeeded is
    found even when every callback was lost, and a declined one gives its seats back."""
    now = utcnow()
    due = payments.due_for_check(now)
    for payment_id in due:
        enqueue("high", check_payment, payment_id)
    owed = refunds.due_for_check(now)
    for refund_id in owed:
        enqueue("high", check_refund, refund_id)
    return len(due) + len(owed)


@job
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired(utcnow())


def _guarded(work, record) -> None:
    """A provider that cannot answer now is asked again later, with backoff; nothing is lost."""
    try:
        work()
    except ProviderError as error:
        if not error.temporary:
            raise
        log.warning("%s %s: provider unavailable (%s); retrying later", type(record).__name__, record.id, error)
        db.session.rollback()
        record = db.session.get(type(record), record.id)
        if isinstance(record, Payment | Refund):  # a webhook's payment is looked up by reconciliation
            record.checks += 1
            record.next_check_at = utcnow() + timedelta(seconds=rules.next_check_delay(record.checks))


@events.subscribe("ticket.cancelled")
def refund_cancelled_ticket(event) -> None:
    ticket = db.session.get(Ticket, event.payload["ticket_id"])
    if ticket is not None:
        refunds.refund_ticket(ticket, reason="passenger_cancelled", now=utcnow())


@events.subscribe("trip.cancelled")
def refund_cancelled_trip(event) -> None:
    now = utcnow()
    for ticket_id in event.payload.get("tickets", []):
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None and ticket.status == "cancelled":
            refunds.refund_ticket(ticket, reason="trip_cancelled", now=now)
