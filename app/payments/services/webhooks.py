"""Provider notifications: verified where the provider signs them, stored once per provider event
id, answered 2xx once stored, then processed by a job. A notification is a trigger, never proof:
processing looks the payment up with our own credentials and compares amount, currency and order."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.errors import InvalidInput, NotFound
from app.core.jobs import enqueue
from app.extensions import db
from app.payments.models import Payment, Refund, WebhookEvent
from app.payments.providers.paypal import PayPal
from app.payments.services import payments, refunds


def receive_paypal(headers, raw_body: bytes) -> WebhookEvent | None:
    """Verify and store a PayPal webhook; None when it was delivered before. Raises
    ``WebhookRejected`` when the signature does not check out: nothing is stored then."""
    PayPal(current_app.config).verify_webhook(headers, raw_body)
    try:
        event = json.loads(raw_body)
    except ValueError as error:
        raise InvalidInput("The webhook body is not JSON.") from error
    if not isinstance(event, dict) or not event.get("id") or not event.get("event_type"):
        raise InvalidInput("The webhook has no event id or type.")
    return _store("paypal", str(event["id"])[:100], str(event["event_type"])[:60], event)


def receive_momo(reference: str, raw_body: bytes) -> WebhookEvent | None:
    """Store an MTN MoMo callback for one of our payments (they are unsigned: it only triggers a
    status lookup). Identical repeats are stored once."""
    payment = db.session.scalar(select(Payment).where(Payment.reference == reference, Payment.provider == "momo"))
    if payment is None:
        raise NotFound("No such payment.")
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError:
        body = {"raw": raw_body[:2000].decode(errors="replace")}
    event_id = f"{reference}:{hashlib.sha256(raw_body).hexdigest()[:16]}"
    status = body.get("status") if isinstance(body, dict) else None
    return _store("momo", event_id, f"requesttopay.{str(status or 'unknown').lower()}"[:60], body)


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
    resource = event.payload.get("resource") or {}
    if event.event_type.startswith("PAYMENT.REFUND") or event.event_type == "PAYMENT.CAPTURE.REFUNDED":
        refund = db.session.scalar(select(Refund).where(Refund.provider_transaction_id == str(resource.get("id"))))
        if refund is not None:
            return refund
    if event.event_type.startswith("CHECKOUT.ORDER"):
        order_id = resource.get("id")
    else:
        order_id = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
    if not order_id:
        return None
    return db.session.scalar(
        select(Payment).where(Payment.provider == "paypal", Payment.provider_order_id == str(order_id))
    )
