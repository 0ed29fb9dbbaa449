"""Live tracking in real browsers against the live server: a passenger follows the bus on the
ticket page and shares it with someone without an account, who loses it when the link is revoked;
the driver's phone moves the passenger's bus; the company sees its fleet.

Map tiles point at a path of the live server that has none (tests/e2e/conftest.py): nothing leaves
the machine, and the pages have to say everything without tiles."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts.rules import Role
from app.booking.services import orders
from app.core import tx
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Trip
from app.fleet.rules import TripStatus
from tests import factories
from tests.e2e.conftest import data_app
from tests.tracking.conftest import KIGALI, MUHANGA, southern_route


@dataclass(frozen=True)
class Person:
    email: str
    password: str = factories.PASSWORD


@dataclass(frozen=True)
class Setting:
    trip_id: int
    ticket: str
    plate: str
    route: str
    passenger: Person
    driver: Person
    admin: Person


_settings = itertools.count(1)


@pytest.fixture(scope="module")
def live_db(live_server):
    with data_app(live_server) as app:
        yield app


def setting(live_db, *, status: str, leaves_in: timedelta) -> Setting:
    """Southern Line's Kigali – Huye bus with its driver, and Aline's paid ticket Nyabugogo → Muhanga."""
    run, n = time.time_ns(), next(_settings)  # the live database is new each session: n is unique
    with live_db.app_context():
        company = factories.company(code=f"southern-{run}", name=f"Southern Line {n}")
        driver = factories.member(Role.DRIVER, of=company, email=f"driver{run}@southern.rw", name="Eric Driver")
        admin = factories.member(Role.ADMIN, of=company, email=f"admin{run}@southern.rw", name="Grace Admin")
        passenger = factories.user(email=f"aline{run}@example.rw", name="Aline Uwase")
        plate = f"RZT {n:03d}E"
        route = southern_route(company)
        trip = factories.trip(
            route, bus_=factories.bus(company, plate=plate), driver=driver, departs_at=utcnow() + leaves_in
        )
        order = orders.book_seats(
            passenger,
            trip.id,
            seats=["1A"],
            origin=0,
            destination=1,
            passengers=[orders.Passenger("Aline Uwase", "+250788111222")],
            channel="web",
            paid=True,
            now=utcnow(),
        )
        if status != TripStatus.SCHEDULED:
            trip.status = status
            setattr(trip, f"{status}_at", utcnow())
        found = Setting(
            trip.id,
            order.tickets[0].code,
            plate,
            route.name,
            Person(passenger.email),
            Person(driver.email),
            Person(admin.email),
        )
        tx.commit()
    return found


def set_status(live_db, trip_id: int, status: str) -> None:
    with live_db.app_context():
        db.session.get(Trip, trip_id).status = status
        tx.commit()


def log_in(page: Page, person: Person) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def csp_errors(page: Page) -> list[str]:
    """Console errors from the Content Security Policy, collected while the page lives."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


class LiveMap:
    """The live part of a ticket page or of a shared link's page."""

    def __init__(self, page: Page):
        self.page = page
        self.root = page.locator("[data-live-trip]")
        self.bus = page.locator(".leaflet-marker-icon.live-bus")

    def fact(self, term: str):
        return self.root.locator("dt", has_text=term).locator("xpath=following-sibling::dd[1]")

    def expect_ready(self) -> None:
        expect(self.root.locator(".leaflet-container")).to_be_visible()
        expect(self.root.locator("path.live-stop")).to_have_count(3)
        expect(self.root.locator("path.live-route")).to_have_count(1)

    def expect_live(self) -> None:
        expect(self.root.locator("[data-live-connection]")).to_have_text("Live: the map updates by itself.")

    def bus_at(self) -> tuple[float, float]:
        return float(self.bus.get_attribute("data-lat")), float(self.bus.get_attribute("data-lon"))


