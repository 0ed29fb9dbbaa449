"""The trips pages of the console: a day's trips, one-off trips, the trip page with its status
buttons, assignment, delay and cancellation, bus swap and the manifest (page and CSV)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.booking.models import Ticket
from app.booking.services import boarding
from app.booking.services import orders as booking
from app.extensions import db
from app.fleet import rules
from app.fleet.models import Trip
from app.fleet.services import trips as trip_services
from app.fleet.services.trips import local_datetime, today_for
from tests import factories


@pytest.fixture
def admin(login_as):
    return login_as("admin", name="Aline Uwase")


@pytest.fixture
def company(admin):
    return admin.memberships[0].company


def test_the_trip_page_answers_htmx_with_its_block(client, company):
    trip = a_trip(company)
    body = client.get(f"/console/trips/{trip.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<div id="trip-detail">') and "<html" not in body


def company_zone(company) -> ZoneInfo:
    return ZoneInfo(company.timezone)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def results(response) -> str:
    """The list of trips, without the filters above it (whose selects name every route)."""
    return text(response).split('<div id="trip-results">', 1)[1]


def stored(trip: Trip) -> Trip:
    db.session.expire_all()
    return db.session.get(Trip, trip.id)


def this_minute() -> datetime:
    """The clock to the minute (forms take minutes), read when called."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def a_trip(company, *, status="scheduled", hours=5, bus=True, **kwargs) -> Trip:
    """A trip leaving ``hours`` from now."""
    return factories.trip(
        factories.route(company),
        bus_=factories.bus(company) if bus is True else (bus or None),
        departs_at=this_minute() + timedelta(hours=hours),
        status=status,
        **kwargs,
    )


def book(trip: Trip, names: list[str], seats: list[str], *, paid: bool = True, origin: int = 0):
    return booking.book_seats(
        None,
        trip.id,
        seats=seats,
        origin=origin,
        destination=len(trip.stops) - 1,
        passengers=[booking.Passenger(name=name, phone="0788123456") for name in names],
        channel="console",
        paid=paid,
        now=datetime.now(UTC),
    )


# --- The trips of a day --------------------------------------------------------------------------


def test_the_list_shows_the_trips_of_the_chosen_day(client, company):
    tomorrow = today_for(company) + timedelta(days=1)
    bus = factories.bus(company, plate="RAD 123A")
    driver = factories.member("driver", of=company, name="Jean Mugabo")
    route = factories.route(company, name="Kigali – Huye")
    trip = factories.trip(route, bus_=bus, driver=driver, departs_at=local_datetime(company, tomorrow, time(9, 15)))
    factories.order(trip, ["1A", "1B"])
    factories.trip(factories.route(company, name="Kigali – Musanze"), departs_at=trip.departs_at + timedelta(days=1))

    page = results(client.get(f"/console/trips?date={tomorrow.isoformat()}"))
    assert "Kigali – Huye" in page and "RAD 123A" in page and "Jean Mugabo" in page
    assert "09:15" in page and "2/12" in page and "Scheduled" in page
    assert "Kigali – Musanze" not in page  # the day after
    assert f"/console/trips/{trip.id}" in page


def test_the_list_opens_on_today_and_links_the_days_around(client, company):
    today = today_for(company)
    page = text(client.get("/console/trips"))
    assert today.strftime("%A %d %B %Y") in page
    assert f"date={(today - timedelta(days=1)).isoformat()}" in page
    assert f"date={(today + timedelta(days=1)).isoformat()}" in page
    assert client.get("/console/trips?date=not-a-date&route=x&status=lost").status_code == 200


def test_filters_answer_htmx_with_the_list_only(now, client, company):
    day = today_for(company) + timedelta(days=2)
    departs = local_datetime(company, day, time(8, 0))
    late = factories.trip(factories.route(company, name="Late route"), departs_at=departs)
    early = factories.trip(factories.route(company, name="Early route"), departs_at=departs + timedelta(hours=1))
    trip_services.cancel_trip(None, early, reason="No driver", now=now)

    response = client.get(f"/console/trips?date={day}&status=cancelled", headers={"HX-Request": "true"})
    body = text(response)
    assert body.lstrip().startswith('<div id="trip-results">')
    assert "Early route" in body and "Late route" not in body
    assert "HX-Request" in response.headers["Vary"]
    by_route = results(client.get(f"/console/trips?date={day}&route={late.route_id}"))
    assert "Late route" in by_route and "Early route" not in by_route


