"""Payment providers behind one small interface, so services never speak a provider's dialect.

A provider starts a charge, answers what became of it (an authenticated lookup, never a
callback's word), and pays money back. Adapters raise :class:`ProviderError`; ``temporary`` says
whether asking again later may work (network trouble, 5xx) or not (the provider refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flask import current_app

from app.payments.rules import PROVIDER_LABELS

if TYPE_CHECKING:
    from app.payments.models import Payment, Refund


class ProviderError(Exception):
    def __init__(self, message: str, *, temporary: bool):
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class Charge:
    """What we ask a provider for."""

    reference: str  # our payment reference (uuid4), the provider's idempotency key
    order_code: str
    amount: str  # in the provider's currency, as decimal text
    currency: str
    phone: str | None  # E.164, for mobile money
    description: str
    callback_url: str
    return_url: str
    cancel_url: str


@dataclass(frozen=True)
class Started:
    status: str  # "pending" (waiting for the payer) or "failed"
    provider_order_id: str | None = None
    approve_url: str | None = None  # where the payer approves (PayPal, sandbox)
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A provider's answer about a payment or a refund."""

    status: str  # "pending", "approved" (PayPal: approved, not captured yet), "succeeded", "failed"
    amount: str | None = None
    currency: str | None = None
    external_id: str | None = None  # the order reference the provider holds for it
    transaction_id: str | None = None
    reason: str | None = None
    never_reached: bool = False  # the provider never had it: the payer declined nothing


class Provider(Protocol):
    name: str

    def start(self, charge: Charge) -> Started: ...

    def lookup(self, payment: Payment) -> Outcome: ...

    def capture(self, payment: Payment) -> Outcome: ...

    def refund(self, refund: Refund, payment: Payment) -> Outcome: ...

    def refund_status(self, refund: Refund) -> Outcome: ...


def configured() -> list[str]:
    """Online providers this deployment can use, in the order a payer sees them."""
    config = current_app.config
    names = []
    if config["MOMO_COLLECTION_USER_ID"] and config["MOMO_COLLECTION_API_KEY"]:
        names.append("momo")
    if config["PAYPAL_CLIENT_ID"] and config["PAYPAL_CLIENT_SECRET"]:
        names.append("paypal")
    if config["PAYMENTS_SANDBOX"]:
        names.append("sandbox")
    return names


def offered(company) -> list[str]:
    """What a passenger of ``company`` may pay with online."""
    return [name for name in configured() if name in (company.payment_providers or [])]


def label(name: str) -> str:
    return str(PROVIDER_LABELS.get(name, name))


def get(name: str) -> Provider:
    from app.payments.providers import cash, momo, paypal, sandbox

    adapters = {"momo": momo.MoMo, "paypal": paypal.PayPal, "sandbox": sandbox.Sandbox, "cash": cash.Cash}
    return adapters[name](current_app.config)
