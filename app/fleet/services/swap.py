"""Bus swap: put another bus on a trip that has not left, re-seating its passengers.

Under the trip's row lock (bookings wait on it), in one transaction: check the new bus, map every
active ticket to a seat of its class in the new layout (same label where it exists, groups kept
side by side otherwise), rewrite the seat-leg rows, emit ``trip.bus_changed``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, update

from app.audit.services import record
from app.booking.models import Hold, SeatLeg, Ticket
from app.booking.services import inventory
from app.core import events
from app.extensions import db
from app.fleet import queries, rules
from app.fleet.errors import SwapRefused, TripNotEditable
from app.fleet.models import Bus, BusSeat, Trip


def peak_by_class(tickets: list[Ticket], legs: int) -> dict[str, int]:
    """Most passengers of each class on any one leg: the seats a bus must have for them."""
    load: dict[str, list[int]] = defaultdict(lambda: [0] * max(legs, 1))
    for ticket in tickets:
        for leg in ticket.legs:
            load[ticket.seat_class][leg] += 1
    return {seat_class: max(counts) for seat_class, counts in load.items()}


def _fits(occupied: dict[str, set[int]], label: str, legs: range) -> bool:
    return occupied[label].isdisjoint(legs)


def reseat(tickets: list[Ticket], seats: list[BusSeat]) -> dict[int, str]:
    """Ticket id → seat label in the new layout. Keeps a ticket's label where the new bus has it
    in the same class; seats each remaining group (an order) in adjacent seats where it can.
    Raises SwapRefused if the class's seats cannot hold everyone."""
    result: dict[int, str] = {}
    for seat_class in {t.seat_class for t in tickets}:
        pool = [s for s in seats if s.seat_class == seat_class]  # layout order: row, column
        mine = [t for t in tickets if t.seat_class == seat_class]
        placed = _place(mine, pool)
        if placed is None:
            placed = _place_by_interval(mine, pool)  # optimal: never fails when the peak fits
        if placed is None:
            raise SwapRefused(
                _(
                    "The new bus cannot seat every %(seat_class)s passenger.",
                    seat_class=rules.SEAT_CLASS_LABELS[seat_class],
                )
            )
        result.update(placed)
    return result


def _place(tickets: list[Ticket], pool: list[BusSeat]) -> dict[int, str] | None:
    labels = [s.label for s in pool]
    occupied: dict[str, set[int]] = {label: set() for label in labels}
    placed: dict[int, str] = {}
    waiting: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        if ticket.seat_label in occupied and _fits(occupied, ticket.seat_label, ticket.legs):
            placed[ticket.id] = ticket.seat_label
            occupied[ticket.seat_label].update(ticket.legs)
        else:
            waiting[ticket.order_id].append(ticket)
    for group in sorted(waiting.values(), key=len, reverse=True):
        block = _adjacent_block(group, labels, occupied)
        for ticket, label in zip(group, block or [], strict=False):
            placed[ticket.id] = label
            occupied[label].update(ticket.legs)
        if block:
            continue
        for ticket in group:
            label = next((lb for lb in labels if _fits(occupied, lb, ticket.legs)), None)
            if label is None:
                return None
            placed[ticket.id] = label
            occupied[label].update(ticket.legs)
    return placed


def _adjacent_block(group: list[Ticket], labels: list[str], occupied) -> list[str] | None:
    """The first run of len(group) consecutive seats (layout order) free for each member."""
    size = len(group)
    for start in range(len(labels) - size + 1):
        window = labels[start : start + size]
        if all(_fits(occupied, label, ticket.legs) for label, ticket in zip(window, group, strict=True)):
            return window
    return None


def _place_by_interval(tickets: list[Ticket], pool: list[BusSeat]) -> dict[int, str] | None:
    """Interval-graph colouring by boarding stop: uses no more seats than the busiest leg."""
    occupied: dict[str, set[int]] = {s.label: set() for s in pool}
    placed = {}
    for ticket in sorted(tickets, key=lambda t: (t.origin_position, t.order_id, t.id)):
        label = next((lb for lb in occupied if _fits(occupied, lb, ticket.legs)), None)
        if label is None:
            return None
        placed[ticket.id] = label
        occupied[label].update(ticket.legs)
    return placed


