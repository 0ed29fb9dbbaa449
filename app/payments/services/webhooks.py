"""Provider notifications: verified where the provider signs them, stored once per provider event
id, answered 2xx once stored, then processed by a job. A notification is a trigger, never proof:
processing looks the payment up with our own credentials and compares amount, currency and order."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.edge import has_control
from app.core.errors import NotFound
from app.core.jobs import enqueue
from app.core.schema import Model, text
from app.extensions import db
from app.payments.models import Payment, Refund, WebhookEvent
from app.payments.providers.momo import MOMO_STATUSES
from app.payments.providers.paypal import PayPal
from app.payments.services import payments, refunds


class PayPalEvent(Model):
    """A PayPal webhook event: the fields we read (the whole event is stored as sent)."""

    id: text(100)
    event_type: text(60)
    """E.g. CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED"""
    resource: dict[str, Any] = {}


class MomoCallback(Model):
    """An MTN MoMo callback: the body of a request-to-pay status lookup (read only as a trigger)."""

    status: str | None = None
    """PENDING, SUCCESSFUL or FAILED"""
    externalId: str | None = None
    financialTransactionId: str | None = None


def receive_paypal(headers, raw_body: bytes, event: PayPalEvent, payload: dict) -> WebhookEvent | None:
    """Verify and store a PayPal webhook (``event``: its body read, ``payload``: as sent); None
    when it was delivered before. Raises ``WebhookRejected`` when the signature does not check
    out: nothing is stored then."""
    PayPal(current_app.config).verify_webhook(headers, raw_body)
    return _store("paypal", event.id, event.event_type, payload)


def receive_momo(reference: str, raw_body: bytes, callback: MomoCallback, payload: dict) -> WebhookEvent | None:
    """Store an MTN MoMo callback for one of our payments (they are unsigned: it only triggers a
    status lookup). Identical repeats are stored once."""
    payment = db.session.scalar(select(Payment).where(Payment.reference == reference, Payment.provider == "momo"))
    if payment is None:
        raise NotFound("No such payment.")
    event_id = f"{reference}:{hashlib.sha256(raw_body).hexdigest()[:16]}"
    status = (callback.status or "").upper()
    return _store("momo", event_id, f"requesttopay.{status.lower() if status in MOMO_STATUSES else 'unknown'}", payload)


def _store(provider: str, event_id: str, event_type: str, payload) -> WebhookEvent | None:
    event = WebhookEvent(provider=provider, event_id=event_id, event_type=event_type, payload=payload)
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        return None  # a redelivery: the first copy is processed, or being processed
    from app.payments.jobs import process_webhook

    enqueue("high", process_webhook, event.id)
    return event


def process(event: WebhookEvent, *, now: datetime) -> None:
    if event.processed_at is not None:
        return
    target = _payment_of(event) if event.provider == "momo" else _paypal_target(event)
    if isinstance(target, Payment):
        payments.check(target, now=now)
        event.outcome = f"payment {target.reference}: {target.status}"
    elif isinstance(target, Refund):
        refunds.check(target, now=now)
        event.outcome = f"refund {target.reference}: {target.status}"
    else:
        event.outcome = "nothing of ours"
    event.processed_at = now
    db.session.flush()


def _payment_of(event: WebhookEvent) -> Payment | None:
    reference = event.event_id.split(":", 1)[0]
    return db.session.scalar(select(Payment).where(Payment.reference == reference))


def _paypal_target(event: WebhookEvent) -> Payment | Refund | None:
    resource = _object(event.payload.get("resource"))
    if event.event_type.startswith("PAYMENT.REFUND") or event.event_type == "PAYMENT.CAPTURE.REFUNDED":
        refund_id = _provider_id(resource.get("id"))
        refund = refund_id and db.session.scalar(select(Refund).where(Refund.provider_transaction_id == refund_id))
        if refund:
            return refund
    if event.event_type.startswith("CHECKOUT.ORDER"):
        order_id = _provider_id(resource.get("id"))
    else:
        related = _object(_object(resource.get("supplementary_data")).get("related_ids"))
        order_id = _provider_id(related.get("order_id"))
    if not order_id:
        return None
    return db.session.scalar(select(Payment).where(Payment.provider == "paypal", Payment.provider_order_id == order_id))


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _provider_id(value) -> str | None:
    """A provider's id as we keep them, or None for anything else."""
    return value if isinstance(value, str) and 0 < len(value) <= 100 and not has_control(value) else None
