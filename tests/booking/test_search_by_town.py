"""Searching by town: "Kigali" → "Huye" finds the trips from every Kigali bus park, on the portal
(with its From and To lists) and over the API; results say where to board, how long the trip is,
what the bus offers and how many seats are left; the operator filter lists who serves the pair."""

from __future__ import annotations

import html
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.booking import queries
from app.core.models import utcnow
from app.extensions import db
from app.fleet.services.trips import local_datetime, today_for
from tests import factories

KIGALI = ZoneInfo("Africa/Kigali")


@pytest.fixture
def api(client):
    """A JSON client signed in with a bearer token."""

    def call(method, path, user):
        answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
        headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers)

    return call


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def kigali_huye():
    """Volcano Express: Nyabugogo → Muhanga → Huye at 09:00, two hours, a VIP row, toilet and
    Wi-Fi. Ritco: Remera → Huye at 11:00. Horizon runs Rubavu → Musanze only."""
    kigali = factories.town("Kigali", aliases=["Kigari"])
    huye = factories.town("Huye", aliases=["Butare"])
    parks = {
        "nyabugogo": factories.station(name="Nyabugogo Bus Park", town=kigali),
        "remera": factories.station(name="Remera Bus Park", town=kigali),
        "muhanga": factories.station(name="Muhanga Bus Park", town=factories.town("Muhanga")),
        "huye": factories.station(name="Huye Bus Park", town=huye),
    }
    volcano, ritco = factories.company(name="Volcano Express"), factories.company(name="Ritco")
    horizon = factories.company(name="Horizon")
    factories.route(horizon, stops=2)
    day = today_for(volcano) + timedelta(days=2)
    trips = {}
    for company, stops, hour in ((volcano, ("nyabugogo", "muhanga", "huye"), 9), (ritco, ("remera", "huye"), 11)):
        route = factories.route(company, stops=len(stops), leg_fare=2000)
        for stop, name in zip(route.stops, stops, strict=True):
            stop.station = parks[name]
        db.session.flush()
        bus = factories.bus(company, rows=3, vip_rows=1 if company is volcano else 0)
        bus.amenities = ["toilet", "wifi"] if company is volcano else []
        trips[company.name] = factories.trip(route, bus_=bus, departs_at=local_datetime(company, day, time(hour)))
    return {"day": day, "parks": parks, "trips": trips, "companies": (volcano, ritco, horizon)}


def search(client, origin="kigali", destination="huye", **more):
    return client.get("/search", query_string={"origin": origin, "destination": destination, **more})


# --- The query -------------------------------------------------------------------------------------


def test_a_town_searches_from_every_station_in_it_once_per_trip(kigali_huye):
    parks = kigali_huye["parks"]
    kigali = [parks["nyabugogo"].id, parks["remera"].id]
    offers = queries.search(kigali, [parks["huye"].id], kigali_huye["day"], zone=KIGALI, now=utcnow())
    assert [(o.operator, o.origin.name, o.minutes) for o in offers] == [
        ("Volcano Express", "Nyabugogo Bus Park", 120),
        ("Ritco", "Remera Bus Park", 60),
    ]
    assert offers[0].amenities == ("toilet", "wifi") and offers[0].vip_price
    # Muhanga is on the way, so it is served too: from Kigali only by Volcano Express.
    assert [c.name for c in queries.operators_serving(kigali, [parks["huye"].id])] == ["Ritco", "Volcano Express"]
    assert [c.name for c in queries.operators_serving(kigali, [parks["muhanga"].id])] == ["Volcano Express"]
    assert queries.operators_serving([parks["huye"].id], kigali) == []  # not the other way round


# --- The portal --------------------------------------------------------------------------------------


def test_kigali_to_huye_by_town_shows_boarding_station_duration_amenities_and_seats(client, kigali_huye):
    response = search(client, date=kigali_huye["day"].isoformat())
    page = text(response)
    assert response.status_code == 200
    assert "Kigali → Huye" in page
    assert "Boards at</dt><dd>Nyabugogo Bus Park" in page and "Boards at</dt><dd>Remera Bus Park" in page
    assert "Gets off at" not in page  # Huye has one bus park
    assert "2 h" in page and "1 h" in page
    assert "Toilet" in page and "Wi-Fi" in page and "VIP seats" in page
    assert "12 seats left" in page
    volcano = kigali_huye["trips"]["Volcano Express"]
    park = kigali_huye["parks"]["nyabugogo"]
    assert f"/trips/{volcano.id}?from={park.id}&amp;to={kigali_huye['parks']['huye'].id}" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(("origin", "destination"), [("KIGARI", "Butare"), ("kigali", "butaré"), ("Kigaly", "Hue")])