# --- One-off trips -------------------------------------------------------------------------------


def test_a_one_off_trip_is_created_and_shown(client, company):
    route = factories.route(company, name="Kigali – Rubavu")
    bus = factories.bus(company)
    day = today_for(company) + timedelta(days=3)
    response = client.submit(
        "/console/trips/new",
        {"route_id": route.id, "day": day.isoformat(), "departure": "14:30", "bus_id": bus.id, "driver_id": ""},
    )
    assert response.status_code == 303
    trip = db.session.scalar(select(Trip).where(Trip.route_id == route.id))
    assert trip.departs_at == local_datetime(company, day, time(14, 30)) and trip.bus_id == bus.id
    assert response.headers["Location"].endswith(f"/console/trips/{trip.id}")
    assert "Trip created" in text(client.get(response.headers["Location"]))


def test_a_one_off_trip_in_the_past_is_a_field_error(client, company):
    route = factories.route(company)
    yesterday = today_for(company) - timedelta(days=1)
    response = client.submit(
        "/console/trips/new", {"route_id": route.id, "day": yesterday.isoformat(), "departure": "10:00"}
    )
    assert response.status_code == 422
    assert "Choose a departure in the future." in text(response)
    assert db.session.scalar(select(Trip).where(Trip.route_id == route.id)) is None


def test_a_one_off_trip_with_a_busy_bus_is_refused(client, company):
    bus = factories.bus(company, plate="RAK 111K")
    other = a_trip(company, bus=bus, hours=30)
    local = other.departs_at.astimezone(company_zone(company))
    response = client.submit(
        "/console/trips/new",
        {
            "route_id": factories.route(company).id,
            "day": local.date().isoformat(),
            "departure": local.strftime("%H:%M"),
            "bus_id": bus.id,
        },
    )
    assert response.status_code == 409
    assert f"Bus RAK 111K is already on trip {other.id}" in text(response)
    assert db.session.scalar(select(func.count()).select_from(Trip)) == 1


def test_a_one_off_trip_needs_a_route_of_ours_and_a_time(client, company):
    foreign = factories.route(factories.company())
    response = client.submit("/console/trips/new", {"route_id": foreign.id, "day": "2030-01-01", "departure": "25:99"})
    assert response.status_code == 422
    page = text(response)
    assert "Not a valid choice" in page and "Not a valid time value" in page


# --- Status --------------------------------------------------------------------------------------


def test_the_trip_page_shows_stops_occupancy_per_leg_and_the_next_statuses(client, company):
    trip = a_trip(company)
    names = [stop.station.name for stop in trip.stops]
    factories.order(trip, ["1A", "1B"], origin=0, destination=1)
    factories.order(trip, ["2A"], origin=0, destination=2)
    page = text(client.get(f"/console/trips/{trip.id}"))
    assert f"{names[0]} → {names[1]}" in page and "3/12" in page
    assert f"{names[1]} → {names[2]}" in page and "1/12" in page
    assert trip.time_at(2).astimezone(company_zone(company)).strftime("%H:%M") in page
    assert 'value="boarding"' in page and 'value="departed"' in page and 'value="arrived"' not in page
    assert "Yes, cancel the trip" in page


def test_a_trip_moves_through_its_statuses(client, company):
    trip = a_trip(company, hours=0.25)
    for target in ("boarding", "departed", "arrived"):
        response = client.submit(f"/console/trips/{trip.id}/status", {"status": target})
        assert response.status_code == 303, target
        assert stored(trip).status == target
    page = text(client.get(f"/console/trips/{trip.id}"))
    assert "The trip is now arrived." in page
    assert 'name="status"' not in page and "Save the delay" not in page  # nothing left to do