def test_a_passenger_follows_the_bus_and_shares_it_until_revoked(browser: Browser, base_url: str, live_server, live_db):
    ride = setting(live_db, status=TripStatus.DEPARTED, leaves_in=timedelta(minutes=-5))
    passenger = browser.new_context(base_url=base_url, permissions=["clipboard-read", "clipboard-write"])
    friend = browser.new_context(base_url=base_url)
    try:
        page = passenger.new_page()
        errors = csp_errors(page)

        # 1. The ticket page: the route on a map with Aline's two stops, no position yet, ETAs from
        #    the timetable, the bus's plate; the live connection opens.
        log_in(page, ride.passenger)
        page.goto(f"/tickets/{ride.ticket}")
        live = LiveMap(page)
        live.expect_ready()
        expect(page.locator(".leaflet-tooltip", has_text="Nyabugogo (boarding)")).to_be_visible()
        expect(page.locator(".leaflet-tooltip", has_text="Muhanga (getting off)")).to_be_visible()
        expect(live.fact("Bus")).to_have_text(ride.plate)
        expect(live.fact("Last position")).to_have_text("No position yet")
        expect(live.fact("At Nyabugogo")).to_have_text("Departed")
        expect(live.fact("At Muhanga")).to_have_text(re.compile(r"^\d\d:\d\d \(timetable\)$"))
        live.expect_live()

        # 2. Share for two hours; the link is shown with a button that copies it.
        page.get_by_label("Share for").select_option(label="2 hours")
        page.get_by_role("button", name="Create link").click()
        expect(page.get_by_role("status").filter(has_text="Link created")).to_be_visible()
        link = page.get_by_label("Share link").input_value()
        assert re.fullmatch(rf"{re.escape(base_url)}/live/[\w-]{{43}}", link), link
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == link

        # 3. The friend, with no account, opens it: the same trip and bus, nothing about Aline.
        shared = friend.new_page()
        shared.goto(link)
        their = LiveMap(shared)
        their.expect_ready()
        expect(shared.get_by_role("heading", level=1)).to_have_text(ride.route)
        expect(their.fact("Bus")).to_have_text(ride.plate)
        their.expect_live()
        body = shared.locator("body").inner_text()
        assert "Aline" not in body and ride.ticket not in body and "1A" not in body

        # 4. Aline revokes the link: the friend's page says it has ended.
        page.get_by_role("button", name=re.compile("^Revoke")).click()
        expect(page.get_by_role("status").filter(has_text="Link revoked")).to_be_visible()
        expect(page.locator(".share-link")).to_have_count(0)
        response = shared.reload()
        assert response.status == 410
        expect(shared.get_by_role("heading", level=1)).to_have_text("This live link has ended")
        assert errors == [], errors
    finally:
        passenger.close()
        friend.close()


def report(live_db, ride: Setting, at: tuple[float, float], *, seconds_ago: int = 0) -> None:
    """A fix from the driver's phone, taken in as the driver's socket does."""
    from app.accounts.models import User
    from app.tracking import services
    from app.tracking.live import make_fix

    with live_db.app_context():
        driver = db.session.scalar(db.select(User).where(User.email == ride.driver.email))
        now = utcnow()
        services.from_driver(driver, ride.trip_id, make_fix(*at, now - timedelta(seconds=seconds_ago)), now=now)
        tx.commit()


def along(t: float) -> tuple[float, float]:
    return KIGALI[0] + (MUHANGA[0] - KIGALI[0]) * t, KIGALI[1] + (MUHANGA[1] - KIGALI[1]) * t


def test_the_company_sees_its_running_buses_move_on_the_live_map(page: Page, base_url: str, live_db):
    ride = setting(live_db, status=TripStatus.DEPARTED, leaves_in=timedelta(minutes=-10))
    errors = csp_errors(page)

    # 1. The admin opens the live map from the console's navigation: the running trip is listed,
    #    with no position yet, and among the buses that have gone quiet.
    log_in(page, ride.admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Live map").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Live map")
    trip = page.locator(f'[data-fleet-trip="{ride.trip_id}"]')
    expect(trip.get_by_role("link")).to_have_text(f"{ride.plate} · {ride.route}")
    expect(trip.locator("[data-fix-age]")).to_have_text("No position yet")
    expect(page.get_by_role("heading", name="No recent position (1)")).to_be_visible()
    expect(page.locator("[data-live-connection]")).to_have_text("Live: the map updates by itself.")

    # 2. The bus reports: it appears on the map, labelled, and its age counts up in the list.
    report(live_db, ride, along(0.2), seconds_ago=15)
    bus = page.locator(f'.leaflet-marker-icon.fleet-bus[data-trip="{ride.trip_id}"]')
    expect(bus).to_have_count(1)
    label = page.locator(".leaflet-tooltip.fleet-label", has_text=ride.plate)
    expect(label).to_contain_text(f"{ride.plate} · {ride.route}")
    expect(label).to_contain_text(re.compile(r"departed · \d+ s ago"))
    expect(trip.locator("[data-fix-age]")).to_have_text(re.compile(r"^\d+ s ago$"))
    expect(page.get_by_role("heading", name="No recent position (0)")).to_be_visible()
    first = float(bus.get_attribute("data-lat"))

    # 3. It moves without a reload (370 m in 15 s: a believable speed).
    report(live_db, ride, along(0.21))
    expect(bus).not_to_have_attribute("data-lat", str(first))
    assert float(bus.get_attribute("data-lat")) == pytest.approx(along(0.21)[0], abs=1e-5)
    assert errors == [], errors


