"""The portal's bell and inbox, and a customer's choice of channels, through the portal's pages."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

from app.accounts.models import User
from app.extensions import db
from app.notifications import services
from app.notifications.models import Notification
from app.notifications.queries import PAGE_SIZE
from tests import factories

_n = itertools.count(1)


def item(
    user: User, subject: str = "Trip delayed", *, minutes_ago: int = 0, read: bool = False, **values
) -> Notification:
    """A portal item as the notification jobs record it: delivered on creation, unread."""
    n = next(_n)
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    row = Notification(
        dedupe_key=f"trip_delayed:test{n}:inbox:user:{user.id}",
        kind=values.pop("kind", "trip_delayed"),
        channel=values.pop("channel", "inbox"),
        address=values.pop("address", f"user:{user.id}"),
        user_id=user.id,
        subject=subject,
        body=values.pop("body", f"Your bus leaves 20 minutes late ({n})."),
        link=values.pop("link", "/tickets/K7Q2M9"),
        status="sent",
        created_at=created,
        sent_at=created,
        read_at=created if read else None,
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def bell(page: str) -> str:
    match = re.search(r'<a id="notification-bell".*?</a>', page, re.S)
    assert match, "no bell on the page"
    return match.group(0)


def shown_count(page: str) -> str | None:
    """The number on the badge, or None when the badge is hidden."""
    badge = re.search(r'<span class="bell-count"( hidden)?>([^<]*)</span>', bell(page))
    return None if badge.group(1) else badge.group(2)


def signed_in(client, **values) -> User:
    user = factories.user(**values)
    client.login(user.email)
    return user


# --- The bell --------------------------------------------------------------------------------------


def test_bell_shows_the_unread_count_and_clears_after_mark_all_read(client):
    user = signed_in(client)
    item(user, minutes_ago=5)
    item(user, minutes_ago=3)
    item(user, minutes_ago=9, read=True)

    page = client.get("/tickets").get_data(as_text=True)
    assert 'aria-label="Notifications, 2 unread"' in bell(page)
    assert shown_count(page) == "2"
    assert 'href="/notifications"' in bell(page)

    response = client.submit("/notifications/read")
    assert response.status_code == 303
    assert response.location == "/notifications"
    assert services.unread_count(user.id) == 0

    page = client.get("/").get_data(as_text=True)
    assert 'aria-label="Notifications, 0 unread"' in bell(page)
    assert shown_count(page) is None


def test_bell_is_only_for_signed_in_visitors(client):
    assert 'id="notification-bell"' not in client.get("/").get_data(as_text=True)


def test_polled_bell_answers_204_while_the_count_is_unchanged(client):
    user = signed_in(client)
    item(user)
    item(user)
    assert client.htmx("get", "/notifications/bell?shown=2").status_code == 204

    item(user)
    response = client.htmx("get", "/notifications/bell?shown=2")
    assert response.status_code == 200
    assert 'aria-label="Notifications, 3 unread"' in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True)  # the bell alone


def test_polled_bell_of_a_signed_out_visitor_goes_away_without_sending_them_to_login(client):
    response = client.htmx("get", "/notifications/bell?shown=2")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    assert "HX-Redirect" not in response.headers


# --- The inbox -------------------------------------------------------------------------------------


def test_inbox_lists_the_users_items_newest_first_with_unread_ones_marked(client):
    user = signed_in(client)
    item(user, "Ticket K7Q2M9 issued", minutes_ago=60, read=True)
    item(user, "Trip delayed by 20 minutes", minutes_ago=5)
    item(factories.user(), "Somebody else's bus changed")

    response = client.get("/notifications")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("Trip delayed by 20 minutes") < page.index("Ticket K7Q2M9 issued")
    assert "Somebody else" not in page
    assert "Your bus leaves 20 minutes late" in page
    assert len(re.findall(r'class="card inbox-item unread"', page)) == 1
    assert "1 unread" in page
    assert "Mark all read" in page


def test_inbox_pages_hold_thirty_items(client):
    user = signed_in(client)
    for minutes in range(PAGE_SIZE + 1):
        item(user, f"Item {minutes:02d} minutes old", minutes_ago=minutes)

    first = client.get("/notifications").get_data(as_text=True)
    assert first.count('class="card inbox-item') == PAGE_SIZE
    assert "Item 00 minutes old" in first and "Item 30 minutes old" not in first
    assert 'href="/notifications?page=2">Older' in first

    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert second.count('class="card inbox-item') == 1
    assert "Item 30 minutes old" in second
    assert 'href="/notifications">Newer' in second


def test_empty_inbox_says_what_will_appear(client):
    signed_in(client)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Nothing here yet." in page
    assert "Mark all read" not in page


def test_mark_all_read_with_htmx_swaps_the_list_and_the_bell(client):
    user = signed_in(client)
    item(user)
    other = factories.user()
    item(other)

    response = client.htmx("post", "/notifications/read", data={"page": "1"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert '<section id="notification-inbox"' in fragment and "<html" not in fragment
    assert "All read" in fragment and "inbox-item unread" not in fragment
    assert 'hx-swap-oob="true"' in bell(fragment)
    assert 'aria-label="Notifications, 0 unread"' in bell(fragment)
    assert services.unread_count(other.id) == 1  # only the caller's items


def test_mark_all_read_needs_the_csrf_token(client):
    user = signed_in(client)
    item(user)
    assert client.post("/notifications/read").status_code == 400
    assert client.htmx("post", "/notifications/read", csrf=False).status_code == 400
    assert services.unread_count(user.id) == 1


def test_opening_an_item_marks_it_read_and_leads_to_its_page(client):
    user = signed_in(client)
    opened = item(user, link="/orders/ORD123")
    kept = item(user)

    response = client.submit(f"/notifications/{opened.id}/open")
    assert response.status_code == 303
    assert response.location == "/orders/ORD123"
    assert opened.read_at is not None
    assert kept.read_at is None
    assert shown_count(client.get("/").get_data(as_text=True)) == "1"


def test_an_item_leading_off_the_site_opens_the_inbox_instead(client):
    user = signed_in(client)
    odd = item(user, link="//evil.example/phish")
    response = client.submit(f"/notifications/{odd.id}/open")
    assert response.location == "/notifications"


def test_another_users_item_is_not_found(client):
    signed_in(client)
    theirs = item(factories.user())
    response = client.submit(f"/notifications/{theirs.id}/open")
    assert response.status_code == 404
    assert theirs.read_at is None


def test_own_sms_and_email_records_are_not_inbox_items(client):
    user = signed_in(client)
    texted = item(user, channel="sms", address="+250788100001")
    assert client.submit(f"/notifications/{texted.id}/open").status_code == 404
    assert "Trip delayed" not in client.get("/notifications").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(client):
    someone = factories.user()
    theirs = item(someone)
    for method, url in [
        ("get", "/notifications"),
        ("post", "/notifications/read"),
        ("post", f"/notifications/{theirs.id}/open"),
    ]:
        response = client.submit(url) if method == "post" else client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/login?next="), url
    assert theirs.read_at is None


# --- Channel choices on the account page -----------------------------------------------------------


def checked(page: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, f"no {name} checkbox"
    return "checked" in tag.group(0)


def test_both_channels_are_chosen_until_the_customer_changes_them(client):
    signed_in(client, phone="+250788123456")
    page = client.get("/account").get_data(as_text=True)
    assert "Text me (SMS) about my trips" in page and "Email me about my trips" in page
    assert checked(page, "notify_sms") and checked(page, "notify_email")
    assert "password reset" in page
    assert "entered at booking still get their trip SMS" in page


def test_channel_choices_are_saved_and_shown(client):
    user = signed_in(client, phone="+250788123456")
    response = client.submit("/account/notifications", {"notify_email": "y"})
    assert response.status_code == 303
    assert response.location == "/account"
    assert (user.notify_sms, user.notify_email) == (False, True)
    page = client.get("/account").get_data(as_text=True)
    assert "Your choices for trip messages are saved." in page
    assert not checked(page, "notify_sms") and checked(page, "notify_email")

    client.submit("/account/notifications", {"notify_sms": "y"})
    assert (user.notify_sms, user.notify_email) == (True, False)


def test_choices_leave_the_profile_alone(client):
    user = signed_in(client, name="Aline Uwase", phone="+250788123456")
    client.submit("/account/notifications", {"name": "Someone Else", "phone": ""})
    assert (user.name, user.phone) == ("Aline Uwase", "+250788123456")


def test_texts_without_a_phone_number_get_a_hint_to_add_one(client):
    user = signed_in(client)
    assert "add one to your profile" in client.get("/account").get_data(as_text=True)

    client.submit("/account/notifications", {"notify_email": "y"})
    assert "add one to your profile" not in client.get("/account").get_data(as_text=True)

    user.notify_sms = True
    user.phone = "+250788123456"
    db.session.flush()
    assert "add one to your profile" not in client.get("/account").get_data(as_text=True)


def test_choices_without_the_csrf_token_are_refused(client):
    user = signed_in(client)
    assert client.post("/account/notifications", data={}).status_code == 400
    assert (user.notify_sms, user.notify_email) == (True, True)