FORBIDDEN = [
    ("scheduled", "arrived"),
    ("scheduled", "scheduled"),
    ("boarding", "scheduled"),
    ("departed", "boarding"),
    ("departed", "scheduled"),
    ("departed", "cancelled"),
    *[("arrived", target) for target in rules.TRIP_STATUSES],
    *[("cancelled", target) for target in rules.TRIP_STATUSES],
]


@pytest.mark.parametrize(("start", "target"), FORBIDDEN)
def test_every_forbidden_transition_is_refused_with_a_reason(client, company, start, target):
    trip = a_trip(company, status=start)
    response = client.submit(f"/console/trips/{trip.id}/status", {"status": target})
    assert response.status_code == 409
    expected = (
        "Cancel a trip with its reason, from the cancel form."
        if target == "cancelled"
        else rules.transition_refusal(start, target)
    )
    assert expected in text(response)
    assert stored(trip).status == start


def test_a_refusal_reaches_htmx_as_a_toast(client, company):
    trip = a_trip(company, status="arrived")
    response = client.htmx("post", f"/console/trips/{trip.id}/status", data={"status": "boarding"})
    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == "#toasts"
    assert "its status can no longer change" in text(response)


def test_a_trip_hours_away_cannot_be_marked_departed(client, company):
    trip = a_trip(company, hours=5)
    response = client.submit(f"/console/trips/{trip.id}/status", {"status": "departed"})
    assert response.status_code == 409
    leaves = trip.departs_at.astimezone(company_zone(company))
    start = leaves - timedelta(minutes=30)
    assert f"Too early: this trip leaves {leaves:%a %d %b %H:%M}; it can start from {start:%a %d %b %H:%M}." in text(
        response
    )
    assert stored(trip).status == "scheduled"
    page = text(client.get(f"/console/trips/{trip.id}"))
    opens = leaves - timedelta(hours=2)
    assert f"Boarding opens at {opens:%a %d %b %H:%M}." in page
    assert f"The bus can leave from {start:%a %d %b %H:%M}." in page


def test_an_unknown_status_is_a_field_error(client, company):
    trip = a_trip(company)
    response = client.submit(f"/console/trips/{trip.id}/status", {"status": "flying"})
    assert response.status_code == 422
    assert "Not a valid choice" in text(response) and stored(trip).status == "scheduled"


def test_boarding_needs_a_bus(client, company):
    trip = a_trip(company, bus=None)
    response = client.submit(f"/console/trips/{trip.id}/status", {"status": "boarding"})
    assert response.status_code == 409 and "Assign a bus before boarding" in text(response)


def test_dispatchers_run_trips_too(client, login_as):
    dispatcher = login_as("dispatcher")
    trip = a_trip(dispatcher.memberships[0].company, hours=1)
    assert client.get("/console/trips").status_code == 200
    assert client.submit(f"/console/trips/{trip.id}/status", {"status": "boarding"}).status_code == 303
    assert stored(trip).status == "boarding"


# --- Edits of a trip that left or ended ----------------------------------------------------------


def edit_requests(trip: Trip, company) -> dict[str, dict]:
    later = (trip.departs_at + timedelta(hours=1)).astimezone(company_zone(company))
    return {
        "delay": {"day": later.date().isoformat(), "new_departure": later.strftime("%H:%M"), "reason": "Traffic"},
        "assign": {"driver_id": factories.member("driver", of=company).id},
        "cancel": {"reason": "Storm"},
        "swap": {"bus_id": factories.bus(company, rows=5).id},
    }


@pytest.mark.parametrize("status", ["departed", "arrived", "cancelled"])
@pytest.mark.parametrize("action", ["delay", "assign", "cancel", "swap"])
def test_a_trip_that_left_ended_or_was_cancelled_cannot_be_edited(client, company, status, action):
    trip = a_trip(company, status=status)
    before = (trip.departs_at, trip.bus_id, trip.driver_id, trip.delay_reason)
    response = client.submit(f"/console/trips/{trip.id}/{action}", edit_requests(trip, company)[action])
    assert response.status_code == 409
    refusal = rules.transition_refusal if action == "cancel" else lambda status, _: rules.not_editable_reason(status)
    assert refusal(status, "cancelled") in text(response)
    after = stored(trip)
    assert after.status == status
    assert (after.departs_at, after.bus_id, after.driver_id, after.delay_reason) == before


