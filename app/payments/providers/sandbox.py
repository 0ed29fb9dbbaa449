"""The sandbox provider: our own approve/decline page stands in for a wallet or a bank. Nothing is
charged; it exists for demos, the embedded mode and tests of everything around a provider."""

from __future__ import annotations

from flask import url_for

from app.payments.providers import Charge, Outcome, Started


class Sandbox:
    name = "sandbox"

    def __init__(self, config):
        self.config = config

    def start(self, charge: Charge) -> Started:
        return Started("pending", approve_url=url_for("portal.payments.sandbox", reference=charge.reference))

    def lookup(self, payment) -> Outcome:
        # The decision is recorded by our own page, straight on the payment: nothing to ask.
        return Outcome("pending")

    def capture(self, payment) -> Outcome:
        return Outcome("succeeded", payment.provider_amount, payment.provider_currency, payment.order.code)

    def refund(self, refund, payment) -> Outcome:
        return Outcome("succeeded", refund.provider_amount, payment.provider_currency, transaction_id=refund.reference)

    def refund_status(self, refund) -> Outcome:
        return Outcome("succeeded")
