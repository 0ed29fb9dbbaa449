"""Registering GPS trackers (or phones running Traccar Client) to buses.

A device id reports for one bus of one company: ids are unique across the platform, and a taken id
is refused without saying who holds it.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.services import record, snapshot
from app.core.errors import InvalidInput, NotFound
from app.extensions import db
from app.fleet.models import Bus
from app.tracking.models import Tracker

DEVICE_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
AUDITED = ("device_id", "label", "bus_id")
TAKEN = _l("This device id is already registered. Check the id set in the device, or remove it where it is used.")


def of_bus(bus: Bus) -> list[Tracker]:
    return list(db.session.scalars(select(Tracker).where(Tracker.bus_id == bus.id).order_by(Tracker.created_at)))


def on_bus_or_404(bus: Bus, tracker_id: int) -> Tracker:
    tracker = db.session.scalar(select(Tracker).where(Tracker.id == tracker_id, Tracker.bus_id == bus.id))
    if tracker is None:
        raise NotFound()
    return tracker


def register(actor, bus: Bus, *, device_id: str, label: str | None) -> Tracker:
    """Tie ``device_id`` to ``bus``; its reports then move the bus on the live map."""
    device_id = (device_id or "").strip()
    label = (label or "").strip() or None
    if not DEVICE_ID.fullmatch(device_id):
        raise InvalidInput(
            fields={"device_id": [_("Use 1 to 64 letters, digits and . _ - : @ (as set in the device).")]}
        )
    if db.session.scalar(select(Tracker.id).where(Tracker.device_id == device_id)) is not None:
        raise InvalidInput(fields={"device_id": [TAKEN]})
    tracker = Tracker(company_id=bus.company_id, bus_id=bus.id, device_id=device_id, label=label)
    try:
        with db.session.begin_nested():  # registered elsewhere at the same moment
            db.session.add(tracker)
            db.session.flush()
    except IntegrityError:
        raise InvalidInput(fields={"device_id": [TAKEN]}) from None
    record(
        actor,
        "tracker.registered",
        tracker,
        f"Tracker {device_id} on bus {bus.plate}",
        company_id=bus.company_id,
        after={**snapshot(tracker, AUDITED), "plate": bus.plate},
    )
    return tracker


def remove(actor, tracker: Tracker) -> None:
    """The device no longer reports for its bus (its reports are refused as unknown)."""
    record(
        actor,
        "tracker.removed",
        tracker,
        f"Tracker {tracker.device_id} off bus {tracker.bus.plate}",
        company_id=tracker.company_id,
        before={**snapshot(tracker, AUDITED), "plate": tracker.bus.plate},
    )
    db.session.delete(tracker)
    db.session.flush()


def seen(tracker: Tracker, *, battery: float | None, now: datetime) -> None:
    """The device reported, though without a position we show."""
    tracker.last_seen_at = now
    if battery is not None:
        tracker.battery = battery
    db.session.flush()
