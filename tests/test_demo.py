"""Demo data: realistic, loadable twice, with one working login per role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import demo
from app.accounts.models import Membership, User
from app.companies.models import Company, Station
from app.extensions import db


def counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (User, Membership, Company, Station))


def test_loading_twice_changes_nothing():
    demo.load()
    first = counts()
    demo.load()
    assert counts() == first
    assert first[2] == 3  # three operators
    assert first[3] >= 9


def test_stations_sit_inside_rwanda():
    demo.load()
    for station in db.session.scalars(select(Station)):
        assert -2.9 < station.latitude < -1.0 and 28.8 < station.longitude < 31.0, station.name


@pytest.mark.parametrize(
    ("email", "landing"),
    [
        ("admin@tms.rw", "/admin/"),
        ("manager@virunga.rw", "/console/"),
        ("dispatcher@virunga.rw", "/console/"),
        ("driver@virunga.rw", "/driver/"),
        ("agent@virunga.rw", "/pos/"),
        ("passenger@tms.rw", "/"),
    ],
)
def test_every_demo_login_opens_its_surface(client, email, landing):
    demo.load()
    response = client.submit("/login", {"email": email, "password": demo.DEMO_PASSWORD})
    assert response.location == landing
    assert client.get(landing).status_code == 200
