"""Payments' refusals, each with the sentence a payer reads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class PaymentInProgress(DomainError):
    code = "payment_in_progress"
    message = _l("A payment for this booking is already under way. Approve or decline it first.")


class ProviderUnavailable(DomainError):
    status = 502
    code = "provider_unavailable"
    message = _l("We could not reach the payment provider. Nothing was charged; please try again.")
