"""A company manager sets up a service in the console, in a real browser against the live server:
a station, a route, two buses, a timetable and its trips; then swaps a trip's bus and exports the
manifest."""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from app.accounts.rules import Role
from app.booking.services import orders
from app.core import tx
from app.core.models import utcnow
from tests import factories
from tests.e2e.conftest import data_app

# Bus one has a five-seat back bench; bus two does not, so seat 4E is not on it.
SMALL_LAYOUT = "1A* 1B* _ 1C*\n2A 2B _ 2C\n3A 3B _ 3C\n4A 4B 4C 4D 4E"


@dataclass(frozen=True)
class Manager:
    email: str
    password: str
    company: str


@pytest.fixture(scope="module")
def live_db(live_server):
    """The app bound to the live server's database, for what the journey needs besides the console:
    the manager's account, and a ticket sold at another counter."""
    with data_app(live_server) as app:
        yield app


@pytest.fixture
def manager(live_db) -> Manager:
    run = time.time_ns()
    with live_db.app_context():
        company = factories.company(code=f"kivu-{run}", name=f"Kivu Shuttle {run % 100_000}")
        user = factories.member(Role.ADMIN, of=company, email=f"manager{run}@kivu.rw", name="Alice Mukamana")
        found = Manager(user.email, factories.PASSWORD, company.name)
        tx.commit()
    return found


def sell_ticket(live_db, trip_id: int, seat: str, name: str, phone: str) -> str:
    """A paid ticket over the whole trip, sold as a station counter would; returns its code."""
    with live_db.app_context():
        order = orders.book_seats(
            None,
            trip_id,
            seats=[seat],
            origin=0,
            destination=3,
            passengers=[orders.Passenger(name, phone)],
            channel="console",
            paid=True,
            now=utcnow(),
        )
        code = order.tickets[0].code
        tx.commit()
    return code


class Console:
    def __init__(self, page: Page):
        self.page = page

    def heading(self):
        return self.page.get_by_role("heading", level=1)

    def open(self, section: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=section, exact=True).click()
        expect(self.heading()).to_have_text(section)

    def expect_flash(self, text: str) -> None:
        expect(self.page.get_by_role("status").filter(has_text=text)).to_be_visible()

    def station_of_stop(self, n: int):
        return self.page.get_by_label(f"Station of stop {n}", exact=True)

    def fill_stop(self, n: int, station: str, minutes: int, km: int, fare: int) -> None:
        self.station_of_stop(n).select_option(label=station)
        self.page.get_by_label(f"Minutes from the first stop to stop {n}").fill(str(minutes))
        self.page.get_by_label(f"Kilometres from the first stop to stop {n}").fill(str(km))
        self.page.get_by_label(f"Fare of the leg ending at stop {n}").fill(str(fare))

    def expect_stops(self, *stations: str) -> None:
        for n, station in enumerate(stations, start=1):
            expect(self.station_of_stop(n).locator("option:checked")).to_have_text(station)
        expect(self.station_of_stop(len(stations) + 1)).to_have_count(0)


