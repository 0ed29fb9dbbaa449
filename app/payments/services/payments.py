"""A payment's life: opened for an order, sent to its provider, settled only on the provider's own
word (a lookup with our credentials, a capture, or our sandbox page), and placed on its order.

Money that arrives for an order that can no longer take it (time ran out and the seats went, the
trip was cancelled, or another payment already paid) is paid back automatically: nothing is lost."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.rules import normalize_phone
from app.audit.services import record
from app.booking.errors import OrderNotPayable
from app.booking.models import Order
from app.booking.services import orders
from app.core import events
from app.core.errors import InvalidInput
from app.core.i18n import N_, money
from app.extensions import db
from app.payments import providers, rules
from app.payments.errors import PaymentInProgress
from app.payments.models import Payment
from app.payments.providers import Charge, Outcome, ProviderError

log = logging.getLogger(__name__)
MTN_RWANDA_PREFIXES = ("+25078", "+25079")
TOO_LATE = N_("The booking's time to pay ran out before the payment was approved.")


def momo_phone(raw: str | None) -> str:
    """The payer's MTN number in E.164, or a field error a payer understands."""
    try:
        phone = normalize_phone(raw or "")
    except ValueError as error:
        raise InvalidInput(fields={"phone": [str(error)]}) from error
    number = phonenumbers.parse(phone)
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidInput(fields={"phone": [_("Give the mobile number of the MTN Mobile Money account.")]})
    if phone.startswith("+250") and not phone.startswith(MTN_RWANDA_PREFIXES):
        raise InvalidInput(fields={"phone": [_("This is not an MTN number: MTN numbers start with 078 or 079.")]})
    return phone


def open_payment(
    user, order: Order, provider: str, *, phone: str | None = None, amount=None, currency=None, now: datetime
) -> Payment:
    """Put an attempt to pay ``order`` on record before any provider hears of it. A passenger may
    switch methods: an attempt nobody approved yet (PayPal, sandbox) is dropped; a mobile money
    request already on the payer's phone must be answered or time out first."""
    company = order_company(order)
    if provider not in providers.offered(company):
        names = ", ".join(providers.offered(company)) or _("none")
        raise InvalidInput(
            fields={"provider": [_("Unknown or unavailable payment method. Choose one of: %(names)s.", names=names)]}
        )
    phone = momo_phone(phone) if provider == "momo" else None
    if amount is not None and (amount != order.total or (currency or order.currency) != order.currency):
        costs = money(order.total, order.currency)
        raise InvalidInput(
            _("The amount does not match this booking: it costs %(total)s.", total=costs),
            fields={"amount": [_("This booking costs %(total)s.", total=costs)]},
        )
    if order.total == 0:
        raise InvalidInput(fields={"provider": [_("This booking costs nothing: there is nothing to pay.")]})
    if order.status != "pending" or (order.expires_at is not None and order.expires_at <= now):
        raise OrderNotPayable(_("This booking is already paid.") if order.status == "paid" else OrderNotPayable.message)
    for earlier in open_payments(order):
        if earlier.provider == "momo" or earlier.status == "initiated":
            raise PaymentInProgress(
                _("A mobile money request for this booking is waiting on your phone. Approve or decline it first.")
                if earlier.provider == "momo"
                else PaymentInProgress.message
            )
        earlier.status, earlier.failure_reason = "cancelled", N_("Replaced by another payment attempt.")
    target, rate = _provider_currency(provider, order.currency)
    payment = Payment(
        reference=str(uuid.uuid4()),
        order_id=order.id,
        company_id=order.company_id,
        user_id=getattr(user, "id", None),
        provider=provider,
        status="initiated",
        amount=order.total,
        currency=order.currency,
        provider_amount=rules.provider_amount(order.total, order.currency, target, rate),
        provider_currency=target,
        payer_phone=phone,
        next_check_at=now + timedelta(seconds=rules.next_check_delay(0)),
    )
    try:
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError as error:  # another attempt for this order got in first
        raise PaymentInProgress() from error
    return payment


def submit(payment: Payment, *, callback_url: str, return_url: str, cancel_url: str, now: datetime) -> Payment:
    """Tell the provider. Call it after the payment is committed, outside any lock: providers are
    slow. A provider that cannot be reached leaves nothing charged (PayPal and the sandbox need the
    payer's approval first); a mobile money request that may have arrived is looked up later."""
    order = payment.order
    charge = Charge(
        reference=payment.reference,
        order_code=order.code,
        amount=payment.provider_amount,
        currency=payment.provider_currency,
        phone=payment.payer_phone,
        description=f"Bus tickets, order {order.code}",
        callback_url=callback_url,
        return_url=return_url,
        cancel_url=cancel_url,
    )
    try:
        started = providers.get(payment.provider).start(charge)
    except ProviderError as error:
        log.warning("payment %s: %s", payment.reference, error)
        if payment.provider == "momo" and error.temporary:
            payment.status = "pending"  # it may have reached MTN: the lookup will tell
            payment.next_check_at = now + timedelta(seconds=rules.next_check_delay(0))
        else:
            payment.status, payment.failure_reason = "failed", N_("The payment provider could not be reached.")
        db.session.flush()
        return payment
    payment.status, payment.failure_reason = started.status, started.reason
    payment.provider_order_id, payment.approve_url = started.provider_order_id, started.approve_url
    db.session.flush()
    return payment


