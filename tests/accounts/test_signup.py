"""Sign-up by email: the page answers the same for a new and a known email; a new account exists
once its owner opens the emailed link; a known email's owner is told someone tried."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import SignupRequest, User
from app.accounts.queries import user_by_email
from app.extensions import db
from app.notifications.models import Notification
from tests import factories

SIGNUP = {
    "name": "Aline Mukamana",
    "email": "Aline@Example.rw ",
    "phone": "0788 123 456",
    "password": "a-long-password",
    "confirm": "a-long-password",
}
BASE = "http://tms.test"


def sign_up(client, url: str = "/signup", **changes):
    return client.submit(url, {**SIGNUP, **changes})


def confirmation_path(mailbox, to: str = "aline@example.rw") -> str:
    message = mailbox.wait_for(to)
    assert message["Subject"] == "Confirm your email to finish signing up to TMS"
    link = mailbox.link_in(message)
    assert link.startswith(f"{BASE}/signup/confirm/")
    return link.removeprefix(BASE)


def users_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_a_new_passenger_confirms_by_email_in_one_click_and_is_signed_in(client, mailbox):
    response = sign_up(client)
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    assert user_by_email("aline@example.rw") is None  # nothing until the mailbox is proven

    response = client.get(confirmation_path(mailbox))
    assert response.status_code == 303 and response.location == "/"
    user = user_by_email("aline@example.rw")
    assert user.name == "Aline Mukamana" and user.phone == "+250788123456"
    assert user.memberships == [] and not user.is_super_admin
    home = client.get("/").get_data(as_text=True)
    assert "Welcome to TMS, Aline Mukamana" in home
    assert client.get("/tickets").status_code == 200
    assert client.submit("/login", {"email": "aline@example.rw", "password": "a-long-password"}).status_code == 302


def test_the_link_works_once(client, mailbox):
    sign_up(client)
    path = confirmation_path(mailbox)
    client.get(path)
    again = client.get(path)
    assert again.status_code == 400
    assert "expired or was already used" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "aline@example.rw")) == 1


def test_a_known_email_gets_the_same_page_and_its_owner_an_email(app, client, mailbox):
    owner = factories.user(email="owner@example.rw", name="Owner Uwase")
    before = users_count()

    known = sign_up(client, email="owner@example.rw")
    new = sign_up(app.test_client(), email="newcomer@example.rw")
    assert known.status_code == new.status_code == 200
    assert page_without(known, "owner@example.rw") == page_without(new, "newcomer@example.rw")
    assert known.headers["Set-Cookie"].split("=", 1)[0] == new.headers["Set-Cookie"].split("=", 1)[0]

    message = mailbox.wait_for("owner@example.rw")
    assert message["Subject"] == "Someone tried to sign up to TMS with your email"
    text = mailbox.text_of(message)
    assert "Hello Owner Uwase" in text
    assert f"{BASE}/login" in text and f"{BASE}/password/forgot" in text
    assert "/signup/confirm/" not in text  # nothing in it makes or changes an account
    assert users_count() == before
    assert client.submit("/login", {"email": owner.email, "password": factories.PASSWORD}).status_code == 302


def page_without(response, email: str) -> str:
    """The page as anyone would compare it: the email typed and the per-browser CSRF token blanked."""
    page = response.get_data(as_text=True).replace(email, "EMAIL")
    return re.sub(r'(csrf-token" content="|"X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1TOKEN", page)


def test_both_answers_hash_the_password_so_they_take_the_same_time(client, monkeypatch, mailbox):
    factories.user(email="owner@example.rw")
    hashed = []
    original = services.hash_password
    monkeypatch.setattr(services, "hash_password", lambda password: hashed.append(password) or original(password))

    sign_up(client, email="owner@example.rw")
    sign_up(client, email="newcomer@example.rw")
    assert hashed == ["a-long-password", "a-long-password"]


def test_a_link_opened_in_another_browser_asks_before_making_the_account(app, client, mailbox):
    sign_up(client)
    path = confirmation_path(mailbox)
    phone = app.test_client()  # the mail app opened the link in a browser of its own (or a scanner did)

    page = phone.get(path)
    assert page.status_code == 200
    assert "Confirm and sign in" in page.get_data(as_text=True)
    assert user_by_email("aline@example.rw") is None  # opening the link alone makes nothing

    response = phone.submit(path)
    assert response.status_code == 303
    assert user_by_email("aline@example.rw") is not None
    assert phone.get("/tickets").status_code == 200


def test_confirming_without_the_csrf_token_is_refused(app, client, mailbox):
    sign_up(client)
    path = confirmation_path(mailbox)
    assert app.test_client().post(path).status_code == 400
    assert user_by_email("aline@example.rw") is None


def test_the_passenger_lands_where_they_started_but_never_on_another_site(client, mailbox):
    sign_up(client, "/signup?next=/search?from=1%26to=2")
    assert client.get(confirmation_path(mailbox)).location == "/search?from=1&to=2"

    mailbox.clear()
    sign_up(client, "/signup?next=//evil.example/x", email="second@example.rw")
    assert client.get(confirmation_path(mailbox, "second@example.rw")).location == "/"

    mailbox.clear()
    sign_up(client, "/signup?next=/" + "x" * 400, email="third@example.rw")  # too long to keep: home
    assert client.get(confirmation_path(mailbox, "third@example.rw")).location == "/"


def test_an_expired_or_forged_link_makes_nothing(app, client, mailbox, monkeypatch):
    sign_up(client)
    path = confirmation_path(mailbox)
    monkeypatch.setitem(app.config, "SIGNUP_LINK_MAX_AGE_SECONDS", -1)
    assert client.get(path).status_code == 400
    assert client.get("/signup/confirm/not-a-token").status_code == 400
    assert user_by_email("aline@example.rw") is None


def test_whoever_signed_up_first_cannot_keep_the_owner_out(app, client, mailbox):
    squatter = app.test_client()
    sign_up(squatter, password="squatters-password", confirm="squatters-password")
    squatters_link = confirmation_path(mailbox)  # arrives in the owner's mailbox, not the squatter's
    mailbox.clear()

    sign_up(client)  # the owner, later, with their own password
    client.get(confirmation_path(mailbox))
    assert client.submit("/login", {"email": "aline@example.rw", "password": "a-long-password"}).status_code == 302
    assert client.get(squatters_link).status_code == 400  # every other waiting sign-up is gone
    assert db.session.scalar(select(func.count(SignupRequest.id))) == 0


def test_the_link_is_neither_stored_nor_logged(client, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    sign_up(client)
    path = confirmation_path(mailbox)
    token = path.rsplit("/", 1)[1]
    assert token not in caplog.text
    for record in db.session.scalars(select(Notification)):
        assert token not in f"{record.context} {record.subject} {record.body} {record.link}"


@pytest.mark.parametrize("email", ["aline@example.rw", "owner@example.rw"])
def test_signing_up_twice_sends_two_emails_and_makes_at_most_one_account(client, mailbox, email):
    factories.user(email="owner@example.rw")
    sign_up(client, email=email)
    sign_up(client, email=email)
    with mailbox.arrived:
        mailbox.arrived.wait_for(lambda: len(mailbox.messages) == 2, timeout=15)
    assert len(mailbox.messages) == 2
    assert db.session.scalar(select(func.count(User.id)).where(User.email == email)) <= 1


def test_nobody_can_flood_a_strangers_mailbox_with_sign_up_or_reset_emails(app, client):
    owner = factories.user(email="target@example.rw")
    limit = app.config["ACCOUNT_EMAILS_PER_HOUR"]
    for _ in range(limit + 3):
        assert "Check your email" in sign_up(client, email=owner.email).get_data(as_text=True)
        client.submit("/password/forgot", {"email": owner.email})
    sent = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.address == owner.email))
    assert sent == limit  # the page said the same every time; the mailbox got no more than the limit
