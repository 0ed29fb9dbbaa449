"""What a new passenger does first, in a real browser against the live server."""

from __future__ import annotations

import itertools
import time

from playwright.sync_api import Page, expect

from tests.conftest import Mailbox

PASSWORD = "a-long-passphrase-2026"
_n = itertools.count(1)


def unique_email() -> str:
    return f"traveller{time.time_ns()}-{next(_n)}@example.rw"


def nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def fill_sign_up(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    nav(page).get_by_role("link", name="Sign up").click()
    page.get_by_label("Full name").fill("Mutesi Ange")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile phone").fill("0788 123 456")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def sign_up(page: Page, mailbox: Mailbox, email: str, password: str = PASSWORD) -> None:
    """Sign up and open the emailed link in the same browser: one click, then signed in."""
    fill_sign_up(page, email, password)
    message = mailbox.wait_for(email)
    assert message["Subject"] == "Confirm your email to finish signing up to TMS"
    page.goto(Mailbox.link_in(message))
    expect(page.get_by_role("status").filter(has_text="Welcome to TMS, Mutesi Ange")).to_be_visible()


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    nav(page).get_by_role("button", name="Log out").click()
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()


def test_sign_up_by_email_log_out_and_log_back_in(page: Page, mailbox: Mailbox):
    email = unique_email()
    fill_sign_up(page, email)
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()  # no account until the email is opened
    page.goto(Mailbox.link_in(mailbox.wait_for(email)))
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Mutesi Ange")).to_be_visible()

    log_out(page)
    log_in(page, email, PASSWORD)
    expect(nav(page).get_by_role("link", name="Mutesi Ange")).to_be_visible()

    nav(page).get_by_role("link", name="Mutesi Ange").click()
    expect(page.get_by_label("Mobile phone")).to_have_value("+250788123456")


def test_bad_sign_up_shows_each_field_error_and_keeps_what_was_typed(page: Page):
    page.goto("/signup")
    page.get_by_label("Full name").fill("Mutesi Ange")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Mobile phone").fill("12")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("different")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_contain_text("Enter an email address")
    expect(page.locator("#phone-error")).to_be_visible()
    expect(page.locator("#password-error")).to_contain_text("characters")
    expect(page.locator("#confirm-error")).to_contain_text("The two passwords differ.")
    expect(page.get_by_label("Full name")).to_have_value("Mutesi Ange")
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()  # still signed out


def test_wrong_password_gets_one_generic_message(page: Page):
    log_in(page, "passenger@tms.rw", "not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()
    message = page.get_by_role("alert").inner_text()
    log_in(page, f"nobody-{time.time_ns()}@example.rw", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text(message)  # no hint whether the account exists


def test_signing_up_with_a_known_email_looks_the_same_and_tells_its_owner(page: Page, mailbox: Mailbox):
    known = unique_email()
    sign_up(page, mailbox, known)
    log_out(page)
    mailbox.clear()

    fill_sign_up(page, known, "someone-elses-password")
    shown_for_known = page.locator("main").inner_text().replace(known, "EMAIL")
    fresh = unique_email()
    fill_sign_up(page, fresh)
    assert page.locator("main").inner_text().replace(fresh, "EMAIL") == shown_for_known

    message = mailbox.wait_for(known)
    assert message["Subject"] == "Someone tried to sign up to TMS with your email"
    page.goto(Mailbox.link_in(message))  # its first link signs in, with the owner's own password
    page.get_by_label("Email").fill(known)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(nav(page).get_by_role("link", name="Mutesi Ange")).to_be_visible()


def test_password_reset_through_the_emailed_link(page: Page, mailbox: Mailbox):
    email = unique_email()
    sign_up(page, mailbox, email)
    log_out(page)
    mailbox.clear()

    nav(page).get_by_role("link", name="Log in").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    link = Mailbox.link_in(mailbox.wait_for(email))
    assert link.startswith(page.url.split("/password")[0])
    new_password = "another-long-passphrase"
    page.goto(link)
    page.get_by_label("New password").fill(new_password)
    page.get_by_label("Repeat the password").fill(new_password)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("status").filter(has_text="Your password is changed")).to_be_visible()

    log_in(page, email, PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()  # the old password no longer works
    log_in(page, email, new_password)
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()

    page.goto(link)  # a used link is spent
    expect(page.get_by_text("This reset link has expired or was already used.")).to_be_visible()
