"""The fuzz job's webhook half: MTN MoMo callbacks (unsigned) and PayPal webhooks (signed by the
fake's certificate, so hostile bodies get past the signature) with any body. Never a 5xx; a
refused delivery keeps nothing; an accepted one keeps exactly one event and never moves money on
its own say-so."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.payments.models import Payment, WebhookEvent
from tests.fuzzing import JSON, TEXT, WIRE_TEXT, fuzz, near, rows
from tests.payments.test_momo import pay_with_momo
from tests.payments.test_paypal import pay_with_paypal

pytestmark = pytest.mark.fuzz
TABLES = ("webhook_events", "payments", "refunds", "orders", "tickets")
STATUS = st.sampled_from(["PENDING", "SUCCESSFUL", "FAILED", "successful", None]) | TEXT | JSON
RAW = st.binary(max_size=60) | st.sampled_from(
    [b"", b"[" * 3000, b"null", b"{}", b'{"status": "\\u0000"}', b"\xff\xfe"]
)


def events() -> int:
    return db.session.scalar(select(func.count(WebhookEvent.id)))


def test_any_momo_callback_is_kept_once_or_refused(client, api, momo, pending_order):
    user, order = pending_order()
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    valid = momo.requests_to_pay[reference].view()
    bodies = near(valid, {"status": STATUS, "externalId": TEXT | JSON, "amount": JSON}) | JSON
    references = st.just(reference) | WIRE_TEXT.map(lambda text: quote(text, safe=""))

    @fuzz("webhooks: MoMo callbacks", examples=60, body=bodies, to=references, method=st.sampled_from(["PUT", "POST"]))
    def case(body, to, method):
        before = rows(TABLES)
        response = client.open(f"/api/v1/webhooks/momo/{to}", method=method, json=body)
        assert response.status_code in (200, 400, 404, 405, 415, 422), response.get_data(as_text=True)[:300]
        kept = rows(TABLES)["webhook_events"] - before["webhook_events"]
        if response.status_code == 200:
            assert kept == (0 if response.get_json()["duplicate"] else 1)
        else:
            assert response.get_json()["error"]["message"] and rows(TABLES) == before

    @fuzz("webhooks: MoMo raw bodies", examples=30, data=RAW, kind=st.sampled_from(["application/json", "text/plain"]))
    def raw(data, kind):
        before = rows(TABLES)
        response = client.put(f"/api/v1/webhooks/momo/{reference}", data=data, content_type=kind)
        assert response.status_code in (200, 400, 415, 422)
        if response.status_code != 200:
            assert rows(TABLES) == before

    # Whatever the callbacks said, the payment's state is MTN's, looked up with our credentials.
    assert db.session.scalar(select(Payment.status).where(Payment.reference == reference)) == "pending"


def test_any_signed_paypal_body_is_kept_once_or_refused(client, api, paypal, pending_order):
    user, order = pending_order()
    pay_with_paypal(api, user, order["code"])
    valid = {"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": "NOT-OURS"}}
    hostile = {"id": TEXT | JSON, "event_type": TEXT | JSON, "resource": JSON}
    bodies = near(valid, hostile).map(lambda body: json.dumps(body).encode()) | RAW

    @fuzz("webhooks: PayPal signed bodies", examples=60, body=bodies, unsigned=st.booleans())
    def case(body, unsigned):
        headers = {
            "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4()),
            "PAYPAL-TRANSMISSION-TIME": "2026-03-01T08:00:00Z",
            "PAYPAL-CERT-URL": paypal.cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
        headers["PAYPAL-TRANSMISSION-SIG"] = paypal.sign(body, headers) if not unsigned else "c2lnbmF0dXJl"
        before = rows(TABLES)
        response = client.post("/api/v1/webhooks/paypal", data=body, headers=headers, content_type="application/json")
        assert response.status_code in (200, 400, 422), response.get_data(as_text=True)[:300]
        if response.status_code == 200:
            assert not unsigned
            assert rows(TABLES)["webhook_events"] - before["webhook_events"] == (
                0 if response.get_json()["duplicate"] else 1
            )
        else:
            assert response.get_json()["error"]["message"] and rows(TABLES) == before

    assert paypal.captures == 0  # no event of ours was ever approved
