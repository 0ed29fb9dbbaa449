"""Paying an order on the portal, in a real browser against the live server: the sandbox provider (approve,
decline) and MTN Mobile Money through the loopback fake, whose approval settles the order while the page
watches. Each journey books its own operator's first bus tomorrow, on seats free at run time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.conftest import Mailbox
from tests.e2e.test_accounts_journeys import nav, sign_up, unique_email
from tests.fakes.momo import FakeMomo

PAY = re.compile(r"^Pay [\d,]+ RWF$")


@dataclass(frozen=True)
class Booking:
    seat_map: str  # URL of the trip's seat map for the journey booked
    seats: list[str]
    order: str  # the order's code


def seat(page: Page, label: str):
    return page.get_by_role("button", name=re.compile(rf"^Seat {label}\b"))


def book(page: Page, mailbox: Mailbox, origin: str, destination: str, seats: int = 1) -> Booking:
    """A new passenger holds the first free seats on tomorrow's first bus and names the passengers; the
    browser ends on the order's pay page."""
    sign_up(page, mailbox, unique_email())
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()
    tomorrow = (datetime.now(ZoneInfo("Africa/Kigali")) + timedelta(days=1)).date()
    page.goto("/")
    page.get_by_label("From", exact=True).fill(origin)
    page.get_by_label("To", exact=True).fill(destination)
    page.get_by_label("Date", exact=True).fill(tomorrow.isoformat())
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=f"{origin} → {destination}", exact=False).first).to_be_visible()
    page.get_by_role("link", name=re.compile("Choose seats")).first.click()
    page.wait_for_url(re.compile(r"/trips/\d+"))
    seat_map = page.url

    free = page.locator("[data-seat-picker] .seat-button:not([disabled])")
    chosen = [free.nth(n).get_attribute("data-seat") for n in range(seats)]
    for label in chosen:
        seat(page, label).click()
    expect(page.get_by_text(f"Chosen: {', '.join(chosen)}")).to_be_visible()
    page.get_by_role("button", name="Hold these seats").click()
    for n in range(1, seats):  # the first passenger is the buyer, already filled in
        page.get_by_label("Passenger name").nth(n).fill(f"Passenger {n + 1}")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/orders/[^/]+/pay$"))
    return Booking(seat_map, chosen, page.url.split("/")[-2])


def pay_with_sandbox(page: Page, decision: str) -> None:
    page.get_by_label("Sandbox (test)").check()
    page.get_by_role("button", name=PAY).click()
    page.get_by_role("button", name=decision).click()


def test_sandbox_payment_approved_issues_the_tickets(page: Page, mailbox: Mailbox):
    booking = book(page, mailbox, "Remera Bus Park", "Kayonza Bus Park", seats=2)
    pay_with_sandbox(page, "Approve payment")

    expect(page.get_by_text("Payment approved. Your tickets are ready.")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Paid")
    expect(page).to_have_url(re.compile(rf"/orders/{booking.order}$"))

    nav(page).get_by_role("link", name="My tickets").click()
    tickets = page.locator(".ticket-row")
    expect(tickets).to_have_count(2)
    for label in booking.seats:
        expect(tickets.filter(has_text=f"Seat {label} ·")).to_have_count(1)


def test_sandbox_payment_declined_keeps_the_seats_and_tries_again(page: Page, mailbox: Mailbox):
    booking = book(page, mailbox, "Nyabugogo Bus Park", "Karongi Bus Park")
    pay_with_sandbox(page, "Decline")

    failed = page.locator("#payment-failed")
    expect(failed).to_contain_text("The payment did not go through")
    expect(failed).to_contain_text(re.compile(r"held for you for another \d+ min \d+ s\."))
    expect(failed.get_by_role("link", name="Choose another method")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/orders/{booking.order}/pay$"))

    seat_map = page.context.new_page()  # meanwhile, nobody else can take the seat
    seat_map.goto(booking.seat_map)
    (label,) = booking.seats
    expect(seat(seat_map, label)).to_be_disabled()
    seat_map.close()

    failed.get_by_role("button", name="Try again").click()
    page.get_by_role("button", name="Approve payment").click()
    expect(page.get_by_text("Payment approved. Your tickets are ready.")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Paid")


def test_momo_payment_approved_on_the_phone_moves_the_page_to_the_paid_order(
    page: Page, mailbox: Mailbox, momo_fake: FakeMomo
):
    booking = book(page, mailbox, "Nyabugogo Bus Park", "Musanze Bus Park")
    page.get_by_label("MTN Mobile Money", exact=True).check()
    page.get_by_label("MTN Mobile Money number").fill("0788123456")
    page.get_by_role("button", name=PAY).click()

    page.wait_for_url(re.compile(r"/payments/[0-9a-f-]{36}$"))
    reference = page.url.rsplit("/", 1)[-1]
    status = page.locator("#payment-status")
    expect(status.locator('[data-payment-state="waiting"]')).to_contain_text("Approve on your phone.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Payment for order {booking.order}")

    asked = [r for r in momo_fake.requests_to_pay.values() if r.body.get("externalId") == booking.order]
    assert [r.reference_id.lower() for r in asked] == [reference.lower()]
    assert asked[0].body["currency"] == "EUR"
    assert asked[0].party == {"partyIdType": "MSISDN", "partyId": "250788123456"}

    with page.expect_response(lambda response: response.url.endswith(f"/payments/{reference}")):
        pass  # the page polls by itself; the payment is still waiting on the phone
    expect(status.locator('[data-payment-state="waiting"]')).to_be_visible()

    assert momo_fake.approve(reference) == 200  # MTN calls back; the live worker looks the payment up
    expect(page.locator("#order-status")).to_contain_text("Paid", timeout=20_000)
    expect(page).to_have_url(re.compile(rf"/orders/{booking.order}$"))
