"""A newcomer books two seats Kigali → Huye for tomorrow, in a real browser against the live server:
search, seat map, countdown, sandbox payment, tickets with QR codes, PDF, cancellation."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests import qrcodes
from tests.conftest import Mailbox
from tests.e2e.test_accounts_journeys import sign_up, unique_email


def test_a_newcomer_books_pays_and_cancels_one_of_two_tickets(page: Page, live_server, mailbox: Mailbox):
    sign_up(page, mailbox, unique_email())
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    tomorrow = (datetime.now(ZoneInfo("Africa/Kigali")) + timedelta(days=1)).date()
    page.goto("/")
    page.get_by_label("From", exact=True).fill("Nyabugogo Bus Park")
    page.get_by_label("To", exact=True).fill("Huye Bus Park")
    page.get_by_label("Date", exact=True).fill(tomorrow.isoformat())
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=re.compile("Nyabugogo Bus Park → Huye Bus Park"))).to_be_visible()
    assert f"date={tomorrow.isoformat()}" in page.url  # the results are a shareable URL

    page.get_by_role("link", name=re.compile("Choose seats")).first.click()
    free = page.locator("[data-seat-picker] .seat-button:not([disabled])")
    first, second = free.nth(0).get_attribute("data-seat"), free.nth(1).get_attribute("data-seat")
    page.get_by_role("button", name=re.compile(rf"^Seat {first}\b")).click()
    page.get_by_role("button", name=re.compile(rf"^Seat {second}\b")).click()
    expect(page.get_by_text(f"Chosen: {first}, {second}")).to_be_visible()
    page.get_by_role("button", name="Hold these seats").click()

    timer = page.get_by_role("timer")
    expect(timer).to_contain_text(re.compile(r"(10 min 0 s|9 min [0-5]?\d s)"))
    shown = timer.inner_text()
    page.wait_for_timeout(1500)
    assert timer.inner_text() != shown  # it counts down by itself

    page.get_by_label("Passenger name").nth(1).fill("Jean Mugabo")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Sandbox (test)").check()
    page.get_by_role("button", name=re.compile(r"^Pay [\d,]+ RWF")).click()
    page.get_by_role("button", name="Approve payment").click()
    expect(page.get_by_text("Payment approved. Your tickets are ready.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My tickets").click()
    tickets = page.locator(".ticket-row")
    expect(tickets).to_have_count(2)
    tickets.first.get_by_role("link").click()

    qr_code = page.get_by_role("img", name="QR code to show when boarding")
    expect(qr_code).to_be_visible()
    text = qrcodes.read(qr_code.screenshot())
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", text)
    verdict = page.request.post(f"{live_server.url}/api/v1/tickets/verify", data={"qr": text})
    assert verdict.status in (401, 403)  # only company staff may ask; the code itself was read

    with page.expect_download() as download:
        page.get_by_role("link", name="PDF to print (A4)").click()
    pdf = PdfReader(Path(download.value.path())).pages[0]
    codes = []
    for image in pdf.images:  # the QR code, and the operator's logo (the demo operators have one)
        png = io.BytesIO()
        image.image.save(png, format="PNG")
        codes.append(qrcodes.read(png.getvalue()))
    assert text in codes

    refund = page.get_by_text(re.compile(r"Cancelling now refunds")).inner_text()
    amount = re.search(r"refunds ([\d,]+ RWF)", refund).group(1)
    page.get_by_role("link", name=re.compile("Cancel ticket")).click()
    expect(page.get_by_role("heading", name=re.compile(rf"You get {amount} back"))).to_be_visible()
    page.get_by_role("button", name=re.compile("Cancel the ticket and get")).click()
    expect(page.get_by_text(re.compile(rf"cancelled\. Refund: {amount}"))).to_be_visible()
    expect(page.get_by_text(f"Cancelled; refund {amount}")).to_be_visible()
