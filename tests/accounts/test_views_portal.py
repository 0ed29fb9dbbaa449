"""Sign-up forms, sign-in, sign-out, password reset and profile, through the portal's pages (sign-up by
email: test_signup.py; sessions: test_sessions.py; lockouts: test_lockout.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.queries import user_by_email
from app.extensions import db
from tests import factories

SIGNUP = {
    "name": "Aline Mukamana",
    "email": "Aline@Example.rw ",
    "phone": "0788 123 456",
    "password": "a-long-password",
    "confirm": "a-long-password",
}


def users_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter an email address"),
        ({"email": "a" * 250 + "@x.rw"}, "email", "at most 254"),
        ({"phone": "12"}, "phone", "phone number"),
        ({"phone": "9" * 40}, "phone", "too long"),
        ({"password": "short", "confirm": "short"}, "password", "Use 10 to 128 characters."),
        ({"password": "p" * 200, "confirm": "p" * 200}, "password", "Use 10 to 128 characters."),
        ({"confirm": "something-else"}, "confirm", "The two passwords differ."),
        ({"name": "n" * 121}, "name", "at most 120"),
    ],
)
def test_signup_with_bad_input_shows_field_errors_and_saves_nothing(client, changes, field, message):
    before = users_count()
    response = client.submit("/signup", {**SIGNUP, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in page
    assert users_count() == before


def test_forms_without_csrf_token_are_refused(client):
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 400
    assert user_by_email("aline@example.rw") is None


def test_login_and_logout(client):
    user = factories.user(email="eric@example.rw")
    response = client.submit("/login", {"email": "ERIC@example.rw", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert user.last_login_at is not None
    assert client.get("/account").status_code == 200
    response = client.submit("/logout")
    assert response.status_code == 303
    assert client.get("/account").status_code == 302


def test_login_follows_a_local_next_but_not_an_outside_one(client):
    user = factories.user()
    response = client.submit("/login?next=/account", {"email": user.email, "password": factories.PASSWORD})
    assert response.location == "/account"
    client.submit("/logout")
    response = client.submit("/login?next=//evil.example/x", {"email": user.email, "password": factories.PASSWORD})
    assert response.location == "/"


def test_wrong_password_and_unknown_email_get_the_same_generic_answer(client):
    factories.user(email="known@example.rw")
    wrong = client.submit("/login", {"email": "known@example.rw", "password": "wrong-password"})
    unknown = client.submit("/login", {"email": "nobody@example.rw", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match an account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_disabled_account_cannot_log_in(client):
    factories.user(email="gone@example.rw", is_enabled=False)
    response = client.submit("/login", {"email": "gone@example.rw", "password": factories.PASSWORD})
    assert response.status_code == 401


def test_eleventh_wrong_password_in_a_minute_is_refused_without_checking(client, monkeypatch):
    factories.user(email="target@example.rw")
    for _ in range(10):
        response = client.submit("/login", {"email": "target@example.rw", "password": "guess"})
        assert response.status_code == 401

    from app.accounts import services

    checked = []
    original = services.password_matches
    monkeypatch.setattr(services, "password_matches", lambda *a: checked.append(a) or original(*a))
    response = client.submit("/login", {"email": "target@example.rw", "password": factories.PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many attempts" in response.get_data(as_text=True)
    assert checked == []  # not even the right password is looked at


def test_rate_limit_is_per_account(client):
    factories.user(email="target@example.rw")
    other = factories.user(email="other@example.rw")
    for _ in range(10):
        client.submit("/login", {"email": "target@example.rw", "password": "guess"})
    response = client.submit("/login", {"email": other.email, "password": factories.PASSWORD})
    assert response.status_code == 302


def test_rate_limit_per_ip_covers_many_accounts(app, client):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 5
    try:
        for n in range(5):
            client.submit("/login", {"email": f"spray{n}@example.rw", "password": "guess"})
        user = factories.user()
        response = client.submit("/login", {"email": user.email, "password": factories.PASSWORD})
        assert response.status_code == 429
    finally:
        app.config["LOGIN_MAX_FAILURES_PER_IP"] = 50


def test_login_starts_a_fresh_session(client):
    user = factories.user()
    client.get("/")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_user_id"] = "a-session-token-the-attacker-chose"
        before = dict(session)
    client.login(user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != before["_user_id"]
        assert session.get("csrf_token") != before.get("csrf_token")


def test_session_cookie_flags(client):
    user = factories.user()
    response = client.submit("/login", {"email": user.email, "password": factories.PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_pages(client):
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_password_reset_by_emailed_link(client, mailbox):
    user = factories.user(email="reset@example.rw")
    response = client.submit("/password/forgot", {"email": "reset@example.rw"})
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)

    message = mailbox.wait_for("reset@example.rw")
    assert message["Subject"] == "Reset your TMS password"
    link = mailbox.link_in(message)
    assert link.startswith("http://tms.test/password/reset/")
    path = link.removeprefix("http://tms.test")

    assert client.get(path).status_code == 200
    response = client.submit(path, {"password": "my-new-password", "confirm": "my-new-password"})
    assert response.status_code == 303
    assert client.submit("/login", {"email": user.email, "password": factories.PASSWORD}).status_code == 401
    assert client.submit("/login", {"email": user.email, "password": "my-new-password"}).status_code == 302

    spent = client.get(path)  # single use: the password it was bound to has changed
    assert spent.status_code == 400
    assert "expired or was already used" in spent.get_data(as_text=True)


def test_password_reset_link_expires(app, client, mailbox):
    factories.user(email="late@example.rw")
    client.submit("/password/forgot", {"email": "late@example.rw"})
    path = mailbox.link_in(mailbox.wait_for("late@example.rw")).removeprefix("http://tms.test")
    app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] = -1
    try:
        assert client.get(path).status_code == 400
    finally:
        app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] = 3600


def test_password_reset_for_unknown_email_looks_the_same_and_sends_nothing(client, mailbox):
    response = client.submit("/password/forgot", {"email": "nobody@example.rw"})
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_forged_reset_token_is_refused(client):
    assert client.get("/password/reset/not-a-token").status_code == 400


def test_change_password_needs_the_old_one_and_ends_other_sessions(app, client):
    user = factories.user()
    other_device = app.test_client()
    other_device.login(user.email)
    client.login(user.email)

    response = client.submit(
        "/account/password",
        {"current_password": "wrong-one-here", "password": "brand-new-pass", "confirm": "brand-new-pass"},
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)

    response = client.submit(
        "/account/password",
        {"current_password": factories.PASSWORD, "password": "brand-new-pass", "confirm": "brand-new-pass"},
    )
    assert response.status_code == 303
    assert client.get("/account").status_code == 200  # this device stays signed in
    assert other_device.get("/account").status_code == 302  # the other one is signed out


def test_profile_update_normalises_phone_and_refuses_a_taken_email(client):
    factories.user(email="taken@example.rw")
    user = factories.user()
    client.login(user.email)
    response = client.submit("/account", {"name": "New Name", "email": user.email, "phone": "+250 722 000 111"})
    assert response.status_code == 303
    assert (user.name, user.phone) == ("New Name", "+250722000111")

    response = client.submit("/account", {"name": "New Name", "email": "taken@example.rw", "phone": ""})
    assert response.status_code == 422
    assert "Another account already uses this email." in response.get_data(as_text=True)
    assert user.email != "taken@example.rw"


def test_htmx_post_needs_the_csrf_header(client):
    user = factories.user()
    client.login(user.email)
    data = {"name": "Via htmx", "email": user.email, "phone": ""}
    refused = client.htmx("post", "/account", csrf=False, data=data)
    assert refused.status_code == 400
    assert refused.headers["HX-Retarget"] == "#toasts"
    assert "Reload the page" in refused.get_data(as_text=True)
    assert user.name != "Via htmx"

    accepted = client.htmx("post", "/account", data=data)
    assert accepted.status_code == 303
    assert user.name == "Via htmx"