def test_other_names_accents_and_misspellings_search_the_town(client, kigali_huye, origin, destination):
    page = text(search(client, origin, destination, date=kigali_huye["day"].isoformat()))
    assert "Kigali → Huye" in page and "Volcano Express" in page and "Ritco" in page


def test_a_station_searches_only_from_that_station(client, kigali_huye):
    page = text(search(client, "Remera", "Huye", date=kigali_huye["day"].isoformat()))
    assert "Remera Bus Park → Huye" in page and "Ritco" in page and "Volcano Express · " not in page


def test_the_operator_filter_lists_the_operators_serving_the_pair(client, kigali_huye):
    page = text(search(client, date=kigali_huye["day"].isoformat()))
    options = page[page.index('id="operator"') : page.index("</select>", page.index('id="operator"'))]
    assert "Volcano Express" in options and "Ritco" in options and "Horizon" not in options
    volcano = kigali_huye["companies"][0]
    filtered = text(search(client, date=kigali_huye["day"].isoformat(), operator=volcano.id))
    assert "Boards at</dt><dd>Nyabugogo" in filtered and "Remera Bus Park</dd>" not in filtered


def test_an_unknown_place_is_one_field_error_with_a_suggestion(client, kigali_huye):
    response = search(client, "Kigalli town", "huye")
    page = text(response)
    assert response.status_code == 422
    assert page.count("Did you mean Kigali?") == 1  # at the field, no banner repeating it
    assert 'class="form-error"' not in page and 'aria-invalid="true"' in page
    fragment = text(search(client, "Atlantis", "huye", date=kigali_huye["day"].isoformat()))
    assert fragment.count("We do not know “Atlantis”") == 1


def test_the_from_list_groups_bus_parks_under_their_town(client, kigali_huye):
    response = client.get("/places", query_string={"field": "origin", "origin": "kig"})
    page = text(response)
    assert response.status_code == 200
    assert 'role="group"' in page and 'role="option"' in page and 'id="origin-option-1-0"' in page
    assert page.index("Kigali") < page.index("Nyabugogo Bus Park") < page.index("Remera Bus Park")
    assert 'data-value="Kigali"' in page and "every bus park" in page
    butare = text(client.get("/places", query_string={"field": "destination", "destination": "butare"}))
    assert 'data-value="Huye"' in butare and 'id="destination-option-1-0"' in butare
    assert text(client.get("/places", query_string={"field": "origin", "origin": "zzzz"})).strip() == ""


def test_the_search_form_is_a_combobox(client, kigali_huye):
    page = text(client.get("/search"))
    assert 'role="combobox"' in page and 'aria-controls="origin-options"' in page
    assert 'id="destination-options" class="listbox" role="listbox"' in page
    assert "js/places.js" in page


# --- The API ---------------------------------------------------------------------------------------


def test_the_api_searches_by_town_name(api, kigali_huye):
    day = kigali_huye["day"].isoformat()
    response = api("GET", f"/trips/search?from=Kigari&to=Butare&date={day}", factories.user())
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["from"]["name"] == "Kigali" and len(body["from"]["station_ids"]) == 2
    assert [o["name"] for o in body["operators"]] == ["Ritco", "Volcano Express"]
    first, second = body["trips"]
    assert first["from"]["name"] == "Nyabugogo Bus Park" and first["from"]["town"] == "Kigali"
    assert first["duration_minutes"] == 120 and first["amenities"] == ["toilet", "wifi"]
    assert second["from"]["name"] == "Remera Bus Park" and second["seats_free"] == 12


def test_the_api_still_takes_station_ids(api, kigali_huye):
    parks, day = kigali_huye["parks"], kigali_huye["day"].isoformat()
    query = f"/trips/search?from={parks['remera'].id}&to={parks['huye'].id}&date={day}"
    [offer] = api("GET", query, factories.user()).get_json()["trips"]
    assert offer["operator"] == "Ritco"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=Kigalli%20town&to=Huye", "from", "Did you mean Kigali?"),
        ("from=Kigali&to=Atlantis", "to", "We do not know “Atlantis”"),
        ("from=Kigali&to=Nyabugogo", "to", "Choose a destination other than where you leave from."),
        ("from=999999&to=Huye", "from", "Unknown station id 999999"),
        ("from=99999999999&to=Huye", "from", "Unknown station id"),
        ("from=&to=Huye", "from", "This field is required."),
    ],
)
def test_the_api_refuses_unknown_places_naming_close_ones(api, kigali_huye, query, field, message):
    response = api("GET", "/trips/search?" + query, factories.user())
    assert response.status_code == 422
    assert message in " ".join(response.get_json()["error"]["fields"][field])
