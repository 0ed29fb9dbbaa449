"""The console's live fleet map: the company's running buses, their last positions, and what has
gone quiet; never another company's."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts.rules import Role
from app.extensions import db
from app.fleet.models import Route
from app.fleet.rules import TripStatus
from app.tracking import services
from app.tracking.live import make_fix
from app.tracking.models import Tracker
from tests import factories
from tests.tracking.conftest import HUYE, KIGALI, MUHANGA, southern_route

URL = "/console/fleet/live"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def map_data(response) -> dict:
    found = re.search(
        r'<script type="application/json" id="fleet-map-data">(.*?)</script>', response.get_data(True), re.S
    )
    assert found, "the page carries no map data"
    return json.loads(found.group(1))


def running_trip(company, plate: str, *, status: str = TripStatus.DEPARTED):
    """A trip of the company's Kigali – Huye line, left 30 minutes ago with its driver."""
    route = db.session.scalar(select(Route).where(Route.company_id == company.id)) or southern_route(company)
    driver = factories.member(Role.DRIVER, of=company, name=f"Driver of {plate}")
    departed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    return factories.trip(
        route,
        bus_=factories.bus(company, plate=plate),
        driver=driver,
        departs_at=departed,
        status=status,
        departed_at=departed if status == TripStatus.DEPARTED else None,
    )


def report(trip, *, seconds_ago: int = 3) -> None:
    now = datetime.now(UTC)
    lat, lon = (KIGALI[0] + MUHANGA[0]) / 2, (KIGALI[1] + MUHANGA[1]) / 2
    services.from_driver(trip.driver, trip.id, make_fix(lat, lon, now - timedelta(seconds=seconds_ago)), now=now)


@pytest.fixture
def company():
    return factories.company(name="Southern Line")


@pytest.fixture
def dispatcher(client, company):
    user = factories.member(Role.DISPATCHER, of=company)
    client.login(user.email)
    return user


def test_the_live_map_lists_the_running_buses_with_the_age_of_their_last_position(client, company, dispatcher):
    reporting = running_trip(company, "RAC 501D")
    silent = running_trip(company, "RAC 502D")
    waiting = running_trip(company, "RAC 503D", status=TripStatus.SCHEDULED)  # not on the road yet
    report(reporting)

    response = client.get(URL)
    page = text(response)
    assert response.status_code == 200
    assert '<a href="/console/fleet/live" aria-current="page">Live map</a>' in page
    assert "Running trips (2)" in page
    assert "RAC 501D · Kigali – Huye" in page and "RAC 502D · Kigali – Huye" in page
    assert "RAC 503D ·" not in page
    assert re.search(r'data-fix-ts="\d+" class="">\d s ago<', page)
    assert "No recent position (<span data-quiet-count>1</span>)" in page and "no position since it left" in page

    data = map_data(response)
    assert data["socket"] == "/ws/fleet"
    ((position),) = data["positions"]
    assert (position["bus"], position["trip"]) == (reporting.bus_id, reporting.id)
    assert data["plates"] == {
        str(reporting.bus_id): "RAC 501D",
        str(silent.bus_id): "RAC 502D",
        str(waiting.bus_id): "RAC 503D",
    }
    assert data["bounds"] == [[HUYE[0], HUYE[1]], [KIGALI[0], KIGALI[1]]]  # around the company's routes


def test_a_bus_that_stopped_reporting_is_named_with_the_age_of_its_last_fix(client, company, dispatcher):
    report(running_trip(company, "RAC 501D"), seconds_ago=300)
    page = text(client.get(URL))
    assert "No recent position (<span data-quiet-count>1</span>)" in page
    assert "RAC 501D · Kigali – Huye</a>:\n          last 5 min ago" in page
    assert "No recent position (last 5 min ago)" in page


def test_trackers_not_heard_from_are_listed(client, company, dispatcher):
    now = datetime.now(UTC)
    bus = factories.bus(company, plate="RAC 600T")
    db.session.add_all(
        [
            Tracker(
                company_id=company.id,
                bus_id=bus.id,
                device_id="unit-old",
                label="Roof unit",
                battery=14.6,
                last_seen_at=now - timedelta(minutes=10),
            ),
            Tracker(company_id=company.id, bus_id=bus.id, device_id="unit-never"),
            Tracker(
                company_id=company.id, bus_id=bus.id, device_id="unit-fresh", last_seen_at=now - timedelta(seconds=20)
            ),
        ]
    )
    db.session.flush()
    page = text(client.get(URL))
    assert "Trackers not reporting (2)" in page
    assert "never heard from" in page and "unit-never on RAC 600T" in page
    assert "Roof unit on RAC 600T:\n          last heard 10 min ago · battery 15%" in page
    assert "unit-fresh" not in page


def test_nothing_running_says_so(client, company, dispatcher):
    page = text(client.get(URL))
    assert "No bus is on the road right now." in page
    assert "Every running bus has reported within 2 min." in page
    assert "Every registered tracker has reported within 2 min." in page


def test_htmx_refreshes_the_lists_alone(client, company, dispatcher):
    running_trip(company, "RAC 501D")
    response = client.htmx("get", URL)
    body = text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div class="fleet-side" id="fleet-lists"')
    assert "RAC 501D" in body and "fleet-map-data" not in body and "<html" not in body


def test_another_companys_buses_and_trackers_never_show(client, company, dispatcher):
    other = factories.company(name="Northern Star")
    theirs = running_trip(other, "RAF 900Z")
    report(theirs)
    db.session.add(Tracker(company_id=other.id, bus_id=theirs.bus_id, device_id="their-unit"))
    db.session.flush()

    response = client.get(URL)
    page = text(response)
    assert "RAF 900Z" not in page and "their-unit" not in page and "Running trips (0)" in page
    data = map_data(response)
    assert data["positions"] == [] and "RAF 900Z" not in data["plates"].values()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DISPATCHER])
def test_admins_and_dispatchers_open_it(client, company, role):
    client.login(factories.member(role, of=company).email)
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("role", [Role.DRIVER, Role.AGENT])
def test_drivers_and_agents_do_not(client, company, role):
    client.login(factories.member(role, of=company).email)
    assert client.get(URL).status_code == 403
