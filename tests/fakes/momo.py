"""Fake MTN Mobile Money Open API (Collection request-to-pay and Disbursement refunds).

Speaks the real wire format (API-user Basic auth for tokens, ``Ocp-Apim-Subscription-Key``, ``X-Reference-Id``,
``X-Target-Environment``, 202 with an empty body, status lookups, callbacks as a PUT of the status body) so the
project's adapter runs unchanged against ``FakeMomo.url``. Payers never act on their own: tests approve or decline
with :meth:`FakeMomo.approve` / :meth:`FakeMomo.decline` (or ``auto_outcome``), like the sandbox's test numbers.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from tests.fakes import FakeServer, Request, Response

__all__ = ["FakeMomo", "MomoCallback", "MomoRecord"]

Product = Literal["collection", "disbursement"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_AMOUNT = re.compile(r"\d+(\.\d+)?")
_MSISDN = re.compile(r"\d{6,15}")
_TOKEN_LIFETIME = 3600


def _error(status: int, code: str, message: str) -> Response:
    """MoMo's error body shape for the API proper."""
    return Response.json(status, {"code": code, "message": message})


@dataclass
class MomoRecord:
    """A request-to-pay or a refund as the fake stored it (``body`` and ``headers`` exactly as received)."""

    reference_id: str
    kind: Literal["requesttopay", "refund"]
    body: dict[str, Any]
    headers: CaseInsensitiveDict[str]
    party: dict[str, Any]  # the payer of a request-to-pay, the payee (original payer) of a refund
    status: str = "PENDING"
    reason: str | None = None
    financial_transaction_id: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)  # set by FakeMomo.tamper
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def callback_url(self) -> str | None:
        return self.headers.get("X-Callback-Url") or None

    @property
    def amount(self) -> Decimal:
        """The amount really requested (ignores tampering)."""
        return Decimal(self.body["amount"])

    def view(self) -> dict[str, Any]:
        """The JSON body of a status lookup, which is also the callback body."""
        payload: dict[str, Any] = {
            "amount": self.overrides.get("amount", self.body["amount"]),
            "currency": self.overrides.get("currency", self.body["currency"]),
        }
        if self.financial_transaction_id is not None:
            payload["financialTransactionId"] = self.financial_transaction_id
        payload["externalId"] = self.overrides.get("externalId", self.body.get("externalId", ""))
        payload["payer" if self.kind == "requesttopay" else "payee"] = dict(self.party)
        payload["payerMessage"] = self.body.get("payerMessage", "")
        payload["payeeNote"] = self.body.get("payeeNote", "")
        payload["status"] = self.status
        if self.status == "FAILED" and self.reason:
            payload["reason"] = self.reason
        return payload


@dataclass
class MomoCallback:
    """One callback delivery attempt; ``status_code`` is None when the request itself failed (see ``error``)."""

    reference_id: str
    url: str
    method: str
    payload: dict[str, Any]
    status_code: int | None
    error: str | None = None


