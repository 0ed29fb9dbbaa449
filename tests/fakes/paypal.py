"""Fake PayPal REST API: OAuth2 client credentials, Orders v2 (capture intent), captures, refunds and webhooks.

Speaks PayPal's wire format (``PayPal-Request-Id`` idempotency, ``Prefer: return=representation``, error bodies
with ``name``/``details[].issue``, HATEOAS links pointing back at the fake) so the project's adapter runs unchanged
against ``FakePayPal.url``. The payer approves on plain HTML pages at ``/checkoutnow`` (usable from a real browser)
or through :meth:`FakePayPal.approve`. Webhooks are signed for real with the fake's own RSA key and certificate.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
import secrets
import string
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from requests.structures import CaseInsensitiveDict

from tests.fakes import FakeServer, Request, Response

__all__ = ["FakePayPal", "PayPalOrder"]

PAYER_ID = "FAKEPAYER1"
CERT_ID = "CERT-FAKE-1"
AUTH_ALGO = "SHA256withRSA"
_TOKEN_LIFETIME = 32400
_SCOPE = (
    "https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/payments/payment/authcode "
    "https://uri.paypal.com/services/applications/webhooks https://uri.paypal.com/services/payments/orders/read"
)
# Currencies the REST API accepts; anything else (RWF included) is CURRENCY_NOT_SUPPORTED.
# fmt: off
SUPPORTED_CURRENCIES = frozenset({
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS",
    "JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD",
})
# fmt: on
_NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
_VALUE = re.compile(r"\d{1,10}(\.\d+)?")
_ALNUM = string.ascii_uppercase + string.digits
_MESSAGES = {
    "INVALID_REQUEST": "Request is not well-formed, syntactically incorrect, or violates schema.",
    "UNPROCESSABLE_ENTITY": "The requested action could not be performed, semantically incorrect, "
    "or failed business validation.",
    "RESOURCE_NOT_FOUND": "The specified resource does not exist.",
    "AUTHENTICATION_FAILURE": "Authentication failed due to invalid authentication credentials "
    "or a missing Authorization header.",
    "INTERNAL_SERVER_ERROR": "An internal server error has occurred.",
    "SERVICE_UNAVAILABLE": "Service Unavailable.",
    "RATE_LIMIT_REACHED": "Too many requests. Blocked due to rate limiting.",
}
_STATUS_NAMES = {400: "INVALID_REQUEST", 422: "UNPROCESSABLE_ENTITY", 404: "RESOURCE_NOT_FOUND"}


def _paypal_id() -> str:
    """17 upper-case alphanumerics, the shape of PayPal order, capture and refund ids."""
    return "".join(secrets.choice(_ALNUM) for _ in range(17))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(
    status: int, issue: str | None = None, description: str = "", *, field: str | None = None, value: Any = None
) -> Response:
    """PayPal's error body: ``name``/``message``/``debug_id`` and one ``details`` entry naming the issue."""
    name = _STATUS_NAMES.get(status, "INTERNAL_SERVER_ERROR")
    debug_id = secrets.token_hex(7)
    details: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    if issue is not None:
        detail: dict[str, Any] = {"issue": issue, "description": description or issue.replace("_", " ").capitalize()}
        if field is not None:
            detail.update(field=field, location="body")
        if value is not None:
            detail["value"] = value
        details.append(detail)
        links.append(
            {"href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue}", "rel": "information_link"}
        )
    payload = {"name": name, "message": _MESSAGES[name], "debug_id": debug_id, "details": details, "links": links}
    return Response.json(status, payload, {"Paypal-Debug-Id": debug_id})


def _not_found(kind: str, resource_id: str) -> Response:
    return Response.json(
        404,
        {
            "name": "RESOURCE_NOT_FOUND",
            "message": _MESSAGES["RESOURCE_NOT_FOUND"],
            "debug_id": secrets.token_hex(7),
            "details": [
                {
                    "field": f"{kind}_id",
                    "value": resource_id,
                    "location": "path",
                    "issue": "INVALID_RESOURCE_ID",
                    "description": "Specified resource ID does not exist. Please check the resource ID and try again.",
                }
            ],
            "links": [],
        },
    )


