"""Cash at a counter: taken by staff (the payment is recorded as succeeded) and paid back by staff
(a refund waits as ``cash_due`` until the counter hands the money over)."""

from __future__ import annotations

from app.payments.providers import Charge, Outcome, ProviderError, Started


class Cash:
    name = "cash"

    def __init__(self, config):
        self.config = config

    def start(self, charge: Charge) -> Started:
        raise ProviderError("Cash is taken at a counter, not online.", temporary=False)

    def lookup(self, payment) -> Outcome:
        return Outcome("succeeded" if payment.status == "succeeded" else "pending")

    def capture(self, payment) -> Outcome:
        return self.lookup(payment)

    def refund(self, refund, payment) -> Outcome:
        return Outcome("cash_due")

    def refund_status(self, refund) -> Outcome:
        return Outcome("cash_due")
