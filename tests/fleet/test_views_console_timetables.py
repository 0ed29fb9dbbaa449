"""Timetables in the console: saving one generates its trips for the coming days at once, running
the generation again adds none, bad input gets field errors, another company's timetable is 404."""

from __future__ import annotations

import html
import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.fleet.models import Timetable, Trip
from app.fleet.services import trips
from tests import factories


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def company(admin):
    return admin.memberships[0].company


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def trips_of(timetable_id: int) -> list[Trip]:
    db.session.expire_all()
    return list(db.session.scalars(select(Trip).where(Trip.timetable_id == timetable_id).order_by(Trip.departs_at)))


def created_in(flash: str) -> int:
    match = re.search(r"(\d+) trips? created", flash)
    assert match, f"no count in {flash!r}"
    return int(match.group(1))


def form(route, **values) -> dict:
    return {
        "route_id": route.id,
        "departure_time": "23:50",
        "weekdays": [str(day) for day in range(7)],
        "bus_id": "",
        "driver_id": "",
        "valid_from": date.today().isoformat(),
        "valid_to": "",
        "is_active": "y",
        **values,
    }


def test_a_new_timetable_generates_its_trips_for_the_coming_days(client, company):
    route = factories.route(company, name="Kigali – Huye")
    bus = factories.bus(company, plate="RAH 246K")
    driver = factories.member("driver", of=company, name="Innocent Bizimana")
    today = trips.today_for(company)
    response = client.submit(
        "/console/timetables/new",
        form(route, bus_id=bus.id, driver_id=driver.id, valid_from=today.isoformat()),
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/timetables")

    timetable = db.session.scalar(select(Timetable).where(Timetable.route_id == route.id))
    assert (timetable.departure_time, timetable.weekdays, timetable.bus_id) == (time(23, 50), 127, bus.id)
    generated = trips_of(timetable.id)
    days = [t.service_date for t in generated]
    # every coming day once (today too, unless 23:50 has already gone by)
    assert days == sorted(set(days)) and len(days) in (company.days_ahead - 1, company.days_ahead)
    assert days[-1] == today + timedelta(days=company.days_ahead - 1)
    assert all(t.bus_id == bus.id and t.driver_id == driver.id for t in generated)

    page = text(client.get(response.headers["Location"]))
    assert f"Timetable saved; {len(generated)} trips created" in page
    assert "Kigali – Huye" in page and "23:50" in page and "Every day" in page
    assert "RAH 246K" in page and "Innocent Bizimana" in page

    tomorrow = today + timedelta(days=1)
    listed = text(client.get(f"/console/trips?date={tomorrow.isoformat()}"))
    assert "Kigali – Huye" in listed.split('id="trip-results"', 1)[1]


def test_generating_twice_creates_no_duplicates(client, company):
    route = factories.route(company)
    timetable = trips.save_timetable(
        None,
        company,
        None,
        route=route,
        departure_time=time(23, 50),
        weekdays=0b0011111,
        bus=None,
        driver_id=None,
        valid_from=trips.today_for(company),
        valid_to=None,
        is_active=True,
    )
    first = client.submit("/console/timetables/generate")
    assert first.status_code == 303
    first_count = created_in(text(client.get(first.headers["Location"])))
    assert first_count == len(trips_of(timetable.id)) > 0
    assert all(t.service_date.weekday() < 5 for t in trips_of(timetable.id))  # Monday to Friday only

    second = client.submit("/console/timetables/generate")
    assert "0 trips created" in text(client.get(second.headers["Location"]))
    assert len(trips_of(timetable.id)) == first_count


def test_saving_again_adds_only_what_is_missing(client, company):
    route = factories.route(company)
    client.submit("/console/timetables/new", form(route))
    timetable = db.session.scalar(select(Timetable).where(Timetable.route_id == route.id))
    before = len(trips_of(timetable.id))
    response = client.submit(f"/console/timetables/{timetable.id}", form(route, departure_time="23:55"))
    assert response.status_code == 303
    assert "0 trips created" in text(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Timetable, timetable.id).departure_time == time(23, 55)
    assert len(trips_of(timetable.id)) == before


def test_the_edit_page_shows_the_timetable(client, company):
    route = factories.route(company, name="Huye – Nyamagabe")
    timetable = trips.save_timetable(
        None,
        company,
        None,
        route=route,
        departure_time=time(6, 45),
        weekdays=0b1000001,
        bus=None,
        driver_id=None,
        valid_from=date(2030, 1, 1),
        valid_to=date(2030, 6, 30),
        is_active=False,
    )
    page = text(client.get(f"/console/timetables/{timetable.id}"))
    assert 'value="06:45"' in page and 'value="2030-06-30"' in page
    checked = {tag for tag in re.findall(r"<input[^>]*>", page) if " checked" in tag}
    assert {re.search(r'value="(\w+)"', tag).group(1) for tag in checked if 'name="weekdays"' in tag} == {"0", "6"}
    assert not any('name="is_active"' in tag for tag in checked)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"weekdays": []}, "Pick at least one day of the week."),
        ({"departure_time": "7h"}, "Not a valid time value."),
        ({"valid_from": "2030-05-02", "valid_to": "2030-05-01"}, "The end date comes after the start date."),
        ({"valid_from": ""}, "Choose the first day."),
        ({"weekdays": ["9"]}, "not a valid choice"),
    ],
)
def test_bad_input_gets_field_errors(client, company, values, message):
    route = factories.route(company)
    response = client.submit("/console/timetables/new", form(route, **values))
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(func.count()).select_from(Timetable)) == 0


