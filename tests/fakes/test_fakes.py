"""Self-tests of the payment fakes over real HTTP, so adapter tests can trust what the fakes answer."""

from __future__ import annotations

import base64
import json
import threading
import uuid
import zlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes import FakeServer, Request, Response
from tests.fakes.momo import FakeMomo
from tests.fakes.paypal import FakePayPal

TIMEOUT = 5


class Receiver(FakeServer):
    """Stands in for the application's callback endpoint: records every request body."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, str, str | None, bytes]] = []
        self.arrived = threading.Event()
        self.add_route("PUT", r"/.*", self._record)
        self.add_route("POST", r"/.*", self._record)

    def _record(self, request: Request) -> Response:
        with self.lock:
            self.received.append((request.method, request.path, request.header("Content-Type"), request.body))
        self.arrived.set()
        return Response(200)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


# --- MoMo -------------------------------------------------------------------------------------


@pytest.fixture
def momo() -> Iterator[FakeMomo]:
    with FakeMomo("api-user", "api-key", "sub-key") as fake:
        yield fake


def momo_headers(fake: FakeMomo, product: str = "collection", **extra: str) -> dict[str, str]:
    token = requests.post(
        f"{fake.url}/{product}/token/",
        auth=("api-user", "api-key"),
        headers={"Ocp-Apim-Subscription-Key": "sub-key"},
        timeout=TIMEOUT,
    )
    assert token.status_code == 200
    assert token.json()["token_type"] == "access_token"
    return {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Ocp-Apim-Subscription-Key": "sub-key",
        "X-Target-Environment": "sandbox",
        **extra,
    }


def request_to_pay(fake: FakeMomo, headers: dict[str, str], **body: object) -> tuple[str, requests.Response]:
    reference = str(uuid.uuid4())
    payload = {
        "amount": "5000",
        "currency": "EUR",
        "externalId": "booking-42",
        "payer": {"partyIdType": "MSISDN", "partyId": "250788123456"},
        "payerMessage": "Bus ticket",
        "payeeNote": "TMS",
        **body,
    }
    response = requests.post(
        f"{fake.url}/collection/v1_0/requesttopay",
        json=payload,
        headers={**headers, "X-Reference-Id": reference},
        timeout=TIMEOUT,
    )
    return reference, response


def test_momo_request_to_pay_then_approve_sends_callback(momo: FakeMomo, receiver: Receiver) -> None:
    headers = momo_headers(momo, **{"X-Callback-Url": f"{receiver.url}/momo/callback"})
    reference, created = request_to_pay(momo, headers)
    assert (created.status_code, created.content) == (202, b"")

    status_url = f"{momo.url}/collection/v1_0/requesttopay/{reference}"
    pending = requests.get(status_url, headers=headers, timeout=TIMEOUT).json()
    assert pending["status"] == "PENDING" and "financialTransactionId" not in pending
    assert pending["payer"] == {"partyIdType": "MSISDN", "partyId": "250788123456"}

    assert momo.approve(reference) == 200
    method, path, content_type, body = receiver.received[0]
    assert (method, path, content_type) == ("PUT", "/momo/callback", "application/json")
    done = requests.get(status_url, headers=headers, timeout=TIMEOUT).json()
    assert json.loads(body) == done
    assert done["status"] == "SUCCESSFUL" and done["financialTransactionId"].isdigit()
    assert (done["amount"], done["currency"], done["externalId"]) == ("5000", "EUR", "booking-42")
    assert momo.count("POST", "/collection/v1_0/requesttopay") == 1
    assert momo.requests_to_pay[reference].headers["X-Callback-Url"] == f"{receiver.url}/momo/callback"


def test_momo_refuses_bad_requests(momo: FakeMomo) -> None:
    headers = momo_headers(momo)
    reference, _ = request_to_pay(momo, headers)
    duplicate = requests.post(
        f"{momo.url}/collection/v1_0/requesttopay",
        json={"amount": "1", "currency": "EUR", "payer": {"partyIdType": "MSISDN", "partyId": "250788123456"}},
        headers={**headers, "X-Reference-Id": reference},
        timeout=TIMEOUT,
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "RESOURCE_ALREADY_EXIST"

    _, bad_token = request_to_pay(momo, {**headers, "Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    _, wrong_currency = request_to_pay(momo, headers, currency="RWF")
    assert wrong_currency.status_code == 400 and wrong_currency.json()["code"] == "INVALID_CURRENCY"
    _, bad_payer = request_to_pay(momo, headers, payer={"partyIdType": "MSISDN", "partyId": "+250 788"})
    assert bad_payer.json()["code"] == "PAYER_NOT_FOUND"
    bad_login = requests.post(f"{momo.url}/collection/token/", auth=("api-user", "wrong"), timeout=TIMEOUT)
    assert (bad_login.status_code, bad_login.json()) == (401, {"error": "login_failed"})


def test_momo_outage_then_recovery(momo: FakeMomo) -> None:
    headers = momo_headers(momo)
    momo.fail_next(1)
    _, failed = request_to_pay(momo, headers)
    assert failed.status_code == 500 and failed.json()["code"] == "INTERNAL_PROCESSING_ERROR"
    _, recovered = request_to_pay(momo, headers)
    assert recovered.status_code == 202
    assert len(momo.requests_to_pay) == 1


def test_momo_tamper_and_refund(momo: FakeMomo) -> None:
    headers = momo_headers(momo)
    reference, _ = request_to_pay(momo, headers)
    momo.approve(reference)
    momo.tamper(reference, amount="1")
    lookup = requests.get(f"{momo.url}/collection/v1_0/requesttopay/{reference}", headers=headers, timeout=TIMEOUT)
    assert lookup.json()["amount"] == "1"

    disbursement = momo_headers(momo, "disbursement")
    refund_ref = str(uuid.uuid4())
    refund = {"amount": "3000", "currency": "EUR", "externalId": "refund-1", "referenceIdToRefund": reference}
    created = requests.post(
        f"{momo.url}/disbursement/v2_0/refund",
        json=refund,
        headers={**disbursement, "X-Reference-Id": refund_ref},
        timeout=TIMEOUT,
    )
    assert (created.status_code, created.content) == (202, b"")
    status = requests.get(f"{momo.url}/disbursement/v1_0/refund/{refund_ref}", headers=disbursement, timeout=TIMEOUT)
    assert status.json()["status"] == "SUCCESSFUL" and status.json()["amount"] == "3000"
    too_much = requests.post(
        f"{momo.url}/disbursement/v2_0/refund",
        json=refund,  # 3000 + 3000 > 5000 really collected (tampering does not count)
        headers={**disbursement, "X-Reference-Id": str(uuid.uuid4())},
        timeout=TIMEOUT,
    )
    assert too_much.status_code == 400 and too_much.json()["code"] == "REFUND_AMOUNT_EXCEEDED"
    collection_token = requests.get(
        f"{momo.url}/disbursement/v1_0/refund/{refund_ref}", headers=headers, timeout=TIMEOUT
    )
    assert collection_token.status_code == 401  # a collection token is no good for disbursements


def test_momo_auto_outcome_and_http_controls(momo: FakeMomo, receiver: Receiver) -> None:
    headers = momo_headers(momo, **{"X-Callback-Url": f"{receiver.url}/cb"})
    momo.auto_outcome = "FAILED"
    reference, _ = request_to_pay(momo, headers)
    (callback,) = momo.wait_for_callbacks(1)
    assert callback.status_code == 200
    assert callback.payload["status"] == "FAILED" and callback.payload["reason"] == "APPROVAL_REJECTED"

    momo.auto_outcome = None
    pending, _ = request_to_pay(momo, headers)
    calls = len(momo.calls)
    control = requests.post(f"{momo.url}/_fake/approve/{pending}", timeout=TIMEOUT)
    assert control.json() == {"referenceId": pending, "status": "SUCCESSFUL", "callbackStatus": 200}
    assert len(momo.calls) == calls  # controls are not API calls
    assert requests.post(f"{momo.url}/_fake/decline/{reference}", timeout=TIMEOUT).status_code == 409


# --- PayPal -----------------------------------------------------------------------------------


@pytest.fixture
def paypal() -> Iterator[FakePayPal]:
    with FakePayPal("client-id", "client-secret", webhook_id="WH-TEST") as fake:
        yield fake


@pytest.fixture
def api(paypal: FakePayPal) -> Iterator[requests.Session]:
    """A session authenticated with a fresh PayPal access token."""
    token = requests.post(
        f"{paypal.url}/v1/oauth2/token",
        auth=("client-id", "client-secret"),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield session


def order_body(value: str = "4.20", currency: str = "USD") -> dict[str, object]:
    return {
        "intent": "CAPTURE",
        "purchase_units": [
            {"reference_id": "B-42", "custom_id": "booking-42", "amount": {"currency_code": currency, "value": value}}
        ],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "return_url": "https://tms.example/pay/return?lang=en",
                    "cancel_url": "https://tms.example/pay/cancel",
                }
            }
        },
    }


def test_paypal_order_approve_capture_refund(paypal: FakePayPal, api: requests.Session) -> None:
    bad_login = requests.post(
        f"{paypal.url}/v1/oauth2/token",
        auth=("client-id", "x"),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )
    assert (bad_login.status_code, bad_login.json()["error"]) == (401, "invalid_client")
    assert requests.get(f"{paypal.url}/v2/checkout/orders/X", timeout=TIMEOUT).status_code == 401

    orders = f"{paypal.url}/v2/checkout/orders"
    first = api.post(orders, json=order_body(), headers={"PayPal-Request-Id": "req-1"}, timeout=TIMEOUT)
    again = api.post(orders, json=order_body(), headers={"PayPal-Request-Id": "req-1"}, timeout=TIMEOUT)
    assert first.status_code == 201 and first.json()["status"] == "PAYER_ACTION_REQUIRED"
    assert again.json()["id"] == first.json()["id"] and paypal.created_orders == 1
    order_id = first.json()["id"]
    assert len(order_id) == 17 and order_id.isalnum() and order_id.isupper()
    checkout = next(link["href"] for link in first.json()["links"] if link["rel"] == "payer-action")
    assert api.post(orders, json=order_body(currency="RWF"), timeout=TIMEOUT).json()["details"][0]["issue"] == (
        "CURRENCY_NOT_SUPPORTED"
    )

    early = api.post(f"{orders}/{order_id}/capture", json={}, timeout=TIMEOUT)
    assert early.status_code == 422 and early.json()["details"][0]["issue"] == "ORDER_NOT_APPROVED"

    page = requests.get(checkout, timeout=TIMEOUT)
    assert "<title>PayPal (fake)</title>" in page.text and "4.20 USD" in page.text
    approved = requests.post(
        f"{paypal.url}/checkoutnow/approve?token={order_id}", allow_redirects=False, timeout=TIMEOUT
    )
    assert approved.status_code == 303
    location = urlsplit(approved.headers["Location"])
    assert location.path == "/pay/return"
    assert parse_qs(location.query) == {"lang": ["en"], "token": [order_id], "PayerID": ["FAKEPAYER1"]}
    assert api.get(f"{orders}/{order_id}", timeout=TIMEOUT).json()["status"] == "APPROVED"

    captured = api.post(f"{orders}/{order_id}/capture", json={}, timeout=TIMEOUT)
    assert captured.status_code == 201 and captured.json()["status"] == "COMPLETED"
    capture = captured.json()["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "COMPLETED" and capture["custom_id"] == "booking-42"
    assert capture["amount"] == {"currency_code": "USD", "value": "4.20"} and paypal.captures == 1
    twice = api.post(f"{orders}/{order_id}/capture", json={}, timeout=TIMEOUT)
    assert twice.json()["details"][0]["issue"] == "ORDER_ALREADY_CAPTURED"

    refund_url = f"{paypal.url}/v2/payments/captures/{capture['id']}/refund"
    partial = api.post(refund_url, json={"amount": {"value": "1.20", "currency_code": "USD"}}, timeout=TIMEOUT)
    assert partial.status_code == 201 and partial.json()["status"] == "COMPLETED"
    too_much = api.post(refund_url, json={"amount": {"value": "3.01", "currency_code": "USD"}}, timeout=TIMEOUT)
    assert too_much.status_code == 422 and too_much.json()["details"][0]["issue"] == "REFUND_AMOUNT_EXCEEDED"
    rest = api.post(refund_url, timeout=TIMEOUT)  # no body: refund what is left
    refund = api.get(f"{paypal.url}/v2/payments/refunds/{rest.json()['id']}", timeout=TIMEOUT).json()
    assert refund["amount"] == {"currency_code": "USD", "value": "3.00"}
    final = api.get(f"{orders}/{order_id}", timeout=TIMEOUT).json()["purchase_units"][0]["payments"]
    assert final["captures"][0]["status"] == "REFUNDED" and len(final["refunds"]) == 2


def test_paypal_webhook_signature(paypal: FakePayPal, api: requests.Session, receiver: Receiver) -> None:
    order_id = api.post(f"{paypal.url}/v2/checkout/orders", json=order_body(), timeout=TIMEOUT).json()["id"]
    paypal.approve(order_id)
    api.post(f"{paypal.url}/v2/checkout/orders/{order_id}/capture", json={}, timeout=TIMEOUT)
    resource = paypal.capture_resource(order_id)
    assert resource["supplementary_data"]["related_ids"]["order_id"] == order_id

    body, headers = paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
    assert headers["PAYPAL-CERT-URL"] == paypal.cert_url
    pem = requests.get(headers["PAYPAL-CERT-URL"], timeout=TIMEOUT).content
    public_key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    signature = base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"])

    def signed(raw: bytes) -> bytes:
        transmission = f"{headers['PAYPAL-TRANSMISSION-ID']}|{headers['PAYPAL-TRANSMISSION-TIME']}"
        return f"{transmission}|WH-TEST|{zlib.crc32(raw)}".encode()

    public_key.verify(signature, signed(body), padding.PKCS1v15(), hashes.SHA256())
    tampered = body.replace(b'"4.20"', b'"4.21"')
    assert tampered != body
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, signed(tampered), padding.PKCS1v15(), hashes.SHA256())

    def verify(raw: bytes) -> str:
        request = {
            "auth_algo": headers["PAYPAL-AUTH-ALGO"],
            "cert_url": headers["PAYPAL-CERT-URL"],
            "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
            "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
            "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
            "webhook_id": "WH-TEST",
            "webhook_event": json.loads(raw),
        }
        answer = api.post(f"{paypal.url}/v1/notifications/verify-webhook-signature", json=request, timeout=TIMEOUT)
        return answer.json()["verification_status"]

    assert verify(body) == "SUCCESS"
    assert verify(tampered) == "FAILURE"

    delivered = paypal.send_webhook(f"{receiver.url}/paypal/webhook", "CHECKOUT.ORDER.COMPLETED", {"id": order_id})
    assert delivered.status_code == 200
    assert json.loads(receiver.received[0][3])["event_type"] == "CHECKOUT.ORDER.COMPLETED"
