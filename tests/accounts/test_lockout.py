"""Failed sign-ins: a guesser is stopped, per account and per client address, on the portal and the
token API alike, but a stranger's failures never lock the owner out of a browser they signed in
from before (its device cookie)."""

from __future__ import annotations

import itertools

import pytest

from tests import factories

WRONG = "not-the-password"
_addresses = (f"10.{n // 250}.{n % 250}.7" for n in itertools.count(1))


LIMIT = 3  # failures per account (and per device) in a window; passwords are slow to check on purpose


@pytest.fixture(autouse=True)
def _browser_like_clients_and_a_low_limit(client, app, monkeypatch):
    """Every ``app.test_client()`` below is a browser-like test client (see tests/conftest.py)."""
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ACCOUNT", LIMIT)


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def portal_login(browser, email: str, password: str, address: str = "197.243.0.1"):
    return browser.submit("/login", {"email": email, "password": password}, **from_address(address))


def api_login(browser, email: str, password: str, address: str = "197.243.0.1"):
    return browser.post("/api/v1/auth/token", json={"email": email, "password": password}, **from_address(address))


def stranger_floods(app, email: str, attempts: int = LIMIT + 3, login=portal_login) -> int:
    """A stranger's wrong passwords from ever-new addresses; returns how many were refused with 429."""
    stranger = app.test_client()
    return sum(login(stranger, email, WRONG, next(_addresses)).status_code == 429 for _ in range(attempts))


def owners_browser(app, user):
    """The owner's own browser, signed in once and signed out again: it keeps its device cookie."""
    browser = app.test_client()
    assert portal_login(browser, user.email, factories.PASSWORD).status_code == 302
    assert browser.get_cookie("tms_device") is not None
    browser.submit("/logout")
    return browser


def test_a_stranger_cannot_lock_the_owner_out_of_a_browser_they_used_before(app):
    user = factories.user(email="owner@example.rw")
    browser = owners_browser(app, user)
    assert stranger_floods(app, user.email) > 0  # the account is locked for everyone else

    response = portal_login(browser, user.email, factories.PASSWORD)
    assert response.status_code == 302
    assert browser.get("/tickets").status_code == 200


def test_a_stranger_cannot_lock_the_owners_app_out_of_the_token_api(app):
    user = factories.member("driver", email="driver@example.rw")
    app_client = app.test_client()
    assert api_login(app_client, user.email, factories.PASSWORD).status_code == 200  # keeps the device cookie
    assert stranger_floods(app, user.email, login=api_login) > 0

    response = api_login(app_client, user.email, factories.PASSWORD)
    assert response.status_code == 200 and response.json["access_token"]


def test_the_owner_on_a_new_device_is_still_limited_per_account(app):
    user = factories.user()
    assert stranger_floods(app, user.email) > 0
    response = portal_login(app.test_client(), user.email, factories.PASSWORD, "41.186.1.1")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "reset your password" in response.get_data(as_text=True)


def test_a_password_reset_makes_the_browser_known_so_the_owner_gets_in_under_attack(app, client, mailbox):
    user = factories.user(email="attacked@example.rw")
    assert stranger_floods(app, user.email) > 0
    client.submit("/password/forgot", {"email": user.email})
    path = mailbox.link_in(mailbox.wait_for(user.email)).removeprefix("http://tms.test")
    client.submit(path, {"password": "my-new-password", "confirm": "my-new-password"})

    assert portal_login(client, user.email, "my-new-password").status_code == 302


def test_a_guesser_from_one_address_gets_429_with_retry_after_on_the_portal_and_the_api(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 4)
    for login in (portal_login, api_login):
        guesser = app.test_client()
        address = next(_addresses)
        answers = [login(guesser, f"victim{n}@example.rw", WRONG, address) for n in range(6)]
        assert [a.status_code for a in answers] == [401] * 4 + [429] * 2
        assert int(answers[-1].headers["Retry-After"]) > 0


def test_a_guesser_on_one_account_gets_429_on_the_api_from_any_address(app):
    user = factories.user()
    guesser = app.test_client()
    answers = [api_login(guesser, user.email, WRONG, next(_addresses)) for _ in range(LIMIT + 1)]
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert answers[-1].json["error"]["code"] == "rate_limited"


def test_a_known_device_used_for_guessing_loses_its_exemption(app):
    user = factories.user()
    browser = owners_browser(app, user)
    for _ in range(LIMIT):
        assert portal_login(browser, user.email, WRONG).status_code == 401
    assert stranger_floods(app, user.email) > 0
    assert portal_login(browser, user.email, factories.PASSWORD).status_code == 429


def test_a_device_cookie_exempts_only_the_account_it_signed_in_to(app):
    owner, victim = factories.user(), factories.user()
    browser = owners_browser(app, owner)
    assert stranger_floods(app, victim.email) > 0
    assert portal_login(browser, victim.email, factories.PASSWORD).status_code == 429


def test_a_forged_device_cookie_exempts_nothing(app):
    user = factories.user()
    browser = owners_browser(app, user)
    genuine = browser.get_cookie("tms_device").value
    assert stranger_floods(app, user.email) > 0
    browser.set_cookie("tms_device", genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"))
    assert portal_login(browser, user.email, factories.PASSWORD).status_code == 429
