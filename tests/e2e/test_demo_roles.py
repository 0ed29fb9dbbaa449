"""Every demo login lands on its own surface, as `make run` promises."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.demo import ACCOUNTS, DEMO_PASSWORD

LANDINGS = {
    "admin@tms.rw": ("/admin", "Companies"),
    "manager@virunga.rw": ("/console", "Virunga Express"),
    "dispatcher@virunga.rw": ("/console", "Virunga Express"),
    "driver@virunga.rw": ("/driver", "My trips today"),
    "agent@virunga.rw": ("/pos", "Counter"),
    "manager@akagera.rw": ("/console", "Akagera Coaches"),
    "manager@nyungwe.rw": ("/console", "Nyungwe Line"),
    "passenger@tms.rw": ("/", "Inter-city bus tickets"),
}


def test_every_demo_account_is_listed():
    assert set(LANDINGS) == {account[0] for account in ACCOUNTS}


@pytest.mark.parametrize("email", LANDINGS)
def test_demo_login_lands_on_its_surface(page: Page, base_url: str, email: str):
    path, heading = LANDINGS[email]
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(base_url + path) + ("$" if path == "/" else "(/|$)")))
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