# --- Assign, delay, cancel -----------------------------------------------------------------------


def test_a_bus_and_driver_are_assigned(client, company):
    trip = a_trip(company, bus=None)
    bus = factories.bus(company, plate="RAE 555C")
    driver = factories.member("driver", of=company, name="Eric Nkusi")
    response = client.submit(f"/console/trips/{trip.id}/assign", {"bus_id": bus.id, "driver_id": driver.id})
    assert response.status_code == 303
    assert (stored(trip).bus_id, stored(trip).driver_id) == (bus.id, driver.id)
    assert "Saved: bus RAE 555C, driver Eric Nkusi." in text(client.get(response.headers["Location"]))


def test_an_overlapping_bus_is_refused_naming_the_other_trip(client, company):
    bus = factories.bus(company, plate="RAC 777B")
    other = a_trip(company, bus=bus, hours=5)
    trip = a_trip(company, bus=None, hours=6)
    response = client.submit(f"/console/trips/{trip.id}/assign", {"bus_id": bus.id})
    assert response.status_code == 409
    page = text(response)
    assert f"Bus RAC 777B is already on trip {other.id} ({other.route.name}" in page
    assert stored(trip).bus_id is None


def test_an_overlapping_driver_is_refused_naming_the_other_trip(client, company):
    driver = factories.member("driver", of=company, name="Claude Habimana")
    other = a_trip(company, driver=driver, hours=5)
    trip = a_trip(company, hours=5, bus=True)
    response = client.submit(f"/console/trips/{trip.id}/assign", {"driver_id": driver.id})
    assert response.status_code == 409
    assert f"Claude Habimana is already driving trip {other.id}" in text(response)
    assert stored(trip).driver_id is None


def test_another_companys_driver_or_bus_is_not_a_choice(client, company):
    trip = a_trip(company, bus=None)
    outsider = factories.member("driver", of=factories.company())
    foreign_bus = factories.bus(factories.company())
    response = client.submit(f"/console/trips/{trip.id}/assign", {"bus_id": foreign_bus.id, "driver_id": outsider.id})
    assert response.status_code == 422 and "Not a valid choice" in text(response)
    assert stored(trip).bus_id is None and stored(trip).driver_id is None


def test_a_delay_moves_the_departure_and_is_shown(client, company):
    trip = a_trip(company)
    later = (trip.departs_at + timedelta(minutes=45)).astimezone(company_zone(company))
    response = client.submit(
        f"/console/trips/{trip.id}/delay",
        {"day": later.date().isoformat(), "new_departure": later.strftime("%H:%M"), "reason": "Heavy rain"},
    )
    assert response.status_code == 303
    assert stored(trip).delay == timedelta(minutes=45)
    page = text(client.get(response.headers["Location"]))
    assert "45 minutes late" in page and "Delayed 45 min" in page and "Heavy rain" in page


def test_a_delay_earlier_than_planned_is_a_field_error(client, company):
    trip = a_trip(company)
    earlier = (trip.departs_at - timedelta(minutes=30)).astimezone(company_zone(company))
    response = client.submit(
        f"/console/trips/{trip.id}/delay",
        {"day": earlier.date().isoformat(), "new_departure": earlier.strftime("%H:%M"), "reason": "Oops"},
    )
    assert response.status_code == 422
    assert "A delay moves the departure later than planned." in text(response)
    assert stored(trip).delay == timedelta(0)


def test_a_delay_into_the_next_trip_of_the_bus_is_refused_and_changes_nothing(client, company):
    bus = factories.bus(company)
    trip = a_trip(company, bus=bus, hours=5)  # 2 hours long
    following = a_trip(company, bus=bus, hours=8)
    later = (trip.departs_at + timedelta(hours=2)).astimezone(company_zone(company))
    response = client.submit(
        f"/console/trips/{trip.id}/delay",
        {"day": later.date().isoformat(), "new_departure": later.strftime("%H:%M"), "reason": "Engine"},
    )
    assert response.status_code == 409
    page = text(response)
    assert f"is already on trip {following.id}" in page
    # the page shows the trip as it is, not as the refused delay would have made it
    assert "Delayed" not in page and stored(trip).delay == timedelta(0)


