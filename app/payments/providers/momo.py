"""MTN Mobile Money: Collections (request to pay, status lookup) and Disbursements (refunds).

The payer approves on their phone; MTN may call us back once, unsigned, so a callback only makes us
look the payment up with our own credentials. Amounts travel as decimal text in ``MOMO_CURRENCY``
(the MTN sandbox takes only EUR)."""

from __future__ import annotations

import base64

from app.payments.providers import Charge, Outcome, ProviderError, Started
from app.payments.providers.http import cached_token, call, forget_token, json_of

MOMO_STATUSES = {"PENDING": "pending", "SUCCESSFUL": "succeeded", "FAILED": "failed"}


class MoMo:
    name = "momo"

    def __init__(self, config):
        self.base = config["MOMO_BASE_URL"]
        self.environment = config["MOMO_TARGET_ENVIRONMENT"]
        self.timeout = config["PAYMENT_TIMEOUT_SECONDS"]
        self.products = {
            "collection": (
                config["MOMO_COLLECTION_USER_ID"],
                config["MOMO_COLLECTION_API_KEY"],
                config["MOMO_COLLECTION_SUBSCRIPTION_KEY"],
            ),
            "disbursement": (
                config["MOMO_DISBURSEMENT_USER_ID"] or config["MOMO_COLLECTION_USER_ID"],
                config["MOMO_DISBURSEMENT_API_KEY"] or config["MOMO_COLLECTION_API_KEY"],
                config["MOMO_DISBURSEMENT_SUBSCRIPTION_KEY"] or config["MOMO_COLLECTION_SUBSCRIPTION_KEY"],
            ),
        }

    # --- plumbing ---

    def _token(self, product: str) -> str:
        user, key, subscription = self.products[product]

        def fetch():
            basic = base64.b64encode(f"{user}:{key}".encode()).decode()
            response = call(
                "POST",
                f"{self.base}/{product}/token/",
                timeout=self.timeout,
                headers={"Authorization": f"Basic {basic}", "Ocp-Apim-Subscription-Key": subscription},
            )
            body = json_of(response)
            if response.status_code != 200 or "access_token" not in body:
                raise ProviderError(f"MTN MoMo refused a {product} token ({response.status_code})", temporary=True)
            return body["access_token"], body.get("expires_in", 3600)

        return cached_token(f"momo:{product}", fetch)

    def _request(self, method: str, product: str, path: str, *, reference: str | None = None, **kwargs):
        headers = {
            "Authorization": f"Bearer {self._token(product)}",
            "X-Target-Environment": self.environment,
            "Ocp-Apim-Subscription-Key": self.products[product][2],
            **kwargs.pop("headers", {}),
        }
        if reference:
            headers["X-Reference-Id"] = reference
        try:
            return call(method, f"{self.base}/{product}{path}", timeout=self.timeout, headers=headers, **kwargs)
        except ProviderError:
            forget_token(f"momo:{product}")  # an expired token reads as 401: fetch a new one next time
            raise

    @staticmethod
    def _outcome(body: dict) -> Outcome:
        status = MOMO_STATUSES.get(str(body.get("status", "")).upper())
        if status is None:
            raise ProviderError(f"MTN MoMo answered an unknown status {body.get('status')!r}", temporary=True)
        reason = body.get("reason")
        if isinstance(reason, dict):  # older API versions answer {"code", "message"}
            reason = reason.get("code") or reason.get("message")
        return Outcome(
            status,
            amount=body.get("amount"),
            currency=body.get("currency"),
            external_id=body.get("externalId"),
            transaction_id=body.get("financialTransactionId"),
            reason=reason,
        )

    # --- payments ---

    def start(self, charge: Charge) -> Started:
        if not charge.phone:
            raise ProviderError("MTN MoMo needs the payer's phone number.", temporary=False)
        response = self._request(
            "POST",
            "collection",
            "/v1_0/requesttopay",
            reference=charge.reference,
            headers={"X-Callback-Url": charge.callback_url},
            json={
                "amount": charge.amount,
                "currency": charge.currency,
                "externalId": charge.order_code,
                "payer": {"partyIdType": "MSISDN", "partyId": charge.phone.lstrip("+")},
                "payerMessage": charge.description[:160],
                "payeeNote": f"TMS order {charge.order_code}",
            },
        )
        if response.status_code == 202:
            return Started("pending")
        if response.status_code == 409:  # our reference is already there: the first request arrived
            return Started("pending")
        body = json_of(response)
        reason = body.get("message") or body.get("code") or f"HTTP {response.status_code}"
        return Started("failed", reason=f"MTN MoMo refused the request: {reason}")

    def lookup(self, payment) -> Outcome:
        response = self._request("GET", "collection", f"/v1_0/requesttopay/{payment.reference}")
        if response.status_code == 404:
            return Outcome("failed", reason="MTN MoMo has no such request: it never reached them.", never_reached=True)
        if response.status_code != 200:
            raise ProviderError(f"MTN MoMo status lookup answered {response.status_code}", temporary=True)
        return self._outcome(json_of(response))

    def capture(self, payment) -> Outcome:
        return self.lookup(payment)  # mobile money settles when the payer approves; nothing to capture

    # --- refunds ---

    def refund(self, refund, payment) -> Outcome:
        response = self._request(
            "POST",
            "disbursement",
            "/v2_0/refund",
            reference=refund.reference,
            json={
                "amount": refund.provider_amount,
                "currency": payment.provider_currency,
                "externalId": payment.order.code,
                "payerMessage": f"Refund for TMS order {payment.order.code}",
                "payeeNote": f"Refund {refund.reference}",
                "referenceIdToRefund": payment.reference,
            },
        )
        if response.status_code in (202, 409):
            return Outcome("pending")
        body = json_of(response)
        return Outcome("failed", reason=f"MTN MoMo refused the refund: {body.get('message') or body.get('code')}")

    def refund_status(self, refund) -> Outcome:
        response = self._request("GET", "disbursement", f"/v1_0/refund/{refund.reference}")
        if response.status_code == 404:
            return Outcome("failed", reason="MTN MoMo has no such refund.")
        if response.status_code != 200:
            raise ProviderError(f"MTN MoMo refund lookup answered {response.status_code}", temporary=True)
        return self._outcome(json_of(response))
