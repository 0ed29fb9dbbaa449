"""Browser sessions are rows in user_sessions: a cookie copied before the session ended opens
nothing afterwards, whatever ended it, and staff sessions run out when idle or too old."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import Membership, UserSession
from app.core.models import utcnow
from app.extensions import db
from app.web import surface
from tests import factories

COOKIE = "tms_session"
ORIGIN = "http://tms.test"  # the test app's BASE_URL
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "Origin": ORIGIN,
}
HANDSHAKE_ONLY = 400  # a socket upgrade that passed every check; the test client cannot complete it


@pytest.fixture(autouse=True)
def _browser_like(client):
    """Every ``app.test_client()`` below is a browser-like test client (see tests/conftest.py)."""


def signed_in(app, user):
    browser = app.test_client()
    browser.login(user.email)
    return browser


def cookie_of(browser) -> str:
    return browser.get_cookie(COOKIE).value


def replay(app, cookie: str, url: str, **kwargs):
    """What someone holding a copy of ``cookie`` gets at ``url``, in a browser of their own."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief.get(url, **kwargs)


def assert_opens_nothing(app, cookie: str, url: str = "/tickets") -> None:
    """The page answers the copied cookie exactly as it answers a visitor who never signed in."""
    replayed, anonymous = replay(app, cookie, url), app.test_client().get(url)
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")
    assert (replayed.status_code, replayed.location) == (anonymous.status_code, anonymous.location)


@pytest.fixture
def clock(monkeypatch):
    """The time the session check sees; tests move it on instead of waiting."""

    class Clock:
        now = utcnow()

        def advance(self, **delta) -> None:
            self.now += timedelta(**delta)

    frozen = Clock()
    monkeypatch.setattr(surface, "utcnow", lambda: frozen.now)
    return frozen


# --- Whatever ends a session ends every copy of its cookie --------------------------------------


def test_a_cookie_saved_before_logout_opens_nothing_after_it(app, client):
    user = factories.user()
    client.login(user.email)
    saved = cookie_of(client)
    assert replay(app, saved, "/tickets").status_code == 200

    assert client.submit("/logout").status_code == 303
    assert_opens_nothing(app, saved)
    assert_opens_nothing(app, saved, "/account")


def test_sign_out_everywhere_ends_every_browser_including_this_one(app, client):
    user = factories.user()
    phone = signed_in(app, user)
    client.login(user.email)
    here = cookie_of(client)

    response = client.submit("/account/sessions/all")
    assert response.status_code == 303 and response.location == "/login"
    assert "You are signed out everywhere" in client.get("/login").get_data(as_text=True)
    assert_opens_nothing(app, cookie_of(phone))
    assert_opens_nothing(app, here)


def test_sign_out_everywhere_else_keeps_this_browser(app, client):
    user = factories.user()
    phone = signed_in(app, user)
    client.login(user.email)

    assert client.submit("/account/sessions/others").status_code == 303
    assert client.get("/tickets").status_code == 200
    assert_opens_nothing(app, cookie_of(phone))


def test_a_password_change_ends_the_other_browsers_and_keeps_this_one(app, client):
    user = factories.user()
    phone = signed_in(app, user)
    client.login(user.email)
    here = cookie_of(client)

    response = client.submit(
        "/account/password",
        {"current_password": factories.PASSWORD, "password": "brand-new-pass", "confirm": "brand-new-pass"},
    )
    assert response.status_code == 303
    assert replay(app, here, "/tickets").status_code == 200
    assert_opens_nothing(app, cookie_of(phone))


def test_a_password_reset_ends_every_browser(app, client, mailbox):
    user = factories.user(email="forgetful@example.rw")
    phone = signed_in(app, user)
    client.submit("/password/forgot", {"email": user.email})
    path = mailbox.link_in(mailbox.wait_for(user.email)).removeprefix("http://tms.test")

    response = client.submit(path, {"password": "my-new-password", "confirm": "my-new-password"})
    assert response.status_code == 303
    assert_opens_nothing(app, cookie_of(phone))


def test_a_disabled_account_is_signed_out_at_once_and_stays_out_when_reopened(app):
    user = factories.user(email="closing@example.rw")
    saved = cookie_of(signed_in(app, user))

    result = app.test_cli_runner().invoke(args=["accounts", "disable", "closing@example.rw"])
    assert result.exit_code == 0, result.output
    assert_opens_nothing(app, saved)

    app.test_cli_runner().invoke(args=["accounts", "enable", "closing@example.rw"])
    assert_opens_nothing(app, saved)  # its sessions were revoked, not just paused
    assert signed_in(app, user).get("/tickets").status_code == 200  # the owner signs in again


def test_a_user_switched_off_in_the_database_opens_nothing(app):
    user = factories.user()
    saved = cookie_of(signed_in(app, user))
    user.is_enabled = False
    db.session.flush()
    assert_opens_nothing(app, saved)


def test_a_staff_member_deactivated_in_the_console_loses_pages_and_sockets_at_once(app, client):
    company = factories.company()
    dispatcher = factories.member("dispatcher", of=company)
    saved = cookie_of(signed_in(app, dispatcher))
    assert replay(app, saved, "/ws/fleet", headers=UPGRADE).status_code == HANDSHAKE_ONLY
    client.login(factories.member("admin", of=company).email)

    assert client.submit(f"/console/staff/{dispatcher.memberships[0].id}/active").status_code == 303
    assert_opens_nothing(app, saved, "/console/")
    assert_opens_nothing(app, saved)
    assert replay(app, saved, "/ws/fleet", headers=UPGRADE).status_code == 401