def test_cancelling_needs_a_reason(client, company):
    trip = a_trip(company)
    response = client.submit(f"/console/trips/{trip.id}/cancel", {"reason": "   "})
    assert response.status_code == 422
    assert "Say why the trip is cancelled" in text(response)
    assert stored(trip).status == "scheduled"


def test_cancelling_records_the_reason(client, company):
    trip = a_trip(company)
    factories.order(trip, ["1A"])
    response = client.submit(f"/console/trips/{trip.id}/cancel", {"reason": "Road closed at Nyabugogo"})
    assert response.status_code == 303
    assert (stored(trip).status, stored(trip).cancel_reason) == ("cancelled", "Road closed at Nyabugogo")
    page = text(client.get(response.headers["Location"]))
    assert "The trip is cancelled" in page and "Cancelled: Road closed at Nyabugogo" in page


# --- Bus swap ------------------------------------------------------------------------------------


def seats_on(trip: Trip) -> list[str]:
    db.session.expire_all()
    return sorted(t.seat_label for t in db.session.scalars(select(Ticket).where(Ticket.trip_id == trip.id)))


def test_the_swap_page_lists_buses_with_seats_and_whether_they_can_go(client, company):
    trip = a_trip(company, bus=factories.bus(company, rows=3))
    factories.order(trip, ["1A", "1B", "1C", "1D", "2A", "2B"])
    factories.order(trip, ["2C", "2D", "3A"])
    factories.bus(company, plate="RAA 100A", rows=10, vip_rows=2)
    factories.bus(company, plate="RAA 200A", rows=2)
    busy = factories.bus(company, plate="RAA 300A", rows=10)
    other = a_trip(company, bus=busy, hours=5)
    factories.bus(company, plate="RAA 400A", status="maintenance")
    page = text(client.get(f"/console/trips/{trip.id}/swap"))
    table_rows = re.findall(r"<tr>.*?</tr>", page, re.S)
    rows = {re.search(r"RAA \d+A", row).group(0): row for row in table_rows if "RAA" in row}
    assert re.search(r">40</td>\s*<td[^>]*>8</td>", rows["RAA 100A"]) and "Free" in rows["RAA 100A"]
    assert "Too small: 9 Standard needed" in rows["RAA 200A"]
    assert f"Busy: trip {other.id}" in rows["RAA 300A"]
    assert "RAA 400A" not in rows  # in the workshop


def test_a_swap_reseats_passengers_and_says_so(client, company):
    trip = a_trip(company, bus=factories.bus(company, rows=3))
    factories.order(trip, ["1A"])
    factories.order(trip, ["3C", "3D"])
    smaller = factories.bus(company, plate="RAB 321C", rows=2)
    response = client.submit(f"/console/trips/{trip.id}/swap", {"bus_id": smaller.id})
    assert response.status_code == 303
    assert stored(trip).bus_id == smaller.id
    seats = seats_on(trip)
    assert len(set(seats)) == 3 and set(seats) <= {s.label for s in smaller.seats} and "1A" in seats
    assert "Bus changed to RAB 321C; 2 passengers re-seated." in text(client.get(response.headers["Location"]))


def test_a_swap_to_a_bus_too_small_is_refused(client, company):
    old = factories.bus(company, rows=3)
    trip = a_trip(company, bus=old)
    factories.order(trip, ["1A", "1B", "1C", "1D", "2A", "2B"])
    factories.order(trip, ["2C", "2D", "3A"])
    small = factories.bus(company, plate="RAF 808F", rows=2)
    response = client.submit(f"/console/trips/{trip.id}/swap", {"bus_id": small.id})
    assert response.status_code == 409
    assert "Bus RAF 808F has 8 seats but 9 passengers hold tickets." in text(response)
    assert stored(trip).bus_id == old.id and "3A" in seats_on(trip)


