"""Read-only figures for dashboards. Each function is one or two aggregate queries, no N+1."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from app.booking.models import Order, Ticket
from app.companies.models import Company
from app.extensions import db
from app.fleet import queries as fleet
from app.fleet.models import Bus, Trip
from app.fleet.rules import TripStatus


@dataclass(frozen=True)
class TripLine:
    trip: Trip
    sold: int
    capacity: int

    @property
    def percent(self) -> int:
        return round(100 * self.sold / self.capacity) if self.capacity else 0


@dataclass(frozen=True)
class Today:
    trips: list[TripLine]
    buses_active: int
    buses_on_road: int
    tickets_sold: int
    revenue: int
    by_status: dict[str, int]


def today(company: Company, day: date, now: datetime) -> Today:
    trips = fleet.trips_on(company, day)
    sold = fleet.sold_count([t.id for t in trips])
    start, end = fleet.local_day_bounds(day, company.timezone)
    tickets, revenue = db.session.execute(
        select(func.count(Ticket.id), func.coalesce(func.sum(Ticket.price), 0))
        .join(Order, Order.id == Ticket.order_id)
        .where(
            Order.company_id == company.id,
            Order.status == "paid",
            Ticket.status == "paid",
            Order.paid_at >= start,
            Order.paid_at < end,
        )
    ).one()
    buses_active = db.session.scalar(
        select(func.count()).select_from(Bus).where(Bus.company_id == company.id, Bus.status == "active")
    )
    on_road = db.session.scalar(
        select(func.count(func.distinct(Trip.bus_id))).where(
            Trip.company_id == company.id,
            Trip.status.in_((TripStatus.BOARDING, TripStatus.DEPARTED)),
        )
    )
    by_status: dict[str, int] = {}
    for trip in trips:
        by_status[trip.status] = by_status.get(trip.status, 0) + 1
    return Today(
        trips=[TripLine(t, sold.get(t.id, 0), t.bus.capacity if t.bus else 0) for t in trips],
        buses_active=buses_active,
        buses_on_road=on_road,
        tickets_sold=tickets,
        revenue=revenue,
        by_status=by_status,
    )