def check(payment: Payment, *, now: datetime) -> Payment:
    """Ask the provider what became of ``payment`` and act on the answer (the reconciliation job,
    callbacks and webhooks all end here)."""
    if payment.status in rules.FINAL_PAYMENT_STATUSES:
        return payment
    provider = providers.get(payment.provider)
    if payment.provider == "paypal" and not payment.provider_order_id:
        outcome = Outcome("failed", reason=N_("The order never reached PayPal."), never_reached=True)
    else:
        outcome = provider.lookup(payment)
    if outcome.status == "approved":
        outcome = provider.capture(payment) if _can_take(payment, now) else Outcome("cancelled", reason=TOO_LATE)
    elif outcome.status == "pending" and payment.provider != "momo" and not _can_take(payment, now):
        outcome = Outcome("cancelled", reason=TOO_LATE)  # nobody approved it in time: no money moved
    return apply_outcome(payment, outcome, now=now)


def apply_outcome(payment: Payment, outcome: Outcome, *, now: datetime) -> Payment:
    """Move ``payment`` on the provider's word. Settled payments never move again, so a callback
    or webhook delivered ten times changes things once."""
    db.session.execute(select(Payment.id).where(Payment.id == payment.id).with_for_update())
    db.session.refresh(payment)
    if payment.status in rules.FINAL_PAYMENT_STATUSES:
        return payment
    payment.checks += 1
    if outcome.status == "succeeded":
        if not _matches(payment, outcome):
            payment.status, payment.settled_at = "mismatch", now
            payment.failure_reason = (
                f"The provider reported {outcome.amount} {outcome.currency} for {outcome.external_id}; "
                f"we asked {payment.provider_amount} {payment.provider_currency} for {_external_id(payment)}."
            )
            log.error("ALERT payment %s not applied: %s", payment.reference, payment.failure_reason)
            db.session.flush()
            return payment
        payment.status, payment.settled_at = "succeeded", now
        payment.provider_transaction_id = outcome.transaction_id or payment.provider_transaction_id
        payment.next_check_at = None
        db.session.flush()
        _place(payment, now)
    elif outcome.status in ("failed", "cancelled"):
        payment.status, payment.settled_at, payment.next_check_at = outcome.status, now, None
        payment.failure_reason = outcome.reason or payment.failure_reason
        db.session.flush()
        order = payment.order
        # Declined: the order keeps its seats until its time runs out, so the payer can try again
        # or choose another method; the expiry then frees them as for any unpaid order.
        declined = outcome.status == "failed" and not outcome.never_reached
        if declined:
            events.emit(
                "payment.failed",
                {
                    "payment_id": payment.id,
                    "order_id": order.id,
                    "amount": payment.amount,
                    "currency": payment.currency,
                    "provider": payment.provider,
                    "reason": payment.failure_reason,
                },
                company_id=payment.company_id,
                trip_id=order.trip_id,
            )
    elif payment.created_at <= now - timedelta(hours=rules.GIVE_UP_AFTER_HOURS):
        payment.status, payment.settled_at, payment.next_check_at = "failed", now, None
        payment.failure_reason = f"No answer from the provider within {rules.GIVE_UP_AFTER_HOURS} hours."
    else:
        if payment.status == "initiated" and outcome.status == "pending":
            payment.status = "pending"
        payment.next_check_at = now + timedelta(seconds=rules.next_check_delay(payment.checks))
    db.session.flush()
    return payment


def payer_returned(payment: Payment, *, now: datetime) -> Payment:
    """The payer came back from approving on the provider's page (PayPal's return URL). Providers
    send people back with a GET, which a reload, the back button or a prefetch can repeat, so this
    only asks the provider and acts on its word (capturing an approved PayPal order), as the
    reconciliation job would: safe to repeat, and a settled payment is left as it is."""
    if payment.provider == "paypal" and payment.is_open:
        check(payment, now=now)
    return payment