def test_a_swap_without_enough_vip_seats_is_refused(client, company):
    old = factories.bus(company, rows=3, vip_rows=1)
    trip = a_trip(company, bus=old)
    factories.order(trip, ["1A", "1B", "1C"])  # three VIP passengers
    fewer_vip = factories.bus(company, plate="RAG 909G", layout="1A* 1B* _ 1C 1D\n2A 2B _ 2C 2D\n3A 3B _ 3C 3D")
    response = client.submit(f"/console/trips/{trip.id}/swap", {"bus_id": fewer_vip.id})
    assert response.status_code == 409
    assert "Bus RAG 909G has 2 VIP seats but 3 VIP passengers travel together." in text(response)
    assert stored(trip).bus_id == old.id


def test_a_swap_needs_one_of_the_listed_buses(client, company):
    trip = a_trip(company)
    foreign = factories.bus(factories.company())
    assert client.submit(f"/console/trips/{trip.id}/swap", {}).status_code == 422
    response = client.submit(f"/console/trips/{trip.id}/swap", {"bus_id": foreign.id})
    assert response.status_code == 422 and "Choose one of the buses listed." in text(response)


def test_the_swap_page_of_a_departed_trip_says_why_nothing_can_change(client, company):
    trip = a_trip(company, status="departed")
    factories.bus(company)
    page = text(client.get(f"/console/trips/{trip.id}/swap"))
    assert "The trip is departed and can no longer be changed." in page
    assert "Put this bus on the trip" not in page


# --- Manifest ------------------------------------------------------------------------------------


def test_one_passenger_is_one_passenger(client, company):
    trip = a_trip(company)
    book(trip, ["Grace Mukamana"], ["2A"])
    assert re.search(r"\b1 passenger for \d+ seats", text(client.get(f"/console/trips/{trip.id}")))
    assert "1 passenger with a ticket." in text(client.get(f"/console/trips/{trip.id}/swap"))
    manifest = text(client.get(f"/console/trips/{trip.id}/manifest"))
    assert "· 1 passenger" in manifest and "1 passengers" not in manifest


