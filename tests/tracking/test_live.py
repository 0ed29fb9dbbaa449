"""Fixes in: checked, stored in Redis, published, kept in history; never moving a bus backwards."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core import tx
from app.core.errors import NotFound
from app.extensions import db, redis
from app.fleet.rules import TripStatus
from app.tracking import live, services
from app.tracking.live import FixRefused, make_fix
from app.tracking.models import Position
from app.tracking.services import NotYourTrip
from tests import factories
from tests.tracking.conftest import HUYE, KIGALI, MUHANGA


def between(a, b, t: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


@pytest.fixture
def published():
    """Messages published on Redis while the test runs, by channel."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe("trip:*", "company:*")
    pubsub.get_message(timeout=0.1)

    def read() -> dict[str, list[dict]]:
        seen: dict[str, list[dict]] = {}
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message is None:
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            seen.setdefault(channel, []).append(json.loads(message["data"]))
        return seen

    yield read
    pubsub.close()


def test_a_drivers_fix_is_stored_indexed_and_published_with_the_eta(running, published):
    now = datetime.now(UTC)
    lat, lon = between(KIGALI, MUHANGA, 0.5)
    fix = make_fix(lat, lon, now - timedelta(seconds=2), speed_kmh=62, heading=250, accuracy_m=8)
    stored = services.from_driver(running.driver, running.trip.id, fix, now=now)

    assert stored.moved
    state = live.latest(running.trip.bus_id)
    assert (state["lat"], state["lon"], state["speed"], state["trip"]) == (lat, lon, 62.0, running.trip.id)
    ((member, _),) = redis.geosearch(live.GEO_KEY, longitude=lon, latitude=lat, radius=1, unit="km", withdist=True)
    assert int(member) == running.trip.bus_id

    seen = published()
    (message,) = seen[f"trip:{running.trip.id}"]
    assert seen[f"company:{running.trip.company_id}:fleet"] == [message]
    progress = message["progress"]
    assert progress["next_stop"] == 1 and 20 < progress["km"] < 30  # halfway along the first leg of 50 km
    # Halfway along an hour's leg after 30 minutes: on time; Muhanga due at departure + 60 min.
    assert abs(progress["delay_s"]) < 60
    assert progress["eta"]["0"] is None
    assert progress["eta"]["1"] == int((running.departed + timedelta(minutes=60)).timestamp()) + max(
        progress["delay_s"], 0
    )


def test_an_older_fix_never_moves_the_bus_back_but_is_kept_in_history(running):
    now = datetime.now(UTC)
    ahead = make_fix(*between(KIGALI, MUHANGA, 0.5), now - timedelta(seconds=5))
    behind = make_fix(*between(KIGALI, MUHANGA, 0.45), now - timedelta(seconds=20))  # flushed late from a buffer
    assert services.from_driver(running.driver, running.trip.id, ahead, now=now).moved
    assert not services.from_driver(running.driver, running.trip.id, behind, now=now).moved
    assert live.latest(running.trip.bus_id)["lat"] == ahead.lat

    assert services.flush_history() == 2
    rows = db.session.scalars(select(Position).order_by(Position.recorded_at)).all()
    assert [(r.lat, r.trip_id, r.source) for r in rows] == [
        (behind.lat, running.trip.id, "driver"),
        (ahead.lat, running.trip.id, "driver"),
    ]
    assert redis.llen(live.PENDING_KEY) == 0


@pytest.mark.parametrize(
    ("where", "age_seconds", "message"),
    [
        (HUYE, -120, "in the future"),
        (HUYE, 3 * 3600, "too old"),
        ((-1.29, 36.82), 0, "outside the area"),  # Nairobi
    ],
)
def test_implausible_fixes_are_refused(running, where, age_seconds, message):
    now = datetime.now(UTC)
    with pytest.raises(FixRefused, match=message):
        services.from_driver(
            running.driver, running.trip.id, make_fix(*where, now - timedelta(seconds=age_seconds)), now=now
        )
    assert live.latest(running.trip.bus_id) is None


