"""PayPal Orders v2 against the loopback fake: approve and capture, verified webhooks (forged,
tampered and foreign-certificate ones refused), replays applied once, refunds by capture."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.booking.models import Order
from app.core import tx
from app.core.models import utcnow
from app.extensions import db
from app.payments.models import Payment, WebhookEvent
from app.payments.services import payments, refunds


def pay_with_paypal(api, user, code):
    answer = api("POST", f"/orders/{code}/payments", user, json={"provider": "paypal"}, key=f"pp-{code}")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["payment"]


def paypal_order_id(reference):
    return db.session.scalar(select(Payment.provider_order_id).where(Payment.reference == reference))


def post_webhook(client, body: bytes, headers: dict):
    return client.post("/api/v1/webhooks/paypal", data=body, headers=headers)


def test_approved_on_paypal_then_captured_when_the_payer_comes_back(client, api, paypal, pending_order):
    user, order = pending_order()
    payment = pay_with_paypal(api, user, order["code"])
    assert payment["status"] == "pending"
    assert (payment["provider_amount"], payment["provider_currency"]) == ("3.45", "USD")  # 5,000 RWF
    assert payment["approve_url"].startswith(f"{paypal.url}/checkoutnow?token=")
    sent = paypal.orders[paypal_order_id(payment["reference"])]
    assert sent.purchase_unit["custom_id"] == payment["reference"] and sent.headers["PayPal-Request-Id"]

    paypal.approve(paypal_order_id(payment["reference"]))
    client.login(user.email)
    back = client.get(f"/payments/{payment['reference']}/paypal/return?token=x&PayerID=FAKEPAYER1")
    assert back.status_code == 303 and back.headers["Location"] == f"/orders/{order['code']}"
    assert paypal.captures == 1
    settled = api("GET", f"/payments/{payment['reference']}", user).get_json()["payment"]
    assert settled["status"] == "succeeded" and settled["order_status"] == "paid"


def test_a_payer_who_cancels_on_paypal_is_charged_nothing_and_may_choose_again(client, api, paypal, pending_order):
    user, order = pending_order()
    payment = pay_with_paypal(api, user, order["code"])
    client.login(user.email)
    back = client.get(f"/payments/{payment['reference']}/paypal/cancel?token=x")
    assert back.headers["Location"] == f"/orders/{order['code']}/pay"
    assert "Nothing was charged" in client.get(back.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(Payment.status).where(Payment.reference == payment["reference"])) == "cancelled"
    assert paypal.captures == 0


def genuine_webhook(paypal, api, user, order):
    payment = pay_with_paypal(api, user, order["code"])
    order_id = paypal_order_id(payment["reference"])
    paypal.approve(order_id)
    body, headers = paypal.webhook("CHECKOUT.ORDER.APPROVED", paypal.order_resource(order_id))
    return payment, body, headers


def test_a_genuine_webhook_delivered_ten_times_captures_and_pays_once(client, api, paypal, pending_order):
    user, order = pending_order()
    payment, body, headers = genuine_webhook(paypal, api, user, order)
    answers = [post_webhook(client, body, headers) for _ in range(10)]
    assert all(a.status_code == 200 for a in answers)
    assert [a.get_json()["duplicate"] for a in answers] == [False] + [True] * 9
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 1
    assert paypal.captures == 1
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "paid"


def forgeries(paypal, body: bytes, headers: dict):
    signature = headers["PAYPAL-TRANSMISSION-SIG"]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    event = json.loads(body)
    event["resource"]["purchase_units"][0]["amount"]["value"] = "0.01"
    foreign = urlsplit(paypal.cert_url)._replace(netloc=f"127.0.0.2:{urlsplit(paypal.url).port}").geturl()
    unsigned = {k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"}
    return {
        "bad signature": (body, {**headers, "PAYPAL-TRANSMISSION-SIG": flipped}),
        "body changed": (json.dumps(event, separators=(",", ":")).encode(), headers),
        "foreign certificate": (body, {**headers, "PAYPAL-CERT-URL": foreign}),
        "lookalike host": (body, {**headers, "PAYPAL-CERT-URL": paypal.cert_url.replace("127.0.0.1", "127.0.0.1.x")}),
        "not signed": (body, unsigned),
        "other algorithm": (body, {**headers, "PAYPAL-AUTH-ALGO": "SHA1withRSA"}),
    }


def test_forged_or_tampered_webhooks_are_refused_and_change_nothing(client, api, paypal, pending_order):
    user, order = pending_order()
    payment, body, headers = genuine_webhook(paypal, api, user, order)
    for name, (forged_body, forged_headers) in forgeries(paypal, body, headers).items():
        answer = post_webhook(client, forged_body, forged_headers)
        assert answer.status_code == 400, name
        assert answer.get_json()["error"]["code"] == "webhook_rejected", name
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0
    assert paypal.captures == 0
    assert db.session.scalar(select(Payment.status).where(Payment.reference == payment["reference"])) == "pending"
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "pending"


def test_a_webhook_signed_by_another_key_is_refused(client, api, paypal, pending_order, monkeypatch, app):
    user, order = pending_order()
    _, body, headers = genuine_webhook(paypal, api, user, order)
    monkeypatch.setitem(app.config, "PAYPAL_WEBHOOK_ID", "WH-SOMEONE-ELSES")  # signed for another listener
    assert post_webhook(client, body, headers).status_code == 400


@pytest.mark.parametrize("share", [1, 2])
def test_refunds_go_back_through_the_capture(api, paypal, pending_order, share):
    user, order = pending_order()
    payment = pay_with_paypal(api, user, order["code"])
    paypal.approve(paypal_order_id(payment["reference"]))
    row = db.session.scalar(select(Payment).where(Payment.reference == payment["reference"]))
    payments.check(row, now=utcnow())
    refund = refunds.open_refund(row, 5000 // share, reason="passenger_cancelled", purpose="t", now=utcnow())
    tx.commit()  # the refund is sent by a job once it is on record
    db.session.refresh(refund)
    assert refund.status == "succeeded" and refund.provider_amount == ("3.45" if share == 1 else "1.73")
    [sent] = paypal.refunds.values()
    assert sent["amount"]["value"] == refund.provider_amount and row.refunded_amount == 5000 // share
