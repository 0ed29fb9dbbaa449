"""The company's delivery log in the console: its own records only, the same filters as the super
admin's, and sending its own failed messages again. Another company's record is a 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.models import utcnow
from app.extensions import db
from app.notifications import services
from tests import factories
from tests.notifications.records import given_up_sms, record, refreshed, shown, text


@pytest.fixture
def dispatcher(login_as):
    return login_as("dispatcher", name="Eric Dispatch")


@pytest.fixture
def company(dispatcher):
    return dispatcher.memberships[0].company


def test_the_log_shows_only_the_companys_own_records_with_filters(client, company):
    other = factories.company(name="Someone Else's Coaches")
    failed = record(company, status="failed", address="+250788555001", error="UserInBlacklist")
    sent = record(company, channel="email", address="aline@example.rw", kind="ticket_issued")
    theirs = record(other, status="failed", address="+250788555002")

    page = client.get("/console/notifications")
    assert page.status_code == 200
    assert shown(page) == {failed.id, sent.id}
    assert "1 needs attention" in text(page) and "Someone Else" not in text(page)
    assert 'name="company"' not in text(page)  # no company filter: there is only one
    assert shown(client.get("/console/notifications?status=attention")) == {failed.id}
    assert shown(client.get("/console/notifications?channel=email")) == {sent.id}
    assert shown(client.get("/console/notifications?q=555")) == {failed.id}
    assert shown(client.get(f"/console/notifications?company={other.id}")) == {failed.id, sent.id}
    assert theirs.id not in shown(client.get("/console/notifications?channel=all&status=failed"))
    assert "Notifications" in text(client.get("/console/"))  # in the console's menu


def test_a_dispatcher_sends_a_given_up_sms_again(app, client, dispatcher, company, sms_gateway, monkeypatch):
    notification = given_up_sms(company, sms_gateway, app, monkeypatch, address="+250788555010")
    detail = text(client.get(f"/console/notifications/{notification.id}"))
    assert "Gave up" in detail and "answered 500" in detail

    row = client.htmx("post", f"/console/notifications/{notification.id}/retry")
    assert row.status_code == 200 and f'<tr id="notification-{notification.id}"' in row.get_data(as_text=True)
    assert refreshed(notification).status == "sent"
    assert [m.to for m in sms_gateway.messages] == ["+250788555010"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "notification.retried"))
    assert entry.company_id == company.id and entry.actor_id == dispatcher.id


def test_another_companys_record_is_not_found_and_not_retried(client, company, sms_gateway):
    other = factories.company()
    theirs = record(other, status="gave_up", attempts=3)
    assert client.get(f"/console/notifications/{theirs.id}").status_code == 404
    assert client.submit(f"/console/notifications/{theirs.id}/retry").status_code == 404
    assert client.htmx("post", f"/console/notifications/{theirs.id}/retry").status_code == 404

    mine = record(company, status="gave_up", attempts=3)
    response = client.submit("/console/notifications/retry", {"company": str(other.id), "status": "attention"})
    assert response.status_code == 303 and response.headers["Location"] == "/console/notifications?status=attention"
    assert refreshed(mine).status == "sent"
    assert (refreshed(theirs).status, refreshed(theirs).attempts) == ("gave_up", 3)
    assert sms_gateway.messages and all(m.to == mine.address for m in sms_gateway.messages)


@pytest.mark.parametrize("role", ["driver", "agent", "customer"])
def test_roles_without_the_console_cannot_see_the_log(client, login_as, role):
    user = login_as(role)
    company = user.memberships[0].company if user.memberships else factories.company()
    failed = record(company, status="failed")
    assert client.get("/console/notifications").status_code == 403
    assert client.submit(f"/console/notifications/{failed.id}/retry").status_code == 403
    assert refreshed(failed).status == "failed"


def test_a_company_admin_sees_the_log_too(client, login_as):
    admin = login_as("admin")
    mine = record(admin.memberships[0].company, status="failed")
    assert shown(client.get("/console/notifications")) == {mine.id}


def test_messages_written_to_the_log_do_not_pass_for_sent(app, client, company, monkeypatch):
    """Without MAIL_SERVER the log showed such emails as "Sent · smtp"."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "log")
    emailed = record(company, channel="email", address="aline@example.rw", status="sending")
    texted = record(company, channel="sms", address="+250788555020", status="sending")
    for notification in (emailed, texted):
        services.deliver(notification, now=utcnow())

    page = text(client.get("/console/notifications"))
    assert page.count("Written to the log, not sent") == 2
    assert "smtp" not in page and "status-arrived" not in page  # the green "Sent" badge
    detail = text(client.get(f"/console/notifications/{emailed.id}"))
    assert "No mail server is configured (MAIL_SERVER)" in detail and "Written to the log, not sent" in detail


def test_an_email_handed_to_the_mail_server_shows_as_sent_by_smtp(app, client, company, mailbox):
    emailed = record(company, channel="email", address="aline@example.rw", status="sending")
    services.deliver(emailed, now=utcnow())
    mailbox.wait_for("aline@example.rw")
    page = text(client.get("/console/notifications"))
    assert "smtp" in page and "Written to the log" not in page
