"""Notifications through a real ``worker.py`` process on real Redis: SMS to the Africa's Talking fake,
email to the loopback SMTP server, retries scheduled by RQ's scheduler inside the worker."""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core import events, tx
from app.core.events import Event
from app.extensions import db, get_queue, redis_binding
from app.fleet.services.swap import swap_bus
from app.fleet.services.trips import cancel_trip
from app.notifications import jobs, services
from app.notifications.models import Notification
from tests import factories
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.notifications.conftest import AT_API_KEY, AT_SENDER_ID, AT_USERNAME
from tests.notifications.records import paid_order

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.own_transactions


@pytest.fixture
def worker(committed, smtp_server, africastalking_server, tmp_path):
    """The app handing jobs to Redis, and one ``python worker.py`` serving them until the test ends."""
    app = committed
    app.config["JOBS_INLINE"] = False
    redis_binding.init_app(app)
    africastalking_server.clear()
    smtp_server[0].clear()
    env = {
        **os.environ,
        "TMS_ENV": "test",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server[1]),
        "BASE_URL": "http://tms.test",
        "SMS_PROVIDER": "africastalking",
        "AFRICASTALKING_BASE_URL": africastalking_server.url,
        "AFRICASTALKING_USERNAME": AT_USERNAME,
        "AFRICASTALKING_API_KEY": AT_API_KEY,
        "AFRICASTALKING_SENDER_ID": AT_SENDER_ID,
        "NOTIFY_RETRY_SECONDS": "1,2",
    }
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "worker.py", "--queues", "high"], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    try:
        yield process
        assert process.poll() is None, log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the job in hand, then exit
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        app.config["JOBS_INLINE"] = True
        redis_binding.init_app(app)


def settled(timeout: float = 30.0) -> None:
    """Wait until the worker has nothing left to do: the queue is empty, no job is running and no
    delivery record is waiting to be sent."""
    queue = get_queue("high")
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        db.session.rollback()
        waiting = db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status.in_(("queued", "sending")))
        )
        if waiting or queue.count or queue.started_job_registry.count:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= 0.5:  # idle for a while, not between dequeue and start
            return
        time.sleep(0.05)
    raise TimeoutError(f"the worker was still busy after {timeout}s")


def phone(n: int) -> str:
    return f"+25078820{n:04d}"


def new_trip(rows: int = 10):
    company = factories.company(name="Horizon Coaches")
    bus = factories.bus(company, plate="RAB 555C", rows=rows)
    return factories.trip(factories.route(company), bus_=bus, departs_at=datetime.now(UTC) + timedelta(hours=6))


def test_a_bus_swap_reaches_30_passengers_once_each_even_when_every_job_runs_twice(worker, sms_gateway):
    trip = new_trip()
    seats = [f"{row}{letter}" for row in range(1, 9) for letter in "ABCD"][:30]
    for start in range(0, 30, 5):
        buyer = factories.user(notify_email=False)
        paid_order(trip, buyer, seats[start : start + 5], [phone(n) for n in range(start, start + 5)])
    tx.commit()
    settled()
    assert len(sms_gateway.messages) == 30  # the tickets
    sms_gateway.clear()

    swap_bus(None, trip, factories.bus(trip.route.company, plate="RAD 123A", rows=10), now=datetime.now(UTC))
    tx.commit()
    settled()
    event = db.session.scalar(select(Event).where(Event.name == "trip.bus_changed"))
    high = get_queue("high")
    high.enqueue(events.deliver, event.id)  # the event delivered a second time
    for notification_id in db.session.scalars(select(Notification.id).where(Notification.kind == "bus_changed")):
        high.enqueue(jobs.send, notification_id)  # and every send enqueued twice
    settled()

    texts = sms_gateway.messages
    assert sorted(m.to for m in texts) == [phone(n) for n in range(30)]
    assert all(m.text.startswith("Horizon Coaches: your bus has changed to plate RAD 123A") for m in texts)
    assert all(m.sender == AT_SENDER_ID for m in texts)


def test_a_cancelled_trip_sends_each_passenger_one_sms_and_one_email_with_the_refund(worker, sms_gateway, mailbox):
    trip = new_trip()
    riders = [
        factories.user(name=f"Rider{n} Test", email=f"cancel{n}@example.rw", phone=phone(40 + n)) for n in range(3)
    ]
    orders = [paid_order(trip, rider, [f"{n + 1}B", f"{n + 1}C"], [None, None]) for n, rider in enumerate(riders)]
    tx.commit()
    settled()
    sms_gateway.clear()
    mailbox.clear()

    cancel_trip(None, trip, reason="Flooding on the road", now=datetime.now(UTC))
    tx.commit()
    settled()

    for n, order in enumerate(orders):
        refund = sum(t.price for t in order.tickets)
        (text,) = [m.text for m in sms_gateway.messages_to(phone(40 + n))]
        assert f"Refund {refund:,} RWF" in text
        (email,) = [m for m in mailbox.messages if m["To"] == f"cancel{n}@example.rw"]
        assert email["Subject"].startswith("Cancelled:")
        body = mailbox.text_of(email)
        assert f"Refund in total: {refund:,} RWF" in body and "Flooding on the road" in body
        assert f"Hello Rider{n}," in body
    assert len(sms_gateway.messages) == 3 and len(mailbox.messages) == 3


def test_an_sms_outage_is_retried_with_backoff_then_given_up_and_nothing_is_lost(worker, sms_gateway, client):
    trip = new_trip()
    sms_gateway.outage(500)
    paid_order(trip, factories.user(notify_email=False), ["6A"], [phone(60)])
    tx.commit()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the worker records the SMS, tries it, and retries it twice
        db.session.rollback()
        record = db.session.scalar(select(Notification).where(Notification.channel == "sms"))
        if record is not None and record.status == "gave_up":
            break
        time.sleep(0.2)
    assert record is not None and record.status == "gave_up", record
    assert record.attempts == 3 and sms_gateway.requests_seen == 3  # the first try and two retries, 1 s then 2 s apart
    assert "Africa's Talking answered 500" in record.error
    assert record.sent_at is None

    admin = factories.user_with_role("super_admin")
    tx.commit()
    client.login(admin.email)
    page = html.unescape(client.get("/admin/notifications?status=attention").get_data(as_text=True))
    assert f'<tr id="notification-{record.id}"' in page  # the super admin sees it, with why
    assert "Gave up" in page and "Africa's Talking answered 500" in page

    sms_gateway.recover()
    assert services.retry(record)
    tx.commit()
    settled()
    db.session.refresh(record)
    assert record.status == "sent" and record.error is None
    (text,) = [m.text for m in sms_gateway.messages_to(phone(60))]
    assert "seat 6A" in text


def test_a_rolled_back_change_sends_nothing(worker, sms_gateway, mailbox):
    trip = new_trip()
    paid_order(trip, factories.user(email="rollback@example.rw"), ["7A"], [phone(70)])
    tx.commit()
    settled()
    sms_gateway.clear()
    mailbox.clear()

    cancel_trip(None, trip, reason="Changed our mind", now=datetime.now(UTC))
    tx.rollback()
    time.sleep(1.5)  # time enough for a worker to have sent anything it had been given
    settled()
    assert sms_gateway.requests_seen == 0 and mailbox.messages == []
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.name == "trip.cancelled")) == 0
