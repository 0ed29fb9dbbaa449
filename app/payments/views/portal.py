"""Paying on the portal: choose a method, approve (on the phone, on PayPal, or on our sandbox
page), and watch the payment settle without reloading.

Reading a page never changes anything (a reload or a link prefetch may repeat any GET): the
payment page asks for a lookup with a POST poll, and the providers' returns, which arrive as GETs,
act only through services that are safe to repeat."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, url_for
from flask_babel import gettext as _

from app.booking import queries as booking_queries
from app.booking.models import Order
from app.core import tx
from app.core.errors import DomainError, InvalidInput
from app.core.htmx import is_htmx, render
from app.core.jobs import enqueue
from app.core.models import utcnow
from app.payments import providers, queries
from app.payments.forms import PayForm, SandboxForm
from app.payments.idempotency import idempotent
from app.payments.jobs import check_payment
from app.payments.models import Payment
from app.payments.services import payments
from app.payments.views.api import provider_urls
from app.web.surface import guests_welcome

blueprint = Blueprint("payments", __name__)
POLL_SECONDS = 2


def _pay_page(order: Order, form: PayForm, *, status: int = 200, error: str | None = None):
    now = utcnow()
    if not form.is_submitted():
        form.phone.data = g.user.phone or order.contact_phone
    form.idempotency_key.data = f"pay-{order.code}-{len(queries.payments_of_order(order)) + 1}"
    return render(
        "payments/portal/pay.html",
        order=order,
        form=form,
        error=error,
        open_payment=next(iter(payments.open_payments(order)), None),
        last_failed=payments.last_failed(order),
        seconds_left=max(int((order.expires_at - now).total_seconds()), 0) if order.expires_at else 0,
        status=status,
    )


def _methods(order: Order) -> dict[str, str]:
    return {name: providers.label(name) for name in providers.offered(payments.order_company(order))}


@blueprint.get("/orders/<code>/pay")
@guests_welcome
def pay(code: str):
    order = booking_queries.order_for_user(g.user, code)
    if order.status != "pending":
        return redirect(url_for("portal.booking.order", code=order.code), 303)
    form = PayForm()
    form.provider.choices = _methods(order)
    return _pay_page(order, form)


@blueprint.post("/orders/<code>/pay")
@guests_welcome
@idempotent(wait=10)
def start(code: str):
    order = booking_queries.order_for_user(g.user, code)
    form = PayForm()
    form.provider.choices = _methods(order)
    if not form.validate_on_submit():
        return _pay_page(order, form, status=422)
    now = utcnow()
    try:
        payment = payments.open_payment(g.user, order, form.provider.data, phone=form.phone.data, now=now)
    except InvalidInput as error:
        tx.rollback()
        for name, messages in error.fields.items():
            getattr(form, name, form.provider).errors = list(messages)
        return _pay_page(order, form, status=422)
    except DomainError as error:
        tx.rollback()
        return _pay_page(order, form, status=error.status, error=error.message)
    tx.commit()  # the attempt and its idempotency key are on record before the provider hears of it
    payments.submit(payment, **provider_urls(payment), now=now)
    if payment.status == "pending" and payment.approve_url:
        return redirect(payment.approve_url, 303)
    return redirect(url_for(".status", reference=payment.reference), 303)


def _status_page(payment: Payment) -> Response:
    if not payment.is_open and is_htmx():
        retry = payment.status != "succeeded" and payment.order.status == "pending"  # seats still kept: try again
        target = (
            url_for(".pay", code=payment.order.code)
            if retry
            else url_for("portal.booking.order", code=payment.order.code)
        )
        return Response(status=200, headers={"HX-Redirect": target})
    return render("payments/portal/status.html", "payment_status", payment=payment, poll=POLL_SECONDS)


@blueprint.get("/payments/<reference>")
@guests_welcome
def status(reference: str):
    """The payment as it stands."""
    return _status_page(queries.payment_for_user(g.user, reference))


@blueprint.post("/payments/<reference>")
@guests_welcome
def poll(reference: str):
    """The open payment page polls here (htmx, every few seconds): when a lookup is due, ask the
    provider ourselves (a callback may be lost); once the payment settles the page moves on."""
    payment = queries.payment_for_user(g.user, reference)
    if payments.lookup_due(payment, now=utcnow()):
        enqueue("high", check_payment, payment.id)
    return _status_page(payment)


@blueprint.route("/payments/<reference>/sandbox", methods=["GET", "POST"])
@guests_welcome
def sandbox(reference: str):
    """The sandbox provider's own page: approve or decline, as a wallet or a bank would ask."""
    payment = queries.payment_for_user(g.user, reference)
    if payment.provider != "sandbox":
        abort(404)
    form = SandboxForm()
    if payment.status == "pending" and form.validate_on_submit():
        decision = "approve" if form.decision.data == "approve" else "decline"
        payments.decide_sandbox(payment, decision, now=utcnow())
        if payment.status == "succeeded" and payment.order.status == "paid":
            flash(_("Payment approved. Your tickets are ready."), "success")
        elif payment.status == "failed" and payment.order.status == "pending":
            return redirect(url_for(".pay", code=payment.order.code), 303)  # the page says so, with the time left
        return redirect(url_for("portal.booking.order", code=payment.order.code), 303)
    if payment.status != "pending":
        return redirect(url_for("portal.booking.order", code=payment.order.code), 303)
    return render(
        "payments/portal/sandbox.html", payment=payment, form=form, company=payments.order_company(payment.order)
    )


# PayPal sends the payer back with a GET: these two may act, through services safe to repeat.


@blueprint.get("/payments/<reference>/paypal/return")
@guests_welcome
def paypal_return(reference: str):
    """Back from PayPal after approving: capture now (the reconciliation job would otherwise)."""
    payment = payments.payer_returned(queries.payment_for_user(g.user, reference), now=utcnow())
    if payment.status == "succeeded" and payment.order.status == "paid":
        flash(_("Payment received. Your tickets are ready."), "success")
    return redirect(url_for("portal.booking.order", code=payment.order.code), 303)


@blueprint.get("/payments/<reference>/paypal/cancel")
@guests_welcome
def paypal_cancel(reference: str):
    payment = payments.payer_cancelled_on_provider(queries.payment_for_user(g.user, reference), now=utcnow())
    if payment.provider == "paypal" and payment.status == "cancelled":
        flash(_("You cancelled the PayPal payment. Nothing was charged; choose how to pay."), "info")
    return redirect(url_for(".pay", code=payment.order.code), 303)
