"""Build rows for tests with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from app.accounts.models import Membership, User
from app.accounts.rules import Role
from app.accounts.services import hash_password
from app.booking.models import Order
from app.booking.services import orders as booking
from app.companies.models import Company, Station, Town
from app.extensions import db
from app.fleet import rules as fleet_rules
from app.fleet.models import Bus, BusSeat, Route, RouteStop, Trip, TripStop
from app.fleet.rules import TripStatus
from app.fleet.services.trips import local_datetime, today_for

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH: list[str] = []
_sequence = itertools.count(1)
ROLES = ("customer", "super_admin", *(role.value for role in Role))


def _password_hash(password: str) -> str:
    if password != PASSWORD:
        return hash_password(password)
    if not _PASSWORD_HASH:  # hashing is slow on purpose; do it once for the common password
        _PASSWORD_HASH.append(hash_password(PASSWORD))
    return _PASSWORD_HASH[0]


def user(*, email: str | None = None, password: str = PASSWORD, **values) -> User:
    n = next(_sequence)
    row = User(
        email=email or f"user{n}@example.rw",
        name=values.pop("name", f"Test User {n}"),
        password_hash=_password_hash(password),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def company(**values) -> Company:
    n = next(_sequence)
    row = Company(code=values.pop("code", f"company-{n}"), name=values.pop("name", f"Company {n}"), **values)
    db.session.add(row)
    db.session.flush()
    return row


def town(name: str | None = None, *, aliases: list[str] | None = None) -> Town:
    """The town called ``name`` (made when missing), or a new one."""
    if name is not None:
        found = db.session.scalar(select(Town).where(Town.name == name))
        if found is not None:
            return found
    n = next(_sequence)
    row = Town(code=f"town-{n}", name=name or f"Town {n}", aliases=aliases or [])
    db.session.add(row)
    db.session.flush()
    return row


def station(*, city: str | None = None, **values) -> Station:
    """A station in its own new town, or in ``town`` (a Town) or the town called ``city``."""
    n = next(_sequence)
    name = values.pop("name", f"Station {n}")
    row = Station(
        code=values.pop("code", f"station-{n}"),
        name=name,
        town=values.pop("town", None) or town(city or f"{name} town"),
        latitude=values.pop("latitude", -1.94),
        longitude=values.pop("longitude", 30.06),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def member(role: Role | str, *, of: Company | None = None, **user_values) -> User:
    row = user(**user_values)
    db.session.add(Membership(user=row, company=of or company(), role=Role(role).value))
    db.session.flush()
    return row


def user_with_role(role: str, **values) -> User:
    if role == "customer":
        return user(**values)
    if role == "super_admin":
        return user(is_super_admin=True, **values)
    return member(role, **values)


def route(company_: Company | None = None, *, stops: int = 3, leg_fare: int = 2000, **values) -> Route:
    """A route through ``stops`` new stations, an hour and 50 km apart."""
    n = next(_sequence)
    row = Route(company=company_ or company(), name=values.pop("name", f"Route {n}"), **values)
    for position in range(stops):
        row.stops.append(
            RouteStop(
                position=position,
                station=station(name=f"Stop {n}-{position}"),
                minutes_from_start=60 * position,
                km_from_start=50.0 * position,
                leg_fare=0 if position == 0 else leg_fare,
            )
        )
    db.session.add(row)
    db.session.flush()
    return row


def bus(
    company_: Company | None = None,
    *,
    rows: int = 3,
    left: int = 2,
    right: int = 2,
    vip_rows: int = 0,
    layout: str | None = None,
    **values,
) -> Bus:
    """A bus with a generated layout (labels 1A, 1B, ...), or ``layout`` text."""
    n = next(_sequence)
    text = layout or fleet_rules.generate_layout(rows, left, right, vip_rows)
    row = Bus(
        company=company_ or company(),
        plate=values.pop("plate", f"RA{chr(65 + n % 26)} {n % 1000:03d}{chr(65 + (n // 1000) % 26)}"),
        status=values.pop("status", "active"),
        **values,
    )
    row.seats = [
        BusSeat(label=s.label, row=s.row, column=s.column, seat_class=s.seat_class)
        for s in fleet_rules.parse_layout(text)
    ]
    db.session.add(row)
    db.session.flush()
    return row


def trip(
    route_: Route | None = None,
    *,
    bus_: Bus | None = None,
    departs_at: datetime | None = None,
    status: str = TripStatus.SCHEDULED,
    driver: User | None = None,
    **values,
) -> Trip:
    """A trip tomorrow (or at ``departs_at``) with a copy of the route's stops."""
    route_ = route_ or route(bus_.company if bus_ else None)
    departs_at = departs_at or datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    row = Trip(
        company_id=route_.company_id,
        route=route_,
        service_date=departs_at.date(),
        scheduled_departs_at=departs_at,
        departs_at=departs_at,
        arrives_at=departs_at + timedelta(minutes=route_.duration_minutes or 60),
        bus=bus_,
        driver=driver,
        status=status,
        stops=[
            TripStop(
                position=s.position,
                station_id=s.station_id,
                minutes_from_start=s.minutes_from_start,
                km_from_start=s.km_from_start,
                departs_at=departs_at + timedelta(minutes=s.minutes_from_start),
            )
            for s in route_.stops
        ],
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def trip_ahead(company_name: str, *, days: int, rows: int, leg_fare: int, hour: int = 9) -> Trip:
    """A trip ``days`` ahead at ``hour`` (the company's time) on a new company's three-stop line,
    ``leg_fare`` a leg, on a bus of ``rows`` rows of four."""
    company_ = company(name=company_name)
    day = today_for(company_) + timedelta(days=days)
    return trip(
        route(company_, stops=3, leg_fare=leg_fare),
        bus_=bus(company_, rows=rows),
        departs_at=local_datetime(company_, day, time(hour)),
    )


def order(
    trip_: Trip, seats: list[str], *, origin: int = 0, destination: int | None = None, paid: bool = True
) -> Order:
    """Tickets for ``seats`` through the real booking service."""
    return booking.book_seats(
        None,
        trip_.id,
        seats=seats,
        origin=origin,
        destination=len(trip_.stops) - 1 if destination is None else destination,
        passengers=[booking.Passenger(name=f"Passenger {seat}", phone="+250788000000") for seat in seats],
        channel="console",
        paid=paid,
        now=datetime.now(UTC),
    )
