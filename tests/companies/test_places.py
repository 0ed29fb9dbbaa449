"""What passengers type in From and To: towns with every station in them, other names, accents,
misspellings, and close matches offered when nothing fits."""

from __future__ import annotations

import pytest

from app.companies.queries import find_place, places_matching
from app.companies.rules import fold, similarity
from tests import factories


@pytest.fixture
def network():
    """Kigali with two bus parks, Huye (once Butare), Rubavu (Gisenyi), Musanze (Ruhengeri)."""
    kigali = factories.town("Kigali", aliases=["Kigari"])
    huye = factories.town("Huye", aliases=["Butare"])
    rubavu = factories.town("Rubavu", aliases=["Gisenyi"])
    musanze = factories.town("Musanze", aliases=["Ruhengeri"])
    stations = {
        "nyabugogo": factories.station(name="Nyabugogo Bus Park", town=kigali),
        "remera": factories.station(name="Remera Bus Park", town=kigali),
        "huye": factories.station(name="Huye Bus Park", town=huye),
        "rubavu": factories.station(name="Rubavu Bus Park", town=rubavu),
        "musanze": factories.station(name="Musanze Bus Park", town=musanze),
    }
    return stations


def ids(*stations) -> tuple[int, ...]:
    return tuple(sorted(station.id for station in stations))


def test_a_town_matches_every_station_in_it(network):
    place, _ = find_place("Kigali")
    assert place.is_town and place.name == "Kigali"
    assert tuple(sorted(place.station_ids)) == ids(network["nyabugogo"], network["remera"])


@pytest.mark.parametrize(
    ("typed", "town"),
    [
        ("kigali", "Kigali"),
        ("  KIGALI ", "Kigali"),
        ("Kigari", "Kigali"),  # an alias
        ("kigalli", "Kigali"),  # a misspelling
        ("Butare", "Huye"),
        ("butaré", "Huye"),  # an accent that is not there
        ("Gisenyi", "Rubavu"),
        ("Ruhengeri", "Musanze"),
        ("ruhengheri", "Musanze"),
        ("musanse", "Musanze"),
        ("Huye", "Huye"),  # the town, not only its one bus park named after it
    ],
)
def test_other_names_case_accents_and_small_misspellings_find_the_town(network, typed, town):
    place, _ = find_place(typed)
    assert place is not None and place.is_town and place.name == town


@pytest.mark.parametrize("typed", ["Nyabugogo", "nyabugogo bus park", "Nyabugogo Bus Park, Kigali", "nyabugogoo"])
def test_a_station_by_its_name_with_or_without_bus_park(network, typed):
    place, _ = find_place(typed)
    assert place is not None and not place.is_town
    assert place.station_ids == (network["nyabugogo"].id,) and place.town == "Kigali"


def test_nothing_close_suggests_nothing_and_a_near_miss_suggests_the_town(network):
    assert find_place("Atlantis") == (None, [])
    assert find_place("") == (None, [])
    place, suggestions = find_place("Kiga li town")
    assert place is None and suggestions[0] == "Kigali"


def test_two_towns_equally_close_are_offered_not_guessed(network):
    factories.station(name="Nyanza Bus Park", town=factories.town("Nyanza"))
    factories.station(name="Nyagatare Bus Park", town=factories.town("Nyagatare"))
    place, suggestions = find_place("Nya")
    assert place is None and {"Nyanza", "Nyagatare"} <= set(suggestions)


def test_disabled_stations_and_empty_towns_are_not_places(network):
    network["remera"].is_enabled = False
    factories.town("Nowhere")
    place, _ = find_place("Kigali")
    assert place.station_ids == (network["nyabugogo"].id,)
    assert find_place("Nowhere")[0] is None


def test_the_list_groups_stations_under_their_town(network):
    [(town, stations, size)] = places_matching("kiga")
    assert town.name == "Kigali" and size == 2
    assert [s.name for s in stations] == ["Nyabugogo Bus Park", "Remera Bus Park"]
    [(town, stations, size)] = places_matching("remera")  # a station: its town, with that one
    assert town.name == "Kigali" and [s.name for s in stations] == ["Remera Bus Park"]
    assert [town.name for town, _s, _n in places_matching("butare")] == ["Huye"]
    assert places_matching("") == [] and places_matching("zzzz") == []


def test_folding_and_similarity():
    assert fold("  Butaré—Huye ") == "butare huye"
    assert similarity("kigari", "kigali") >= 0.8 > similarity("kigari", "gicumbi")
    assert similarity("kig", "kigali") > similarity("kig", "nyanza")


def test_a_name_typed_whole_wins_over_places_whose_names_only_start_with_it(network):
    factories.station(name="Huye Gate", city="Huye Gate town")  # another town's bus park
    place, _ = find_place("Huye")
    assert place.is_town and place.name == "Huye"
    gate, _ = find_place("Huye Gate")
    assert not gate.is_town and gate.name == "Huye Gate"


def test_a_name_two_towns_share_asks_which(network):
    factories.station(name="Huye", city="Huye town")  # a bus park called Huye in another town
    place, suggestions = find_place("Huye")
    assert place is None and "Huye" in suggestions and "Huye, Huye town" in suggestions
