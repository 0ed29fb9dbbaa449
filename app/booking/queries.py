"""Reads for the passenger: trip search over route legs, and a buyer's orders and tickets.

``order_for_user`` and ``ticket_for_user`` are the only way a portal or API view loads an order or
a ticket by its code: another user's answers 404 exactly as a code that never existed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from app.booking.models import Hold, Order, SeatLeg, Ticket
from app.booking.rules import ISSUED_TICKET_STATUSES
from app.companies.models import Company, Station
from app.core.errors import NotFound
from app.extensions import db
from app.fleet import rules
from app.fleet.models import Bus, BusSeat, Route, RouteStop, Trip, TripStop
from app.fleet.services.network import fare_matrix, pair_fares

TIMES_OF_DAY = {"morning": (time(0), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), None)}


@dataclass(frozen=True)
class Offer:
    """One trip as a passenger sees it: times at their own stops, the price of their pair."""

    trip_id: int
    operator: str
    currency: str
    route: str
    origin: Station  # where the passenger boards
    destination: Station  # where they get off
    departs_at: datetime
    arrives_at: datetime
    seats_free: int
    price: int  # standard class
    vip_price: int | None  # when the bus has VIP seats
    amenities: tuple[str, ...] = ()  # what the operator lists for the bus (fleet.rules.AMENITIES)

    @property
    def minutes(self) -> int:
        return int((self.arrives_at - self.departs_at).total_seconds() // 60)


def search(
    origin_ids: Sequence[int],
    destination_ids: Sequence[int],
    day: date,
    *,
    zone: ZoneInfo,
    now: datetime,
    company_id: int | None = None,
    time_of_day: str | None = None,
    sort: str = "time",
    limit: int = 100,
) -> list[Offer]:
    """Every trip on sale whose route passes one of ``origin_ids`` before one of
    ``destination_ids`` (the stations of a town, or one station), leaving on ``day`` (local time)
    and not yet gone; once per trip, from its first stop among the origins to its first stop among
    the destinations after that. One query for the trips with their free seats, then one each for
    the fares, names, buses and stations found."""
    start = datetime.combine(day, time(0), zone)
    end = start + timedelta(days=1)
    if time_of_day in TIMES_OF_DAY:
        low, high = TIMES_OF_DAY[time_of_day]
        start = datetime.combine(day, low, zone)
        end = datetime.combine(day, high, zone) if high else end
    values = {"origins": list(origin_ids), "destinations": list(destination_ids)}
    values |= {"start": max(start, now), "end": end, "now": now, "limit": limit}
    if company_id:
        values["company"] = company_id
    rows, seen = [], set()
    for row in db.session.execute(search_statement(by_company=bool(company_id)), values):
        if row.id not in seen:  # the earliest boarding, then the first stop to get off
            seen.add(row.id)
            rows.append(row)
    pairs: dict[tuple[int, int], set[int]] = {}
    for row in rows:
        pairs.setdefault((row.origin_id, row.destination_id), set()).add(row.route_id)
    fares = {pair: pair_fares(route_ids, *pair) for pair, route_ids in pairs.items()}
    stations = {
        st.id: st for st in db.session.scalars(select(Station).where(Station.id.in_({s for p in pairs for s in p})))
    }
    names = _route_names({row.route_id for row in rows})
    vip_buses = _buses_with_vip({row.bus_id for row in rows})
    amenities = _amenities({row.bus_id for row in rows})
    offers = []
    for row in rows:
        fare = fares[(row.origin_id, row.destination_id)].get(row.route_id)
        if fare is None:
            continue  # the route no longer serves this pair; its tickets are not sold
        route_name, operator, currency = names[row.route_id]
        offers.append(
            Offer(
                trip_id=row.id,
                operator=operator,
                currency=currency,
                route=route_name,
                origin=stations[row.origin_id],
                destination=stations[row.destination_id],
                departs_at=row.departs_at,
                arrives_at=row.arrives_at,
                seats_free=max(row.seats_free, 0),
                price=fare["standard"],
                vip_price=fare["vip"] if row.bus_id in vip_buses else None,
                amenities=amenities.get(row.bus_id, ()),
            )
        )
    if sort == "price":
        offers.sort(key=lambda offer: (offer.price, offer.departs_at))
    return offers


@cache
def search_statement(*, by_company: bool = False) -> Select:
    """Trips leaving a station of ``:origins`` in [``:start``, ``:end``) that reach a station of
    ``:destinations`` later, with the seats free between the two stops as of ``:now``; at most
    ``:limit`` rows, of company ``:company`` when ``by_company``. A trip calling at several of the
    stations has a row per pair, its earliest boarding and first alighting first. Driven by the
    index on trip_stops (station_id, departs_at). Built once per process: the statement and its
    cache key are reused."""
    board, alight = aliased(TripStop), aliased(TripStop)
    capacity = select(func.count(BusSeat.id)).where(BusSeat.bus_id == Trip.bus_id).scalar_subquery()
    occupied = (
        select(func.count(SeatLeg.seat_label.distinct()))
        .outerjoin(Hold, Hold.id == SeatLeg.hold_id)
        .where(
            SeatLeg.trip_id == Trip.id,
            SeatLeg.leg >= board.position,
            SeatLeg.leg < alight.position,
            or_(SeatLeg.hold_id.is_(None), Hold.expires_at > bindparam("now")),
        )
        .scalar_subquery()
    )
    query = (
        select(
            Trip.id,
            Trip.route_id,
            Trip.bus_id,
            board.station_id.label("origin_id"),
            alight.station_id.label("destination_id"),
            board.departs_at.label("departs_at"),
            alight.departs_at.label("arrives_at"),
            (capacity - occupied).label("seats_free"),
        )
        .join(board, board.trip_id == Trip.id)
        .join(alight, and_(alight.trip_id == Trip.id, alight.position > board.position))
        .where(
            board.station_id.in_(bindparam("origins", expanding=True)),
            alight.station_id.in_(bindparam("destinations", expanding=True)),
            board.departs_at >= bindparam("start"),
            board.departs_at < bindparam("end"),
            Trip.status.in_(tuple(rules.ON_SALE)),
            Trip.bus_id.is_not(None),
        )
        .order_by(board.departs_at, Trip.id, alight.position)
        .limit(bindparam("limit", type_=Integer))
    )
    return query.where(Trip.company_id == bindparam("company")) if by_company else query


def operators_serving(origin_ids: Sequence[int], destination_ids: Sequence[int]) -> list[Company]:
    """Active companies with an active route calling at one of ``origin_ids`` and later at one of
    ``destination_ids``: the operators worth filtering a search by."""
    board, alight = aliased(RouteStop), aliased(RouteStop)
    serves = (
        select(Route.id)
        .join(board, board.route_id == Route.id)
        .join(alight, and_(alight.route_id == Route.id, alight.position > board.position))
        .where(
            Route.company_id == Company.id,
            Route.is_active.is_(True),
            board.station_id.in_(list(origin_ids)),
            alight.station_id.in_(list(destination_ids)),
        )
        .exists()
    )
    return list(db.session.scalars(select(Company).where(Company.status == "active", serves).order_by(Company.name)))


def _matrix(route: Route) -> dict:
    return {key: amount for key, (amount, _) in fare_matrix(route).items()}


def _route_names(ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """Route id → (route name, operator name, currency)."""
    query = select(Route.id, Route.name, Company.name, Company.currency).join(Company).where(Route.id.in_(ids))
    return {route_id: names for route_id, *names in db.session.execute(query)}


def _amenities(ids: set[int]) -> dict[int, tuple[str, ...]]:
    """Bus id → the amenities its operator lists, in the order of ``fleet.rules.AMENITIES``."""
    if not ids:
        return {}
    rows = db.session.execute(select(Bus.id, Bus.amenities).where(Bus.id.in_(ids)))
    return {bus_id: tuple(a for a in rules.AMENITIES if a in (listed or ())) for bus_id, listed in rows}


def _buses_with_vip(ids: set[int]) -> set[int]:
    if not ids:
        return set()
    query = select(BusSeat.bus_id).where(BusSeat.bus_id.in_(ids), BusSeat.seat_class == "vip").distinct()
    return set(db.session.scalars(query))


def trip_stations(trip_id: int) -> list[int]:
    """The station ids a trip calls at, in order; empty for no such trip."""
    query = select(TripStop.station_id).where(TripStop.trip_id == trip_id).order_by(TripStop.position)
    return list(db.session.scalars(query))


def prices_for(trip: Trip, origin: int, destination: int) -> dict[str, int]:
    """Seat class → the price between two stops of the trip, from the fare table."""
    matrix = _matrix(trip.route)
    pair = (trip.stops[origin].station_id, trip.stops[destination].station_id)
    return {cls: matrix[(*pair, cls)] for cls in ("standard", "vip") if (*pair, cls) in matrix}


def tickets_of(user_id: int) -> list[Ticket]:
    """The user's issued tickets, soonest first."""
    query = (
        select(Ticket)
        .join(Order, Order.id == Ticket.order_id)
        .join(Trip, Trip.id == Ticket.trip_id)
        .where(Order.user_id == user_id, Ticket.status.in_(ISSUED_TICKET_STATUSES))
        .order_by(Trip.departs_at, Ticket.id)
        .options(selectinload(Ticket.trip).selectinload(Trip.stops), selectinload(Ticket.order))
    )
    return list(db.session.scalars(query))