def test_a_jump_faster_than_150_kmh_is_refused(running):
    now = datetime.now(UTC)
    services.from_driver(running.driver, running.trip.id, make_fix(*KIGALI, now - timedelta(seconds=60)), now=now)
    with pytest.raises(FixRefused, match="faster than 150 km/h"):  # 30 km in a minute
        services.from_driver(running.driver, running.trip.id, make_fix(*MUHANGA, now), now=now)
    near = between(KIGALI, MUHANGA, 0.05)  # 1.7 km in a minute: 100 km/h
    assert services.from_driver(running.driver, running.trip.id, make_fix(*near, now), now=now).moved


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lat": None, "lon": 30.0}, "needs lat and lon"),
        ({"lat": "abc", "lon": 30.0}, "lat must be a number"),
        ({"lat": float("nan"), "lon": 30.0}, "finite"),
        ({"lat": 95, "lon": 30.0}, "not a place on Earth"),
        ({"lat": -1.9, "lon": 30.0, "heading": 400}, "heading"),
        ({"lat": -1.9, "lon": 30.0, "speed_kmh": -3}, "speed"),
        ({"lat": True, "lon": 30.0}, "lat must be a number"),
    ],
)
def test_malformed_values_are_refused(values, message):
    with pytest.raises(FixRefused, match=message):
        make_fix(values.pop("lat"), values.pop("lon"), datetime.now(UTC), **values)


def test_only_the_assigned_driver_of_a_running_trip_may_send(running):
    now = datetime.now(UTC)
    fix = make_fix(*KIGALI, now)
    other = factories.member("driver", of=running.trip.route.company)
    with pytest.raises(NotYourTrip, match="not the driver"):
        services.from_driver(other, running.trip.id, fix, now=now)
    with pytest.raises(NotFound):
        services.from_driver(running.driver, 999_999, fix, now=now)
    running.trip.status = TripStatus.ARRIVED
    with pytest.raises(NotYourTrip, match="not running"):
        services.from_driver(running.driver, running.trip.id, fix, now=now)


def test_watching_needs_a_ticket_on_the_trip_or_a_live_share_link(running):
    from app.booking.services import orders as booking

    now = datetime.now(UTC)
    holder, stranger = factories.user(), factories.user()
    sold = running.departed - timedelta(hours=2)  # bought before departure
    running.trip.status = TripStatus.SCHEDULED
    order = booking.reserve(
        holder,
        running.trip.id,
        seats=["1A"],
        origin=0,
        destination=2,
        passengers=[booking.Passenger("Holder")],
        now=sold,
    )
    booking.mark_paid(order, now=sold)
    running.trip.status = TripStatus.DEPARTED
    tx.commit()

    trip_id = running.trip.id
    assert services.may_watch(holder, trip_id, share_token=None, now=now)
    assert not services.may_watch(stranger, trip_id, share_token=None, now=now)
    assert not services.may_watch(None, trip_id, share_token=None, now=now)

    link = services.share(holder, order.tickets[0], hours=2, now=now)
    assert services.may_watch(None, trip_id, share_token=link.token, now=now)
    assert not services.may_watch(None, trip_id + 1, share_token=link.token, now=now)
    assert not services.may_watch(None, trip_id, share_token=link.token, now=now + timedelta(hours=3))
    assert not services.may_watch(None, trip_id, share_token="forged", now=now)
    order.tickets[0].status = "cancelled"
    assert not services.may_watch(None, trip_id, share_token=link.token, now=now)  # the ticket is gone
    order.tickets[0].status = "paid"
    running.trip.status = TripStatus.ARRIVED
    assert not services.may_watch(None, trip_id, share_token=link.token, now=now)
    with pytest.raises(NotFound):
        services.share(stranger, order.tickets[0], hours=2, now=now)


def always(now) -> bool:
    return True


def test_a_drivers_socket_checks_the_assignment_again_within_45_seconds(running):
    now = datetime.now(UTC)
    trip = services.driver_trip(running.driver, running.trip.id, now)
    link = services.DriverLink(trip, running.driver.id, now, still_signed_in=always)
    assert link.take(make_fix(*KIGALI, now), now).moved
    running.trip.driver_id = None  # dispatch gave the trip to someone else
    tx.commit()
    soon = now + timedelta(seconds=10)
    assert link.take(make_fix(*between(KIGALI, MUHANGA, 0.005), soon), soon).moved  # no database work
    later = now + timedelta(seconds=46)  # 30 s and up to half as much again
    with pytest.raises(NotYourTrip, match="not the driver"):
        link.take(make_fix(*between(KIGALI, MUHANGA, 0.01), later), later)


def test_a_drivers_socket_stops_taking_fixes_once_its_session_has_ended(running):
    now = datetime.now(UTC)
    signed_in = {"yes": True}
    trip = services.driver_trip(running.driver, running.trip.id, now)
    link = services.DriverLink(trip, running.driver.id, now, still_signed_in=lambda at: signed_in["yes"])
    assert link.take(make_fix(*KIGALI, now), now).moved
    signed_in["yes"] = False  # signed out everywhere
    later = now + timedelta(seconds=46)
    with pytest.raises(NotYourTrip, match="signed out"):
        link.take(make_fix(*between(KIGALI, MUHANGA, 0.01), later), later)