def test_manager_sets_up_a_service_swaps_a_bus_and_exports_the_manifest(
    page: Page, base_url: str, live_db, manager: Manager
):
    console = Console(page)
    run = time.time_ns() % 1000
    small, large = f"RZX {run:03d}A", f"RZX {run:03d}B"
    route = "Kigali – Huye express"

    # 1. Log in: a manager lands on the company console.
    page.goto("/login")
    page.get_by_label("Email").fill(manager.email)
    page.get_by_label("Password").fill(manager.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/console**")
    expect(console.heading()).to_contain_text(manager.company)

    # 2a. A stop the shared list lacks, in a town it lacks too.
    console.open("Stations")
    page.get_by_role("link", name="Towns", exact=True).click()
    page.get_by_role("link", name="Add a town").click()
    page.get_by_label("Town name").fill("Kamonyi")
    page.get_by_label("Other names").fill("Runda")
    page.get_by_role("button", name="Add town").click()
    console.expect_flash("Town Kamonyi added for every operator.")
    console.open("Stations")
    page.get_by_role("link", name="Add a station").click()
    expect(console.heading()).to_have_text("Add a station")
    page.get_by_label("Station name").fill("Ruyenzi Stage")
    page.get_by_label("Town", exact=True).select_option(label="Kamonyi")
    page.get_by_label("Latitude").fill("-1.9920")
    page.get_by_label("Longitude").fill("29.9870")
    page.get_by_role("button", name="Add station").click()
    console.expect_flash("Ruyenzi Stage (Kamonyi) added for every operator.")
    expect(page.get_by_role("row", name="Ruyenzi Stage Kamonyi")).to_be_visible()

    # 2b. A route of four stops, put in order with the editor's buttons.
    console.open("Routes")
    page.get_by_role("link", name="New route").click()
    expect(console.heading()).to_have_text("New route")
    page.get_by_label("Name").fill(route)
    console.station_of_stop(1).select_option(label="Nyabugogo Bus Park")
    console.fill_stop(2, "Huye Bus Park", 180, 130, 2500)
    page.get_by_role("button", name="Add a stop").click()
    console.fill_stop(3, "Muhanga Bus Park", 90, 50, 1000)
    page.get_by_role("button", name="Add a stop").click()
    console.fill_stop(4, "Ruyenzi Stage", 30, 20, 500)
    page.get_by_role("button", name="Move stop 4 up").click()
    console.expect_stops("Nyabugogo Bus Park", "Huye Bus Park", "Ruyenzi Stage", "Muhanga Bus Park")
    page.get_by_role("button", name="Move stop 3 up").click()
    console.expect_stops("Nyabugogo Bus Park", "Ruyenzi Stage", "Huye Bus Park", "Muhanga Bus Park")
    page.get_by_role("button", name="Move stop 3 down").click()
    console.expect_stops("Nyabugogo Bus Park", "Ruyenzi Stage", "Muhanga Bus Park", "Huye Bus Park")
    page.get_by_role("button", name="Add a stop").click()
    expect(console.station_of_stop(5)).to_have_value("")
    page.get_by_role("button", name="Remove stop 5").click()
    console.expect_stops("Nyabugogo Bus Park", "Ruyenzi Stage", "Muhanga Bus Park", "Huye Bus Park")
    expect(page.get_by_label("Minutes from the first stop to stop 3")).to_have_value("90")  # moved with its row
    page.get_by_role("button", name="Save route").click()
    console.expect_flash(f"Route {route} saved.")
    expect(console.heading()).to_have_text("Routes")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=route))
    expect(row).to_contain_text("Nyabugogo Bus Park → Ruyenzi Stage → Muhanga Bus Park → Huye Bus Park")
    expect(row).to_contain_text("3 h 00")

    # 3. A bus drawn by hand: the preview follows the typing, the saved bus shows its seat map.
    console.open("Buses")
    page.get_by_role("link", name="New bus").click()
    expect(console.heading()).to_have_text("New bus")
    page.get_by_label("Plate").fill(small.lower().replace(" ", ""))
    page.get_by_label("Make and model").fill("Toyota Coaster")
    page.get_by_label("Seat layout").fill(SMALL_LAYOUT)
    expect(page.locator("#layout-preview")).to_contain_text("14 seats, 3 VIP")
    page.get_by_role("button", name="Save bus").click()
    console.expect_flash(f"Bus {small} saved with 14 seats.")
    expect(console.heading()).to_have_text(f"Bus {small}")
    seat_map = page.get_by_role("group", name="Seat map, front of the bus at the top")
    expect(seat_map.get_by_role("img")).to_have_count(14)
    expect(seat_map.get_by_role("img", name="Seat 1A, VIP")).to_be_visible()
    expect(seat_map.get_by_role("img", name="Seat 4E", exact=True)).to_be_visible()

    # 4. A larger bus from the layout generator.
    console.open("Buses")
    page.get_by_role("link", name="New bus").click()
    page.get_by_label("Plate").fill(large)
    page.get_by_label("Make and model").fill("Yutong ZK6122")
    page.get_by_text("Generate a standard layout").click()
    page.get_by_label("Rows", exact=True).fill("10")
    page.get_by_label("Seats left of the aisle").fill("2")
    page.get_by_label("Seats right of the aisle").fill("2")
    page.get_by_label("VIP rows at the front").fill("1")
    page.get_by_role("button", name="Fill the layout").click()
    expect(page.get_by_label("Seat layout")).to_have_value(re.compile(r"^1A\* 1B\* _ 1C\* 1D\*\n2A 2B _ 2C 2D\n"))
    expect(page.locator("#layout-preview")).to_contain_text("41 seats, 4 VIP")
    page.get_by_role("button", name="Save bus").click()
    console.expect_flash(f"Bus {large} saved with 41 seats.")
    expect(page.get_by_role("group", name="Seat map, front of the bus at the top").get_by_role("img")).to_have_count(41)
    console.open("Buses")
    expect(page.get_by_role("row").filter(has=page.get_by_role("link", name=small))).to_contain_text("Toyota Coaster")
    expect(page.get_by_role("row").filter(has=page.get_by_role("link", name=large))).to_contain_text("41")

    # 5. A daily timetable from tomorrow with the small bus: its trips appear at once.
    tomorrow = datetime.now(ZoneInfo("Africa/Kigali")).date() + timedelta(days=1)
    console.open("Timetables")
    page.get_by_role("link", name="New timetable").click()
    expect(console.heading()).to_have_text("New timetable")
    page.get_by_label("Route").select_option(label=route)
    page.get_by_label("Departure (local time)").fill("10:00")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        page.get_by_role("checkbox", name=day, exact=True).check()
    page.get_by_label("Bus", exact=True).select_option(label=f"{small} · 14 seats (3 VIP)")
    page.get_by_label("Runs from").fill(tomorrow.isoformat())
    page.get_by_role("button", name="Save timetable").click()
    console.expect_flash("Timetable saved; 13 trips created for the next 14 days.")
    timetable = page.get_by_role("row").filter(has=page.get_by_role("link", name="10:00"))
    expect(timetable).to_contain_text(route)
    expect(timetable).to_contain_text("Every day")
    expect(timetable).to_contain_text(small)

    console.open("Trips")
    page.get_by_label("Date").fill(tomorrow.isoformat())
    expect(page.get_by_role("navigation", name="Days")).to_contain_text(tomorrow.strftime("%A %d %B %Y"))
    trip_row = page.get_by_role("row").filter(has_text=route)
    expect(trip_row).to_have_count(1)
    expect(trip_row).to_contain_text(small)
    expect(trip_row).to_contain_text("Scheduled")

    # 6. Someone bought seat 4E at a counter; the trip moves to the larger bus, which has no 4E.
    trip_row.get_by_role("link", name="10:00").click()
    expect(console.heading()).to_contain_text(f"{route} · {tomorrow:%a %d %b %Y}, 10:00")
    expect(page.get_by_text(f"Bus {small}; to change it, swap the bus.")).to_be_visible()
    trip_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    code = sell_ticket(live_db, trip_id, "4E", "Uwase Chantal", "+250788555111")
    page.reload()
    expect(page.get_by_text("1 passenger for 14 seats")).to_be_visible()

    page.get_by_role("link", name="Swap bus").click()
    expect(console.heading()).to_have_text("Swap the bus")
    expect(page.get_by_text("1 passenger with a ticket.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=large)).to_contain_text("Free")
    page.get_by_role("radio", name=large).check()
    page.get_by_role("button", name="Put this bus on the trip").click()
    console.expect_flash(f"Bus changed to {large}; 1 passenger re-seated.")
    expect(page.get_by_text(f"Bus {large}; to change it, swap the bus.")).to_be_visible()
    expect(page.get_by_text("1 passenger for 41 seats")).to_be_visible()

    # 7. The manifest lists the passenger in the seat the new bus gave her; the CSV says the same.
    page.get_by_role("link", name="Manifest", exact=True).click()
    expect(console.heading()).to_have_text("Manifest")
    expect(page.get_by_text(f"bus {large}")).to_be_visible()
    boarding_here = page.locator("[data-manifest-stop]", has_text="Nyabugogo Bus Park")  # by the stop she boards at
    passenger = boarding_here.get_by_role("row").filter(has_text="Uwase Chantal")
    expect(passenger.get_by_role("cell")).to_have_text(
        ["2A", "Uwase Chantal", "Huye Bus Park", "Standard", code, "Not yet boarded"]
    )

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"manifest-trip-{trip_id}-{tomorrow.isoformat()}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["Seat", "Passenger", "Phone", "From", "To", "Class", "Ticket", "Payment", "Boarded at"]
    # The phone starts with "+": kept as text so a spreadsheet does not read it as a formula.
    assert rows[1:] == [
        ["2A", "Uwase Chantal", "'+250788555111", "Nyabugogo Bus Park", "Huye Bus Park", "Standard", code, "paid", ""]
    ]