class FakeMomo(FakeServer):
    """MTN MoMo Collection + Disbursement on loopback.

    Credentials mirror a MoMo API user: ``api_user``/``api_key`` (Basic auth on ``/collection/token/``) and the
    product's ``subscription_key``; disbursement credentials default to the collection ones. Everything is
    guarded by ``self.lock``; callbacks are sent without holding it, so the receiver may call the fake back.
    """

    def __init__(
        self,
        api_user: str,
        api_key: str,
        subscription_key: str,
        *,
        environment: str = "sandbox",
        currency: str = "EUR",
        disbursement_user: str | None = None,
        disbursement_key: str | None = None,
        disbursement_subscription_key: str | None = None,
    ) -> None:
        super().__init__()
        self.credentials: dict[Product, tuple[str, str, str]] = {
            "collection": (api_user, api_key, subscription_key),
            "disbursement": (
                disbursement_user or api_user,
                disbursement_key or api_key,
                disbursement_subscription_key or subscription_key,
            ),
        }
        self.environment = environment
        self.currency = currency
        self.tokens: dict[Product, dict[str, float]] = {"collection": {}, "disbursement": {}}  # token -> expiry
        self.requests_to_pay: dict[str, MomoRecord] = {}  # keyed by lower-case reference id
        self.refunds: dict[str, MomoRecord] = {}
        self.callbacks: list[MomoCallback] = []
        # Behaviour knobs, read when a request arrives.
        self.callbacks_enabled = True
        self.callback_method = "PUT"
        self.callback_timeout = 10.0
        self.auto_outcome: Literal["SUCCESSFUL", "FAILED"] | None = None
        self.auto_reason = "APPROVAL_REJECTED"
        self.auto_callback_delay = 0.05  # lets the client store the 202 before the callback lands
        self.refund_outcome: Literal["SUCCESSFUL", "PENDING", "FAILED"] = "SUCCESSFUL"
        self.allowed_callback_host: str | None = None  # like the API user's providerCallbackHost when set
        self._callback_arrived = threading.Condition()

        self.add_route("POST", r"/(?P<product>collection|disbursement)/token/?", self._token)
        self.add_route("POST", r"/collection/v1_0/requesttopay", self._request_to_pay)
        self.add_route("GET", r"/collection/v1_0/requesttopay/(?P<ref>[^/]+)", self._request_to_pay_status)
        self.add_route("POST", r"/disbursement/v[12]_0/refund", self._refund)
        self.add_route("GET", r"/disbursement/v[12]_0/refund/(?P<ref>[^/]+)", self._refund_status)
        self.add_route("POST", r"/_fake/approve/(?P<ref>[^/]+)", self._control_approve)
        self.add_route("POST", r"/_fake/decline/(?P<ref>[^/]+)", self._control_decline)

    def outage_body(self, status: int) -> Any:
        if status == 503:
            return {"code": "SERVICE_UNAVAILABLE", "message": "Service unavailable, try again later."}
        return {"code": "INTERNAL_PROCESSING_ERROR", "message": "An internal error occurred while processing."}

    # --- test controls --------------------------------------------------------------------------

    def approve(self, reference_id: str) -> int | None:
        """The payer approves (or a pending refund completes); returns the callback's HTTP status, if sent."""
        return self._settle(reference_id, "SUCCESSFUL", None)

    def decline(self, reference_id: str, reason: str = "APPROVAL_REJECTED") -> int | None:
        """The payer rejects (or a pending refund fails); returns the callback's HTTP status, if sent."""
        return self._settle(reference_id, "FAILED", reason)

    def resend_callback(self, reference_id: str) -> int | None:
        """Deliver the current status again, as MoMo sometimes does (tests duplicate-callback handling)."""
        with self.lock:
            record = self._find(reference_id)
        return self._deliver(record)

    def tamper(
        self,
        reference_id: str,
        amount: str | None = None,
        currency: str | None = None,
        external_id: str | None = None,
    ) -> None:
        """Make later status lookups and callbacks report other values, to test mismatch detection."""
        with self.lock:
            record = self._find(reference_id)
            for key, value in (("amount", amount), ("currency", currency), ("externalId", external_id)):
                if value is not None:
                    record.overrides[key] = value

    def expire_tokens(self) -> None:
        """Invalidate every issued token, so the client must fetch a new one (next API call answers 401)."""
        with self.lock:
            for issued in self.tokens.values():
                issued.clear()

    def wait_for_callbacks(self, n: int, timeout: float = 5.0) -> list[MomoCallback]:
        """Block until at least ``n`` callbacks were attempted (e.g. sent by ``auto_outcome``); TimeoutError if not."""
        with self._callback_arrived:
            if not self._callback_arrived.wait_for(lambda: len(self.callbacks) >= n, timeout=timeout):
                raise TimeoutError(f"{len(self.callbacks)} MoMo callbacks within {timeout}s, expected {n}")
            return list(self.callbacks)

    # --- state helpers --------------------------------------------------------------------------

    def _find(self, reference_id: str) -> MomoRecord:
        key = reference_id.lower()
        record = self.requests_to_pay.get(key) or self.refunds.get(key)
        if record is None:
            raise KeyError(f"no MoMo request-to-pay or refund {reference_id!r}")
        return record

    @staticmethod
    def _apply(record: MomoRecord, status: str, reason: str | None) -> None:
        record.status = status
        record.reason = reason if status == "FAILED" else None
        if status == "SUCCESSFUL" and record.financial_transaction_id is None:
            record.financial_transaction_id = str(secrets.randbelow(9 * 10**9) + 10**9)

    def _settle(self, reference_id: str, status: str, reason: str | None) -> int | None:
        with self.lock:
            record = self._find(reference_id)
            if record.status != "PENDING":
                raise ValueError(f"MoMo {record.kind} {reference_id} is already {record.status}")
            self._apply(record, status, reason)
        return self._deliver(record)

    def _deliver(self, record: MomoRecord) -> int | None:
        """Send the callback if one was asked for; never holds the lock while the receiver runs."""
        with self.lock:
            url = record.callback_url
            if not (self.callbacks_enabled and url):
                return None
            payload, method, timeout = record.view(), self.callback_method, self.callback_timeout
        status_code: int | None = None
        error: str | None = None
        try:
            response = requests.request(method, url, json=payload, timeout=timeout)
            status_code = response.status_code
        except requests.RequestException as exc:
            error = repr(exc)
        with self._callback_arrived:
            self.callbacks.append(MomoCallback(record.reference_id, url, method, payload, status_code, error))
            self._callback_arrived.notify_all()
        return status_code

    def _deliver_later(self, record: MomoRecord) -> None:
        time.sleep(self.auto_callback_delay)
        self._deliver(record)

    # --- auth -----------------------------------------------------------------------------------

    def _token(self, request: Request, product: Product) -> Response:
        user, key, subscription_key = self.credentials[product]
        if request.header("Ocp-Apim-Subscription-Key") != subscription_key or request.basic_auth() != (user, key):
            return Response.json(401, {"error": "login_failed"})
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[product][token] = time.monotonic() + _TOKEN_LIFETIME
        return Response.json(200, {"access_token": token, "token_type": "access_token", "expires_in": _TOKEN_LIFETIME})

    def _authorize(self, request: Request, product: Product) -> Response | None:
        """Gateway checks in MoMo's order: subscription key, bearer token, target environment."""
        if request.header("Ocp-Apim-Subscription-Key") != self.credentials[product][2]:
            return Response.json(
                401,
                {
                    "statusCode": 401,
                    "message": "Access denied due to invalid subscription key. "
                    "Make sure to provide a valid key for an active subscription.",
                },
            )
        token = request.bearer()
        with self.lock:
            expiry = self.tokens[product].get(token) if token else None
        if expiry is None or expiry < time.monotonic():
            return _error(401, "INVALID_TOKEN", "Access token is missing, invalid or expired.")
        if request.header("X-Target-Environment") != self.environment:
            return _error(400, "NOT_ALLOWED_TARGET_ENVIRONMENT", "Access to target environment is forbidden.")
        return None

    def _check_new_resource(self, request: Request) -> Response | None:
        """Headers shared by request-to-pay and refund creation."""
        if not _UUID.fullmatch(request.header("X-Reference-Id") or ""):
            return _error(400, "INVALID_REFERENCE_ID", "X-Reference-Id must be a UUID.")
        callback = request.header("X-Callback-Url")
        if callback:
            parts = urlsplit(callback)
            allowed = self.allowed_callback_host
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return _error(400, "INVALID_CALLBACK_URL_HOST", "Callback URL is not a valid URL.")
            if allowed is not None and parts.hostname != allowed:
                return _error(400, "INVALID_CALLBACK_URL_HOST", "Callback URL host does not match the API user's.")
        return None

    def _check_money(self, body: Any) -> Response | None:
        if not isinstance(body, dict):
            return _error(400, "INVALID_REQUEST", "Request body must be a JSON object.")
        amount = body.get("amount")
        if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount) or Decimal(amount) <= 0:
            return _error(400, "INVALID_AMOUNT", "Amount must be a positive number in a string.")
        if body.get("currency") != self.currency:
            return _error(400, "INVALID_CURRENCY", "Currency not supported.")
        for name in ("externalId", "payerMessage", "payeeNote"):
            if name in body and not isinstance(body[name], str):
                return _error(400, "INVALID_REQUEST", f"{name} must be a string.")
        return None

    # --- collection -----------------------------------------------------------------------------

    def _request_to_pay(self, request: Request) -> Response:
        refused = self._authorize(request, "collection") or self._check_new_resource(request)
        if refused:
            return refused
        reference_id = request.header("X-Reference-Id") or ""
        try:
            body = request.json()
        except ValueError:
            return _error(400, "INVALID_REQUEST", "Request body is not valid JSON.")
        refused = self._check_money(body)
        if refused:
            return refused
        payer = body.get("payer")
        if (
            not isinstance(payer, dict)
            or payer.get("partyIdType") != "MSISDN"
            or not _MSISDN.fullmatch(str(payer.get("partyId", "")))
        ):
            return _error(400, "PAYER_NOT_FOUND", "Payer not found.")
        record = MomoRecord(reference_id, "requesttopay", body, request.headers, party=dict(payer))
        with self.lock:
            if reference_id.lower() in self.requests_to_pay:
                return _error(409, "RESOURCE_ALREADY_EXIST", "Duplicated reference id. Creation of resource failed.")
            self.requests_to_pay[reference_id.lower()] = record
            outcome = self.auto_outcome
            if outcome is not None:
                self._apply(record, outcome, self.auto_reason)
        after = (lambda: self._deliver_later(record)) if outcome is not None else None
        return Response(202, after=after)

    def _request_to_pay_status(self, request: Request, ref: str) -> Response:
        refused = self._authorize(request, "collection")
        if refused:
            return refused
        with self.lock:
            record = self.requests_to_pay.get(ref.lower())
            if record is None:
                return _error(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")
            return Response.json(200, record.view())

    # --- disbursement refunds -------------------------------------------------------------------

    def _refund(self, request: Request) -> Response:
        refused = self._authorize(request, "disbursement") or self._check_new_resource(request)
        if refused:
            return refused
        reference_id = request.header("X-Reference-Id") or ""
        try:
            body = request.json()
        except ValueError:
            return _error(400, "INVALID_REQUEST", "Request body is not valid JSON.")
        refused = self._check_money(body)
        if refused:
            return refused
        with self.lock:
            if reference_id.lower() in self.refunds:
                return _error(409, "RESOURCE_ALREADY_EXIST", "Duplicated reference id. Creation of resource failed.")
            original = self.requests_to_pay.get(str(body.get("referenceIdToRefund", "")).lower())
            if original is None:
                return _error(400, "RESOURCE_NOT_FOUND", "The transaction to refund was not found.")
            if original.status != "SUCCESSFUL":
                return _error(400, "NOT_ALLOWED", "Only a successful transaction can be refunded.")
            already = sum(
                (
                    r.amount
                    for r in self.refunds.values()
                    if r.body["referenceIdToRefund"].lower() == original.reference_id.lower() and r.status != "FAILED"
                ),
                Decimal(0),
            )
            if already + Decimal(body["amount"]) > original.amount:
                return _error(400, "REFUND_AMOUNT_EXCEEDED", "Refunds would exceed the amount collected.")
            record = MomoRecord(reference_id, "refund", body, request.headers, party=dict(original.party))
            self.refunds[reference_id.lower()] = record
            outcome = self.refund_outcome
            if outcome != "PENDING":
                self._apply(record, outcome, "INTERNAL_PROCESSING_ERROR")
        after = (lambda: self._deliver_later(record)) if outcome != "PENDING" else None
        return Response(202, after=after)

    def _refund_status(self, request: Request, ref: str) -> Response:
        refused = self._authorize(request, "disbursement")
        if refused:
            return refused
        with self.lock:
            record = self.refunds.get(ref.lower())
            if record is None:
                return _error(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")
            return Response.json(200, record.view())

    # --- HTTP controls (for a browser-driven test in another process) ---------------------------

    def _control_approve(self, request: Request, ref: str) -> Response:
        return self._control(ref, lambda: self.approve(ref))

    def _control_decline(self, request: Request, ref: str) -> Response:
        reason = request.arg("reason")
        if reason is None and request.body:
            try:
                reason = request.json().get("reason")
            except (ValueError, AttributeError):
                return Response.json(400, {"error": "body must be a JSON object"})
        return self._control(ref, lambda: self.decline(ref, reason or "APPROVAL_REJECTED"))

    def _control(self, ref: str, action: Callable[[], int | None]) -> Response:
        try:
            callback_status = action()
        except KeyError:
            return Response.json(404, {"error": "unknown reference id", "referenceId": ref})
        except ValueError as exc:
            return Response.json(409, {"error": str(exc), "referenceId": ref})
        with self.lock:
            status = self._find(ref).status
        return Response.json(200, {"referenceId": ref, "status": status, "callbackStatus": callback_status})
