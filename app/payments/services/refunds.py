"""Paying money back: a refund is a record with a state, sent through the provider that took the
money (or owed in cash at a counter), and followed until the provider confirms it."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.booking.models import Order, Ticket
from app.core.jobs import enqueue
from app.extensions import db
from app.payments import providers, rules
from app.payments.models import Payment, Refund
from app.payments.providers import Outcome, ProviderError

log = logging.getLogger(__name__)


def open_refund(payment: Payment, amount: int, *, reason: str, purpose: str, ticket: Ticket | None = None, now):
    """Owe ``amount`` back on ``payment`` for ``purpose``; the same purpose twice refunds once, and
    never more than was paid."""
    existing = db.session.scalar(select(Refund).where(Refund.purpose == purpose))
    if existing is not None:
        return existing
    owed = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status != "failed"
        )
    )
    amount = min(amount, payment.amount - owed)
    if amount <= 0:
        return None
    refund = Refund(
        reference=str(uuid.uuid4()),
        purpose=purpose,
        payment_id=payment.id,
        order_id=payment.order_id,
        company_id=payment.company_id,
        ticket_id=ticket.id if ticket else None,
        reason=reason,
        status="cash_due" if payment.provider == "cash" else "pending",
        amount=amount,
        currency=payment.currency,
        provider_amount=rules.share_of(payment.provider_amount, amount, payment.amount, payment.provider_currency),
        next_check_at=None if payment.provider == "cash" else now,
    )
    db.session.add(refund)
    db.session.flush()
    if refund.status == "pending":
        from app.payments.jobs import send_refund

        enqueue("high", send_refund, refund.id)
    return refund


def refund_ticket(ticket: Ticket, *, reason: str, now: datetime) -> Refund | None:
    """Pay back what cancelling ``ticket`` left owing (its ``refund_amount``)."""
    if not ticket.refund_amount:
        return None
    payment = paying_payment(ticket.order)
    if payment is None:
        log.warning("ticket %s: no payment on record to refund %s from", ticket.code, ticket.refund_amount)
        return None
    return open_refund(
        payment, ticket.refund_amount, reason=reason, purpose=f"ticket:{ticket.id}", ticket=ticket, now=now
    )


def paying_payment(order: Order) -> Payment | None:
    """The payment that paid ``order`` (others that arrived for it were paid back whole)."""
    returned = select(Refund.payment_id).where(Refund.reason == "not_placed")
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == "succeeded", Payment.id.not_in(returned))
        .order_by(Payment.settled_at, Payment.id)
        .limit(1)
    )


def send(refund: Refund, *, now: datetime) -> Refund:
    """Ask the provider to pay ``refund`` (once: a refund already sent is only looked up)."""
    db.session.execute(select(Refund.id).where(Refund.id == refund.id).with_for_update())
    db.session.refresh(refund)
    if refund.status != "pending":
        return refund
    try:
        outcome = providers.get(refund.payment.provider).refund(refund, refund.payment)
    except ProviderError as error:
        log.warning("refund %s: %s", refund.reference, error)
        if not error.temporary:
            return apply_outcome(refund, Outcome("failed", reason=str(error)), now=now)
        # The provider may have it (our reference makes a resend harmless): look it up later.
        outcome = Outcome("pending")
    if outcome.status == "pending":
        refund.status = "sent"
        db.session.flush()
        try:  # most refunds settle within a moment: ask once now, then with backoff
            outcome = providers.get(refund.payment.provider).refund_status(refund)
        except ProviderError as error:
            log.warning("refund %s: status lookup failed (%s); asking later", refund.reference, error)
    return apply_outcome(refund, outcome, now=now)


def check(refund: Refund, *, now: datetime) -> Refund:
    if refund.status == "pending":
        return send(refund, now=now)
    if refund.status != "sent":
        return refund
    return apply_outcome(refund, providers.get(refund.payment.provider).refund_status(refund), now=now)


def apply_outcome(refund: Refund, outcome: Outcome, *, now: datetime) -> Refund:
    refund.checks += 1
    if outcome.transaction_id:
        refund.provider_transaction_id = outcome.transaction_id
    if outcome.status == "succeeded":
        refund.status, refund.settled_at, refund.next_check_at = "succeeded", now, None
        payment = refund.payment
        payment.refunded_amount = min(payment.refunded_amount + refund.amount, payment.amount)
        _update_order(refund.payment.order)
    elif outcome.status == "failed":
        refund.status, refund.settled_at, refund.next_check_at = "failed", now, None
        refund.failure_reason = outcome.reason
        log.error("ALERT refund %s failed: %s", refund.reference, outcome.reason)
    elif outcome.status == "cash_due":
        refund.status, refund.next_check_at = "cash_due", None
    else:
        refund.next_check_at = now + timedelta(seconds=rules.next_check_delay(refund.checks))
    db.session.flush()
    return refund


def pay_out_cash(refund: Refund, *, now: datetime) -> Refund:
    """Staff handed a cash refund over at the counter."""
    if refund.status == "cash_due":
        apply_outcome(refund, Outcome("succeeded"), now=now)
    return refund


def due_for_check(now: datetime, limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            select(Refund.id)
            .where(Refund.status.in_(rules.OPEN_REFUND_STATUSES), Refund.next_check_at <= now)
            .order_by(Refund.next_check_at)
            .limit(limit)
        )
    )


def _update_order(order: Order) -> None:
    """Paid orders with money returned read as refunded, in part or in whole."""
    if order.status not in ("paid", "cancelled", "partially_refunded"):
        return
    returned = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.order_id == order.id, Refund.status == "succeeded", Refund.reason != "not_placed"
        )
    )
    if returned >= order.total:
        order.status = "refunded"
    elif returned > 0:
        order.status = "partially_refunded"
