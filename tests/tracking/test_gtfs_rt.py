"""Each company's GTFS-Realtime VehiclePositions feed: one vehicle per running trip with a live
position, readable with the official bindings, never another company's buses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.transit import gtfs_realtime_pb2 as rt

from app.extensions import db, redis
from app.fleet.models import Route, RouteStop
from app.fleet.rules import TripStatus
from app.tracking import gtfs_rt, live, services
from app.tracking.live import make_fix
from tests import factories
from tests.tracking.conftest import HUYE, KIGALI, MUHANGA


def feed_of(client, code: str) -> rt.FeedMessage:
    response = client.get(f"/api/v1/companies/{code}/gtfs-rt/vehicle-positions")
    assert response.status_code == 200
    assert response.mimetype == "application/x-protobuf"
    assert response.headers["Cache-Control"] == f"public, max-age={gtfs_rt.CACHE_SECONDS}"
    return rt.FeedMessage.FromString(response.get_data())


def drive(trip, driver, where, *, seconds_ago: int = 10, speed_kmh: float | None = 72, heading: float | None = 225):
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)
    fix = make_fix(*where, at, speed_kmh=speed_kmh, heading=heading, accuracy_m=10)
    services.from_driver(driver, trip.id, fix, now=datetime.now(UTC))
    return at


def same_stations(company, trip) -> Route:
    """Another route over the running trip's stations (stations are shared by every operator)."""
    route = Route(company=company, name=f"{trip.route.name} ({company.name})")
    for stop in trip.route.stops:
        route.stops.append(
            RouteStop(
                position=stop.position,
                station_id=stop.station_id,
                minutes_from_start=stop.minutes_from_start,
                km_from_start=stop.km_from_start,
                leg_fare=stop.leg_fare,
            )
        )
    db.session.add(route)
    db.session.flush()
    return route


def running_trip_of_another_company(running):
    company = factories.company(name="Northern Star")
    driver = factories.member("driver", of=company)
    departed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    trip = factories.trip(
        same_stations(company, running.trip),
        bus_=factories.bus(company, plate="RAG 100A"),
        driver=driver,
        departs_at=departed,
        status=TripStatus.DEPARTED,
        departed_at=departed,
    )
    return trip, driver


def test_a_running_trip_with_a_position_is_one_vehicle_in_the_feed(client, running):
    trip = running.trip
    between = (KIGALI[0] + (MUHANGA[0] - KIGALI[0]) * 0.4, KIGALI[1] + (MUHANGA[1] - KIGALI[1]) * 0.4)
    at = drive(trip, running.driver, between)
    before = int(datetime.now(UTC).timestamp())

    feed = feed_of(client, trip.route.company.code)

    assert feed.header.gtfs_realtime_version == "2.0"
    assert feed.header.incrementality == rt.FeedHeader.FULL_DATASET
    assert abs(feed.header.timestamp - before) <= 2
    (entity,) = feed.entity
    vehicle = entity.vehicle
    assert entity.id == f"trip-{trip.id}"
    assert vehicle.trip.trip_id == str(trip.id) and vehicle.trip.route_id == str(trip.route_id)
    assert vehicle.trip.start_date == trip.service_date.strftime("%Y%m%d")
    assert vehicle.trip.schedule_relationship == rt.TripDescriptor.SCHEDULED
    assert (vehicle.vehicle.id, vehicle.vehicle.label, vehicle.vehicle.license_plate) == (
        str(trip.bus_id),
        "RAC 500D",
        "RAC 500D",
    )
    assert vehicle.position.latitude == pytest.approx(between[0], abs=1e-5)
    assert vehicle.position.longitude == pytest.approx(between[1], abs=1e-5)
    assert vehicle.position.speed == pytest.approx(20.0)  # 72 km/h in m/s
    assert vehicle.position.bearing == pytest.approx(225)
    assert vehicle.timestamp == int(at.timestamp())
    muhanga = trip.stops[1]
    assert vehicle.current_stop_sequence == 1 and vehicle.stop_id == str(muhanga.station_id)
    assert vehicle.current_status == rt.VehiclePosition.IN_TRANSIT_TO


def test_a_company_sees_only_its_own_buses(client, running):
    drive(running.trip, running.driver, KIGALI)
    theirs, their_driver = running_trip_of_another_company(running)
    drive(theirs, their_driver, HUYE)

    mine = feed_of(client, running.trip.route.company.code)
    assert [e.vehicle.trip.trip_id for e in mine.entity] == [str(running.trip.id)]
    other = feed_of(client, theirs.route.company.code)
    assert [e.vehicle.vehicle.license_plate for e in other.entity] == ["RAG 100A"]


