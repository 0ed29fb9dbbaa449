"""The portal's bell, in a real browser against the live server: a customer with unread items sees
the count, reads the inbox, marks everything read, and sees a new item arrive without reloading."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from app.core import tx
from app.core.models import utcnow
from app.extensions import db
from app.notifications.models import Notification
from tests import factories
from tests.e2e.conftest import data_app

POLL_SECONDS = 15


@dataclass(frozen=True)
class Customer:
    id: int
    email: str
    password: str


@pytest.fixture(scope="module")
def live_db(live_server):
    """The app bound to the live server's database, to record portal items as the notification
    jobs do (delivered on creation, unread)."""
    with data_app(live_server) as app:
        yield app


def record_item(live_db, user_id: int, subject: str, body: str, link: str) -> None:
    with live_db.app_context():
        now = utcnow()
        db.session.add(
            Notification(
                dedupe_key=f"trip_delayed:e2e{time.time_ns()}:inbox:user:{user_id}",
                kind="trip_delayed",
                channel="inbox",
                address=f"user:{user_id}",
                user_id=user_id,
                subject=subject,
                body=body,
                link=link,
                status="sent",
                provider="portal",
                created_at=now,
                sent_at=now,
            )
        )
        tx.commit()


@pytest.fixture
def customer(live_db) -> Customer:
    with live_db.app_context():
        user = factories.user(email=f"reader{time.time_ns()}@example.rw", name="Ange Mutesi")
        found = Customer(user.id, user.email, factories.PASSWORD)
        tx.commit()
    return found


class Bell:
    """The bell in the portal's header."""

    def __init__(self, page: Page):
        self.link = page.locator("#notification-bell")  # in the header, outside the phone menu
        self.badge = self.link.locator(".bell-count")

    def expect_unread(self, count: int, timeout: float = 5_000) -> None:
        expect(self.link).to_have_attribute("aria-label", f"Notifications, {count} unread", timeout=timeout)
        if count:
            expect(self.badge).to_have_text(str(count), timeout=timeout)
        else:
            expect(self.badge).to_be_hidden(timeout=timeout)


def test_customer_reads_the_inbox_and_the_bell_follows(page: Page, base_url: str, live_db, customer: Customer):
    record_item(live_db, customer.id, "Trip delayed by 20 minutes", "Your bus leaves at 14:20.", "/tickets")
    record_item(live_db, customer.id, "Bus changed", "Your bus is now RAB 123C.", "/tickets")
    bell = Bell(page)

    # 1. Signed in, the customer sees two unread items on the bell.
    page.goto("/login")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")
    bell.expect_unread(2)

    # 2. The bell leads to the inbox: both items, unread.
    page.get_by_role("link", name="Notifications, 2 unread").click()
    page.wait_for_url(f"{base_url}/notifications")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator(".inbox-item.unread")).to_have_count(2)
    expect(page.get_by_text("Your bus is now RAB 123C.")).to_be_visible()

    # 3. Mark all read: the list and the bell change in place (the page is not reloaded).
    page.evaluate("window.stillHere = true")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("status").filter(has_text="All read")).to_be_visible()
    expect(page.locator(".inbox-item.unread")).to_have_count(0)
    bell.expect_unread(0)
    assert page.evaluate("window.stillHere === true")

    # 4. A new item shows on the bell at its next poll, without reloading.
    record_item(live_db, customer.id, "Boarding soon", "Board at Nyabugogo by 14:05.", "/tickets")
    bell.expect_unread(1, timeout=(POLL_SECONDS + 5) * 1000)

    # 5. Opening it marks it read and leads to its page.
    page.get_by_role("link", name="Notifications, 1 unread").click()
    page.get_by_role("button", name="Boarding soon").click()
    page.wait_for_url(f"{base_url}/tickets")
    bell.expect_unread(0)
