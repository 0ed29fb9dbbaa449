"""A company's GTFS-Realtime VehiclePositions feed: one entity per running trip whose bus has a
live position, built from Redis and cached for a few seconds, so any number of journey planners
polling it cost one build per company per cache period.

Identifiers are ours, as a static GTFS feed made from the same data would name them: ``trip_id``
is the trip's id, ``route_id`` the route's id, ``stop_id`` the station's id and
``current_stop_sequence`` the stop's position on the trip (0 at the first stop). The vehicle is the
bus (id, and its plate as label and licence plate): a swapped bus is another vehicle on the same
trip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as rt
from sqlalchemy import select

from app.companies.models import Company
from app.extensions import db, redis
from app.fleet.models import Trip
from app.tracking import eta, live
from app.tracking.services import RUNNING

CACHE_SECONDS = 5
KMH_PER_MS = 3.6


def cache_key(company_id: int) -> str:
    return f"gtfs-rt:{company_id}:vehicle-positions"


def vehicle_positions(company: Company, *, now: datetime) -> bytes:
    """The serialized FeedMessage, from the cache when it is fresh."""
    key = cache_key(company.id)
    cached = redis.get(key)
    if cached is not None:
        return cached
    body = build(company, now=now).SerializeToString()
    redis.set(key, body, ex=CACHE_SECONDS)
    return body


def build(company: Company, *, now: datetime) -> rt.FeedMessage:
    feed = rt.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = rt.FeedHeader.FULL_DATASET
    feed.header.timestamp = int(now.timestamp())
    trips = db.session.scalars(
        select(Trip)
        .where(Trip.company_id == company.id, Trip.status.in_(RUNNING), Trip.bus_id.is_not(None))
        .order_by(Trip.departs_at, Trip.id)
    ).all()
    positions = live.latest_many(sorted({trip.bus_id for trip in trips}))
    oldest_ms = (now.timestamp() - current_app.config["TRACKING_MAX_FIX_AGE_SECONDS"]) * 1000
    zone = ZoneInfo(company.timezone)
    for trip in trips:
        position = positions.get(trip.bus_id)
        if position is not None and position["ts"] >= oldest_ms and _of_trip(position, trip):
            _add_vehicle(feed, trip, position, zone)
    return feed


def _of_trip(position: dict, trip: Trip) -> bool:
    """The fix was taken on this trip: tied to it, or (a tracker that reported before the trip
    was marked departed) taken since it left."""
    if position["trip"] is not None:
        return position["trip"] == trip.id
    left = trip.departed_at or trip.departs_at
    return position["ts"] >= left.timestamp() * 1000


def _add_vehicle(feed: rt.FeedMessage, trip: Trip, position: dict, zone: ZoneInfo) -> None:
    entity = feed.entity.add()
    entity.id = f"trip-{trip.id}"
    vehicle = entity.vehicle
    vehicle.trip.trip_id = str(trip.id)
    vehicle.trip.route_id = str(trip.route_id)
    vehicle.trip.start_date = trip.service_date.strftime("%Y%m%d")
    vehicle.trip.start_time = trip.scheduled_departs_at.astimezone(zone).strftime("%H:%M:%S")
    vehicle.trip.schedule_relationship = rt.TripDescriptor.SCHEDULED
    vehicle.vehicle.id = str(trip.bus_id)
    vehicle.vehicle.label = trip.bus.plate
    vehicle.vehicle.license_plate = trip.bus.plate
    vehicle.position.latitude = position["lat"]
    vehicle.position.longitude = position["lon"]
    if position["heading"] is not None:
        vehicle.position.bearing = position["heading"]
    if position["speed"] is not None:
        vehicle.position.speed = position["speed"] / KMH_PER_MS
    vehicle.timestamp = position["ts"] // 1000
    shape = eta.shape_of(trip.id)
    at = datetime.fromtimestamp(position["ts"] / 1000, UTC)
    where = eta.progress(shape, position["lat"], position["lon"], at) if shape else None
    stations = {stop.position: stop.station_id for stop in trip.stops}
    if where is not None and where.leg + 1 in stations:
        vehicle.current_stop_sequence = where.leg + 1
        vehicle.stop_id = str(stations[where.leg + 1])
        vehicle.current_status = rt.VehiclePosition.IN_TRANSIT_TO


def as_json(body: bytes) -> dict:
    """The feed as JSON (field names as in the .proto), for people debugging it."""
    return json_format.MessageToDict(
        rt.FeedMessage.FromString(body), preserving_proto_field_name=True, unquote_int64_if_possible=True
    )
