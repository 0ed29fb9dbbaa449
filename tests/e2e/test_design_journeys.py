"""The design system in a phone's browser: menus that open with a button, tables that become
labelled cards, the confirmation dialog and its focus, and the language switcher."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from app.demo import DEMO_PASSWORD

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, base_url: str):
    context = browser.new_context(viewport=PHONE, base_url=base_url, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']}"


def test_the_portal_menu_opens_with_a_button_on_a_phone(phone: Page):
    phone.goto("/")
    menu = phone.get_by_role("button", name="Menu")
    main_nav = phone.get_by_role("navigation", name="Main")
    expect(main_nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    no_sideways_scroll(phone)

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(main_nav.get_by_role("link", name="Find a bus")).to_be_visible()
    box = main_nav.get_by_role("link", name="Log in").bounding_box()
    assert box and box["height"] >= 44  # a thumb can hit it

    phone.keyboard.press("Escape")
    expect(main_nav).to_be_hidden()
    expect(menu).to_be_focused()


def test_the_switcher_changes_the_language_and_marks_it(phone: Page):
    phone.goto("/search")
    phone.get_by_role("button", name="Menu").click()
    phone.get_by_role("group", name="Language").get_by_role("button", name="Français").click()
    expect(phone.locator("html")).to_have_attribute("lang", "fr")
    assert phone.url.endswith("/search")  # back where the visitor was
    current = phone.locator(".lang-switch [aria-current=true]")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("lang", "fr")


def test_the_console_sections_open_from_the_menu_and_tables_become_cards(phone: Page):
    log_in(phone, "manager@virunga.rw")
    sections = phone.get_by_role("navigation", name="Main")
    expect(sections).to_be_hidden()
    phone.get_by_role("button", name="Menu").click()
    sections.get_by_role("link", name="Styleguide").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Styleguide")
    no_sideways_scroll(phone)

    # the trips table of the styleguide: each row a card, each value beside its column's name
    cell = phone.locator("table.stack tbody tr").first.locator("td[data-label='Route']")
    label = cell.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"Route"'
    header = phone.locator("table.stack thead").bounding_box()
    assert header is None or header["height"] <= 1  # visually hidden, still read by screen readers


def test_the_confirmation_dialog_asks_then_gives_focus_back(phone: Page):
    log_in(phone, "manager@virunga.rw")
    phone.goto("/console/styleguide#dialogs")
    trigger = phone.get_by_role("button", name="Cancel ticket…")
    trigger.click()
    dialog = phone.get_by_role("dialog", name="Cancel this ticket?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("You get back 4,000 RWF")
    expect(dialog.get_by_role("button", name="Go back")).to_be_focused()

    phone.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()

    trigger.click()
    dialog.get_by_role("button", name="Cancel ticket").click()
    expect(phone.get_by_text("Confirmed. The styleguide cancels nothing.")).to_be_visible()
