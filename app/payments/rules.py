"""Payment rules with no database: statuses, providers, amounts in providers' currencies."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from app.accounts.rules import Role

PROVIDERS = ("momo", "paypal", "cash", "sandbox")
ONLINE_PROVIDERS = ("momo", "paypal", "sandbox")  # what a passenger may choose; cash is taken by staff
PROVIDER_LABELS = {"momo": "MTN Mobile Money", "paypal": "PayPal", "cash": _l("Cash"), "sandbox": _l("Sandbox (test)")}

# Who handles a company's money. Recording cash received for a booking waiting for payment is an
# operational act at the counter: the sum is the order's own total, fixed by the fare table, and the
# tickets are issued at once, so dispatchers on the platform and station agents may take it (each
# recording is audited with its actor). Money management (paying refunds out, the payments list
# with its totals and CSV export, payment settings) is for company admins alone.
CASH_ROLES = frozenset({Role.ADMIN, Role.DISPATCHER, Role.AGENT})
MONEY_ROLES = frozenset({Role.ADMIN})

# initiated: on record, the provider not told yet; pending: waiting for the payer; then one of the
# final states. mismatch: the provider reported figures that are not ours: never pays an order.
PAYMENT_STATUSES = ("initiated", "pending", "succeeded", "failed", "cancelled", "mismatch")
OPEN_PAYMENT_STATUSES = ("initiated", "pending")
PAYMENT_STATUS_LABELS = {
    "initiated": _l("Starting"),
    "pending": _l("Waiting for approval"),
    "succeeded": _l("Paid"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "mismatch": _l("Held for review"),
}
FINAL_PAYMENT_STATUSES = ("succeeded", "failed", "cancelled", "mismatch")

# pending: to be sent; sent: the provider accepted it and is paying out; cash_due: to be paid back
# at a counter; then succeeded or failed.
REFUND_STATUSES = ("pending", "sent", "succeeded", "failed", "cash_due")
OPEN_REFUND_STATUSES = ("pending", "sent")
REFUND_STATUS_LABELS = {
    "pending": _l("Being sent"),
    "sent": _l("Sent, waiting for the provider"),
    "succeeded": _l("Refunded"),
    "failed": _l("Failed: our staff will contact you"),
    "cash_due": _l("To collect in cash at the station"),
}
REFUND_REASONS = ("passenger_cancelled", "trip_cancelled", "not_placed")

# Polling a payment nobody told us about: soon at first, then every five minutes at most, so that a
# payment that succeeded is found within minutes even when every callback is lost; given up after
# a day (providers expire unanswered requests long before).
CHECK_DELAYS_SECONDS = (15, 30, 60, 120, 300)
# While the payer watches the payment page, a lookup at most this often.
WATCHED_CHECK_SECONDS = 5
GIVE_UP_AFTER_HOURS = 24

# Currencies without a minor unit are charged in whole units.
ZERO_DECIMAL = {"RWF", "UGX", "BIF", "JPY", "KRW", "XAF", "XOF"}


def next_check_delay(checks: int) -> int:
    return CHECK_DELAYS_SECONDS[min(checks, len(CHECK_DELAYS_SECONDS) - 1)]


def provider_amount(amount: int, currency: str, target: str, rate: Decimal) -> str:
    """``amount`` (minor units of ``currency``) in the provider's currency, as the decimal text it
    expects: whole units for zero-decimal currencies, two decimals otherwise, never below one cent."""
    units = Decimal(amount) if currency in ZERO_DECIMAL else Decimal(amount) / 100
    value = units if target == currency else units * rate
    if target in ZERO_DECIMAL:
        return str(max(value.quantize(Decimal(1), rounding=ROUND_HALF_UP), Decimal(1)))
    return str(max(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), Decimal("0.01")))


def share_of(provider_total: str, part: int, whole: int, currency: str) -> str:
    """The provider-currency amount for ``part`` of a payment of ``whole`` (both in our minor units)."""
    if part >= whole:
        return provider_total
    total = Decimal(provider_total)
    step = Decimal(1) if currency in ZERO_DECIMAL else Decimal("0.01")
    return str(max((total * part / whole).quantize(step, rounding=ROUND_HALF_UP), step))


def same_amount(ours: str, theirs: str | None) -> bool:
    try:
        return theirs is not None and Decimal(ours) == Decimal(str(theirs))
    except ArithmeticError:
        return False
