"""Paying over JSON: start a payment (idempotent under the caller's ``Idempotency-Key``), read it,
settle a sandbox payment, take cash at a counter; and the providers' notification endpoints."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, g, request, url_for

from app.accounts.queries import active_memberships
from app.booking import queries as booking_queries
from app.booking.rules import ORDER_STATUSES
from app.core import tx
from app.core.errors import Forbidden, InvalidInput
from app.core.models import utcnow
from app.core.schema import Amount, Model, operation, text
from app.payments import providers, queries
from app.payments.idempotency import idempotent
from app.payments.models import Payment
from app.payments.rules import (
    CASH_ROLES,
    ONLINE_PROVIDERS,
    PAYMENT_STATUSES,
    PROVIDERS,
    REFUND_REASONS,
    REFUND_STATUSES,
)
from app.payments.services import payments, webhooks
from app.web.surface import public

blueprint = Blueprint("payments", __name__)
Decision = Literal["approve", "decline"]


class RefundOut(Model):
    reference: str
    amount: Amount
    status: Literal[REFUND_STATUSES]
    reason: Literal[REFUND_REASONS]


class PaymentOut(Model):
    reference: str
    order: str
    """The order's code"""
    provider: Literal[PROVIDERS]
    status: Literal[PAYMENT_STATUSES]
    amount: Amount
    currency: str
    provider_amount: str
    """What the provider was asked for, in its currency, exactly as sent (e.g. "4.20")"""
    provider_currency: str
    approve_url: str | None
    """PayPal: where to send the payer while the payment waits for them"""
    failure_reason: str | None
    order_status: Literal[ORDER_STATUSES]
    refunds: list[RefundOut]


class PaymentAnswer(Model):
    payment: PaymentOut


def payment_out(payment: Payment) -> PaymentAnswer:
    return PaymentAnswer(
        payment=PaymentOut(
            reference=payment.reference,
            order=payment.order.code,
            provider=payment.provider,
            status=payment.status,
            amount=payment.amount,
            currency=payment.currency,
            provider_amount=payment.provider_amount,
            provider_currency=payment.provider_currency,
            approve_url=payment.approve_url if payment.status == "pending" else None,
            failure_reason=payment.failure_reason,
            order_status=payment.order.status,
            refunds=[
                RefundOut(reference=r.reference, amount=r.amount, status=r.status, reason=r.reason)
                for r in payment.refunds
            ],
        )
    )


def provider_urls(payment: Payment) -> dict:
    """Where providers send the payer back and call us: on the public ``BASE_URL``, whatever host
    this request came in through."""
    base = current_app.config["BASE_URL"]
    return {
        "callback_url": base + url_for("api.payments.momo_callback", reference=payment.reference),
        "return_url": base + url_for("portal.payments.paypal_return", reference=payment.reference),
        "cancel_url": base + url_for("portal.payments.paypal_cancel", reference=payment.reference),
    }


class PaymentRequest(Model):
    provider: Literal[ONLINE_PROVIDERS]
    phone: text(32, min_length=0) | None = None
    """MTN MoMo: the payer's MTN number, which approves the payment"""
    amount: Amount | None = None
    """When sent, must be the order's total"""
    currency: text(3, min_length=0) | None = None
    """When sent, must be the order's currency"""
    decision: Decision | None = None
    """Sandbox only: settle the payment at once"""