def as_dispatcher(live_db, ride: Setting, action) -> None:
    """``action(admin, trip, now)`` in the console's name, committed (its events go out after)."""
    from app.accounts.models import User

    with live_db.app_context():
        admin = db.session.scalar(db.select(User).where(User.email == ride.admin.email))
        action(admin, db.session.get(Trip, ride.trip_id), utcnow())
        tx.commit()


def test_the_ticket_page_follows_the_trip_as_it_happens(page: Page, base_url: str, live_db):
    from app.fleet.services import swap, trips

    ride = setting(live_db, status=TripStatus.BOARDING, leaves_in=timedelta(minutes=5))
    new_plate = f"RZT {(int(ride.plate[4:7]) + 1) % 1000:03d}F"
    with live_db.app_context():
        spare = factories.bus(db.session.get(Trip, ride.trip_id).route.company, plate=new_plate)
        spare_id = spare.id
        tx.commit()
    errors = csp_errors(page)
    log_in(page, ride.passenger)
    page.goto(f"/tickets/{ride.ticket}")
    live = LiveMap(page)
    live.expect_ready()
    live.expect_live()
    page.evaluate("window.stillHere = true")  # gone if the page reloads
    expect(live.fact("Trip")).to_have_text("Boarding")
    expect(live.fact("At Nyabugogo")).to_have_text(re.compile(r"^\d\d:\d\d \(timetable\)$"))
    notice = page.locator("[data-live-notice]")

    # 1. The dispatcher swaps the bus: the plate changes with a notice.
    as_dispatcher(
        live_db,
        ride,
        lambda admin, trip, now: swap.swap_bus(admin, trip, db.session.get(type(trip.bus), spare_id), now=now),
    )
    expect(notice).to_have_text(f"Your bus has changed: it is now {new_plate} (was {ride.plate}).")
    expect(live.fact("Bus")).to_have_text(new_plate)

    # 2. The bus leaves.
    as_dispatcher(live_db, ride, lambda admin, trip, now: trips.change_status(admin, trip, "departed", now=now))
    expect(live.fact("Trip")).to_have_text("Departed")
    expect(notice).to_have_text("The bus has left.")
    expect(live.fact("At Nyabugogo")).to_have_text("Departed")

    # 3. It reports: on the map, with its age, where it is and the ETA at Aline's stop.
    report(live_db, ride, along(0.30), seconds_ago=15)
    expect(live.bus).to_have_count(1)
    expect(live.fact("Last position")).to_have_text(re.compile(r"^\d+ s ago$"))
    expect(live.fact("Where")).to_have_text(re.compile(r"^Between Nyabugogo and Muhanga · "))
    expect(live.fact("At Muhanga")).to_have_text(re.compile(r"^about \d\d:\d\d \(in \d+ min\)$"))
    first = live.bus_at()
    assert first == pytest.approx(along(0.30), abs=1e-5)

    # 4. And moves, without a reload.
    report(live_db, ride, along(0.31))
    expect(live.bus).not_to_have_attribute("data-lat", str(first[0]))
    assert live.bus_at() == pytest.approx(along(0.31), abs=1e-5)

    # 5. It arrives: the trip is over and the page stops listening.
    as_dispatcher(live_db, ride, lambda admin, trip, now: trips.change_status(admin, trip, "arrived", now=now))
    expect(live.fact("Trip")).to_have_text("Arrived")
    expect(live.fact("At Muhanga")).to_have_text("Arrived")
    expect(page.locator("[data-live-connection]")).to_have_text("The trip has ended; live updates stopped.")
    assert page.evaluate("window.stillHere") is True
    assert errors == [], errors


