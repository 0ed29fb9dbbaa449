"""Read-only figures for dashboards. Each figure is one aggregate query (or one Redis pipeline),
never a loop over rows in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from app.accounts.models import User
from app.booking.models import Order, Ticket
from app.booking.rules import ACTIVE_TICKET_STATUSES
from app.companies.models import Company
from app.extensions import db
from app.fleet.models import Bus, BusSeat, Route, Trip
from app.fleet.queries import local_day_bounds
from app.fleet.rules import TRIP_STATUSES, TripStatus
from app.notifications.admin_queries import SENT_BY_PROVIDER
from app.notifications.models import Notification
from app.notifications.rules import NEEDS_ATTENTION
from app.payments.models import Refund
from app.tracking import live

# Trips still to leave that need a bus and a driver are looked at this far ahead.
UNASSIGNED_AHEAD = timedelta(hours=48)
UNASSIGNED_SHOWN = 5


@dataclass(frozen=True)
class TripLine:
    """One trip of the day as the dashboard shows it."""

    id: int
    departs_at: datetime
    scheduled_departs_at: datetime
    status: str
    route: str
    plate: str | None
    driver: str | None
    sold: int
    capacity: int

    @property
    def percent(self) -> int:
        """Share of seats sold, 0 to 100 (a seat sold twice on different legs counts twice, so
        it can pass 100 on paper; the bar stops at full)."""
        return min(100, round(100 * self.sold / self.capacity)) if self.capacity else 0

    @property
    def delay_minutes(self) -> int:
        return max(0, int((self.departs_at - self.scheduled_departs_at).total_seconds() // 60))


@dataclass(frozen=True)
class HourSales:
    hour: int  # local hour, 0 to 23
    tickets: int
    amount: int


@dataclass(frozen=True)
class Unassigned:
    id: int
    departs_at: datetime
    route: str
    needs_bus: bool
    needs_driver: bool


@dataclass(frozen=True)
class Attention:
    """What needs a person, each with enough to say how much."""

    unassigned: list[Unassigned]  # the first few, soonest first
    unassigned_count: int
    awaiting_payment: int  # bookings waiting for payment (cash at the desk, or online)
    awaiting_amount: int
    cash_refunds: int  # cash refunds to hand over at the counter
    cash_refund_amount: int
    failed_messages: int  # SMS and email that failed or gave up

    @property
    def empty(self) -> bool:
        return not (self.unassigned_count or self.awaiting_payment or self.cash_refunds or self.failed_messages)


@dataclass(frozen=True)
class Today:
    trips: list[TripLine]
    by_status: dict[str, int]  # every trip status, zero included, in the order of the rules
    buses_active: int
    buses_on_road: int  # buses whose position reached us within the stale time
    tickets_sold: int
    revenue: int
    by_hour: list[HourSales]  # 24 local hours
    attention: Attention

    @property
    def busiest_hour(self) -> HourSales | None:
        best = max(self.by_hour, key=lambda h: h.amount, default=None)
        return best if best and best.amount else None


def today(company: Company, day: date, now: datetime) -> Today:
    start, end = local_day_bounds(day, company.timezone)
    by_hour = sales_by_hour(company, day)
    return Today(
        trips=trip_lines(company, start, end),
        by_status=departures_by_status(company, start, end),
        buses_active=db.session.scalar(
            select(func.count()).select_from(Bus).where(Bus.company_id == company.id, Bus.status == "active")
        ),
        buses_on_road=buses_on_road(company, now),
        tickets_sold=sum(h.tickets for h in by_hour),
        revenue=sum(h.amount for h in by_hour),
        by_hour=by_hour,
        attention=attention(company, now),
    )


def trip_lines(company: Company, start: datetime, end: datetime) -> list[TripLine]:
    """The trips leaving in [start, end), with seats sold and the bus's seats, in one query."""
    sold = (
        select(func.count(Ticket.id))
        .where(Ticket.trip_id == Trip.id, Ticket.status.in_(ACTIVE_TICKET_STATUSES))
        .correlate(Trip)
        .scalar_subquery()
    )
    capacity = select(func.count(BusSeat.id)).where(BusSeat.bus_id == Trip.bus_id).correlate(Trip).scalar_subquery()
    rows = db.session.execute(
        select(
            Trip.id,
            Trip.departs_at,
            Trip.scheduled_departs_at,
            Trip.status,
            Route.name,
            Bus.plate,
            User.name,
            sold,
            capacity,
        )
        .join(Route, Route.id == Trip.route_id)
        .outerjoin(Bus, Bus.id == Trip.bus_id)
        .outerjoin(User, User.id == Trip.driver_id)
        .where(Trip.company_id == company.id, Trip.departs_at >= start, Trip.departs_at < end)
        .order_by(Trip.departs_at, Trip.id)
    )
    return [TripLine(*row) for row in rows]


