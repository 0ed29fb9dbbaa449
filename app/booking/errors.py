"""Booking's refusals, each with the sentence a passenger reads."""

from __future__ import annotations

from app.core.errors import DomainError


class SeatUnavailable(DomainError):
    code = "seat_unavailable"
    message = "That seat was just taken. Please choose another."


class TripNotOnSale(DomainError):
    code = "trip_not_on_sale"
    message = "Seats on this trip are not on sale."


class HoldLimitReached(DomainError):
    status = 429
    code = "hold_limit"
    message = "You are already keeping as many seats as one person may. Finish or give up a booking first."


class HoldExpired(DomainError):
    status = 410
    code = "hold_expired"
    message = "Your seats were released because time ran out. Please choose them again."


class OrderNotPayable(DomainError):
    code = "order_not_payable"
    message = "This booking can no longer be paid."


class TicketNotCancellable(DomainError):
    code = "ticket_not_cancellable"
    message = "This ticket can no longer be cancelled."


class LinkEnded(DomainError):
    status = 410
    code = "link_ended"
    message = "This ticket link has ended: it was replaced by a newer one, revoked, or the trip is long over."
