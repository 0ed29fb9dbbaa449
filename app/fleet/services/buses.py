"""Buses and their seat layouts."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.booking.models import Ticket
from app.booking.rules import ACTIVE_TICKET_STATUSES
from app.companies.models import Company
from app.core.errors import InvalidInput
from app.extensions import db
from app.fleet import rules
from app.fleet.errors import LayoutInUse
from app.fleet.models import Bus, BusSeat, Trip


def _bus_snapshot(bus: Bus) -> dict:
    return {
        "plate": bus.plate,
        "model": bus.model,
        "status": bus.status,
        "seats": bus.capacity,
        "vip_seats": bus.seats_of_class("vip"),
        "layout": rules.layout_text(bus.seats),
    }


def _seats_in_use(bus: Bus, now: datetime) -> dict[str, str]:
    """Seat label → class for active tickets on this bus's trips that have not left yet."""
    rows = db.session.execute(
        select(Ticket.seat_label, Ticket.seat_class)
        .join(Trip, Trip.id == Ticket.trip_id)
        .where(
            Trip.bus_id == bus.id,
            Trip.status.in_(tuple(rules.EDITABLE)),
            Trip.departs_at > now,
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
        )
        .distinct()
    )
    return dict(rows.all())


def save_bus(
    actor,
    company: Company,
    bus: Bus | None,
    *,
    plate: str,
    model: str | None,
    status: str,
    layout: str,
    now: datetime,
) -> Bus:
    errors: dict[str, list[str]] = {}
    try:
        plate = rules.normalize_plate(plate)
    except ValueError as error:
        errors["plate"] = [str(error)]
    else:
        taken = db.session.scalar(select(Bus.id).where(Bus.plate == plate, Bus.id != (bus.id if bus else 0)))
        if taken:
            errors["plate"] = [_("%(plate)s is already registered.", plate=plate)]
    if status not in rules.BUS_STATUSES:
        errors["status"] = [_("Choose active, maintenance or retired.")]
    try:
        seats = rules.parse_layout(layout)
    except rules.LayoutError as error:
        errors["layout"] = [str(error)]
    if errors:
        raise InvalidInput(fields=errors)

    created = bus is None
    if not created:
        new_classes = {s.label: s.seat_class for s in seats}
        lost = sorted(label for label, cls in _seats_in_use(bus, now).items() if new_classes.get(label) != cls)
        if lost:
            raise LayoutInUse(
                _(
                    "Passengers on coming trips hold seats %(seats)s, which this layout removes or changes class. "
                    "Swap those trips to another bus first.",
                    seats=", ".join(lost[:8]) + ("…" if len(lost) > 8 else ""),
                )
            )
    before = None if created else _bus_snapshot(bus)
    if created:
        bus = Bus(company_id=company.id)
        db.session.add(bus)
    bus.plate, bus.model, bus.status = plate, (model or None), status
    current = {seat.label: seat for seat in bus.seats}
    wanted = {spec.label: spec for spec in seats}
    for label, seat in list(current.items()):
        if label not in wanted:
            bus.seats.remove(seat)
    db.session.flush()
    # Park kept seats away from the grid first: two seats may trade places in one save.
    for seat in bus.seats:
        seat.row = -seat.id
    db.session.flush()
    for label, spec in wanted.items():
        seat = current.get(label)
        if seat is None or seat not in bus.seats:
            bus.seats.append(BusSeat(label=label, row=spec.row, column=spec.column, seat_class=spec.seat_class))
        else:
            seat.row, seat.column, seat.seat_class = spec.row, spec.column, spec.seat_class
    db.session.flush()
    db.session.refresh(bus, ["seats"])
    record(
        actor,
        "bus.created" if created else "bus.updated",
        bus,
        f"Bus {bus.plate}",
        company_id=company.id,
        before=before,
        after=_bus_snapshot(bus),
    )
    return bus
