"""A company manager's day in the console, in a real browser against the live server: a route, two
buses with seat layouts, a timetable whose trips appear, a bus swap and the manifest export."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from app.fleet.views.console.trips import MANIFEST_HEADER


def log_in_as_manager(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill("manager@virunga.rw")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Virunga Express")


def create_route(page: Page, name: str) -> None:
    page.goto("/console/routes/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Station of stop 1").select_option(label="Remera Bus Park")
    page.get_by_label("Station of stop 2").select_option(label="Rwamagana Bus Park")
    page.get_by_label("Minutes from the first stop to stop 2").fill("50")
    page.get_by_label("Kilometres from the first stop to stop 2").fill("45")
    page.get_by_label("Fare of the leg ending at stop 2").fill("1200")
    page.get_by_role("button", name="Add a stop").click()  # the editor grows without a reload
    page.get_by_label("Station of stop 3").select_option(label="Kayonza Bus Park")
    page.get_by_label("Minutes from the first stop to stop 3").fill("80")
    page.get_by_label("Kilometres from the first stop to stop 3").fill("70")
    page.get_by_label("Fare of the leg ending at stop 3").fill("800")
    page.get_by_role("button", name="Save route").click()
    expect(page.get_by_text(f"Route {name} saved.")).to_be_visible()
    expect(page.get_by_role("link", name=name)).to_be_visible()


def create_bus(page: Page, plate: str, *, rows: int | None = None, layout: str | None = None) -> None:
    page.goto("/console/buses/new")
    page.get_by_label("Plate").fill(plate)
    page.get_by_label("Make and model").fill("Yutong ZK6107")
    if rows is not None:
        page.get_by_text("Generate a standard layout").click()
        page.get_by_label("Rows", exact=True).fill(str(rows))
        page.get_by_label("VIP rows at the front").fill("1")
        page.get_by_role("button", name="Fill the layout").click()
        # The editor is replaced by the generated layout: no row past the last one.
        expect(page.get_by_role("img", name=f"Seat {rows + 1}A")).to_have_count(0)
        expect(page.get_by_role("img", name=f"Seat {rows}D")).to_be_visible()
    if layout is not None:
        page.get_by_label("Seat layout").fill(layout)
        expect(page.get_by_role("img", name="Seat 12D")).to_be_visible()
        expect(page.get_by_role("img", name="Seat 12E")).to_have_count(0)  # the seat map follows the text
    page.get_by_role("button", name="Save bus").click()
    expect(page.get_by_text(re.compile(rf"Bus {plate} saved with \d+ seats\."))).to_be_visible()


def test_a_manager_builds_a_line_runs_a_timetable_swaps_a_bus_and_exports_a_manifest(page: Page):
    stamp = str(time.time_ns())[-4:]
    route_name = f"Remera – Kayonza {stamp}"
    small, big = f"RAF {stamp[:3]}A", f"RAF {stamp[:3]}B"
    log_in_as_manager(page)

    create_route(page, route_name)
    create_bus(page, small, rows=6)
    create_bus(page, big, layout="\n".join(f"{r}A {r}B _ {r}C {r}D" for r in range(1, 13)))
    page.goto("/console/buses")
    expect(page.get_by_role("row", name=re.compile(small))).to_contain_text(
        "25"
    )  # five rows of four and a back bench of five

    # A timetable: every day from tomorrow at 05:40, on the small bus.
    tomorrow = (datetime.now(ZoneInfo("Africa/Kigali")) + timedelta(days=1)).date()
    page.goto("/console/timetables/new")
    page.get_by_label("Route").select_option(label=route_name)
    page.get_by_label("Departure (local time)").fill("05:40")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        page.get_by_label(day, exact=True).check()
    bus_select = page.get_by_label("Bus")
    bus_select.select_option(bus_select.locator("option", has_text=small).get_attribute("value"))
    page.get_by_label("Runs from").fill(tomorrow.isoformat())
    page.get_by_role("button", name="Save timetable").click()
    expect(page.get_by_text(re.compile(r"Timetable saved; \d+ trips? created"))).to_be_visible()

    # The generated trip is in tomorrow's list.
    page.goto(f"/console/trips?date={tomorrow.isoformat()}")
    page.get_by_label("Route").select_option(label=route_name)
    row = page.get_by_role("row", name=re.compile(route_name))
    expect(row).to_contain_text(small)
    row.get_by_role("link", name="05:40").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(route_name)

    # Swap to the big bus.
    page.get_by_role("link", name="Swap bus").click()
    page.get_by_label(big).check()
    page.get_by_role("button", name="Put this bus on the trip").click()
    expect(page.locator("main")).to_contain_text(f"Bus {big} ·")
    expect(page.get_by_text(f"Bus {big}; to change it, swap the bus.")).to_be_visible()

    # The manifest, on screen and as CSV.
    page.get_by_role("link", name="Manifest", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Manifest")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == MANIFEST_HEADER and len(rows) == 1  # no passenger booked yet
