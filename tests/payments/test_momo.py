"""MTN Mobile Money end to end against the loopback fake: the request to pay, the callback as a
mere trigger, lost callbacks found by reconciliation, amounts that do not match, bad input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from app.booking.models import Order, SeatLeg, Ticket
from app.core.events import Event
from app.core.models import utcnow
from app.extensions import db
from app.payments import jobs
from app.payments.models import IdempotencyKey, Payment, WebhookEvent


def pay_with_momo(api, user, code, *, phone="0788 123 456", key=None):
    body = {"provider": "momo", "phone": phone}
    return api("POST", f"/orders/{code}/payments", user, json=body, key=key or f"momo-{code}")


def callback(client, momo, reference, body=None):
    """Deliver MTN's callback as MTN would: the status lookup's body, PUT to our callback URL."""
    record = momo.requests_to_pay[reference]
    path = record.callback_url.removeprefix("http://tms.test")
    return client.put(path, json=body if body is not None else record.view())


def order_status(code):
    return db.session.scalar(select(Order.status).where(Order.code == code))


def test_the_payer_approves_on_the_phone_and_the_tickets_are_issued(client, api, momo, pending_order):
    user, order = pending_order()
    answer = pay_with_momo(api, user, order["code"])
    assert answer.status_code == 201
    payment = answer.get_json()["payment"]
    assert payment["status"] == "pending" and payment["approve_url"] is None
    assert (payment["amount"], payment["currency"]) == (5000, "RWF")
    assert (payment["provider_amount"], payment["provider_currency"]) == ("3.50", "EUR")

    sent = momo.requests_to_pay[payment["reference"]]
    assert sent.headers["X-Reference-Id"] == payment["reference"]
    assert sent.headers["X-Callback-Url"] == f"http://tms.test/api/v1/webhooks/momo/{payment['reference']}"
    assert sent.body["payer"] == {"partyIdType": "MSISDN", "partyId": "250788123456"}
    assert (sent.body["amount"], sent.body["currency"], sent.body["externalId"]) == ("3.50", "EUR", order["code"])
    assert order_status(order["code"]) == "pending"

    momo.approve(payment["reference"])
    assert callback(client, momo, payment["reference"]).status_code == 200
    settled = api("GET", f"/payments/{payment['reference']}", user).get_json()["payment"]
    assert settled["status"] == "succeeded" and settled["order_status"] == "paid"
    tickets = api("GET", f"/orders/{order['code']}", user).get_json()["order"]["tickets"]
    assert all(t["status"] == "paid" and t["qr"] for t in tickets)


def test_a_callback_is_a_trigger_not_proof(client, api, momo, pending_order):
    user, order = pending_order()
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    forged = {**momo.requests_to_pay[reference].view(), "status": "SUCCESSFUL", "financialTransactionId": "1"}
    assert callback(client, momo, reference, forged).status_code == 200  # stored, then looked up at MTN
    assert order_status(order["code"]) == "pending"  # MTN says PENDING: nothing is paid
    assert client.put("/api/v1/webhooks/momo/00000000-0000-4000-8000-000000000000", json={}).status_code == 404


def test_a_callback_delivered_ten_times_moves_the_order_once(client, api, momo, pending_order):
    user, order = pending_order()
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    momo.approve(reference)
    for _ in range(10):
        assert callback(client, momo, reference).status_code == 200
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 1
    assert db.session.scalar(select(func.count(Event.id)).where(Event.name == "tickets.issued")) == 1
    assert order_status(order["code"]) == "paid"


def test_a_wrong_amount_or_currency_never_pays_the_order(client, api, momo, pending_order, login_as):
    for tampered in ({"amount": "0.01"}, {"currency": "USD"}, {"external_id": "SOMEONEELSE"}):
        user, order = pending_order(seats=("3A",))
        reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
        momo.approve(reference)
        momo.tamper(reference, **tampered)
        callback(client, momo, reference)
        payment = db.session.scalar(select(Payment).where(Payment.reference == reference))
        assert payment.status == "mismatch" and order_status(order["code"]) == "pending", tampered
        db.session.execute(update(Order).where(Order.code == order["code"]).values(status="failed"))
        db.session.execute(SeatLeg.__table__.delete())
    login_as("super_admin")
    page = client.get("/admin/payments").get_data(as_text=True)
    attention = page.split('id="payments-attention"')[1].split("</section>")[0]
    assert "Needs attention" in attention and attention.count("we asked 1.75 EUR") == 3


def test_lost_callbacks_are_found_by_reconciliation(api, momo, pending_order):
    approved_user, approved = pending_order(seats=("1A",))
    declined_user, declined = pending_order(seats=("1B",))
    waiting_user, waiting = pending_order(seats=("1C",))
    references = [
        pay_with_momo(api, u, o["code"]).get_json()["payment"]["reference"]
        for u, o in ((approved_user, approved), (declined_user, declined), (waiting_user, waiting))
    ]
    momo.approve(references[0])
    momo.decline(references[1])  # no callback reaches us for either
    db.session.execute(update(Payment).values(next_check_at=utcnow() - timedelta(seconds=1)))

    assert jobs.reconcile() == 3
    assert order_status(approved["code"]) == "paid"
    assert order_status(declined["code"]) == "pending"  # declined: the seats are kept to try again
    assert order_status(waiting["code"]) == "pending"
    seats = set(db.session.scalars(select(SeatLeg.seat_label)))
    assert {"1A", "1B", "1C"} <= seats  # the declined seat stays out of sale until its time runs out
    still = db.session.scalar(select(Payment).where(Payment.reference == references[2]))
    assert still.status == "pending" and still.next_check_at > utcnow()


def test_an_outage_at_mtn_charges_nothing_and_keeps_the_seats(api, momo, pending_order):
    user, order = pending_order()
    momo.fail_next(1, status=500, path_prefix="/collection/v1_0/requesttopay")
    payment = pay_with_momo(api, user, order["code"]).get_json()["payment"]
    assert payment["status"] == "pending"  # it may have reached MTN: looked up before anything else
    db.session.execute(update(Payment).values(next_check_at=utcnow() - timedelta(seconds=1)))
    jobs.reconcile()
    looked_up = api("GET", f"/payments/{payment['reference']}", user).get_json()["payment"]
    assert looked_up["status"] == "failed" and "never reached" in looked_up["failure_reason"]
    assert looked_up["order_status"] == "pending"  # the passenger may try again while the hold lasts
    again = pay_with_momo(api, user, order["code"], key="second-try").get_json()["payment"]
    assert again["status"] == "pending" and len(momo.requests_to_pay) >= 1


def test_bad_payment_requests_are_refused_with_clear_errors_and_leave_nothing(api, momo, pending_order):
    user, order = pending_order()
    path = f"/orders/{order['code']}/payments"
    cases = [
        ({"provider": "bitcoin"}, "k1", 422, "provider"),
        ({"provider": "momo", "phone": "12"}, "k2", 422, "phone"),
        ({"provider": "momo", "phone": "0728123456"}, "k3", 422, "phone"),  # Airtel, not MTN
        ({"provider": "momo", "phone": "0788123456", "amount": 4000}, "k4", 422, "amount"),
        ({"provider": "momo", "phone": "0788123456", "amount": "5000"}, "k5", 422, "amount"),
        ({"provider": "sandbox", "decision": "maybe"}, "k6", 422, "decision"),
    ]
    for body, key, status, field in cases:
        answer = api("POST", path, user, json=body, key=key)
        assert answer.status_code == status, body
        assert field in answer.get_json()["error"]["fields"], answer.get_json()
    missing = api("POST", path, user, json={"provider": "momo", "phone": "0788123456"})
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "idempotency_key_missing"
    assert api("POST", "/orders/NOSUCHONE/payments", user, json={"provider": "sandbox"}, key="k7").status_code == 404
    assert db.session.scalar(select(func.count(Payment.id))) == 0
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0
    assert momo.count("POST", "/collection/v1_0/requesttopay") == 0
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status == "pending")) == 2