@blueprint.post("/orders/<code>/payments")
@idempotent()
@operation(body=PaymentRequest, answers={201: PaymentAnswer}, errors=(404, 502))
def create_payment(code: str, body: PaymentRequest):
    """Pay for one of my orders (idempotent)

    Send an `Idempotency-Key` header (a UUID per payment attempt). The same key and body answer
    the first result again with `Idempotent-Replayed: true`; the same key with another body
    answers 422; while the first request runs, 409 with `Retry-After`. MTN MoMo needs `phone`: the
    payer approves on the phone, then the payment settles (poll GET /payments/{reference}). PayPal
    answers an `approve_url` to send the payer to. The sandbox takes `decision` to settle at once.
    """
    order = booking_queries.order_for_user(g.user, code)
    if body.decision is not None and body.provider != "sandbox":
        raise InvalidInput(fields={"decision": ["Only a sandbox payment takes a decision: approve or decline."]})
    now = utcnow()
    payment = payments.open_payment(
        g.user,
        order,
        body.provider,
        phone=body.phone or None,
        amount=body.amount,
        currency=body.currency or None,
        now=now,
    )
    tx.commit()  # the attempt and its idempotency key are on record before any provider hears of it
    payments.submit(payment, **provider_urls(payment), now=now)
    if body.decision and payment.status == "pending":
        payments.decide_sandbox(payment, body.decision, now=now)
    return payment_out(payment), 201


@blueprint.get("/payments/<reference>")
@operation(answers={200: PaymentAnswer})
def get_payment(reference: str):
    """One of my payments, with its refunds"""
    return payment_out(queries.payment_for_user(g.user, reference))


class SandboxDecision(Model):
    decision: Decision


@blueprint.post("/payments/<reference>/sandbox")
@operation(body=SandboxDecision, answers={200: PaymentAnswer})
def sandbox_decision(reference: str, body: SandboxDecision):
    """Approve or decline a sandbox payment"""
    payment = queries.payment_for_user(g.user, reference)
    if payment.provider != "sandbox":
        raise InvalidInput("Only sandbox payments are decided here.")
    payments.decide_sandbox(payment, body.decision, now=utcnow())
    return payment_out(payment)


class CashRequest(Model):
    amount: Amount
    """The order's total"""


@blueprint.post("/orders/<code>/cash")
@idempotent()
@operation(body=CashRequest, answers={201: PaymentAnswer}, errors=(403,))
def record_cash(code: str, body: CashRequest):
    """Company staff: record cash taken at a counter (idempotent)"""
    companies = {m.company_id for m in active_memberships(g.user) if m.role in CASH_ROLES}
    if not companies:
        raise Forbidden("Only company staff take cash.")
    order = booking_queries.order_for_company(companies, code)
    payment = payments.record_cash(g.user, order, amount=body.amount, now=utcnow())
    return payment_out(payment), 201


class Method(Model):
    name: Literal[ONLINE_PROVIDERS]
    label: str


class MethodList(Model):
    providers: list[Method]


@blueprint.get("/payment-methods")
@operation(answers={200: MethodList})
def payment_methods():
    """Payment methods this platform offers"""
    return MethodList(providers=[Method(name=n, label=providers.label(n)) for n in providers.configured()])


# --- Provider notifications (no bearer token; PayPal's are signature-verified) ---------------


class Received(Model):
    received: bool
    duplicate: bool
    """Delivered before: nothing more was done"""


@blueprint.post("/webhooks/paypal")
@public
@operation(body=webhooks.PayPalEvent, answers={200: Received})
def paypal_webhook(body: webhooks.PayPalEvent):
    """PayPal webhooks (signature-verified; no bearer token)

    Verified by RSA-SHA256 over `transmission id|time|webhook id|crc32(body)` with the certificate
    named in `PAYPAL-CERT-URL` (PayPal's hosts only); a webhook that does not check out answers
    400 `webhook_rejected` and nothing is kept.
    """
    event = webhooks.receive_paypal(request.headers, request.get_data(), body, request.get_json())
    return Received(received=True, duplicate=event is None)


@blueprint.route("/webhooks/momo/<reference>", methods=["PUT", "POST"])
@public
@operation(body=webhooks.MomoCallback, answers={200: Received})
def momo_callback(reference: str, body: webhooks.MomoCallback):
    """MTN MoMo callback for one payment (no bearer token)

    Unsigned, so only a trigger: the payment is then looked up at MTN with our own credentials.
    """
    event = webhooks.receive_momo(reference[:36], request.get_data(), body, request.get_json())
    return Received(received=True, duplicate=event is None)