def test_trips_without_a_live_position_are_left_out(client, running):
    company = running.trip.route.company
    assert list(feed_of(client, company.code).entity) == []
    # A bus reporting before its trip leaves is not yet a vehicle on that trip.
    waiting = factories.trip(running.trip.route, bus_=factories.bus(company), status=TripStatus.BOARDING)
    live.store(
        make_fix(*KIGALI, datetime.now(UTC)),
        bus_id=waiting.bus_id,
        company_id=company.id,
        trip_id=None,
        source="tracker",
        now=datetime.now(UTC),
    )
    redis.delete(gtfs_rt.cache_key(company.id))
    assert list(feed_of(client, company.code).entity) == []


def test_a_position_too_old_to_show_is_left_out(client, running, app):
    drive(running.trip, running.driver, KIGALI, seconds_ago=app.config["TRACKING_MAX_FIX_AGE_SECONDS"] - 5)
    assert len(feed_of(client, running.trip.route.company.code).entity) == 1
    redis.delete(gtfs_rt.cache_key(running.trip.company_id))
    app.config["TRACKING_MAX_FIX_AGE_SECONDS"] -= 60
    try:
        assert list(feed_of(client, running.trip.route.company.code).entity) == []
    finally:
        app.config["TRACKING_MAX_FIX_AGE_SECONDS"] += 60


def test_speed_and_bearing_are_left_out_when_unknown(client, running):
    drive(running.trip, running.driver, KIGALI, speed_kmh=None, heading=None)
    (entity,) = feed_of(client, running.trip.route.company.code).entity
    assert not entity.vehicle.position.HasField("speed") and not entity.vehicle.position.HasField("bearing")


def test_the_feed_is_cached_for_a_few_seconds(client, running):
    code = running.trip.route.company.code
    assert list(feed_of(client, code).entity) == []
    drive(running.trip, running.driver, KIGALI)
    assert list(feed_of(client, code).entity) == []  # the cached answer
    assert 0 < redis.ttl(gtfs_rt.cache_key(running.trip.company_id)) <= gtfs_rt.CACHE_SECONDS
    redis.delete(gtfs_rt.cache_key(running.trip.company_id))  # as when it expires
    assert len(feed_of(client, code).entity) == 1


def test_json_shows_the_same_feed_for_debugging(client, running):
    drive(running.trip, running.driver, KIGALI)
    response = client.get(f"/api/v1/companies/{running.trip.route.company.code}/gtfs-rt/vehicle-positions?format=json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    feed = response.get_json()
    assert feed["header"]["gtfs_realtime_version"] == "2.0"
    assert feed["header"]["incrementality"] == "FULL_DATASET"
    (entity,) = feed["entity"]
    assert entity["vehicle"]["trip"]["trip_id"] == str(running.trip.id)
    assert entity["vehicle"]["current_status"] == "IN_TRANSIT_TO"
    assert isinstance(entity["vehicle"]["timestamp"], int)


def test_unknown_or_suspended_companies_have_no_feed(client, running):
    response = client.get("/api/v1/companies/nobody/gtfs-rt/vehicle-positions")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    running.trip.route.company.status = "suspended"
    db.session.flush()
    assert (
        client.get(f"/api/v1/companies/{running.trip.route.company.code}/gtfs-rt/vehicle-positions").status_code == 404
    )


def test_a_position_from_before_the_trip_left_or_from_another_trip_is_not_this_trips(client, running):
    trip, company = running.trip, running.trip.route.company

    def stored(at: datetime, trip_id: int | None) -> list:
        redis.delete(live.location_key(trip.bus_id), gtfs_rt.cache_key(company.id))
        fix = make_fix(*KIGALI, at)
        live.store(fix, bus_id=trip.bus_id, company_id=company.id, trip_id=trip_id, source="tracker", now=at)
        return list(feed_of(client, company.code).entity)

    assert stored(running.departed - timedelta(minutes=1), None) == []  # parked at the station
    assert len(stored(running.departed + timedelta(minutes=1), None)) == 1  # reported as it left
    earlier = factories.trip(trip.route, status=TripStatus.ARRIVED)
    assert stored(running.departed + timedelta(minutes=2), earlier.id) == []