def manifest_stop(client, trip: Trip, position: int) -> str:
    """The text of one stop's section of the manifest page."""
    html = client.get(f"/console/trips/{trip.id}/manifest").get_data(as_text=True)
    section = re.search(rf'<section [^>]*data-manifest-stop="{position}">(.*?)</section>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", section.group(1)).split())


def test_the_manifest_lists_every_paid_passenger_under_the_stop_they_board_at(client, company):
    trip = a_trip(company)
    paid = book(trip, ["Grace Mukamana", "Patrick Ndayisaba"], ["2A", "2B"])
    later = book(trip, ["Eric Habimana"], ["3A"], origin=1)
    book(trip, ["Diane Iradukunda"], ["3D"], paid=False)
    page = text(client.get(f"/console/trips/{trip.id}/manifest"))
    first, second = (manifest_stop(client, trip, position) for position in (0, 1))
    assert trip.stops[0].station.name in first and trip.stops[1].station.name in second
    assert "Grace Mukamana" in first and "Patrick Ndayisaba" in first and "Eric Habimana" not in first
    assert "Eric Habimana" in second
    assert "Diane Iradukunda" not in page  # not paid: nobody to board yet (the CSV lists the pending seat)
    assert paid.tickets[0].code in page and later.tickets[0].code in page
    assert "· 3 passengers" in page and "0 boarded · 2 not yet" in page and "0 boarded · 1 not yet" in page
    assert page.index("Grace Mukamana") < page.index("Patrick Ndayisaba")


def test_the_manifest_csv_has_a_header_and_one_row_per_ticket_with_formulas_defused(client, company):
    trip = a_trip(company)
    order = book(trip, ["=cmd|' /C calc'!A0", "Olive Uwimana", "@SUM(1+1)"], ["1A", "1B", "1C"])
    response = client.get(f"/console/trips/{trip.id}/manifest.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"manifest-trip-{trip.id}-" in disposition
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Seat", "Passenger", "Phone", "From", "To", "Class", "Ticket", "Payment", "Boarded at"]
    assert len(rows) == 1 + 3
    by_seat = {row[0]: row for row in rows[1:]}
    assert by_seat["1A"][1] == "'=cmd|' /C calc'!A0"
    assert by_seat["1B"][1] == "Olive Uwimana"
    assert by_seat["1C"][1] == "'@SUM(1+1)"
    assert by_seat["1B"][6] in {t.code for t in order.tickets} and by_seat["1B"][7] == "paid"
    assert by_seat["1B"][3] == trip.stops[0].station.name


def test_boarding_shows_on_the_manifest(now, client, company):
    trip = a_trip(company)
    order = book(trip, ["Bosco Nshimiyimana"], ["1A"])
    order.tickets[0].boarded_at = now
    db.session.flush()
    local = now.astimezone(company_zone(company))
    assert local.strftime("%H:%M") in text(client.get(f"/console/trips/{trip.id}/manifest"))
    rows = list(csv.reader(io.StringIO(client.get(f"/console/trips/{trip.id}/manifest.csv").get_data(as_text=True))))
    assert rows[1][8] == local.strftime("%Y-%m-%d %H:%M")


def test_the_manifest_shows_who_boarded_the_no_shows_and_the_offline_duplicates(now, client, admin, company):
    trip = a_trip(company, status="boarding", hours=1)
    order = book(trip, ["Bosco Nshimiyimana", "Claudine Mutesi", "Jean Bosco"], ["1A", "1B", "1C"])
    bosco, claudine, jean = order.tickets
    boarding.scan(admin, trip.id, code=bosco.code, device="door phone", now=now)
    for device, seconds in (("front phone", 0), ("back phone", 40)):
        at = (now + timedelta(seconds=seconds)).isoformat()
        scan = {"scan_id": f"{device}-1", "code": claudine.code, "scanned_at": at, "result_on_device": "boarded"}
        boarding.upload(admin, trip.id, [scan], device=device, now=now + timedelta(minutes=1))
    boarding.depart_stop(admin, trip.id, 0, no_shows=[jean.code], now=now + timedelta(minutes=2))
    db.session.commit()

    page = text(client.get(f"/console/trips/{trip.id}/manifest"))
    assert re.search(r"Boarded 2 Not yet boarded 0 No-shows 1", " ".join(re.sub(r"<[^>]+>", " ", page).split()))
    stop = manifest_stop(client, trip, 0)
    assert "2 boarded · 0 not yet · 1 no-show" in stop
    assert re.search(r"Bosco Nshimiyimana .*? Boarded", stop) and re.search(r"Jean Bosco .*? No-show", stop)
    duplicates = page.split("Boarded twice with no signal", 1)[1].split("</section>", 1)[0]
    assert claudine.code in duplicates and "front phone" in duplicates and "back phone" in duplicates
    assert bosco.code not in duplicates
    assert "2 boarded" in text(client.get(f"/console/trips/{trip.id}"))  # the trip page links to it


# --- Tenant isolation ----------------------------------------------------------------------------

URLS = [
    ("get", "/console/trips/{id}"),
    ("post", "/console/trips/{id}/status"),
    ("post", "/console/trips/{id}/assign"),
    ("post", "/console/trips/{id}/delay"),
    ("post", "/console/trips/{id}/cancel"),
    ("get", "/console/trips/{id}/swap"),
    ("post", "/console/trips/{id}/swap"),
    ("get", "/console/trips/{id}/manifest"),
    ("get", "/console/trips/{id}/manifest.csv"),
]


@pytest.mark.parametrize(("method", "url"), URLS)
def test_another_companys_trip_is_not_found(client, company, method, url):
    other = factories.company()
    trip = a_trip(other)
    factories.order(trip, ["1A"])
    path = url.format(id=trip.id)
    if method == "get":
        response = client.get(path)
    else:
        response = client.submit(path, {"status": "boarding", "reason": "x", "bus_id": factories.bus(company).id})
    assert response.status_code == 404
    assert stored(trip).status == "scheduled"
