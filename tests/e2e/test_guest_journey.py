"""A guest books two seats on a 390 × 844 phone without an account, in Kinyarwanda, against the live
server: seat map, "continue as a guest", sandbox payment, the SMS with the private link (Africa's
Talking fake), the link opened in a fresh browser with its QR code read back, and a cancellation
after the confirmation.

Texts are the catalogue's: computed with ``force_locale("rw")``, so the journey keeps passing as
the Kinyarwanda catalogue fills up."""

from __future__ import annotations

import random
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Browser, Page, expect

from tests import qrcodes

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def rw(app):
    """``rw("text", **values)``: the text as the Kinyarwanda catalogue has it."""

    def translate(text: str, **values) -> str:
        with app.test_request_context(), force_locale("rw"):
            return gettext(text, **values)

    return translate


def switch_language(page: Page, code: str) -> None:
    """Through the language switcher in the header: on a phone it sits in the menu."""
    page.get_by_role("button", name="Menu").click()
    page.locator('form[action="/language"]').locator(f'[name="language"][value="{code}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    assert {"name": "tms_lang", "value": code} in [
        {"name": c["name"], "value": c["value"]} for c in page.context.cookies()
    ]


def wait_for_sms(sms_fake, number: str, containing: str, timeout: float = 180.0):
    """The worker may still be sending what the demo load queued: poll until ours arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in sms_fake.messages_to(number) if containing in m.text]
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no SMS to {number} with {containing!r}: {[m.text for m in sms_fake.messages_to(number)]}")


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_a_guest_books_on_a_phone_in_kinyarwanda_and_opens_the_sms_link_elsewhere(
    browser: Browser, live_server, sms_fake, rw
):
    local_number = "078" + "".join(random.choices("0123456789", k=7))
    e164 = "+250" + local_number[1:]
    phone = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto("/")
    switch_language(page, "rw")

    tomorrow = (datetime.now(ZoneInfo("Africa/Kigali")) + timedelta(days=1)).date()
    page.goto("/")
    # By town names, as a passenger says them: Kigali matches each of its bus parks.
    page.get_by_role("combobox", name=rw("From"), exact=True).fill("Kigali")
    page.keyboard.press("Escape")
    page.get_by_role("combobox", name=rw("To"), exact=True).fill("Huye")
    page.keyboard.press("Escape")
    page.get_by_label(rw("Date"), exact=True).fill(tomorrow.isoformat())
    page.get_by_role("button", name=rw("Search"), exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Kigali → Huye"))).to_be_visible()
    no_sideways_scroll(page)
    page.locator('a[href^="/trips/"]').first.click()
    free = page.locator("[data-seat-picker] .seat-button:not([disabled])")
    first, second = free.nth(0).get_attribute("data-seat"), free.nth(1).get_attribute("data-seat")
    page.locator(f'[data-seat="{first}"]').click()
    page.locator(f'[data-seat="{second}"]').click()
    no_sideways_scroll(page)
    page.get_by_role("button", name=rw("Continue as a guest")).click()

    expect(page.get_by_role("heading", level=1, name=rw("Passengers and payment"))).to_be_visible()
    expect(page.get_by_role("timer")).to_be_visible()
    page.get_by_label(rw("Your name")).fill("Aline Uwase")
    page.get_by_label(rw("Mobile number (the tickets come by SMS)")).fill(local_number)
    names = page.get_by_label(rw("Passenger name"))
    names.nth(0).fill("Aline Uwase")
    names.nth(1).fill("Jean Mugabo")
    no_sideways_scroll(page)
    page.get_by_role("button", name=rw("Continue to payment")).click()

    page.get_by_label(re.compile("Sandbox")).check()
    page.locator("#pay-form").get_by_role("button").click()
    page.get_by_role("button", name=rw("Approve payment")).click()
    expect(page.get_by_text(rw("Payment approved. Your tickets are ready."))).to_be_visible()
    no_sideways_scroll(page)

    sms = wait_for_sms(sms_fake, e164, "/t/")
    link = re.search(r"https?://\S+(/t/[A-Za-z0-9_.-]+)", sms.text).group(1)
    phone.close()

    # The link in a fresh browser: no cookies, no session, only the link.
    elsewhere = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True, has_touch=True)
    page = elsewhere.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name=rw("Your tickets"))).to_be_visible()
    codes = page.locator("li.ticket h2")
    expect(codes).to_have_count(2)
    code = re.search(r"[A-Z0-9]{8}", codes.first.inner_text()).group(0)
    qr_code = page.get_by_role("img", name=rw("QR code of ticket %(code)s, to show when boarding", code=code))
    expect(qr_code).to_be_visible()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", qrcodes.read(qr_code.screenshot()))
    no_sideways_scroll(page)

    page.get_by_role("link", name=rw("PDF, live map and cancellation")).first.click()
    refund = page.locator("#cancel-ticket strong").inner_text()  # the amount, formatted as in Kinyarwanda
    page.get_by_role("link", name=rw("Cancel ticket…")).click()
    expect(page.get_by_role("heading", name=re.compile(re.escape(refund)))).to_be_visible()
    no_sideways_scroll(page)
    page.locator("#confirm-cancel-button").click()
    expect(
        page.get_by_text(rw("Ticket %(code)s cancelled. Refund: %(amount)s.", code=code, amount=refund))
    ).to_be_visible()
    elsewhere.close()
