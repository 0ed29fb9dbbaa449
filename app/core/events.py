"""Domain events through an outbox: written in the same transaction as the change, delivered
after commit by a job that calls every subscriber. A rollback leaves no event; a crash after
commit leaves the row, so nothing that happened is lost.

Subscribers (notifications, refunds, live map) register with :func:`subscribe` and must be
idempotent: an event may be delivered more than once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import realtime
from app.core.jobs import enqueue, job
from app.core.models import utcnow
from app.extensions import db

log = logging.getLogger(__name__)
_subscribers: dict[str, list[Callable[[Event], None]]] = defaultdict(list)


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)  # "trip.cancelled", "trip.bus_changed"
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


def subscribe(name: str) -> Callable:
    def register(handler: Callable[[Event], None]) -> Callable[[Event], None]:
        _subscribers[name].append(handler)
        return handler

    return register


def emit(name: str, payload: dict, *, company_id: int | None = None, trip_id: int | None = None) -> Event:
    """Record ``name`` now; deliver it to subscribers and live views once the transaction commits."""
    event = Event(name=name, payload=payload, company_id=company_id, trip_id=trip_id)
    db.session.add(event)
    db.session.flush()
    enqueue("high", deliver, event.id)
    if trip_id is not None:
        realtime.publish(f"trip:{trip_id}", {"event": name, **payload})
    return event


@job
def deliver(event_id: int) -> None:
    event = db.session.get(Event, event_id)
    if event is None:
        return
    for handler in _subscribers.get(event.name, ()):
        handler(event)
    event.delivered_at = utcnow()