def test_another_companys_route_bus_or_driver_is_not_a_choice(client, company):
    other = factories.company()
    for values in (
        {"route_id": factories.route(other).id},
        {"bus_id": factories.bus(other).id},
        {"driver_id": factories.member("driver", of=other).id},
    ):
        response = client.submit("/console/timetables/new", form(factories.route(company), **values))
        assert response.status_code == 422 and "Not a valid choice" in text(response)


def test_a_route_needs_two_stops(client, company):
    route = factories.route(company, stops=1)
    response = client.submit("/console/timetables/new", form(route))
    assert response.status_code == 422 and "This route needs at least two stops." in text(response)


def test_dispatchers_manage_timetables_too(client, login_as):
    dispatcher = login_as("dispatcher")
    route = factories.route(dispatcher.memberships[0].company)
    assert client.get("/console/timetables").status_code == 200
    assert client.submit("/console/timetables/new", form(route)).status_code == 303


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_companys_timetable_is_not_found(client, company, method):
    other = factories.company()
    route = factories.route(other)
    timetable = Timetable(
        company_id=other.id, route_id=route.id, departure_time=time(8, 0), weekdays=127, valid_from=date(2030, 1, 1)
    )
    db.session.add(timetable)
    db.session.flush()
    url = f"/console/timetables/{timetable.id}"
    response = client.get(url) if method == "get" else client.submit(url, form(factories.route(company)))
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Timetable, timetable.id).route_id == route.id


def test_generation_only_touches_our_timetables(client, company):
    other = factories.company()
    trips.save_timetable(
        None,
        other,
        None,
        route=factories.route(other),
        departure_time=time(23, 50),
        weekdays=127,
        bus=None,
        driver_id=None,
        valid_from=date.today(),
        valid_to=None,
        is_active=True,
    )
    client.submit("/console/timetables/generate")
    assert db.session.scalar(select(func.count()).select_from(Trip).where(Trip.company_id == other.id)) == 0


# --- A driver busy at some of the timetable's times ------------------------------------------------


@pytest.fixture
def busy_week(company):
    """A timetable-to-be at 07:00 every day, and its driver already on another trip at 06:30 on the
    third and fifth coming days."""
    route = factories.route(company, name="Kigali – Huye")  # an hour long
    other_route = factories.route(company, name="Kigali – Musanze")
    driver = factories.member("driver", of=company, name="Innocent Bizimana")
    today = trips.today_for(company)
    busy_days = [today + timedelta(days=3), today + timedelta(days=5)]
    taken = [
        factories.trip(
            other_route, driver=driver, departs_at=trips.local_datetime(company, day, time(6, 30)), bus_=None
        )
        for day in busy_days
    ]
    values = form(route, departure_time="07:00", driver_id=driver.id, valid_from=today.isoformat())
    return route, driver, taken, values


def test_a_busy_driver_is_not_dropped_silently_the_manager_is_told_which_trips(client, company, busy_week):
    """Saving used to drop the driver from every trip at a busy time without a word."""
    route, driver, taken, values = busy_week
    response = client.submit("/console/timetables/new", values)
    assert response.status_code == 409
    page = text(response)
    assert "Innocent Bizimana is already driving at the time of 2 trips this timetable would create." in page
    assert "Nothing is saved yet." in page
    for other in taken:
        leaves = other.departs_at.astimezone(trips.zone(company))
        assert f"on trip {other.id}, Kigali – Musanze, {leaves:%H:%M}–" in page
        assert f"/console/trips/{other.id}" in page
    assert f'name="busy_driver" value="leave-off:{driver.id}"' in page
    assert "Pick another driver" in page and "Cancel: save nothing" in page
    # Enter in a field submits the first button: the plain save, which asks again.
    assert page.index(">Save timetable</button>") < page.index('name="busy_driver"')
    assert db.session.scalar(select(func.count()).select_from(Timetable).where(Timetable.route_id == route.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Trip).where(Trip.route_id == route.id)) == 0


def test_the_manager_saves_leaving_the_busy_driver_off_those_trips(client, company, busy_week):
    route, driver, taken, values = busy_week
    response = client.submit("/console/timetables/new", {**values, "busy_driver": f"leave-off:{driver.id}"})
    assert response.status_code == 303
    timetable = db.session.scalar(select(Timetable).where(Timetable.route_id == route.id))
    made = trips_of(timetable.id)
    busy_days = {other.service_date for other in taken}
    assert {t.service_date for t in made if t.driver_id is None} == busy_days
    assert all(t.driver_id == driver.id for t in made if t.service_date not in busy_days)
    flash = text(client.get(response.headers["Location"]))
    assert f"{len(made)} trips created" in flash
    assert "2 of them have no driver, as you chose: assign one on the trips page." in flash


def test_the_manager_picks_another_driver_instead(client, company, busy_week):
    route, driver, _, values = busy_week
    colleague = factories.member("driver", of=company, name="Aline Mukeshimana")
    # Another driver, free at those times: saved with no question (the earlier choice is moot).
    response = client.submit(
        "/console/timetables/new", {**values, "driver_id": colleague.id, "busy_driver": f"leave-off:{driver.id}"}
    )
    assert response.status_code == 303
    timetable = db.session.scalar(select(Timetable).where(Timetable.route_id == route.id))
    assert {t.driver_id for t in trips_of(timetable.id)} == {colleague.id}


def test_a_choice_made_for_another_driver_asks_again(client, company, busy_week):
    route, driver, _, values = busy_week
    colleague = factories.member("driver", of=company)
    response = client.submit("/console/timetables/new", {**values, "busy_driver": f"leave-off:{colleague.id}"})
    assert response.status_code == 409 and "Innocent Bizimana is already driving" in text(response)
    assert db.session.scalar(select(func.count()).select_from(Timetable).where(Timetable.route_id == route.id)) == 0
