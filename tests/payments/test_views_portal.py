"""The passenger's payment pages change nothing when read: a reload, the back button or a browser
prefetching a link repeats a GET. The open payment page asks for news with a POST poll; PayPal's
returns, which arrive as GETs, act through services that are safe to repeat."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select, update

from app.booking.models import Order
from app.core.models import utcnow
from app.extensions import db
from app.payments.models import Payment
from tests.payments.test_momo import pay_with_momo
from tests.payments.test_paypal import pay_with_paypal, paypal_order_id

LOOKUP = "/collection/v1_0/requesttopay/"


def payment_row(reference: str) -> Payment:
    return db.session.scalar(select(Payment).where(Payment.reference == reference))


def lookup_due(reference: str) -> None:
    db.session.execute(
        update(Payment).where(Payment.reference == reference).values(next_check_at=utcnow() - timedelta(seconds=1))
    )


def test_reading_the_payment_page_asks_nothing_and_changes_nothing(client, api, momo, pending_order):
    user, order = pending_order()
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    lookup_due(reference)
    due_at = payment_row(reference).next_check_at
    momo.reset_calls()
    client.login(user.email)
    for _ in range(3):  # reloads, and htmx's own GET of the page
        assert client.get(f"/payments/{reference}").status_code == 200
        assert client.htmx("get", f"/payments/{reference}").status_code == 200
    assert momo.count("GET", LOOKUP) == 0
    assert payment_row(reference).next_check_at == due_at


def test_the_open_payment_page_polls_with_a_post_that_asks_mtn_once_when_due(client, api, momo, pending_order):
    user, order = pending_order()
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    client.login(user.email)
    page = client.get(f"/payments/{reference}").get_data(as_text=True)
    status = page.split('id="payment-status"')[1].split(">")[0]
    assert f'hx-post="/payments/{reference}"' in status and 'hx-trigger="every 2s"' in status

    lookup_due(reference)
    momo.reset_calls()
    for _ in range(3):  # open tabs polling together: one lookup
        waiting = client.htmx("post", f"/payments/{reference}")
        assert waiting.status_code == 200 and 'data-payment-state="waiting"' in waiting.get_data(as_text=True)
    assert momo.count("GET", LOOKUP) == 1
    assert payment_row(reference).status == "pending"

    momo.approve(reference)  # the callback never reaches us: the poll's lookup finds the money
    lookup_due(reference)
    assert client.htmx("post", f"/payments/{reference}").status_code == 200  # the lookup runs after the answer
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "paid"
    settled = client.htmx("post", f"/payments/{reference}")  # the next poll moves the page on
    assert settled.headers["HX-Redirect"] == f"/orders/{order['code']}"


def test_the_poll_needs_the_csrf_token(client, api, momo, pending_order):
    user, order = pending_order()
    reference = pay_with_momo(api, user, order["code"]).get_json()["payment"]["reference"]
    client.login(user.email)
    assert client.htmx("post", f"/payments/{reference}", csrf=False).status_code == 400


def test_the_pay_page_of_a_booking_that_costs_nothing_issues_nothing_when_read(client, api, pending_order):
    """Free rides are issued at checkout; an order still waiting with no total (placed before that)
    is not issued by reading a page."""
    user, order = pending_order(seats=("3A",))
    db.session.execute(update(Order).where(Order.code == order["code"]).values(total=0))
    client.login(user.email)
    assert client.get(f"/orders/{order['code']}/pay").status_code == 200
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "pending"


def test_coming_back_from_paypal_twice_captures_once(client, api, paypal, pending_order):
    user, order = pending_order()
    payment = pay_with_paypal(api, user, order["code"])
    paypal.approve(paypal_order_id(payment["reference"]))
    client.login(user.email)
    back = f"/payments/{payment['reference']}/paypal/return?token=x&PayerID=FAKEPAYER1"
    for _ in range(2):  # the return, then a reload of it
        response = client.get(back)
        assert response.status_code == 303 and response.headers["Location"] == f"/orders/{order['code']}"
    assert paypal.captures == 1
    assert payment_row(payment["reference"]).status == "succeeded"
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "paid"


def test_cancelling_on_paypal_twice_cancels_once_and_keeps_the_seats(client, api, paypal, pending_order):
    user, order = pending_order()
    payment = pay_with_paypal(api, user, order["code"])
    client.login(user.email)
    cancel = f"/payments/{payment['reference']}/paypal/cancel?token=x"
    for _ in range(2):
        response = client.get(cancel)
        assert response.headers["Location"] == f"/orders/{order['code']}/pay"
    page = html.unescape(client.get(f"/orders/{order['code']}/pay").get_data(as_text=True))
    assert "Nothing was charged; choose how to pay." in page
    row = payment_row(payment["reference"])
    assert (row.status, row.failure_reason, row.checks) == ("cancelled", "Cancelled on PayPal.", 1)
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "pending"
    assert paypal.captures == 0


def test_the_cancel_link_after_paying_changes_nothing(client, api, paypal, pending_order):
    user, order = pending_order()
    payment = pay_with_paypal(api, user, order["code"])
    paypal.approve(paypal_order_id(payment["reference"]))
    client.login(user.email)
    client.get(f"/payments/{payment['reference']}/paypal/return?token=x&PayerID=FAKEPAYER1")
    response = client.get(f"/payments/{payment['reference']}/paypal/cancel?token=x")
    assert response.headers["Location"] == f"/orders/{order['code']}/pay"
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "You cancelled the PayPal payment" not in page
    assert payment_row(payment["reference"]).status == "succeeded"
    assert db.session.scalar(select(Order.status).where(Order.code == order["code"])) == "paid"
