"""Money going back: operator cancellations refund in full, passenger cancellations by the policy
kept on the ticket, late payments that found no seat in full; cash is paid back at a counter."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select, update

from app.booking.models import Order, Ticket
from app.booking.services import tickets as ticket_service
from app.core import tx
from app.core.events import Event, deliver
from app.core.models import utcnow
from app.extensions import db
from app.fleet.services.trips import cancel_trip
from app.payments.models import Payment, Refund
from tests import factories
from tests.payments.test_momo import callback, pay_with_momo


def paid_with_momo(client, api, momo, pending_order, seats=("2A", "2B")):
    user, order = pending_order(seats=seats)
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    momo.approve(reference)
    callback(client, momo, reference)
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "paid"
    return user, order, reference


def paid_with_sandbox(api, pending_order, seats):
    user, order = pending_order(seats=seats)
    body = {"provider": "sandbox", "decision": "approve"}
    assert api("POST", f"/orders/{order['code']}/payments", user, json=body, key="s").status_code == 201
    return user, order


def test_an_operator_cancelling_the_trip_refunds_every_paid_ticket_in_full(client, api, momo, trip, pending_order):
    _, by_phone, reference = paid_with_momo(client, api, momo, pending_order)
    _, by_sandbox = paid_with_sandbox(api, pending_order, seats=("3A",))
    _, unpaid = pending_order(seats=("4A",))
    cancel_trip(factories.member("admin", of=trip.route.company), trip, reason="Engine failure", now=utcnow())
    tx.commit()  # the cancellation's event is delivered, refunds are opened and sent, after commit

    rows = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    assert [(r.reason, r.amount, r.status) for r in rows] == [("trip_cancelled", 2500, "succeeded")] * 3
    to_phone = [r for r in momo.refunds.values() if r.body["referenceIdToRefund"] == reference]
    assert sorted(r.body["amount"] for r in to_phone) == ["1.75", "1.75"] and len(to_phone) == 2
    statuses = dict(db.session.execute(select(Order.code, Order.status)).all())
    assert statuses[by_phone["code"]] == statuses[by_sandbox["code"]] == "refunded"
    assert statuses[unpaid["code"]] == "failed"
    cancelled = db.session.scalars(select(Ticket).where(Ticket.status == "cancelled")).all()
    assert len(cancelled) == 3 and all(t.refund_amount == t.price for t in cancelled)

    for event_id in db.session.scalars(select(Event.id)):
        deliver(event_id)  # a redelivered event refunds nothing twice
    assert len(db.session.scalars(select(Refund)).all()) == 3


def test_a_passenger_cancelling_gets_the_policy_amount_back(client, api, momo, pending_order):
    user, order, reference = paid_with_momo(client, api, momo, pending_order)
    ticket = db.session.scalar(select(Ticket).where(Ticket.seat_label == "2A"))
    ticket_service.cancel_ticket(ticket, now=utcnow())  # three days ahead: 90 % back
    tx.commit()
    refund = db.session.scalar(select(Refund))
    assert (refund.reason, refund.amount, refund.status, refund.provider_amount) == (
        "passenger_cancelled",
        2250,
        "succeeded",
        "1.58",
    )
    [sent] = [r for r in momo.refunds.values() if r.body["referenceIdToRefund"] == reference]
    assert sent.body["amount"] == "1.58" and sent.body["currency"] == "EUR"
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "partially_refunded"
    page = api("GET", f"/payments/{reference}", user).get_json()["payment"]
    assert page["refunds"] == [
        {"reference": refund.reference, "amount": 2250, "status": "succeeded", "reason": "passenger_cancelled"}
    ]


def expire(code):
    db.session.execute(update(Order).where(Order.code == code).values(expires_at=utcnow() - timedelta(seconds=1)))


def test_money_that_arrives_after_the_hold_ran_out_buys_the_seats_if_they_are_still_free(
    client, api, momo, pending_order
):
    user, order = pending_order(seats=("1A",))
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    expire(order["code"])
    momo.approve(reference)
    callback(client, momo, reference)
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "paid"
    assert db.session.scalar(select(Refund.id)) is None


def test_money_that_arrives_after_the_seats_were_sold_again_goes_back_in_full(client, api, momo, pending_order):
    user, order = pending_order(seats=("1A",))
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    expire(order["code"])
    _, rival = paid_with_sandbox(api, pending_order, seats=("1A",))  # the freed seat sells to someone else
    momo.approve(reference)
    callback(client, momo, reference)
    tx.commit()
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "expired"
    refund = db.session.scalar(select(Refund))
    assert (refund.reason, refund.amount, refund.status) == ("not_placed", 2500, "succeeded")
    assert db.session.scalar(select(Order.status).where(Order.code == rival["code"])) == "paid"


def test_cash_taken_by_an_agent_and_paid_back_at_the_counter(client, api, trip, pending_order):
    _, order = pending_order(seats=("4A",))
    agent = factories.member("agent", of=trip.route.company)
    refused = api("POST", f"/orders/{order['code']}/cash", agent, json={"amount": 100}, key="c1")
    assert refused.status_code == 422 and "2,500 RWF" in refused.get_json()["error"]["fields"]["amount"][0]
    taken = api("POST", f"/orders/{order['code']}/cash", agent, json={"amount": 2500}, key="c2")
    assert taken.status_code == 201 and taken.get_json()["payment"]["order_status"] == "paid"
    outsider = factories.member("agent")
    assert api("POST", f"/orders/{order['code']}/cash", outsider, json={"amount": 2500}, key="c3").status_code == 404

    ticket = db.session.scalar(select(Ticket).where(Ticket.seat_label == "4A"))
    ticket_service.cancel_ticket(ticket, now=utcnow())
    tx.commit()
    refund = db.session.scalar(select(Refund))
    assert refund.status == "cash_due" and refund.amount == 2250

    client.login(factories.member("admin", of=trip.route.company).email)
    page = client.get("/console/payments").get_data(as_text=True)
    assert "To collect in cash at the station" in page
    client.submit(f"/console/refunds/{refund.reference}/paid-out")
    assert db.session.get(Refund, refund.id).status == "succeeded"
    exported = list(csv.DictReader(io.StringIO(client.get("/console/payments.csv").get_data(as_text=True))))
    assert [(row["order"], row["provider"], row["status"], row["amount"], row["refunded"]) for row in exported] == [
        (order["code"], "cash", "succeeded", "2500", "2250")
    ]
    assert db.session.scalar(select(Payment.recorded_by_id)) == agent.id
