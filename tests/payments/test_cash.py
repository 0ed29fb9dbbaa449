"""Cash at the office: company admins and dispatchers record cash a walk-up passenger paid for a
booking waiting for payment, in the console or over the API, and the audit log says who took it.
Money management (the payments list, its CSV, cash refunds handed over) stays with admins."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.booking.models import Order, Ticket
from app.core import tx
from app.core.models import utcnow
from app.extensions import db
from app.payments.models import Payment, Refund
from app.payments.services import refunds
from tests import factories


def order_row(code: str) -> Order:
    return db.session.scalar(select(Order).where(Order.code == code))


def take_in_console(client, staff, code: str, amount):
    client.login(staff.email)
    return client.submit("/console/cash", {"order": code.lower(), "amount": str(amount)})


def take_over_api(api, staff, code: str, amount):
    return api("POST", f"/orders/{code}/cash", staff, json={"amount": amount}, key=f"cash-{code}-{amount}")


@pytest.mark.parametrize("role", ["admin", "dispatcher"])
def test_staff_record_cash_in_the_console_and_the_tickets_are_issued(client, trip, pending_order, role):
    _, order = pending_order(seats=("3A", "3B"))
    staff = factories.member(role, of=trip.route.company, name=f"Counter {role.title()}")
    client.login(staff.email)
    page = html.unescape(client.get("/console/cash").get_data(as_text=True))
    assert "Cash received at the office" in page and "Record cash and issue tickets" in page

    response = take_in_console(client, staff, order["code"], 5000)
    assert response.status_code == 303 and response.headers["Location"] == "/console/cash"
    shown = html.unescape(client.get("/console/cash").get_data(as_text=True))
    assert f"Cash recorded for order {order['code']}: tickets issued." in shown
    assert order_row(order["code"]).status == "paid"
    assert set(db.session.scalars(select(Ticket.status))) == {"paid"}
    payment = db.session.scalar(select(Payment))
    assert (payment.provider, payment.amount, payment.recorded_by_id) == ("cash", 5000, staff.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.cash"))
    assert entry.actor_id == staff.id and entry.company_id == trip.route.company_id
    assert entry.summary == f"Cash 5000 for order {order['code']}"


@pytest.mark.parametrize("role", ["admin", "dispatcher", "agent"])
def test_staff_record_cash_over_the_api_with_the_same_rule_and_audit(api, trip, pending_order, role):
    _, order = pending_order(seats=("4A",))
    staff = factories.member(role, of=trip.route.company)
    response = take_over_api(api, staff, order["code"], 2500)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["payment"]["order_status"] == "paid"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.cash"))
    assert entry.actor_id == staff.id


@pytest.mark.parametrize("role", ["customer", "driver"])
def test_only_staff_who_serve_passengers_take_cash_over_the_api(api, trip, pending_order, role):
    _, order = pending_order(seats=("4A",))
    caller = factories.user() if role == "customer" else factories.member(role, of=trip.route.company)
    response = take_over_api(api, caller, order["code"], 2500)
    assert response.status_code == 403
    assert order_row(order["code"]).status == "pending" and db.session.scalar(select(Payment)) is None


@pytest.mark.parametrize("role", ["admin", "dispatcher"])
def test_a_wrong_amount_or_another_companys_booking_is_refused_and_records_nothing(
    client, api, trip, pending_order, role
):
    _, order = pending_order(seats=("4A",))
    staff = factories.member(role, of=trip.route.company)
    refused = take_in_console(client, staff, order["code"], 2000)
    assert refused.status_code == 422
    page = html.unescape(refused.get_data(as_text=True))
    assert "This booking costs 2,500 RWF." in page and 'value="2000"' in page
    assert take_over_api(api, staff, order["code"], 2000).status_code == 422

    outsider = factories.member(role, of=factories.company(name="Other Coaches"))
    refused = take_in_console(client, outsider, order["code"], 2500)
    assert refused.status_code == 422
    assert f"No booking {order['code']} in Other Coaches." in html.unescape(refused.get_data(as_text=True))
    assert take_over_api(api, outsider, order["code"], 2500).status_code == 404
    assert order_row(order["code"]).status == "pending" and db.session.scalar(select(Payment)) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.cash")) is None


def test_dispatchers_see_the_cash_desk_but_not_the_money_pages(client, trip):
    dispatcher = factories.member("dispatcher", of=trip.route.company)
    client.login(dispatcher.email)
    page = client.get("/console/").get_data(as_text=True)
    nav = page.split('<nav class="sidebar"')[1].split("</nav>")[0]  # the console's sections
    assert "Cash desk" in nav and ">Payments<" not in nav
    for path in ("/console/payments", "/console/payments.csv"):
        assert client.get(path).status_code == 403


def test_only_admins_hand_cash_refunds_over(client, api, trip, pending_order):
    _, order = pending_order(seats=("4A",))
    company = trip.route.company
    assert take_over_api(api, factories.member("agent", of=company), order["code"], 2500).status_code == 201
    payment = db.session.scalar(select(Payment))
    refund = refunds.open_refund(payment, 2250, reason="passenger_cancelled", purpose="test:cash", now=utcnow())
    tx.commit()
    assert refund.status == "cash_due"

    client.login(factories.member("dispatcher", of=company).email)
    assert client.submit(f"/console/refunds/{refund.reference}/paid-out").status_code == 403
    assert db.session.get(Refund, refund.id).status == "cash_due"
    client.login(factories.member("admin", of=company).email)
    assert client.submit(f"/console/refunds/{refund.reference}/paid-out").status_code == 303
    assert db.session.get(Refund, refund.id).status == "succeeded"