def swap_bus(actor, trip: Trip, new_bus: Bus, *, now: datetime) -> Trip:
    trip = queries.lock_trip(trip.id)
    if trip.status not in rules.EDITABLE:
        raise TripNotEditable(rules.not_editable_reason(trip.status))
    if new_bus.company_id != trip.company_id:
        raise SwapRefused(_("That bus belongs to another company."))
    if new_bus.id == trip.bus_id:
        raise SwapRefused(_("Bus %(plate)s is already on this trip.", plate=new_bus.plate))
    if new_bus.status != "active":
        raise SwapRefused(
            _(
                "Bus %(plate)s is not in service (%(status)s).",
                plate=new_bus.plate,
                status=str(rules.BUS_STATUS_LABELS[new_bus.status]).lower(),
            )
        )
    other = queries.overlapping_trip(trip, bus_id=new_bus.id)
    if other is not None:
        raise SwapRefused(
            _(
                "Bus %(plate)s is busy then, on trip %(trip)s (%(route)s).",
                plate=new_bus.plate,
                trip=other.id,
                route=other.route.name,
            )
        )

    inventory.release_expired(trip, now)
    tickets = queries.active_tickets(trip)
    if len(tickets) > new_bus.capacity and not _legs_disjoint_enough(tickets, trip, new_bus):
        raise SwapRefused(
            ngettext(
                "Bus %(plate)s has %(seats)d seats but %(num)d passengers hold tickets.",
                "Bus %(plate)s has %(seats)d seats but %(num)d passengers hold tickets.",
                len(tickets),
                plate=new_bus.plate,
                seats=new_bus.capacity,
            )
        )
    for seat_class, peak in peak_by_class(tickets, trip.legs).items():
        available = new_bus.seats_of_class(seat_class)
        if peak > available:
            label = rules.SEAT_CLASS_LABELS[seat_class]
            raise SwapRefused(
                ngettext(
                    "Bus %(plate)s has %(seats)d %(label)s seats but %(num)d %(label)s passenger has a ticket.",
                    "Bus %(plate)s has %(seats)d %(label)s seats but %(num)d %(label)s passengers travel together.",
                    peak,
                    plate=new_bus.plate,
                    seats=available,
                    label=label,
                )
            )
    seating = reseat(tickets, new_bus.seats)

    old_bus = trip.bus
    moves = []
    db.session.execute(delete(SeatLeg).where(SeatLeg.trip_id == trip.id))
    # Seats kept by buyers still choosing were picked on the old bus's map: they choose again.
    db.session.execute(update(Hold).where(Hold.trip_id == trip.id, Hold.status == "active").values(status="released"))
    for ticket in tickets:
        new_label = seating[ticket.id]
        if new_label != ticket.seat_label:
            moves.append({"ticket_id": ticket.id, "from": ticket.seat_label, "to": new_label})
        ticket.seat_label = new_label
        db.session.add_all(
            SeatLeg(trip_id=trip.id, seat_label=new_label, leg=leg, ticket_id=ticket.id) for leg in ticket.legs
        )
    trip.bus = new_bus
    db.session.flush()
    old_plate = old_bus.plate if old_bus else None
    record(
        actor,
        "trip.bus_swapped",
        trip,
        f"Trip {trip.id}: bus {old_plate or 'none'} → {new_bus.plate}, "
        f"{len(moves)} passenger{'' if len(moves) == 1 else 's'} re-seated",  # the audit log's record, in English
        company_id=trip.company_id,
        before={"bus": old_plate},
        after={"bus": new_bus.plate, "moved": moves},
    )
    events.emit(
        "trip.bus_changed",
        {
            "trip_id": trip.id,
            "old_plate": old_plate,
            "new_plate": new_bus.plate,
            "bus_id": new_bus.id,
            "tickets": [t.id for t in tickets],
            "moves": moves,
        },
        company_id=trip.company_id,
        trip_id=trip.id,
    )
    return trip


def _legs_disjoint_enough(tickets: list[Ticket], trip: Trip, bus: Bus) -> bool:
    """More tickets than seats can still fit when passengers ride different parts of the route."""
    return sum(peak_by_class(tickets, trip.legs).values()) <= bus.capacity