def _with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` appended to whatever query string it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _wants_representation(request: Request) -> bool:
    return "return=representation" in (request.header("Prefer") or "").replace(" ", "").lower()


@dataclass
class PayPalOrder:
    """An order as the fake stores it; ``capture`` is the capture object once captured."""

    id: str
    intent: str
    purchase_unit: dict[str, Any]  # as received, with reference_id defaulted to "default"
    return_url: str | None
    cancel_url: str | None
    payment_source_requested: bool  # created with payment_source.paypal (new style) or application_context
    status: str
    request_body: dict[str, Any]
    headers: CaseInsensitiveDict[str]
    create_time: str = field(default_factory=_now)
    update_time: str = field(default_factory=_now)
    payer: dict[str, Any] | None = None
    capture: dict[str, Any] | None = None
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def amount(self) -> dict[str, str]:
        return self.purchase_unit["amount"]


class FakePayPal(FakeServer):
    """PayPal on loopback (``client_id``/``client_secret`` as in the developer dashboard).

    ``webhook_id`` is the id of the merchant's webhook listener: signatures bind it, and the verification
    endpoint succeeds only for that id. State lives in ``orders`` / ``refunds`` under ``self.lock``.
    """

    uncounted_prefixes = ("/_fake/", "/checkoutnow", "/v1/notifications/certs/")

    def __init__(self, client_id: str, client_secret: str, *, webhook_id: str = "WH-FAKE") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.orders: dict[str, PayPalOrder] = {}
        self.refunds: dict[str, dict[str, Any]] = {}  # refund id -> refund object
        self.created_orders = 0  # orders really created (idempotent replays excluded)
        self.captures = 0  # capture operations performed (replays excluded, declined included)
        self.capture_outcome = "COMPLETED"  # or "DECLINED" / "PENDING": status of the next captures
        self.merchant = {"email_address": "merchant@example.com", "merchant_id": "FAKEMERCHANT1"}
        self.payer = {
            "name": {"given_name": "Fake", "surname": "Payer"},
            "email_address": "payer@example.com",
            "payer_id": PAYER_ID,
            "address": {"country_code": "US"},
        }
        self._replays: dict[tuple[str, str], tuple[int, Any]] = {}  # (operation, PayPal-Request-Id) -> response
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert_pem = _self_signed_pem(self._key)

        self.add_route("POST", r"/v1/oauth2/token", self._token)
        self.add_route("POST", r"/v2/checkout/orders", self._create_order)
        self.add_route("GET", r"/v2/checkout/orders/(?P<order_id>[^/]+)", self._get_order)
        self.add_route("POST", r"/v2/checkout/orders/(?P<order_id>[^/]+)/capture", self._capture)
        self.add_route("GET", r"/v2/payments/captures/(?P<capture_id>[^/]+)", self._get_capture)
        self.add_route("POST", r"/v2/payments/captures/(?P<capture_id>[^/]+)/refund", self._refund)
        self.add_route("GET", r"/v2/payments/refunds/(?P<refund_id>[^/]+)", self._get_refund)
        self.add_route("POST", r"/v1/notifications/verify-webhook-signature", self._verify_webhook)
        self.add_route("GET", rf"/v1/notifications/certs/{CERT_ID}", self._cert)
        self.add_route("GET", r"/checkoutnow", self._checkout_page)
        self.add_route("POST", r"/checkoutnow/approve", self._checkout_approve)
        self.add_route("POST", r"/checkoutnow/cancel", self._checkout_cancel)

    def outage_body(self, status: int) -> Any:
        name = {503: "SERVICE_UNAVAILABLE", 429: "RATE_LIMIT_REACHED"}.get(status, "INTERNAL_SERVER_ERROR")
        return {"name": name, "message": _MESSAGES[name], "debug_id": secrets.token_hex(7), "details": []}

    @property
    def cert_url(self) -> str:
        """Where the webhook signing certificate is served (the ``PAYPAL-CERT-URL`` header)."""
        return f"{self.url}/v1/notifications/certs/{CERT_ID}"

    # --- test controls --------------------------------------------------------------------------

    def approve(self, order_id: str) -> None:
        """As if the payer approved on PayPal, without the browser."""
        with self.lock:
            order = self.orders[order_id]
            if order.status == "COMPLETED":
                raise ValueError(f"PayPal order {order_id} is already COMPLETED")
            order.status = "APPROVED"
            order.payer = copy.deepcopy(self.payer)
            order.update_time = _now()

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call answers 401 AUTHENTICATION_FAILURE)."""
        with self.lock:
            self.tokens.clear()

    # --- webhooks -------------------------------------------------------------------------------

    def webhook(
        self, event_type: str, resource: dict[str, Any], *, event_id: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed webhook delivery: the raw JSON body and the headers PayPal sends with it.

        ``event_id`` is used verbatim when given (to replay "the same" event); otherwise ``WH-`` + random.
        """
        event = {
            "id": event_id or f"WH-{_paypal_id()}-{_paypal_id()}",
            "event_version": "1.0",
            "create_time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "resource_type": _resource_type(event_type),
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": _summary(event_type, resource),
            "resource": resource,
            "links": [],
        }
        # Compact separators: the verification endpoint re-serialises the event the same way (see below).
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4()),
            "PAYPAL-TRANSMISSION-TIME": _now(),
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }
        headers["PAYPAL-TRANSMISSION-SIG"] = self.sign(body, headers)
        return body, headers

    def sign(self, raw_body: bytes, headers: dict[str, str], *, webhook_id: str | None = None) -> str:
        """Base64 RSA-SHA256 signature of ``transmission_id|transmission_time|webhook_id|crc32(body)``."""
        lookup = CaseInsensitiveDict(headers)
        message = _signed_message(
            lookup["PAYPAL-TRANSMISSION-ID"],
            lookup["PAYPAL-TRANSMISSION-TIME"],
            webhook_id or self.webhook_id,
            raw_body,
        )
        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def send_webhook(
        self, url: str, event_type: str, resource: dict[str, Any], *, event_id: str | None = None
    ) -> requests.Response:
        """POST a signed event to the application's webhook endpoint."""
        body, headers = self.webhook(event_type, resource, event_id=event_id)
        return requests.post(url, data=body, headers=headers, timeout=10)

    def capture_resource(self, order_id: str) -> dict[str, Any]:
        """The resource of a ``PAYMENT.CAPTURE.*`` event for that (captured) order."""
        with self.lock:
            order = self.orders[order_id]
            if order.capture is None:
                raise ValueError(f"PayPal order {order_id} has not been captured")
            resource = copy.deepcopy(order.capture)
        resource["payee"] = dict(self.merchant)
        resource["supplementary_data"] = {"related_ids": {"order_id": order_id}}
        return resource

    def order_resource(self, order_id: str) -> dict[str, Any]:
        """The resource of a ``CHECKOUT.ORDER.*`` event: the order as GET returns it."""
        with self.lock:
            return self._order_view(self.orders[order_id])

    def refund_resource(self, refund_id: str) -> dict[str, Any]:
        """The resource of a ``PAYMENT.CAPTURE.REFUNDED`` event."""
        with self.lock:
            return copy.deepcopy(self.refunds[refund_id])

    # --- representations ------------------------------------------------------------------------

    def _order_links(self, order: PayPalOrder) -> list[dict[str, str]]:
        href = f"{self.url}/v2/checkout/orders/{order.id}"
        links = [{"href": href, "rel": "self", "method": "GET"}]
        checkout = f"{self.url}/checkoutnow?token={order.id}"
        if order.status == "PAYER_ACTION_REQUIRED":
            links.append({"href": checkout, "rel": "payer-action", "method": "GET"})
        elif order.status == "CREATED":
            links.append({"href": checkout, "rel": "approve", "method": "GET"})
        if order.status in ("CREATED", "APPROVED"):
            links.append({"href": href, "rel": "update", "method": "PATCH"})
            links.append({"href": f"{href}/capture", "rel": "capture", "method": "POST"})
        return links

    def _payment_source(self, order: PayPalOrder) -> dict[str, Any] | None:
        if order.payer is not None:
            paypal = {
                "email_address": order.payer["email_address"],
                "account_id": order.payer["payer_id"],
                "account_status": "VERIFIED",
                "name": order.payer["name"],
                "address": order.payer["address"],
            }
            return {"paypal": paypal}
        return {"paypal": {}} if order.payment_source_requested else None

    def _order_view(self, order: PayPalOrder) -> dict[str, Any]:
        """The full order, as ``GET /v2/checkout/orders/{id}`` returns it."""
        unit = copy.deepcopy(order.purchase_unit)
        unit["payee"] = dict(self.merchant)
        if order.capture is not None:
            unit["payments"] = {"captures": [copy.deepcopy(order.capture)]}
            if order.refunds:
                unit["payments"]["refunds"] = copy.deepcopy(order.refunds)
        view: dict[str, Any] = {"id": order.id, "intent": order.intent, "status": order.status}
        source = self._payment_source(order)
        if source is not None:
            view["payment_source"] = source
        view["purchase_units"] = [unit]
        if order.payer is not None:
            view["payer"] = copy.deepcopy(order.payer)
        view["create_time"] = order.create_time
        view["update_time"] = order.update_time
        view["links"] = self._order_links(order)
        return view

    # --- auth -----------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        if request.basic_auth() != (self.client_id, self.client_secret):
            return Response.json(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        grant = request.form().get("grant_type", [None])[0]
        if grant != "client_credentials":
            description = "Grant Type is NULL" if grant is None else f"unsupported grant_type {grant}"
            return Response.json(400, {"error": "unsupported_grant_type", "error_description": description})
        token = f"A21AA{secrets.token_urlsafe(48)}"
        with self.lock:
            self.tokens[token] = time.monotonic() + _TOKEN_LIFETIME
        payload = {
            "scope": _SCOPE,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-FAKE",
            "expires_in": _TOKEN_LIFETIME,
            "nonce": f"{_now()}{secrets.token_urlsafe(16)}",
        }
        return Response.json(200, payload)

    def _unauthenticated(self, request: Request) -> Response | None:
        token = request.bearer()
        with self.lock:
            expiry = self.tokens.get(token) if token else None
        if expiry is not None and expiry >= time.monotonic():
            return None
        payload = {
            "name": "AUTHENTICATION_FAILURE",
            "message": _MESSAGES["AUTHENTICATION_FAILURE"],
            "links": [{"href": "https://developer.paypal.com/docs/api/overview/#error", "rel": "information_link"}],
            "details": [],
        }
        return Response.json(401, payload)

    def _replay(self, operation: str, request: Request) -> Response | None:
        """The stored answer to an earlier request with the same ``PayPal-Request-Id`` (HTTP 200, as PayPal)."""
        request_id = request.header("PayPal-Request-Id")
        with self.lock:
            stored = self._replays.get((operation, request_id)) if request_id else None
        return Response.json(200, copy.deepcopy(stored[1])) if stored else None

    def _remember(self, operation: str, request: Request, status: int, payload: Any) -> Response:
        request_id = request.header("PayPal-Request-Id")
        if request_id:
            self._replays[(operation, request_id)] = (status, copy.deepcopy(payload))
        return Response.json(status, payload)

    # --- orders ---------------------------------------------------------------------------------

    def _create_order(self, request: Request) -> Response:
        refused = self._unauthenticated(request) or self._replay("create", request)
        if refused:
            return refused
        try:
            body = request.json()
        except ValueError:
            return _error(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        if not isinstance(body, dict):
            return _error(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        if "intent" not in body:
            return _error(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", field="/intent")
        if body["intent"] != "CAPTURE":
            return _error(
                400,
                "INVALID_PARAMETER_VALUE",
                "The fake supports intent CAPTURE only.",
                field="/intent",
                value=body["intent"],
            )
        units = body.get("purchase_units")
        if not isinstance(units, list) or not units:
            return _error(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", field="/purchase_units")
        if len(units) > 1:
            return _error(
                400, "INVALID_ARRAY_MAX_ITEMS", "The fake accepts one purchase unit.", field="/purchase_units"
            )
        unit = units[0]
        if not isinstance(unit, dict) or not isinstance(unit.get("amount"), dict):
            return _error(
                400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", field="/purchase_units/0/amount"
            )
        refused = _check_amount(unit["amount"], "/purchase_units/0/amount")
        if refused:
            return refused
        for name, limit in (("reference_id", 256), ("custom_id", 127), ("description", 127), ("invoice_id", 127)):
            if name in unit and (not isinstance(unit[name], str) or not 1 <= len(unit[name]) <= limit):
                return _error(
                    400, "INVALID_STRING_LENGTH", f"1 to {limit} characters.", field=f"/purchase_units/0/{name}"
                )
        paypal_source = (body.get("payment_source") or {}).get("paypal")
        context = (paypal_source or {}).get("experience_context") or body.get("application_context") or {}
        unit = {"reference_id": "default", **unit}
        order = PayPalOrder(
            id=_paypal_id(),
            intent="CAPTURE",
            purchase_unit=unit,
            return_url=context.get("return_url"),
            cancel_url=context.get("cancel_url"),
            payment_source_requested=paypal_source is not None,
            status="PAYER_ACTION_REQUIRED" if paypal_source is not None else "CREATED",
            request_body=body,
            headers=request.headers,
        )
        with self.lock:
            replay = self._replay("create", request)  # a concurrent twin may have won the race
            if replay:
                return replay
            self.orders[order.id] = order
            self.created_orders += 1
            if _wants_representation(request):
                payload = self._order_view(order)
            else:
                payload = {"id": order.id, "status": order.status}
                source = self._payment_source(order)
                if source is not None:
                    payload["payment_source"] = source
                payload["links"] = self._order_links(order)
            return self._remember("create", request, 201, payload)

    def _get_order(self, request: Request, order_id: str) -> Response:
        refused = self._unauthenticated(request)
        if refused:
            return refused
        with self.lock:
            order = self.orders.get(order_id)
            return Response.json(200, self._order_view(order)) if order else _not_found("order", order_id)

    def _capture(self, request: Request, order_id: str) -> Response:
        refused = self._unauthenticated(request) or self._replay(f"capture {order_id}", request)
        if refused:
            return refused
        if request.body.strip():
            try:
                if not isinstance(request.json(), dict):
                    raise ValueError
            except ValueError:
                return _error(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return _not_found("order", order_id)
            if order.status == "COMPLETED":
                return _error(422, "ORDER_ALREADY_CAPTURED", "Order already captured.")
            if order.status != "APPROVED":
                return _error(422, "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
            capture_id, now, outcome = _paypal_id(), _now(), self.capture_outcome
            amount = dict(order.amount)
            capture: dict[str, Any] = {"id": capture_id, "status": outcome, "amount": amount, "final_capture": True}
            if outcome == "PENDING":
                capture["status_details"] = {"reason": "PENDING_REVIEW"}
            capture["seller_protection"] = {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            }
            zero = "0" if amount["currency_code"] in _NO_DECIMALS else "0.00"
            capture["seller_receivable_breakdown"] = {
                "gross_amount": dict(amount),
                "paypal_fee": {"currency_code": amount["currency_code"], "value": zero},
                "net_amount": dict(amount),
            }
            for name in ("custom_id", "invoice_id"):
                if name in order.purchase_unit:
                    capture[name] = order.purchase_unit[name]
            capture["links"] = [
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}/refund", "rel": "refund", "method": "POST"},
                {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "up", "method": "GET"},
            ]
            capture["create_time"] = capture["update_time"] = now
            order.capture = capture
            order.status = "COMPLETED"
            order.update_time = now
            self.captures += 1
            if _wants_representation(request):
                payload = self._order_view(order)
            else:
                unit = {
                    "reference_id": order.purchase_unit["reference_id"],
                    "payments": {"captures": [copy.deepcopy(capture)]},
                }
                payload = {"id": order.id, "status": order.status, "payment_source": self._payment_source(order)}
                payload.update(purchase_units=[unit], payer=copy.deepcopy(order.payer), links=self._order_links(order))
            return self._remember(f"capture {order_id}", request, 201, payload)

    # --- captures and refunds -------------------------------------------------------------------

    def _find_capture(self, capture_id: str) -> PayPalOrder | None:
        return next((o for o in self.orders.values() if o.capture and o.capture["id"] == capture_id), None)

    def _get_capture(self, request: Request, capture_id: str) -> Response:
        refused = self._unauthenticated(request)
        if refused:
            return refused
        with self.lock:
            order = self._find_capture(capture_id)
            if order is None or order.capture is None:
                return _not_found("capture", capture_id)
            return Response.json(200, copy.deepcopy(order.capture))

    def _refund(self, request: Request, capture_id: str) -> Response:
        operation = f"refund {capture_id}"
        refused = self._unauthenticated(request) or self._replay(operation, request)
        if refused:
            return refused
        body: Any = {}
        if request.body.strip():
            try:
                body = request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return _error(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        with self.lock:
            order = self._find_capture(capture_id)
            if order is None or order.capture is None:
                return _not_found("capture", capture_id)
            capture = order.capture
            if capture["status"] == "REFUNDED":
                return _error(422, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
                return _error(422, "REFUND_NOT_ALLOWED", f"A {capture['status']} capture cannot be refunded.")
            currency = capture["amount"]["currency_code"]
            refunded = sum((Decimal(r["amount"]["value"]) for r in order.refunds), Decimal(0))
            remaining = Decimal(capture["amount"]["value"]) - refunded
            if "amount" in body:
                refused = _check_amount(body["amount"], "/amount")
                if refused:
                    return refused
                if body["amount"]["currency_code"] != currency:
                    return _error(422, "REFUND_CAPTURE_CURRENCY_MISMATCH", "Refund must be in the capture currency.")
                amount = dict(body["amount"])
            else:
                amount = {"currency_code": currency, "value": _format(remaining, currency)}
            if Decimal(amount["value"]) > remaining:
                return _error(
                    422,
                    "REFUND_AMOUNT_EXCEEDED",
                    "The refund amount must not exceed the capture amount that has not yet been refunded.",
                )
            refund_id, now = _paypal_id(), _now()
            refund: dict[str, Any] = {"id": refund_id, "amount": amount}
            for name in ("custom_id", "invoice_id", "note_to_payer"):
                if name in body:
                    refund[name] = body[name]
            total = refunded + Decimal(amount["value"])
            refund["seller_payable_breakdown"] = {
                "gross_amount": dict(amount),
                "total_refunded_amount": {"currency_code": currency, "value": _format(total, currency)},
            }
            refund.update(status="COMPLETED", create_time=now, update_time=now)
            refund["links"] = [
                {"href": f"{self.url}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
            ]
            self.refunds[refund_id] = refund
            order.refunds.append(refund)
            capture["status"] = "REFUNDED" if total >= Decimal(capture["amount"]["value"]) else "PARTIALLY_REFUNDED"
            capture["update_time"] = now
            payload = (
                copy.deepcopy(refund)
                if _wants_representation(request)
                else {"id": refund_id, "status": "COMPLETED", "links": copy.deepcopy(refund["links"])}
            )
            return self._remember(operation, request, 201, payload)

    def _get_refund(self, request: Request, refund_id: str) -> Response:
        refused = self._unauthenticated(request)
        if refused:
            return refused
        with self.lock:
            refund = self.refunds.get(refund_id)
            return Response.json(200, copy.deepcopy(refund)) if refund else _not_found("refund", refund_id)

    # --- webhook verification -------------------------------------------------------------------

    def _cert(self, request: Request) -> Response:
        return Response(200, self.cert_pem, {"Content-Type": "text/plain"})

    def _verify_webhook(self, request: Request) -> Response:
        """Verify like PayPal does, with one difference: PayPal checks the raw body it sent, while this fake
        re-serialises ``webhook_event`` with ``json.dumps(event, separators=(",", ":"))``. That reproduces the
        bytes exactly because :meth:`webhook` produced them the same way (key order survives ``json.loads``).
        """
        refused = self._unauthenticated(request)
        if refused:
            return refused
        try:
            body = request.json()
        except ValueError:
            return _error(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        fields = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id")
        for name in (*fields, "webhook_event"):
            if not isinstance(body, dict) or not body.get(name):
                return _error(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", field=f"/{name}")
        if not all(isinstance(body[name], str) for name in fields) or not isinstance(body["webhook_event"], dict):
            return _error(400, "INVALID_PARAMETER_SYNTAX", "Fields have the wrong type.")
        raw = json.dumps(body["webhook_event"], separators=(",", ":")).encode()
        ok = (
            body["auth_algo"] == AUTH_ALGO
            and body["cert_url"] == self.cert_url
            and body["webhook_id"] == self.webhook_id
            and self._signature_valid(body["transmission_id"], body["transmission_time"], raw, body["transmission_sig"])
        )
        return Response.json(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})

    def _signature_valid(self, transmission_id: str, transmission_time: str, raw: bytes, signature: str) -> bool:
        message = _signed_message(transmission_id, transmission_time, self.webhook_id, raw)
        try:
            self._key.public_key().verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    # --- checkout pages (what the payer's browser sees) -----------------------------------------

    def _order_from_token(self, request: Request) -> PayPalOrder | None:
        return self.orders.get(request.arg("token") or "")

    def _checkout_page(self, request: Request) -> Response:
        with self.lock:
            order = self._order_from_token(request)
            if order is None:
                return Response.html(404, _page("Unknown order", "<p>This checkout session does not exist.</p>"))
            token = html.escape(order.id)
            amount = f"{order.amount['value']} {order.amount['currency_code']}"
            description = order.purchase_unit.get("description")
            status = order.status
        content = f'<p>Pay <strong id="amount">{html.escape(amount)}</strong></p>'
        if description:
            content += f'<p id="description">{html.escape(description)}</p>'
        content += f'<p>Order <code id="order-id">{token}</code> ({html.escape(status)})</p>'
        content += (
            f'<form method="post" action="/checkoutnow/approve?token={token}">'
            '<button type="submit" id="approve">Approve</button></form>'
            f'<form method="post" action="/checkoutnow/cancel?token={token}">'
            '<button type="submit" id="cancel">Cancel</button></form>'
        )
        return Response.html(200, _page("PayPal (fake)", content))

    def _checkout_approve(self, request: Request) -> Response:
        with self.lock:
            order = self._order_from_token(request)
            if order is None:
                return Response.html(404, _page("Unknown order", "<p>This checkout session does not exist.</p>"))
            if order.status == "COMPLETED":
                return Response.html(409, _page("PayPal (fake)", "<p>This order is already completed.</p>"))
            self.approve(order.id)
            return_url = order.return_url
        if not return_url:
            return Response.html(200, _page("PayPal (fake)", "<p>Approved. The order had no return_url.</p>"))
        return Response.redirect(_with_query(return_url, token=order.id, PayerID=PAYER_ID))

    def _checkout_cancel(self, request: Request) -> Response:
        with self.lock:
            order = self._order_from_token(request)
            if order is None:
                return Response.html(404, _page("Unknown order", "<p>This checkout session does not exist.</p>"))
            cancel_url = order.cancel_url
        if not cancel_url:
            return Response.html(200, _page("PayPal (fake)", "<p>Cancelled. The order had no cancel_url.</p>"))
        return Response.redirect(_with_query(cancel_url, token=order.id))


def _check_amount(amount: Any, where: str) -> Response | None:
    """PayPal's money checks: 3-letter supported currency, decimal string, currency precision, positive."""
    if not isinstance(amount, dict):
        return _error(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", field=where)
    currency, value = amount.get("currency_code"), amount.get("value")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        return _error(400, "INVALID_PARAMETER_SYNTAX", "Currency code is malformed.", field=f"{where}/currency_code")
    if currency not in SUPPORTED_CURRENCIES:
        return _error(
            422,
            "CURRENCY_NOT_SUPPORTED",
            "Currency code is not supported.",
            field=f"{where}/currency_code",
            value=currency,
        )
    if not isinstance(value, str) or not _VALUE.fullmatch(value):
        return _error(400, "INVALID_PARAMETER_SYNTAX", "Value is not a decimal string.", field=f"{where}/value")
    decimals = len(value.partition(".")[2])
    if decimals > (0 if currency in _NO_DECIMALS else 2):
        return _error(
            422, "DECIMAL_PRECISION", "Too many decimal places for the currency.", field=f"{where}/value", value=value
        )
    if Decimal(value) <= 0:
        return _error(422, "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", field=f"{where}/value")
    return None


def _format(value: Decimal, currency: str) -> str:
    return f"{value:.0f}" if currency in _NO_DECIMALS else f"{value:.2f}"


def _signed_message(transmission_id: str, transmission_time: str, webhook_id: str, raw_body: bytes) -> bytes:
    """What PayPal signs: ``transmission_id|transmission_time|webhook_id|crc32`` (unsigned decimal CRC of the body)."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(raw_body)}".encode()


def _self_signed_pem(key: rsa.RSAPrivateKey) -> bytes:
    """A self-signed certificate for the webhook key, like the one PayPal serves at PAYPAL-CERT-URL."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal (fake)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.fake"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _resource_type(event_type: str) -> str:
    if event_type.startswith("CHECKOUT.ORDER."):
        return "checkout-order"
    if event_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
        return "refund"
    if event_type.startswith("PAYMENT.CAPTURE."):
        return "capture"
    return event_type.split(".")[1].lower() if event_type.count(".") >= 2 else "unknown"


def _summary(event_type: str, resource: dict[str, Any]) -> str:
    amount = resource.get("amount") if isinstance(resource.get("amount"), dict) else None
    money = f"{amount.get('currency_code', '')} {amount.get('value', '')}" if amount else "the payment"
    summaries = {
        "CHECKOUT.ORDER.APPROVED": "An order has been approved by buyer",
        "CHECKOUT.ORDER.COMPLETED": "Checkout Order Completed",
        "PAYMENT.CAPTURE.COMPLETED": f"Payment completed for {money}",
        "PAYMENT.CAPTURE.DENIED": f"Payment denied for {money}",
        "PAYMENT.CAPTURE.PENDING": f"Payment pending for {money}",
        "PAYMENT.CAPTURE.REFUNDED": f"A {money} capture payment was refunded",
        "PAYMENT.CAPTURE.REVERSED": f"A {money} capture payment was reversed",
    }
    return summaries.get(event_type, f"{event_type} (fake)")


def _page(title: str, content: str) -> str:
    """A bare HTML page; no JavaScript, so any browser automation (or plain requests) can drive it."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
