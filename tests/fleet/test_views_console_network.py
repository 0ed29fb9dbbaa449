"""Console pages for routes (ordered stops, times, distances, leg fares) and the fare matrix."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.fleet.models import Route
from app.fleet.services import network
from tests import factories


@pytest.fixture
def company(login_as):
    return login_as("admin").memberships[0].company


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def route_form(name: str, stations, minutes, km, fares, **extra) -> dict:
    return {
        "name": name,
        "vip_markup_percent": "50",
        "is_active": "y",
        "station_id": [str(s.id) if s is not None else "" for s in stations],
        "minutes": [str(m) for m in minutes],
        "km": [str(k) for k in km],
        "leg_fare": [str(f) for f in fares],
        **extra,
    }


def saved_route(company, name: str) -> Route:
    db.session.expire_all()
    return db.session.scalar(select(Route).where(Route.company_id == company.id, Route.name == name))


def three_stations():
    return (
        factories.station(name="Nyabugogo", city="Kigali"),
        factories.station(name="Muhanga Park", city="Muhanga"),
        factories.station(name="Huye Park", city="Huye"),
    )


def test_a_route_is_created_with_ordered_stops_and_listed(client, company):
    kigali, muhanga, huye = three_stations()
    response = client.submit(
        "/console/routes/new",
        route_form("Kigali – Huye", [kigali, muhanga, huye], [0, 60, 150], [0, 50, 135], [0, 1500, 2000]),
    )
    assert response.status_code == 303

    route = saved_route(company, "Kigali – Huye")
    assert [s.station.name for s in route.stops] == ["Nyabugogo", "Muhanga Park", "Huye Park"]
    assert [s.minutes_from_start for s in route.stops] == [0, 60, 150]
    assert route.duration_minutes == 150
    listing = text(client.get("/console/routes"))
    assert "Kigali – Huye" in listing and "Nyabugogo" in listing and "Huye Park" in listing

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "route.created"))
    assert entry.company_id == company.id and "Huye Park" in str(entry.after)


def test_the_stops_editor_adds_moves_and_removes_rows_without_saving(client, company):
    kigali, muhanga, huye = three_stations()
    form = route_form("Draft", [kigali, huye, muhanga], [0, 150, 60], [0, 135, 50], [0, 2000, 1500])

    moved = text(client.htmx("post", "/console/routes/new", data={**form, "op": "down-1"}))
    rows = moved.split('name="station_id"')[1:]
    assert [f'value="{s.id}" selected' in row for row, s in zip(rows, (kigali, muhanga, huye), strict=True)] == [
        True
    ] * 3

    added = text(client.htmx("post", "/console/routes/new", data={**form, "op": "add"}))
    assert added.count('name="station_id"') == 4 and "<html" not in added
    removed = text(client.htmx("post", "/console/routes/new", data={**form, "op": "remove-2"}))
    assert removed.count('name="station_id"') == 2
    assert saved_route(company, "Draft") is None


@pytest.mark.parametrize(
    ("stops", "message"),
    [
        ("unknown", "Choose a station from the list."),
        ("one", "A route needs at least two stops."),
        ("repeat", "This station is already on the route."),
        ("backwards", "Each stop comes later than the one before."),
        ("negative", "The fare for this leg is a whole amount, 0 or more."),
        ("shrinking", "Distances grow along the route."),
        ("garbage", "Minutes from the first stop: 0 to 2880."),
    ],
)
def test_bad_stops_get_field_errors_and_save_nothing(client, company, stops, message):
    a, b, c = three_stations()
    forms = {
        "unknown": route_form("Bad", [a, None], [0, 60], [0, 50], [0, 1000]),
        "one": route_form("Bad", [a], [0], [0], [0]),
        "repeat": route_form("Bad", [a, b, a], [0, 60, 120], [0, 50, 100], [0, 1000, 1000]),
        "backwards": route_form("Bad", [a, b, c], [0, 90, 60], [0, 50, 100], [0, 1000, 1000]),
        "negative": route_form("Bad", [a, b], [0, 60], [0, 50], [0, -500]),
        "shrinking": route_form("Bad", [a, b, c], [0, 60, 120], [0, 80, 40], [0, 1000, 1000]),
        "garbage": route_form("Bad", [a, b], [0, "soon"], [0, 50], [0, 1000]),
    }
    unknown_station = forms["unknown"]
    unknown_station["station_id"] = [str(a.id), "999999"]
    response = client.submit("/console/routes/new", forms[stops])
    assert response.status_code == 422
    assert message in text(response)
    assert saved_route(company, "Bad") is None


def test_a_blank_name_and_a_taken_name_are_field_errors(client, company):
    a, b, _ = three_stations()
    factories.route(company, name="Kigali – Huye")
    blank = client.submit("/console/routes/new", route_form("", [a, b], [0, 60], [0, 50], [0, 1000]))
    assert blank.status_code == 422 and "This field is required." in text(blank)
    taken = client.submit("/console/routes/new", route_form("Kigali – Huye", [a, b], [0, 60], [0, 50], [0, 1000]))
    assert taken.status_code == 422 and "Another route already has this name." in text(taken)


def edit_form(route: Route, keep: list[int], **changes) -> dict:
    stops = [route.stops[i] for i in keep]
    return route_form(
        changes.get("name", route.name),
        [s.station for s in stops],
        [s.minutes_from_start for s in stops],
        [s.km_from_start for s in stops],
        [s.leg_fare for s in stops],
    )


def test_a_route_with_sold_trips_cannot_lose_a_stop(client, company):
    route = factories.route(company, stops=3, name="Kigali – Huye")
    trip = factories.trip(route, bus_=factories.bus(company))
    factories.order(trip, ["1A"])
    lost = route.stops[1].station.name

    response = client.submit(f"/console/routes/{route.id}", edit_form(route, [0, 2]))
    assert response.status_code == 409
    assert f"so {lost} cannot be removed" in text(response)
    assert len(saved_route(company, "Kigali – Huye").stops) == 3


def test_changes_follow_onto_unsold_coming_trips(client, company):
    route = factories.route(company, stops=3, name="Kigali – Huye")
    trip = factories.trip(route, departs_at=datetime.now(UTC) + timedelta(days=2))

    response = client.submit(f"/console/routes/{route.id}", edit_form(route, [0, 2]))
    assert response.status_code == 303
    db.session.expire_all()
    assert [s.position for s in db.session.get(type(trip), trip.id).stops] == [0, 1]


def test_another_companys_route_is_not_found(client, company):
    theirs = factories.route(factories.company())
    assert client.get(f"/console/routes/{theirs.id}").status_code == 404
    assert client.get(f"/console/routes/{theirs.id}/fares").status_code == 404


# --- Fares -----------------------------------------------------------------------------------


def test_the_fare_matrix_shows_defaults_and_keeps_amounts_set_by_hand(client, company):
    route = factories.route(company, stops=3, leg_fare=2000, vip_markup_percent=50)
    first, middle, last = (s.station_id for s in route.stops)

    page = text(client.get(f"/console/routes/{route.id}/fares"))
    assert 'placeholder="4000"' in page and 'placeholder="6000"' in page  # 2 legs; VIP +50 %

    response = client.submit(f"/console/routes/{route.id}/fares", {f"fare-{first}-{last}-standard": "3500"})
    assert response.status_code == 303
    db.session.expire_all()
    route = db.session.get(Route, route.id)
    assert network.fare_for(route, first, last, "standard") == 3500
    assert network.fare_for(route, first, middle, "standard") == 2000  # left empty: the default
    assert "●" in text(client.get(f"/console/routes/{route.id}/fares"))

    client.submit(f"/console/routes/{route.id}/fares", {f"fare-{first}-{last}-standard": ""})
    db.session.expire_all()
    assert network.fare_for(db.session.get(Route, route.id), first, last, "standard") == 4000


@pytest.mark.parametrize("amount", ["-100", "ten", "99999999"])
def test_bad_fares_are_field_errors_and_save_nothing(client, company, amount):
    route = factories.route(company, stops=2)
    first, last = (s.station_id for s in route.stops)
    name = f"fare-{first}-{last}-vip"
    response = client.submit(
        f"/console/routes/{route.id}/fares", {name: amount, f"fare-{first}-{last}-standard": "900"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "Enter a whole amount, 0 or more." in page and f'id="{name}-error"' in page
    db.session.expire_all()
    assert db.session.get(Route, route.id).fares == []


def test_longer_times_that_would_run_a_bus_into_its_next_trip_are_refused(client, company):
    route = factories.route(company, stops=2, name="Kigali – Huye")  # 60 minutes
    bus = factories.bus(company)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    first = factories.trip(route, bus_=bus, departs_at=start)
    factories.trip(factories.route(company), bus_=bus, departs_at=start + timedelta(minutes=90))

    form = edit_form(route, [0, 1])
    form["minutes"] = ["0", "120"]
    response = client.submit(f"/console/routes/{route.id}", form)
    assert response.status_code == 409
    assert f"trip {first.id} (Kigali – Huye" in text(response) and "would run into" in text(response)
    db.session.expire_all()
    assert db.session.get(type(first), first.id).arrives_at == start + timedelta(minutes=60)
    assert saved_route(company, "Kigali – Huye").duration_minutes == 60
