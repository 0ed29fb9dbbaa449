"""Booking rules with no database: statuses and limits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from flask_babel import gettext as _

ORDER_STATUSES = ("pending", "paid", "failed", "expired", "cancelled", "refunded", "partially_refunded")
# A paid ticket whose passenger was not there when the bus left their stop becomes a no_show: its
# seat is sold again for the rest of the trip (services.boarding.depart_stop).
TICKET_STATUSES = ("pending", "paid", "cancelled", "expired", "no_show")
# Tickets that hold a seat: a pending one is being paid for, a paid one is sold.
ACTIVE_TICKET_STATUSES = ("pending", "paid")
# Tickets a buyer holds as issued: paid ones, and cancelled ones kept as a record (no QR, the refund
# shown). Pending and expired ones are only an order's lines, never a ticket page of their own.
ISSUED_TICKET_STATUSES = ("paid", "cancelled")
MAX_SEATS_PER_ORDER = 6
# A ticket stays "upcoming" while its trip has not arrived: once the trip is marked arrived (or
# cancelled) it is past whatever the clock says; a trip nobody marked arrived drops out this long
# after the passenger's expected arrival.
UNMARKED_ARRIVAL_GRACE = timedelta(hours=12)


def is_upcoming(ticket_status: str, trip_status: str, arrives_at: datetime, now: datetime) -> bool:
    """Whether a ticket belongs with the passenger's coming trips (``arrives_at``: at their stop)."""
    if ticket_status != "paid" or trip_status in ("arrived", "cancelled"):
        return False
    return now < arrives_at + (UNMARKED_ARRIVAL_GRACE if trip_status == "departed" else timedelta(0))


# What a scan at the bus door answers (an undo answers "undone", and is no scan of its own).
SCAN_RESULTS = (
    "boarded",
    "already_boarded",
    "wrong_trip",
    "not_paid",
    "cancelled",
    "forged",
    "unreadable",
)
UNDO_WINDOW = timedelta(minutes=2)  # a mistaken scan can be undone this long after the boarding
# The offline pack stays usable this long after the trip's expected arrival.
PACK_VALID_AFTER_ARRIVAL = timedelta(hours=6)


# A hold keeps seats for a buyer while they fill in names and pay; it ends released (the buyer
# gave up), expired (time ran out) or converted (it became an order).
HOLD_STATUSES = ("active", "released", "expired", "converted")
MAX_HELD_SEATS_PER_USER = 6  # across all of a user's active holds
MAX_ACTIVE_HOLDS_PER_USER = 2


def refund_percent(policy: list, hours_before: float) -> int:
    """The percentage refunded when cancelling ``hours_before`` departure: the best tier whose
    hours have not yet passed; none once they all have."""
    eligible = [percent for hours, percent in policy if hours_before >= hours]
    return max(eligible, default=0)


def search_problems(origins: Collection[int], destinations: Collection[int], day, today) -> dict[str, str]:
    """What is wrong with a search from one set of stations to another (a town's, or one), by
    field (origin, destination, date); empty when it can run."""
    problems = {}
    if set(origins) & set(destinations):
        problems["destination"] = _("Choose a destination other than where you leave from.")
    if day < today:
        problems["date"] = _("Choose today or a later date.")
    return problems
