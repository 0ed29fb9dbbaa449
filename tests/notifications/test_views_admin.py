"""The super admin's delivery log: every company's SMS and email records, filters, what needs
attention, and sending failed ones again (one, or every one the filters show)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.notifications.models import Notification
from tests import factories
from tests.notifications.records import given_up_sms, record, refreshed, shown, text


@pytest.fixture
def super_admin(login_as):
    return login_as("super_admin", name="Platform Owner")


def test_the_log_filters_by_status_channel_kind_company_and_address(now, client, super_admin):
    volcano, akagera = factories.company(name="Volcano Express"), factories.company(name="Akagera Coaches")
    sent = record(volcano, address="+250788111111", provider="africastalking", provider_message_id="ATXid_1")
    failed = record(volcano, status="failed", error="UserInBlacklist", created_at=now - timedelta(minutes=5))
    gave_up = record(akagera, status="gave_up", attempts=3, error="HTTP 500 from the gateway")
    email = record(akagera, channel="email", address="aline@example.rw", kind="ticket_issued")
    inbox = record(akagera, channel="inbox", address="user:1")
    queued = record(volcano, status="queued", next_attempt_at=now + timedelta(minutes=2))

    everything = client.get("/admin/notifications")
    assert everything.status_code == 200
    assert shown(everything) == {sent.id, failed.id, gave_up.id, email.id, queued.id}  # portal items left out
    page = text(everything)
    assert "ATXid_1" in page and "UserInBlacklist" in page and "Akagera Coaches" in page
    assert "2 need attention" in page
    order = everything.get_data(as_text=True)
    assert order.index(f'id="notification-{queued.id}"') < order.index(f'id="notification-{failed.id}"')

    assert shown(client.get("/admin/notifications?status=attention")) == {failed.id, gave_up.id}
    assert shown(client.get("/admin/notifications?status=gave_up")) == {gave_up.id}
    assert shown(client.get("/admin/notifications?channel=email")) == {email.id}
    assert shown(client.get("/admin/notifications?channel=inbox")) == {inbox.id}
    assert inbox.id in shown(client.get("/admin/notifications?channel=all"))
    assert shown(client.get("/admin/notifications?kind=ticket_issued")) == {email.id}
    assert shown(client.get(f"/admin/notifications?company={akagera.id}")) == {gave_up.id, email.id}
    assert shown(client.get("/admin/notifications?q=788111")) == {sent.id}
    assert shown(client.get("/admin/notifications?q=ALINE@")) == {email.id}
    assert shown(client.get("/admin/notifications?q=%25")) == set()  # a wildcard is a character, not "all"
    assert shown(client.get("/admin/notifications?status=nonsense&channel=pigeon")) == shown(everything)


def test_filters_answer_htmx_with_the_results_only_and_page_by_fifty(now, client, super_admin):
    company = factories.company()
    db.session.add_all(
        Notification(
            dedupe_key=f"trip_delayed:page{n}:sms:+2507883{n:05d}",
            kind="trip_delayed",
            channel="sms",
            address=f"+2507883{n:05d}",
            company_id=company.id,
            context={},
            status="sent",
            created_at=now - timedelta(minutes=n),
        )
        for n in range(55)
    )
    db.session.flush()
    fragment = client.get("/admin/notifications?status=sent", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="notification-results">') and "<html" not in body
    assert len(shown(fragment)) == 50 and "page=2" in body
    older = client.get("/admin/notifications?status=sent&page=2")
    assert len(shown(older)) == 5 and "Newer" in text(older)
    assert client.get("/admin/notifications?page=99999999999999999999").status_code == 200


def test_retry_sends_a_given_up_sms_once_the_gateway_is_back(app, client, super_admin, sms_gateway, monkeypatch):
    company = factories.company(name="Volcano Express")
    notification = given_up_sms(company, sms_gateway, app, monkeypatch)
    row = client.htmx("post", f"/admin/notifications/{notification.id}/retry", data={"next": "/admin/notifications"})
    assert row.status_code == 200
    body = row.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="notification-{notification.id}"') and "Retry</button>" not in body

    sent = refreshed(notification)
    assert (sent.status, sent.attempts, sent.error) == ("sent", 1, None)
    assert sent.provider == "africastalking" and sent.provider_message_id
    assert [m.to for m in sms_gateway.messages] == ["+250788300001"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "notification.retried"))
    assert entry.company_id == company.id and entry.actor_id == super_admin.id
    assert entry.before == {"status": "gave_up", "attempts": 1} and "+250788300001" in entry.summary


def test_retry_works_without_javascript_and_goes_back_to_the_filtered_list(
    app, client, super_admin, sms_gateway, monkeypatch
):
    notification = given_up_sms(factories.company(), sms_gateway, app, monkeypatch)
    back = "/admin/notifications?status=attention"
    response = client.submit(f"/admin/notifications/{notification.id}/retry", {"next": back})
    assert response.status_code == 303 and response.headers["Location"] == back
    assert refreshed(notification).status == "sent"
    assert "Sending again to +250788300001." in text(client.get(back))

    elsewhere = record(factories.company(), status="failed")
    away = client.submit(f"/admin/notifications/{elsewhere.id}/retry", {"next": "https://evil.example/"})
    assert away.headers["Location"] == "/admin/notifications"


def test_a_record_that_is_not_waiting_for_a_retry_is_refused(client, super_admin):
    sent = record(factories.company(), status="sent")
    refused = client.htmx("post", f"/admin/notifications/{sent.id}/retry")
    assert refused.status_code == 409 and "not waiting for a retry" in text(refused)
    assert refreshed(sent).status == "sent"
    assert client.submit("/admin/notifications/999999/retry").status_code == 404
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "notification.retried")) is None


def test_retry_all_sends_again_only_what_the_filters_show(client, super_admin, sms_gateway):
    volcano, akagera = factories.company(), factories.company()
    mine = [record(volcano, status=status, attempts=3) for status in ("failed", "gave_up", "gave_up")]
    theirs = record(akagera, status="gave_up", attempts=3)
    done = record(volcano, status="sent")
    page = text(client.get(f"/admin/notifications?company={volcano.id}&status=attention"))
    assert "Retry all 3 shown that need attention" in page

    response = client.submit(
        "/admin/notifications/retry", {"company": str(volcano.id), "status": "attention", "channel": "", "kind": ""}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/notifications?company={volcano.id}&status=attention"
    assert [refreshed(n).status for n in mine] == ["sent", "sent", "sent"]
    assert refreshed(theirs).status == "gave_up" and refreshed(done).attempts == 1
    assert len(sms_gateway.messages) == 3
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "notification.retried")).all()
    assert {e.object_id for e in entries} == {n.id for n in mine}
    assert "Retry all" not in text(client.get(f"/admin/notifications?company={volcano.id}"))


def test_the_detail_page_shows_the_record_as_sent_with_its_error_and_context(client, super_admin):
    company = factories.company(name="Volcano Express")
    notification = record(
        company,
        status="gave_up",
        attempts=3,
        body="Volcano Express: your trip Kigali-Musanze is delayed 30 min.",
        provider="africastalking",
        error="HTTP 500 from the gateway: " + "x" * 300 + " THE END",
    )
    page = text(client.get(f"/admin/notifications/{notification.id}"))
    assert "Trip delayed · SMS to " + notification.address in page
    assert "your trip Kigali-Musanze is delayed 30 min." in page
    assert "THE END" in page and "Volcano Express" in page
    assert '"code": "K7Q2M9"' in page  # the event's context, as stored
    assert f'action="/admin/notifications/{notification.id}/retry"' in page
    assert client.get("/admin/notifications/999999").status_code == 404


@pytest.mark.parametrize("role", ["admin", "dispatcher", "customer"])
def test_only_super_admins_see_or_retry_the_platforms_log(client, login_as, role):
    someone = login_as(role)
    company = someone.memberships[0].company if someone.memberships else factories.company()
    failed = record(company, status="failed")
    assert client.get("/admin/notifications").status_code == 403
    assert client.get(f"/admin/notifications/{failed.id}").status_code == 403
    assert client.submit(f"/admin/notifications/{failed.id}/retry").status_code == 403
    assert client.submit("/admin/notifications/retry", {"status": "attention"}).status_code == 403
    assert refreshed(failed).status == "failed"
