"""What happens to a ticket after it is issued: verification of its QR code, and cancellation by
its passenger under the refund terms stored at purchase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.booking import qr
from app.booking.errors import TicketNotCancellable
from app.booking.models import SeatLeg, Ticket
from app.booking.rules import refund_percent
from app.core import events
from app.extensions import db
from app.fleet import queries, rules


@dataclass(frozen=True)
class Verdict:
    valid: bool
    # "valid", or why not: malformed, forged, unknown_key, retired_key, unknown_ticket, cancelled,
    # unpaid, wrong_trip
    reason: str
    message: str
    ticket: Ticket | None = None
    claims: qr.Claims | None = None  # whenever the signature verified: callers compare them to the record


def verify_ticket(text: str, *, trip_id: int | None = None) -> Verdict:
    """Is this QR text a ticket to travel (on ``trip_id`` when a scanner names its trip)? The
    signature first, then the record: a genuine code for a cancelled or unpaid ticket is refused.
    A retired key (any but the first of ``QR_SIGNING_KEYS``) vouches only for trips not yet ended,
    so it can be removed once they have."""
    try:
        claims = qr.verify(text)
    except qr.QRInvalid as error:
        return Verdict(False, error.reason, str(error))
    ticket = db.session.scalar(select(Ticket).where(Ticket.code == claims.ticket_code))
    if ticket is None or ticket.trip_id != claims.trip_id:
        return Verdict(False, "unknown_ticket", "No ticket matches this code.", claims=claims)
    if claims.key_id != qr.signing_key_id() and ticket.trip.status in rules.ENDED:
        message = _("This ticket's trip has ended and the key it was signed with is retired.")
        return Verdict(False, "retired_key", message, ticket, claims)
    if trip_id is not None and ticket.trip_id != trip_id:
        return Verdict(False, "wrong_trip", "This ticket is for another trip.", ticket, claims)
    if ticket.status == "cancelled":
        return Verdict(False, "cancelled", "This ticket was cancelled.", ticket, claims)
    if ticket.status != "paid":
        return Verdict(False, "unpaid", "This ticket has not been paid.", ticket, claims)
    # The seat on the record wins: a bus swap may have moved the passenger since the code was made.
    return Verdict(True, "valid", f"Valid: {ticket.passenger_name}, seat {ticket.seat_label}.", ticket, claims)


def refund_for(ticket: Ticket, departs_at: datetime, now: datetime) -> int:
    """What cancelling ``ticket`` now gives back, under the terms stored on it."""
    hours_before = (departs_at - now).total_seconds() / 3600
    return ticket.price * refund_percent(ticket.refund_policy, hours_before) // 100


def cancel_for_trip(trip, *, now: datetime) -> list[Ticket]:
    """The operator cancelled the trip (its row is locked): every sold ticket is cancelled with its
    full price to refund, orders still waiting for payment fail, and all the seats are free."""
    sold = []
    active = queries.active_tickets(trip)
    for ticket in active:
        if ticket.status == "paid":
            ticket.status, ticket.cancelled_at, ticket.refund_amount = "cancelled", now, ticket.price
            sold.append(ticket)
        else:
            ticket.status = "expired"
    db.session.execute(delete(SeatLeg).where(SeatLeg.trip_id == trip.id))
    for order in {ticket.order for ticket in active}:
        if order.status == "pending":
            order.status = "failed"
        elif order.status == "paid" and all(t.status == "cancelled" for t in order.tickets):
            order.status = "cancelled"
    db.session.flush()
    return sold


def cancel_ticket(ticket: Ticket, *, now: datetime) -> Ticket:
    """The passenger gives the seat back before departure; the refund owed is recorded on the
    ticket for the payments side to pay, and the seat-legs are free again at once."""
    trip = queries.lock_trip(ticket.trip_id)
    db.session.refresh(ticket)
    if ticket.status != "paid":
        raise TicketNotCancellable(_("Only a paid ticket can be cancelled."))
    departs_at = trip.time_at(ticket.origin_position)
    if trip.status not in rules.EDITABLE or departs_at <= now:
        raise TicketNotCancellable(_("The bus has left; this ticket can no longer be cancelled."))
    ticket.refund_amount = refund_for(ticket, departs_at, now)
    ticket.status, ticket.cancelled_at = "cancelled", now
    db.session.execute(delete(SeatLeg).where(SeatLeg.ticket_id == ticket.id))
    order = ticket.order
    if all(t.status == "cancelled" for t in order.tickets):
        order.status = "cancelled"
    db.session.flush()
    events.emit(
        "ticket.cancelled",
        {"ticket_id": ticket.id, "order_id": order.id, "refund_amount": ticket.refund_amount},
        company_id=ticket.order.company_id,
        trip_id=trip.id,
    )
    return ticket
