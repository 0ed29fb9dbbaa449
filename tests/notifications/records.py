"""Delivery records for the log pages' tests: made directly (any status, no sending), or queued
through the service so the real send job runs against the SMS fake."""

from __future__ import annotations

import html
import itertools
from datetime import UTC, datetime

from app.booking.services import orders as booking
from app.core import tx
from app.extensions import db
from app.notifications import services
from app.notifications.models import Notification

_sequence = itertools.count(1)


def delayed_context(company: str = "Volcano Express") -> dict:
    """What a trip-delayed event knows: enough for its SMS, email and portal texts."""
    ticket = {
        "id": 1,
        "code": "K7Q2M9",
        "seat": "1A",
        "passenger": "Aline Uwase",
        "origin": "Kigali",
        "destination": "Musanze",
        "boards": "Mon 01 Dec 09:30",
        "price": 5000,
        "currency": "RWF",
        "refund": None,
    }
    return {"company": company, "delay_minutes": 30, "reason": "", "tickets": [ticket], "name": "Aline"}


def record(company=None, **values) -> Notification:
    """A record on file as it would be after its sending went ``status``."""
    n = next(_sequence)
    channel = values.pop("channel", "sms")
    address = values.pop("address", f"+25078820{n:04d}" if channel == "sms" else f"rider{n}@example.rw")
    row = Notification(
        dedupe_key=f"trip_delayed:test{n}:{channel}:{address}",
        kind=values.pop("kind", "trip_delayed"),
        channel=channel,
        address=address,
        company_id=company.id if company is not None else None,
        context=values.pop("context", delayed_context()),
        status=values.pop("status", "sent"),
        attempts=values.pop("attempts", 1),
        created_at=values.pop("created_at", datetime.now(UTC)),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def given_up_sms(company, gateway, app, monkeypatch, address: str = "+250788300001") -> Notification:
    """An SMS queued through the service while the gateway is down, with no retries left: gave up."""
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_SECONDS", ())
    gateway.outage(500)
    outgoing = services.Outgoing(
        kind="trip_delayed",
        source=f"test{next(_sequence)}",
        channel="sms",
        address=address,
        context=delayed_context(company.name),
        company_id=company.id,
    )
    (notification_id,) = services.queue([outgoing]).ids
    tx.commit()  # the send job runs now (inline) and fails
    gateway.recover()
    notification = db.session.get(Notification, notification_id)
    db.session.refresh(notification)
    assert (notification.status, notification.attempts) == ("gave_up", 1), notification.error
    return notification


def paid_order(trip, buyer, seats: list[str], phones: list[str | None] | None = None):
    """What the portal does: the buyer reserves seats for named passengers, then pays."""
    phones = phones or [None] * len(seats)
    order = booking.reserve(
        buyer,
        trip.id,
        seats=seats,
        origin=0,
        destination=len(trip.stops) - 1,
        passengers=[booking.Passenger(name=f"Rider {seat}", phone=p) for seat, p in zip(seats, phones, strict=True)],
        now=datetime.now(UTC),
    )
    return booking.mark_paid(order, now=datetime.now(UTC))


# --- Reading the log pages ---------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def shown(response) -> set[int]:
    """The ids of the records whose rows the page shows."""
    page = response.get_data(as_text=True)
    return {int(part.split('"', 1)[0]) for part in page.split('<tr id="notification-')[1:]}


def refreshed(notification: Notification) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification.id)
