"""Booking's refusals, each with the sentence a passenger reads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError, Forbidden


class SeatUnavailable(DomainError):
    code = "seat_unavailable"
    message = _l("That seat was just taken. Please choose another.")


class TripNotOnSale(DomainError):
    code = "trip_not_on_sale"
    message = _l("Seats on this trip are not on sale.")


class HoldLimitReached(DomainError):
    status = 429
    code = "hold_limit"
    message = _l("You are already keeping as many seats as one person may. Finish or give up a booking first.")


class HoldExpired(DomainError):
    status = 410
    code = "hold_expired"
    message = _l("Your seats were released because time ran out. Please choose them again.")


class OrderNotPayable(DomainError):
    code = "order_not_payable"
    message = _l("This booking can no longer be paid.")


class TicketNotCancellable(DomainError):
    code = "ticket_not_cancellable"
    message = _l("This ticket can no longer be cancelled.")


class LinkEnded(DomainError):
    status = 410
    code = "link_ended"
    message = _l("This ticket link has ended: it was replaced by a newer one, revoked, or the trip is long over.")


class NotYourBoarding(Forbidden):
    code = "not_your_trip"
    message = _l("Only this trip's driver and its company's staff may do this.")


class NotBoarded(DomainError):
    code = "not_boarded"
    message = _l("This passenger has not boarded: there is nothing to undo.")


class UndoTooLate(DomainError):
    code = "undo_too_late"
    message = _l("This boarding was more than 2 minutes ago: it can no longer be undone.")


class TripOver(DomainError):
    code = "trip_over"
    message = _l("This trip has ended: its boarding is closed.")
