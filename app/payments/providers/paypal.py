"""PayPal Orders v2: create an order, the payer approves on PayPal, we capture; refunds by capture.

PayPal has no RWF, so orders are charged in ``PAYPAL_CURRENCY`` at ``PAYPAL_RATE`` and both
amounts are kept. Webhooks are verified with PayPal's signing certificate, fetched only from the
origins in ``PAYPAL_CERT_ORIGINS``."""

from __future__ import annotations

import base64
import binascii
import zlib
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.core.errors import DomainError
from app.extensions import redis
from app.payments.providers import Charge, Outcome, ProviderError, Started
from app.payments.providers.http import cached_token, call, forget_token, json_of

ORDER_STATUSES = {
    "CREATED": "pending",
    "SAVED": "pending",
    "PAYER_ACTION_REQUIRED": "pending",
    "APPROVED": "approved",
    "VOIDED": "failed",
}
CAPTURE_STATUSES = {"COMPLETED": "succeeded", "PENDING": "pending", "DECLINED": "failed", "FAILED": "failed"}


class WebhookRejected(DomainError):
    """A webhook whose signature, certificate or shape does not check out: 400, nothing stored."""

    status = 400
    code = "webhook_rejected"


class PayPal:
    name = "paypal"

    def __init__(self, config):
        self.base = config["PAYPAL_BASE_URL"]
        self.client_id = config["PAYPAL_CLIENT_ID"]
        self.secret = config["PAYPAL_CLIENT_SECRET"]
        self.webhook_id = config["PAYPAL_WEBHOOK_ID"]
        self.cert_origins = config["PAYPAL_CERT_ORIGINS"]
        self.timeout = config["PAYMENT_TIMEOUT_SECONDS"]

    def _token(self) -> str:
        def fetch():
            response = call(
                "POST",
                f"{self.base}/v1/oauth2/token",
                timeout=self.timeout,
                auth=(self.client_id, self.secret),
                data={"grant_type": "client_credentials"},
            )
            body = json_of(response)
            if response.status_code != 200 or "access_token" not in body:
                raise ProviderError(f"PayPal refused a token ({response.status_code})", temporary=True)
            return body["access_token"], body.get("expires_in", 3600)

        return cached_token("paypal", fetch)

    def _request(self, method: str, path: str, *, request_id: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self._token()}", "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        try:
            return call(method, f"{self.base}{path}", timeout=self.timeout, headers=headers, **kwargs)
        except ProviderError:
            forget_token("paypal")
            raise

    @staticmethod
    def _problem(body: dict) -> str:
        details = body.get("details") or [{}]
        return details[0].get("issue") or body.get("name") or body.get("message") or "unknown error"

    # --- payments ---

    def start(self, charge: Charge) -> Started:
        response = self._request(
            "POST",
            "/v2/checkout/orders",
            request_id=charge.reference,
            json={
                "intent": "CAPTURE",
                "purchase_units": [
                    {
                        "reference_id": charge.order_code,
                        "custom_id": charge.reference,
                        "description": charge.description[:127],
                        "amount": {"currency_code": charge.currency, "value": charge.amount},
                    }
                ],
                "payment_source": {
                    "paypal": {
                        "experience_context": {
                            "return_url": charge.return_url,
                            "cancel_url": charge.cancel_url,
                            "user_action": "PAY_NOW",
                            "shipping_preference": "NO_SHIPPING",
                        }
                    }
                },
            },
        )
        body = json_of(response)
        if response.status_code not in (200, 201) or "id" not in body:
            return Started("failed", reason=f"PayPal refused the order: {self._problem(body)}")
        approve = next(
            (link["href"] for link in body.get("links", []) if link.get("rel") in ("payer-action", "approve")), None
        )
        return Started("pending", provider_order_id=body["id"], approve_url=approve)

    def _order_outcome(self, body: dict) -> Outcome:
        unit = (body.get("purchase_units") or [{}])[0]
        captures = (unit.get("payments") or {}).get("captures") or []
        if captures:
            capture = captures[0]
            amount = capture.get("amount") or {}
            return Outcome(
                CAPTURE_STATUSES.get(capture.get("status", ""), "pending"),
                amount=amount.get("value"),
                currency=amount.get("currency_code"),
                external_id=capture.get("custom_id") or unit.get("custom_id"),
                transaction_id=capture.get("id"),
                reason=(capture.get("status_details") or {}).get("reason") or capture.get("status"),
            )
        amount = unit.get("amount") or {}
        return Outcome(
            ORDER_STATUSES.get(body.get("status", ""), "pending"),
            amount=amount.get("value"),
            currency=amount.get("currency_code"),
            external_id=unit.get("custom_id"),
        )

    def lookup(self, payment) -> Outcome:
        response = self._request("GET", f"/v2/checkout/orders/{payment.provider_order_id}")
        if response.status_code == 404:
            return Outcome("failed", reason="PayPal has no such order.")
        if response.status_code != 200:
            raise ProviderError(f"PayPal order lookup answered {response.status_code}", temporary=True)
        return self._order_outcome(json_of(response))

    def capture(self, payment) -> Outcome:
        response = self._request(
            "POST",
            f"/v2/checkout/orders/{payment.provider_order_id}/capture",
            request_id=f"capture-{payment.reference}",
            json={},
        )
        body = json_of(response)
        if response.status_code in (200, 201):
            return self._order_outcome(body)
        if self._problem(body) == "ORDER_ALREADY_CAPTURED":
            return self.lookup(payment)
        if self._problem(body) == "ORDER_NOT_APPROVED":
            return Outcome("pending")
        return Outcome("failed", reason=f"PayPal refused the capture: {self._problem(body)}")

    # --- refunds ---

    def refund(self, refund, payment) -> Outcome:
        response = self._request(
            "POST",
            f"/v2/payments/captures/{payment.provider_transaction_id}/refund",
            request_id=refund.reference,
            json={
                "amount": {"value": refund.provider_amount, "currency_code": payment.provider_currency},
                "invoice_id": refund.reference,
                "note_to_payer": f"Refund for TMS order {payment.order.code}",
            },
        )
        body = json_of(response)
        if response.status_code not in (200, 201):
            return Outcome("failed", reason=f"PayPal refused the refund: {self._problem(body)}")
        return self._refund_outcome(body)

    def refund_status(self, refund) -> Outcome:
        if not refund.provider_transaction_id:
            return Outcome("pending")
        response = self._request("GET", f"/v2/payments/refunds/{refund.provider_transaction_id}")
        if response.status_code != 200:
            raise ProviderError(f"PayPal refund lookup answered {response.status_code}", temporary=True)
        return self._refund_outcome(json_of(response))

    @staticmethod
    def _refund_outcome(body: dict) -> Outcome:
        status = {"COMPLETED": "succeeded", "PENDING": "pending", "FAILED": "failed", "CANCELLED": "failed"}
        amount = body.get("amount") or {}
        return Outcome(
            status.get(body.get("status", ""), "pending"),
            amount=amount.get("value"),
            currency=amount.get("currency_code"),
            transaction_id=body.get("id"),
        )

    # --- webhooks ---

    def verify_webhook(self, headers, raw_body: bytes) -> None:
        """Check a webhook's signature over ``transmission id|time|our webhook id|crc32(body)``
        with the certificate PayPal names, fetched only from an allowed origin."""
        try:
            transmission_id = headers["PAYPAL-TRANSMISSION-ID"]
            transmission_time = headers["PAYPAL-TRANSMISSION-TIME"]
            signature = base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"], validate=True)
            cert_url = headers["PAYPAL-CERT-URL"]
        except (KeyError, binascii.Error) as error:
            raise WebhookRejected("missing or malformed PayPal signature headers") from error
        if headers.get("PAYPAL-AUTH-ALGO", "SHA256withRSA") != "SHA256withRSA":
            raise WebhookRejected("unsupported signature algorithm")
        if not self.webhook_id:
            raise WebhookRejected("PAYPAL_WEBHOOK_ID is not set")
        message = f"{transmission_id}|{transmission_time}|{self.webhook_id}|{zlib.crc32(raw_body)}".encode()
        key = self._certificate(cert_url).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookRejected("the certificate does not hold an RSA key")
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as error:
            raise WebhookRejected("the signature does not match") from error

    def _certificate(self, url: str) -> x509.Certificate:
        try:
            parts = urlsplit(url)
        except ValueError as error:  # e.g. an unclosed IPv6 bracket
            raise WebhookRejected("malformed certificate URL") from error
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if parts.username or parts.password or origin not in {o.lower() for o in self.cert_origins}:
            raise WebhookRejected(f"certificate URL outside PayPal's hosts: {origin}")
        key = f"payments:paypal:cert:{url}"
        pem = redis.get(key)
        if pem is None:
            try:
                response = call("GET", url, timeout=self.timeout, allow_redirects=False)
            except ProviderError as error:
                raise WebhookRejected(f"could not fetch the certificate: {error}") from error
            if response.status_code != 200:
                raise WebhookRejected(f"certificate fetch answered {response.status_code}")
            pem = response.content
            redis.set(key, pem, ex=24 * 3600)
        try:
            return x509.load_pem_x509_certificate(pem)
        except ValueError as error:
            raise WebhookRejected("the certificate cannot be read") from error