def test_a_revoked_session_cannot_open_a_websocket(app, client):
    user = factories.member("admin")
    client.login(user.email)
    saved = cookie_of(client)
    assert replay(app, saved, "/ws/fleet", headers=UPGRADE).status_code == HANDSHAKE_ONLY
    client.submit("/logout")
    response = replay(app, saved, "/ws/fleet", headers=UPGRADE)
    assert response.status_code == 401


def test_a_cookie_from_before_server_side_sessions_opens_nothing(app, client):
    user = factories.user()
    client.get("/")
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:0"  # the old "<user id>:<epoch>" form
    assert client.get("/tickets").location.startswith("/login")


def test_only_a_hash_of_the_token_is_stored(app, client):
    user = factories.user()
    client.login(user.email)
    with client.session_transaction() as session:
        token = session["_user_id"]
    stored = db.session.scalars(db.select(UserSession.token_hash).where(UserSession.user_id == user.id)).all()
    assert len(stored) == 1 and token not in stored[0] and len(token) >= 40


# --- API tokens end with the sessions -----------------------------------------------------------


def api_token(client, user) -> str:
    return client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD}).json[
        "access_token"
    ]


def test_sign_out_everywhere_revokes_api_tokens(app, client):
    user = factories.user()
    token = api_token(app.test_client(), user)
    client.login(user.email)
    client.submit("/account/sessions/others")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_deactivating_staff_revokes_their_api_tokens(app, client):
    company = factories.company()
    driver = factories.member("driver", of=company)
    token = api_token(app.test_client(), driver)
    client.login(factories.member("admin", of=company).email)
    client.submit(f"/console/staff/{driver.memberships[0].id}/active")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- Time limits ----------------------------------------------------------------------------------


def test_an_idle_staff_session_ends_and_a_busy_one_does_not(app, client, clock):
    client.login(factories.member("dispatcher").email)
    clock.advance(minutes=29)
    assert client.get("/console/").status_code == 200  # activity: the idle time starts again
    clock.advance(minutes=29)
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/console/").location.startswith("/login")


def test_background_polls_do_not_keep_a_staff_session_alive(app, client, clock):
    client.login(factories.member("admin").email)
    for _ in range(12):  # a live map left open: its list polls every 30 s... here every 2.5 minutes
        clock.advance(minutes=2, seconds=30)
        assert client.htmx("get", "/console/fleet/live", csrf=False).status_code == 200
    clock.advance(seconds=1)
    assert client.htmx("get", "/console/fleet/live", csrf=False).status_code == 401
    assert client.get("/console/").location.startswith("/login")


def test_a_staff_session_ends_after_its_lifetime_however_busy(app, client, clock):
    client.login(factories.member("agent").email)
    for _ in range(28):  # twelve hours of work, a request every 25 minutes
        clock.advance(minutes=25)
        assert client.get("/pos/").status_code == 200
    clock.advance(minutes=21)  # 12 h 1 min after signing in
    assert client.get("/pos/").location.startswith("/login")


def test_drivers_have_no_idle_limit_but_the_staff_lifetime(app, client, clock):
    client.login(factories.member("driver").email)
    clock.advance(hours=5)  # a long trip with the phone in its holder
    assert client.get("/driver/").status_code == 200
    clock.advance(hours=7, minutes=1)
    assert client.get("/driver/").location.startswith("/login")


def test_a_passenger_session_lasts_days_without_activity_until_its_lifetime(app, client, clock):
    client.login(factories.user().email)
    clock.advance(days=29)
    assert client.get("/tickets").status_code == 200
    clock.advance(days=1, minutes=1)
    assert client.get("/tickets").location.startswith("/login")


def test_a_passenger_made_staff_gets_staff_limits_at_once(app, client, clock):
    user = factories.user()
    client.login(user.email)
    clock.advance(hours=13)
    assert client.get("/tickets").status_code == 200
    db.session.add(Membership(user=user, company=factories.company(), role="dispatcher"))
    db.session.flush()
    assert client.get("/tickets").location.startswith("/login")


def test_last_seen_is_written_at_most_once_a_minute(app, client, clock):
    user = factories.user()
    client.login(user.email)
    row = db.session.scalar(db.select(UserSession).where(UserSession.user_id == user.id))
    signed_in_at = row.last_seen_at
    clock.now = signed_in_at + timedelta(seconds=30)
    client.get("/tickets")
    db.session.refresh(row)
    assert row.last_seen_at == signed_in_at
    clock.advance(seconds=31)
    client.get("/tickets")
    db.session.refresh(row)
    assert row.last_seen_at == clock.now


# --- The account page lists the sessions -------------------------------------------------------


def test_the_account_page_lists_where_the_user_is_signed_in(app, client):
    user = factories.user()
    phone = app.test_client()
    phone.environ_base = {
        "HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
        "REMOTE_ADDR": "41.186.0.7",
    }
    phone.login(user.email)
    client.login(user.email)

    page = client.get("/account").get_data(as_text=True)
    assert "Your sessions" in page
    assert "Chrome on Android" in page and "41.186.0.7" in page
    assert page.count("This device") == 1
    client.submit("/account/sessions/others")
    page = client.get("/account").get_data(as_text=True)
    assert "Chrome on Android" not in page
