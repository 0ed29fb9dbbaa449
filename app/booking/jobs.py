"""Booking background work."""

from __future__ import annotations

from app.booking.services.holds import expire_all
from app.core.jobs import job
from app.core.models import utcnow


@job
def release_expired_holds() -> int:
    """Give back the seats of holds and unpaid orders whose time ran out, on trips nobody is
    buying (a sale on a trip does the same for that trip first). Run every minute."""
    return expire_all(utcnow())
