"""The driver's page in Chromium with a faked phone position, against the live server: starting the
trip shares the position over the websocket, positions taken offline follow once back online, and
ending the trip stops it."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from app.accounts.rules import Role
from app.extensions import db
from app.fleet.models import Trip
from app.tracking import live
from tests import factories
from tests.tracking.conftest import KIGALI, southern_route

pytestmark = pytest.mark.e2e


def near_kigali(metres_south: float) -> dict:
    return {"latitude": KIGALI[0] - metres_south / 111_000, "longitude": KIGALI[1], "accuracy": 12}


def latest_position(live_tms, bus_id: int, *, after_ts: int = 0, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    with live_tms.app.app_context():
        while time.monotonic() < deadline:
            position = live.latest(bus_id)
            if position and position["ts"] > after_ts:
                return position
            time.sleep(0.2)
    raise AssertionError(f"no position of bus {bus_id} after {after_ts}")


def test_the_driver_shares_the_phones_position_from_start_to_end_of_the_trip(live_tms, browser: Browser):
    with live_tms.app.app_context():
        company = factories.company(name=f"Browser Line {time.time_ns()}")
        driver = factories.member(Role.DRIVER, of=company, name="Eric Driver")
        trip = factories.trip(
            southern_route(company),
            bus_=factories.bus(company),
            driver=driver,
            departs_at=datetime.now(UTC) + timedelta(minutes=5),
        )
        trip_id, bus_id, email, plate = trip.id, trip.bus_id, driver.email, trip.bus.plate
        db.session.commit()

    # A phone set to a 12-hour clock in another time zone: the page still speaks Kigali's 24-hour time.
    context = browser.new_context(
        base_url=live_tms.url,
        geolocation=near_kigali(0),
        permissions=["geolocation"],
        locale="en-US",
        timezone_id="America/New_York",
    )
    network = {"up": True, "sockets": []}

    def socket_route(route):  # the phone's connection, which the test can cut
        if not network["up"]:
            route.close()
            return
        route.connect_to_server()
        network["sockets"].append(route)

    context.route_web_socket(re.compile(r"/ws/driver/"), socket_route)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        card = page.locator(f"#trip-{trip_id}")
        expect(card).to_contain_text(plate)
        card.get_by_role("button", name="Start trip").click()

        expect(page.locator(".flash")).to_contain_text("Trip started.")
        expect(card.locator("[data-connection]")).to_have_text("Live")
        expect(card.locator("[data-last-fix]")).to_contain_text("Last position sent at", timeout=15_000)
        expect(card.locator("[data-last-fix]")).to_contain_text("(±12 m)")
        first = latest_position(live_tms, bus_id)
        shown = re.search(r"sent at (\S+) ", card.locator("[data-last-fix]").inner_text()).group(1)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", shown), shown  # not "7:42:05 PM"
        kigali = datetime.now(ZoneInfo("Africa/Kigali"))
        hours, minutes, seconds = map(int, shown.split(":"))
        apart = abs(hours * 3600 + minutes * 60 + seconds - (kigali.hour * 3600 + kigali.minute * 60 + kigali.second))
        assert min(apart, 86400 - apart) < 120, (shown, kigali)  # Kigali's time, not New York's
        assert (first["lat"], first["lon"], first["trip"]) == (round(KIGALI[0], 6), KIGALI[1], trip_id)

        # The phone loses its network; the positions it takes meanwhile wait on the phone.
        network["up"] = False
        context.set_offline(True)
        for route in network["sockets"]:
            route.close()
        expect(card.locator("[data-connection]")).to_contain_text("Offline")
        context.set_geolocation(near_kigali(30))  # a bus in town: 30 m on
        expect(card.locator("[data-waiting]")).to_be_visible(timeout=20_000)
        expect(card.locator("[data-waiting]")).to_contain_text("waiting to be sent")
        waiting = page.evaluate(f"JSON.parse(localStorage.getItem('tms.driver.unsent.{trip_id}'))")
        assert waiting[-1]["lat"] < first["lat"] and waiting[-1]["accuracy"] == 12
        network["up"] = True
        context.set_offline(False)
        expect(card.locator("[data-connection]")).to_have_text("Live", timeout=40_000)
        moved = latest_position(live_tms, bus_id, after_ts=first["ts"])
        assert moved["lat"] < first["lat"]  # further south, as the phone said
        expect(card.locator("[data-waiting]")).to_be_hidden(timeout=10_000)

        card.get_by_role("button", name="End trip").click()
        expect(page.locator(".flash")).to_contain_text("Trip ended.")
        expect(card).to_contain_text("Arrived")
        expect(card.locator("[data-driver-tracking]")).to_have_count(0)
    finally:
        context.close()

    with live_tms.app.app_context():
        assert db.session.get(Trip, trip_id).status == "arrived"