def order_for_user(user, code: str) -> Order:
    """``user``'s own order ``code`` (a guest's, by their browser's key); anyone else's is not found."""
    from app.booking.services.holds import owned_by

    order = db.session.scalar(select(Order).where(Order.code == code, owned_by(Order, user)))
    if order is None:
        raise NotFound(_("No such order."))
    return order


def ticket_for_user(user, code: str) -> Ticket:
    """``user``'s own issued ticket ``code`` (paid, or cancelled and kept as a record: what "My
    tickets" lists); anyone else's, and a line of an order not paid, is not found."""
    ticket = db.session.scalar(
        select(Ticket)
        .join(Order, Order.id == Ticket.order_id)
        .where(Ticket.code == code, Order.user_id == user.id, Ticket.status.in_(ISSUED_TICKET_STATUSES))
    )
    if ticket is None:
        raise NotFound(_("No such ticket."))
    return ticket


def order_for_company(company_ids, code: str) -> Order:
    """Order ``code`` if one of ``company_ids`` sold it: staff act on their own company's orders only."""
    order = db.session.scalar(select(Order).where(Order.code == code, Order.company_id.in_(list(company_ids))))
    if order is None:
        raise NotFound(_("No such order in your company."))
    return order


def unended_trips_with_paid_tickets(*, bought_before: datetime | None = None) -> int:
    """How many trips not yet ended have paid tickets (bought before ``bought_before``): their codes
    may carry a retired QR key id, which must stay configured until this is 0."""
    query = (
        select(func.count(func.distinct(Ticket.trip_id)))
        .join(Trip, Trip.id == Ticket.trip_id)
        .where(Ticket.status == "paid", Trip.status.not_in(rules.ENDED))
    )
    if bought_before is not None:
        query = query.where(Ticket.created_at < bought_before)
    return db.session.scalar(query)