def payer_cancelled_on_provider(payment: Payment, *, now: datetime) -> Payment:
    """The payer turned back on the provider's page (PayPal's cancel URL, also a GET). We capture a
    PayPal order ourselves, so nothing was taken: a payment still waiting for the payer ends
    cancelled and the order keeps its seats for another try. Safe to repeat; a payment that settled
    meanwhile (approved and captured in another tab) is left as it is."""
    if payment.provider == "paypal" and payment.status == "pending":
        apply_outcome(payment, Outcome("cancelled", reason=N_("Cancelled on PayPal.")), now=now)
    return payment


def lookup_due(payment: Payment, *, now: datetime) -> bool:
    """The payer is watching the payment page: claim a lookup with the provider when one is due (a
    callback may be lost) and move the next one ``rules.WATCHED_CHECK_SECONDS`` on, in one
    conditional update, so open tabs and repeated polls ask for one lookup at a time. True when the
    caller should enqueue it."""
    claimed = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_(rules.OPEN_PAYMENT_STATUSES),
            Payment.next_check_at <= now,
        )
        .values(next_check_at=now + timedelta(seconds=rules.WATCHED_CHECK_SECONDS))
        .returning(Payment.id)
    ).scalar()
    return claimed is not None


def decide_sandbox(payment: Payment, decision: str, *, now: datetime) -> Payment:
    """Our sandbox page stands in for the provider: its decision is the provider's word."""
    if decision == "approve":
        outcome = Outcome("succeeded", payment.provider_amount, payment.provider_currency, _external_id(payment))
    else:
        outcome = Outcome("failed", reason=N_("Declined in the sandbox."))
    return apply_outcome(payment, outcome, now=now)


def record_cash(actor, order: Order, *, amount: int, now: datetime) -> Payment:
    """Staff took ``amount`` in cash for ``order`` at a counter: the tickets are issued at once, and
    the audit log says who took it. Callers check the actor is one of ``rules.CASH_ROLES`` of the
    order's company."""
    if amount != order.total:
        raise InvalidInput(
            fields={"amount": [_("This booking costs %(total)s.", total=money(order.total, order.currency))]}
        )
    if not orders.accept_payment(order, now=now):
        raise OrderNotPayable(_("These seats are no longer available: do not take the money."))
    payment = Payment(
        reference=str(uuid.uuid4()),
        order_id=order.id,
        company_id=order.company_id,
        user_id=order.user_id,
        recorded_by_id=actor.id,
        provider="cash",
        status="succeeded",
        amount=amount,
        currency=order.currency,
        provider_amount=str(amount),
        provider_currency=order.currency,
        settled_at=now,
    )
    db.session.add(payment)
    db.session.flush()
    record(actor, "payment.cash", payment, f"Cash {amount} for order {order.code}", company_id=order.company_id)
    return payment


def last_failed(order: Order) -> Payment | None:
    """The order's latest attempt, if it was declined or failed (the pay page says so)."""
    latest = db.session.scalar(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()).limit(1))
    return latest if latest is not None and latest.status == "failed" else None


def open_payments(order: Order) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment).where(Payment.order_id == order.id, Payment.status.in_(rules.OPEN_PAYMENT_STATUSES))
        )
    )


def due_for_check(now: datetime, limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            select(Payment.id)
            .where(Payment.status.in_(rules.OPEN_PAYMENT_STATUSES), Payment.next_check_at <= now)
            .order_by(Payment.next_check_at)
            .limit(limit)
        )
    )


def order_company(order: Order):
    from app.companies.models import Company

    return db.session.get(Company, order.company_id)


def _provider_currency(provider: str, currency: str):
    config = current_app.config
    if provider == "momo":
        return config["MOMO_CURRENCY"], config["MOMO_RATE"]
    if provider == "paypal":
        return config["PAYPAL_CURRENCY"], config["PAYPAL_RATE"]
    return currency, 1


def _external_id(payment: Payment) -> str:
    # What the provider holds as the order's reference: MoMo's externalId is our order code;
    # PayPal's custom_id is our payment reference.
    return payment.reference if payment.provider == "paypal" else payment.order.code


def _matches(payment: Payment, outcome: Outcome) -> bool:
    return (
        rules.same_amount(payment.provider_amount, outcome.amount)
        and (outcome.currency or "").upper() == payment.provider_currency
        and outcome.external_id == _external_id(payment)
    )


def _can_take(payment: Payment, now: datetime) -> bool:
    """Capture an approved PayPal order only while its booking can still be paid."""
    order = payment.order
    return order.status == "pending" and (order.expires_at is None or order.expires_at > now)


def _place(payment: Payment, now: datetime) -> None:
    from app.payments.services import refunds

    order = payment.order
    if order.status == "paid" or not orders.accept_payment(order, now=now):
        log.warning("payment %s arrived for order %s (%s): refunding", payment.reference, order.code, order.status)
        refunds.open_refund(payment, payment.amount, reason="not_placed", purpose=f"payment:{payment.id}", now=now)