def test_a_ticket_days_ahead_shows_the_route_without_holding_a_connection(page: Page, live_db):
    ride = setting(live_db, status=TripStatus.SCHEDULED, leaves_in=timedelta(days=3))
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    log_in(page, ride.passenger)
    page.goto(f"/tickets/{ride.ticket}")
    live = LiveMap(page)
    live.expect_ready()
    expect(live.fact("At Nyabugogo")).to_have_text(re.compile(r"^\d\d:\d\d \(timetable\)$"))
    expect(page.locator("[data-live-connection]")).to_have_text(
        re.compile(r"^Live updates start \d\d:\d\d on \w{3} \d+ \w{3}, two hours before departure\.$")
    )
    page.wait_for_timeout(1500)
    assert sockets == []


def geolocation(t: float) -> dict:
    latitude, longitude = along(t)
    return {"latitude": latitude, "longitude": longitude, "accuracy": 50}


def test_the_drivers_phone_moves_the_passengers_bus(browser: Browser, base_url: str, live_db):
    """Two people, two browsers: the driver's phone (its position faked) and the passenger."""
    ride = setting(live_db, status=TripStatus.SCHEDULED, leaves_in=timedelta(minutes=2))
    phone = browser.new_context(base_url=base_url, geolocation=geolocation(0.30), permissions=["geolocation"])
    passenger = browser.new_context(base_url=base_url)
    try:
        # 1. Aline has her ticket page open before the bus leaves: no position yet.
        page = passenger.new_page()
        errors = csp_errors(page)
        log_in(page, ride.passenger)
        page.goto(f"/tickets/{ride.ticket}")
        live = LiveMap(page)
        live.expect_ready()
        live.expect_live()
        expect(live.fact("Trip")).to_have_text("Scheduled")
        expect(live.fact("Last position")).to_have_text("No position yet")
        page.evaluate("window.stillHere = true")  # gone if the page reloads

        # 2. Eric starts the trip on his phone, which starts sharing its position.
        driver = phone.new_page()
        log_in(driver, ride.driver)
        expect(driver.get_by_role("heading", level=1)).to_have_text("My trips today")
        driver.get_by_role("button", name="Start trip").click()
        expect(driver.locator("[data-connection]")).to_have_text("Live")
        expect(driver.locator("[data-last-fix]")).to_contain_text("Last position sent at")

        # 3. Aline sees the bus leave and appear on her map, with its age and ETA.
        expect(live.fact("Trip")).to_have_text("Departed")
        expect(page.locator("[data-live-notice]")).to_have_text("The bus has left.")
        expect(live.bus).to_have_count(1)
        expect(live.fact("Last position")).to_have_text(re.compile(r"^\d+ s ago$"))
        expect(live.fact("Where")).to_have_text(re.compile(r"^Between Nyabugogo and Muhanga · "))
        expect(live.fact("At Muhanga")).to_have_text(re.compile(r"^about \d\d:\d\d \(in \d+ min\)$"))
        assert live.bus_at() == pytest.approx(along(0.30), abs=1e-5)
        before, before_lat = live.bus.bounding_box(), live.bus.get_attribute("data-lat")

        # 4. The bus drives on 500 m (given the time a bus needs for it: faster is refused as a
        #    bad fix), and Aline's marker moves without a reload.
        driver.wait_for_timeout(13_000)
        phone.set_geolocation(geolocation(0.3135))
        expect(live.bus).not_to_have_attribute("data-lat", before_lat, timeout=15_000)
        assert live.bus_at() == pytest.approx(along(0.3135), abs=1e-5)
        after = live.bus.bounding_box()
        assert (after["x"], after["y"]) != (before["x"], before["y"])
        expect(live.fact("Last position")).to_have_text(re.compile(r"^\d+ s ago$"))

        # 5. Eric ends the trip: Aline's page says the bus has arrived and stops listening.
        driver.get_by_role("button", name="End trip").click()
        expect(live.fact("Trip")).to_have_text("Arrived")
        expect(page.locator("[data-live-connection]")).to_have_text("The trip has ended; live updates stopped.")
        assert page.evaluate("window.stillHere") is True
        assert errors == [], errors
    finally:
        phone.close()
        passenger.close()
