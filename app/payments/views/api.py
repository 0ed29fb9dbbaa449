"""Paying over JSON: start a payment (idempotent under the caller's ``Idempotency-Key``), read it,
settle a sandbox payment, take cash at a counter; and the providers' notification endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request, url_for

from app.accounts.queries import active_memberships
from app.booking import queries as booking_queries
from app.core import tx
from app.core.api import json_body
from app.core.errors import Forbidden, InvalidInput
from app.core.models import utcnow
from app.payments import providers, queries
from app.payments.idempotency import idempotent
from app.payments.models import Payment
from app.payments.providers.paypal import WebhookRejected
from app.payments.rules import CASH_ROLES, PROVIDERS
from app.payments.services import payments, webhooks
from app.web.surface import public

blueprint = Blueprint("payments", __name__)


def payment_json(payment: Payment) -> dict:
    return {
        "reference": payment.reference,
        "order": payment.order.code,
        "provider": payment.provider,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "provider_amount": payment.provider_amount,
        "provider_currency": payment.provider_currency,
        "approve_url": payment.approve_url if payment.status == "pending" else None,
        "failure_reason": payment.failure_reason,
        "order_status": payment.order.status,
        "refunds": [
            {"reference": r.reference, "amount": r.amount, "status": r.status, "reason": r.reason}
            for r in payment.refunds
        ],
    }


def provider_urls(payment: Payment) -> dict:
    """Where providers send the payer back and call us: on the public ``BASE_URL``, whatever host
    this request came in through."""
    base = current_app.config["BASE_URL"]
    return {
        "callback_url": base + url_for("api.payments.momo_callback", reference=payment.reference),
        "return_url": base + url_for("portal.payments.paypal_return", reference=payment.reference),
        "cancel_url": base + url_for("portal.payments.paypal_cancel", reference=payment.reference),
    }


@blueprint.post("/orders/<code>/payments")
@idempotent()
def create_payment(code: str):
    """``{"provider": "momo"|"paypal"|"sandbox", "phone"?, "amount"?, "currency"?, "decision"?}``.
    ``amount``/``currency``, when sent, must be the order's; ``decision`` settles a sandbox payment
    at once (approve or decline)."""
    order = booking_queries.order_for_user(g.user, code)
    body = json_body(provider=(str, 20))
    raw = request.get_json()
    if body["provider"] not in PROVIDERS or body["provider"] == "cash":
        raise InvalidInput(fields={"provider": [f"Unknown payment method {body['provider'][:20]!r}."]})
    amount = raw.get("amount")
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
        raise InvalidInput(fields={"amount": ["Must be an integer in minor units (RWF has none: 5000)."]})
    decision = raw.get("decision")
    if decision is not None and (body["provider"] != "sandbox" or decision not in ("approve", "decline")):
        raise InvalidInput(fields={"decision": ["Only a sandbox payment takes a decision: approve or decline."]})
    now = utcnow()
    payment = payments.open_payment(
        g.user,
        order,
        body["provider"],
        phone=raw.get("phone") if isinstance(raw.get("phone"), str) else None,
        amount=amount,
        currency=raw.get("currency") if isinstance(raw.get("currency"), str) else None,
        now=now,
    )
    tx.commit()  # the attempt and its idempotency key are on record before any provider hears of it
    payments.submit(payment, **provider_urls(payment), now=now)
    if decision and payment.status == "pending":
        payments.decide_sandbox(payment, decision, now=now)
    return jsonify(payment=payment_json(payment)), 201


@blueprint.get("/payments/<reference>")
def get_payment(reference: str):
    return jsonify(payment=payment_json(queries.payment_for_user(g.user, reference)))


@blueprint.post("/payments/<reference>/sandbox")
def sandbox_decision(reference: str):
    """The sandbox provider's approve/decline, for API clients: ``{"decision": "approve"|"decline"}``."""
    payment = queries.payment_for_user(g.user, reference)
    body = json_body(decision=(str, 10))
    if body["decision"] not in ("approve", "decline"):
        raise InvalidInput(fields={"decision": ["Say approve or decline."]})
    if payment.provider != "sandbox":
        raise InvalidInput("Only sandbox payments are decided here.")
    payments.decide_sandbox(payment, body["decision"], now=utcnow())
    return jsonify(payment=payment_json(payment))


@blueprint.post("/orders/<code>/cash")
@idempotent()
def record_cash(code: str):
    """Company staff took cash at a counter: ``{"amount": 5000}`` (the order's total)."""
    companies = {m.company_id for m in active_memberships(g.user) if m.role in CASH_ROLES}
    if not companies:
        raise Forbidden("Only company staff take cash.")
    order = booking_queries.order_for_company(companies, code)
    body = json_body(amount=(int, 0))
    payment = payments.record_cash(g.user, order, amount=body["amount"], now=utcnow())
    return jsonify(payment=payment_json(payment)), 201


@blueprint.get("/payment-methods")
def payment_methods():
    return jsonify(providers=[{"name": n, "label": providers.label(n)} for n in providers.configured()])


# --- Provider notifications (no bearer token; PayPal's are signature-verified) ---------------


@blueprint.post("/webhooks/paypal")
@public
def paypal_webhook():
    try:
        event = webhooks.receive_paypal(request.headers, request.get_data())
    except WebhookRejected as error:
        return jsonify(error={"code": "webhook_rejected", "message": str(error), "fields": {}}), 400
    return jsonify(received=True, duplicate=event is None), 200


@blueprint.route("/webhooks/momo/<reference>", methods=["PUT", "POST"])
@public
def momo_callback(reference: str):
    event = webhooks.receive_momo(reference[:36], request.get_data())
    return jsonify(received=True, duplicate=event is None), 200
