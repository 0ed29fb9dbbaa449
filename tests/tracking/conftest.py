"""A running trip Kigali → Muhanga → Huye with real coordinates, its driver, and a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.accounts.rules import Role
from app.extensions import db
from app.fleet.models import Route, RouteStop, Trip
from app.fleet.rules import TripStatus
from tests import factories

KIGALI = (-1.9441, 30.0619)
MUHANGA = (-2.0845, 29.7566)
HUYE = (-2.5967, 29.7394)


@dataclass
class Running:
    trip: Trip
    driver: object
    departed: datetime


def southern_route(company) -> Route:
    route = Route(company=company, name="Kigali – Huye")
    for position, (name, (lat, lon), minutes, km) in enumerate(
        [("Nyabugogo", KIGALI, 0, 0.0), ("Muhanga", MUHANGA, 60, 50.0), ("Huye", HUYE, 150, 130.0)]
    ):
        station = factories.station(name=name, latitude=lat, longitude=lon)
        route.stops.append(
            RouteStop(
                position=position,
                station=station,
                minutes_from_start=minutes,
                km_from_start=km,
                leg_fare=0 if position == 0 else 2000,
            )
        )
    db.session.add(route)
    db.session.flush()
    return route


@pytest.fixture
def running():
    company = factories.company(name="Southern Line")
    driver = factories.member(Role.DRIVER, of=company, name="Eric Driver")
    departed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    trip = factories.trip(
        southern_route(company),
        bus_=factories.bus(company, plate="RAC 500D"),
        driver=driver,
        departs_at=departed,
        status=TripStatus.DEPARTED,
        departed_at=departed,
    )
    return Running(trip, driver, departed)
