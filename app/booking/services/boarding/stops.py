"""The bus leaves a stop: passengers who did not come become no-shows and their seats are sold again."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, update

from app.audit import services as audit
from app.booking.errors import TripOver
from app.booking.models import SeatLeg, Ticket
from app.booking.services.boarding.scans import boarding_trip
from app.core import events
from app.core.errors import InvalidInput
from app.extensions import db
from app.fleet import queries as fleet
from app.fleet.rules import TripStatus

ENDED = (TripStatus.ARRIVED, TripStatus.CANCELLED)


# --- Leaving a stop: no-shows ---------------------------------------------------------------------------


def depart_stop(user, trip_id: int, position: int, *, no_shows: list[str], now: datetime) -> list[Ticket]:
    """The bus leaves stop ``position``: the listed passengers boarding there (or earlier) who have
    not boarded become no-shows, their seats sellable again for the rest of the trip in this same
    transaction, and they are told (event ``ticket.no_show``). Returns the tickets marked; one that
    boarded at the last moment is left alone."""
    boarding_trip(user, trip_id)
    trip = fleet.lock_trip(trip_id)  # as a sale does: the freed seat-legs and a sale never cross
    if trip.status in ENDED:
        raise TripOver()
    if not 0 <= position < trip.legs:
        raise InvalidInput(fields={"position": [_("The bus does not leave from this stop.")]})
    codes = {code.strip().upper() for code in no_shows}
    marked = list(
        db.session.scalars(
            update(Ticket)
            .where(
                Ticket.trip_id == trip.id,
                Ticket.code.in_(codes),
                Ticket.origin_position <= position,
                Ticket.status == "paid",
                Ticket.boarded_at.is_(None),
            )
            .values(status="no_show")
            .returning(Ticket)
            .execution_options(synchronize_session="fetch")
        )
    )
    if marked:
        db.session.execute(delete(SeatLeg).where(SeatLeg.ticket_id.in_([t.id for t in marked])))
    before = trip.current_stop
    trip.current_stop = max(before, position + 1)
    audit.record(
        user,
        "trip.stop_departed",
        trip,
        f"Left stop {position + 1} of trip {trip.id}; no-shows: {', '.join(t.code for t in marked) or 'none'}",
        company_id=trip.company_id,
        before={"current_stop": before},
        after={"current_stop": trip.current_stop, "no_shows": [t.code for t in marked]},
    )
    db.session.flush()
    if marked:
        payload = {"trip_id": trip.id, "position": position, "tickets": [t.id for t in marked]}
        events.emit("ticket.no_show", payload, company_id=trip.company_id, trip_id=trip.id)
    payload = {"trip_id": trip.id, "current_stop": trip.current_stop}
    events.emit("boarding.stop_departed", payload, company_id=trip.company_id, trip_id=trip.id)
    return marked
