"""Tracking jobs: the position history written in batches, and buses leaving the live map."""

from __future__ import annotations

from app.core import events
from app.core.events import Event
from app.core.jobs import job
from app.extensions import db
from app.fleet.models import Trip
from app.tracking import live, services


@job
def flush_positions() -> int:
    """Every minute, and whenever enough fixes wait: the history to PostgreSQL."""
    return services.flush_history()


@events.subscribe("trip.arrived")
@events.subscribe("trip.cancelled")
def off_the_road(event: Event) -> None:
    trip = db.session.get(Trip, event.payload["trip_id"])
    if trip is not None and trip.bus_id is not None and services.running_trip_of(trip.bus_id) is None:
        live.forget_bus(trip.bus_id)
