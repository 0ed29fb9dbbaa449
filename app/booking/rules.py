"""Booking rules with no database: statuses and limits."""

from __future__ import annotations

ORDER_STATUSES = ("pending", "paid", "failed", "expired", "cancelled", "refunded", "partially_refunded")
TICKET_STATUSES = ("pending", "paid", "cancelled")
# Tickets that hold a seat: a pending one is being paid for, a paid one is sold.
ACTIVE_TICKET_STATUSES = ("pending", "paid")
MAX_SEATS_PER_ORDER = 6
