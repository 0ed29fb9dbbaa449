"""On a 390 px phone, a passenger searches by town: types "kigali", picks Kigali from the list,
types "huye" and picks it with the keyboard, searches, and sees each bus with where it boards in
Kigali, how long it takes, what it offers and the seats left, without the page scrolling sideways."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []

    def console(message):
        # /favicon.ico is the browser's own request, not the page's (another part of issue 16 adds it).
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, errors
    context.close()


def test_kigali_to_huye_by_town_names_on_a_phone(phone, tmp_path):
    page, errors = phone
    tomorrow = (datetime.now(ZoneInfo("Africa/Kigali")) + timedelta(days=1)).date()
    page.goto("/")

    origin = page.get_by_role("combobox", name="From")
    origin.press_sequentially("kigali", delay=40)
    places = page.get_by_role("listbox", name="From")
    expect(places).to_be_visible()
    expect(origin).to_have_attribute("aria-expanded", "true")
    group = places.get_by_role("group", name="Kigali")
    expect(group.get_by_role("option")).to_have_count(3)  # Kigali, then its two bus parks
    group.get_by_role("option", name=re.compile(r"^Kigali")).click()
    expect(origin).to_have_value("Kigali")
    expect(places).to_be_hidden()

    destination = page.get_by_role("combobox", name="To")
    destination.press_sequentially("huye", delay=40)
    expect(page.get_by_role("listbox", name="To").get_by_role("option").first).to_contain_text("Huye")
    destination.press("ArrowDown")
    expect(destination).to_have_attribute("aria-activedescendant", "destination-option-1-0")
    destination.press("Enter")  # picks the place; it does not search yet
    expect(destination).to_have_value("Huye")
    assert "/search" not in page.url

    page.get_by_label("Date", exact=True).fill(tomorrow.isoformat())
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=re.compile("^Kigali → Huye"))).to_be_visible()

    offer = page.locator(".offer").first
    expect(offer).to_contain_text("Boards at")
    expect(offer).to_contain_text("Nyabugogo Bus Park")  # Kigali has two bus parks: say which
    expect(offer).to_contain_text(re.compile(r"Duration\s*\d+ h"))
    expect(offer.get_by_role("list", name="On this bus")).to_contain_text("Phone charging")
    expect(offer).to_contain_text(re.compile(r"\d+ seats? left"))
    # Only who serves the pair: Nyungwe Line does; Virunga Express and Akagera Coaches run elsewhere.
    operators = page.get_by_label("Operator").locator("option")
    expect(operators.first).to_have_text("All operators")
    names = operators.all_text_contents()  # the options sit in the closed "Sort and filter"
    assert "Nyungwe Line" in names and "Virunga Express" not in names and "Akagera Coaches" not in names

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the results page is {width} px wide on a {PHONE['width']} px phone"
    page.screenshot(path=tmp_path / "search-kigali-huye-390.png", full_page=True)
    assert errors == []