def departures_by_status(company: Company, start: datetime, end: datetime) -> dict[str, int]:
    counts = dict(
        db.session.execute(
            select(Trip.status, func.count())
            .where(Trip.company_id == company.id, Trip.departs_at >= start, Trip.departs_at < end)
            .group_by(Trip.status)
        ).all()
    )
    return {str(status): counts.get(status, 0) for status in TRIP_STATUSES}


def sales_by_hour(company: Company, day: date) -> list[HourSales]:
    """Tickets paid on ``day`` and their amount, by local hour of payment. The hour is a CASE over
    the day's 24 local boundaries, so the same SQL runs on PostgreSQL and SQLite and stays right
    for zones with a daylight-saving change."""
    zone = ZoneInfo(company.timezone)
    bounds = [datetime.combine(day, time(hour), zone) for hour in range(24)]
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    hour = case(*[(Order.paid_at < bound, number) for number, bound in enumerate(bounds[1:])], else_=23)
    rows = db.session.execute(
        select(hour, func.count(Ticket.id), func.coalesce(func.sum(Ticket.price), 0))
        .join(Order, Order.id == Ticket.order_id)
        .where(
            Order.company_id == company.id,
            Order.status == "paid",
            Ticket.status == "paid",
            Order.paid_at >= bounds[0],
            Order.paid_at < end,
        )
        .group_by(hour)
    ).all()
    found = {int(number): (tickets, amount) for number, tickets, amount in rows}
    return [HourSales(number, *found.get(number, (0, 0))) for number in range(24)]


def buses_on_road(company: Company, now: datetime) -> int:
    """The company's buses whose latest position (in Redis) is fresh: one pipeline."""
    ids = list(db.session.scalars(select(Bus.id).where(Bus.company_id == company.id)))
    fresh_from = (now.timestamp() - current_app.config["TRACKING_STALE_SECONDS"]) * 1000
    return sum(1 for position in live.latest_many(ids).values() if position["ts"] >= fresh_from)


def attention(company: Company, now: datetime) -> Attention:
    missing = or_(Trip.bus_id.is_(None), Trip.driver_id.is_(None))
    upcoming = and_(
        Trip.company_id == company.id,
        Trip.status.in_((TripStatus.SCHEDULED, TripStatus.BOARDING)),
        Trip.departs_at >= now,
        Trip.departs_at < now + UNASSIGNED_AHEAD,
        missing,
    )
    count = db.session.scalar(select(func.count(Trip.id)).where(upcoming))
    first = db.session.execute(
        select(Trip.id, Trip.departs_at, Route.name, Trip.bus_id.is_(None), Trip.driver_id.is_(None))
        .join(Route, Route.id == Trip.route_id)
        .where(upcoming)
        .order_by(Trip.departs_at, Trip.id)
        .limit(UNASSIGNED_SHOWN)
    ).all()
    awaiting, awaiting_amount = db.session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0)).where(
            Order.company_id == company.id, Order.status == "pending", Order.expires_at > now
        )
    ).one()
    refunds, refund_amount = db.session.execute(
        select(func.count(Refund.id), func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.company_id == company.id, Refund.status == "cash_due"
        )
    ).one()
    failed = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.company_id == company.id,
            Notification.status.in_(NEEDS_ATTENTION),
            Notification.channel.in_(SENT_BY_PROVIDER),
        )
    )
    return Attention(
        unassigned=[Unassigned(*row) for row in first],
        unassigned_count=count,
        awaiting_payment=awaiting,
        awaiting_amount=awaiting_amount,
        cash_refunds=refunds,
        cash_refund_amount=refund_amount,
        failed_messages=failed,
    )
