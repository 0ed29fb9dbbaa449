"""Trip life: status table, edits refused once a trip has left, overlaps, delays, cancellation,
timetable generation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.core import events, tx
from app.core.errors import InvalidInput
from app.core.events import Event
from app.extensions import db
from app.fleet.errors import AssignmentConflict, TransitionRefused, TripNotEditable
from app.fleet.models import Trip
from app.fleet.rules import TripStatus
from app.fleet.services import swap, trips
from tests import factories

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.fixture
def actor():
    return factories.user()


def new_trip(*, leaves_in: timedelta = timedelta(hours=5), **kwargs):
    company = factories.company()
    return factories.trip(factories.route(company), bus_=factories.bus(company), departs_at=NOW + leaves_in, **kwargs)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("scheduled", "arrived"),
        ("boarding", "scheduled"),
        ("departed", "boarding"),
        ("departed", "scheduled"),
        ("arrived", "departed"),
        ("arrived", "boarding"),
        ("cancelled", "scheduled"),
        ("cancelled", "boarding"),
        ("cancelled", "departed"),
    ],
)
def test_forbidden_transitions_are_refused_and_change_nothing(actor, start, target):
    trip = new_trip(status=start)
    with pytest.raises(TransitionRefused) as refused:
        trips.change_status(actor, trip, target, now=NOW)
    assert start in refused.value.message
    assert db.session.get(Trip, trip.id).status == start


def test_trip_runs_through_its_statuses_and_stamps_each(actor):
    trip = new_trip(leaves_in=timedelta(minutes=20))
    for target in ("boarding", "departed", "arrived"):
        trips.change_status(actor, trip, target, now=NOW)
    assert (trip.status, trip.boarding_at, trip.departed_at, trip.arrived_at) == ("arrived", NOW, NOW, NOW)


@pytest.mark.parametrize(
    ("target", "leaves_in", "refusal"),
    [
        (
            "boarding",
            timedelta(hours=2, minutes=1),
            "Too early: this trip leaves Wed 25 Nov 10:01; boarding opens at Wed 25 Nov 08:01.",
        ),
        (
            "departed",
            timedelta(minutes=31),
            "Too early: this trip leaves Wed 25 Nov 08:31; it can start from Wed 25 Nov 08:01.",
        ),
        (
            "departed",
            timedelta(hours=5),
            "Too early: this trip leaves Wed 25 Nov 13:00; it can start from Wed 25 Nov 12:30.",
        ),
    ],
)
def test_a_trip_cannot_board_or_leave_hours_before_its_time(actor, target, leaves_in, refusal):
    """A trip could be marked Departed and Arrived hours before its departure time."""
    trip = new_trip(leaves_in=leaves_in)
    with pytest.raises(TransitionRefused) as refused:
        trips.change_status(actor, trip, target, now=NOW)
    assert refused.value.message == refusal  # Kigali time, 24-hour
    db.session.expire_all()
    assert (trip.status, trip.boarding_at, trip.departed_at) == ("scheduled", None, None)


def test_boarding_opens_two_hours_ahead_and_the_bus_leaves_at_most_half_an_hour_early(actor):
    trip = new_trip(leaves_in=timedelta(hours=2))
    trips.change_status(actor, trip, "boarding", now=NOW)
    with pytest.raises(TransitionRefused, match="Too early"):
        trips.change_status(actor, trip, "departed", now=NOW + timedelta(minutes=89))
    trips.change_status(actor, trip, "departed", now=NOW + timedelta(minutes=90))
    late = new_trip(leaves_in=-timedelta(hours=3))  # a late start stays possible
    trips.change_status(actor, late, "departed", now=NOW)
    assert (trip.status, late.status) == ("departed", "departed")


@pytest.mark.parametrize("status", ["departed", "arrived", "cancelled"])
def test_a_trip_that_left_or_ended_cannot_be_edited(actor, status):
    trip = new_trip(status=status)
    other_bus = factories.bus(factories.company())
    with pytest.raises(TripNotEditable, match=f"The trip is {status}"):
        trips.delay_trip(actor, trip, new_departure=trip.departs_at + timedelta(hours=1), reason="Rain", now=NOW)
    with pytest.raises(TripNotEditable, match=f"The trip is {status}"):
        trips.assign(actor, trip, bus=None, driver_id=None)
    with pytest.raises(TripNotEditable, match=f"The trip is {status}"):
        swap.swap_bus(actor, trip, other_bus, now=NOW)
    with pytest.raises(TransitionRefused):
        trips.cancel_trip(actor, trip, reason="Too late", now=NOW)


def test_a_bus_cannot_be_on_two_overlapping_trips(actor):
    company = factories.company()
    bus = factories.bus(company)
    route = factories.route(company, stops=3)  # two hours long
    first = factories.trip(route, bus_=bus, departs_at=NOW + timedelta(hours=5))
    with pytest.raises(AssignmentConflict, match=f"Bus {bus.plate} is already on trip {first.id}"):
        trips.create_trip(
            actor, company, route=route, departs_at=NOW + timedelta(hours=6), bus=bus, driver_id=None, now=NOW
        )
    later = trips.create_trip(
        actor, company, route=route, departs_at=NOW + timedelta(hours=7), bus=bus, driver_id=None, now=NOW
    )
    assert later.bus_id == bus.id


def test_a_driver_cannot_drive_two_overlapping_trips(actor):
    company = factories.company()
    driver = factories.member("driver", of=company, name="Jean Driver")
    route = factories.route(company)
    factories.trip(route, driver=driver, departs_at=NOW + timedelta(hours=5))
    second = factories.trip(route, departs_at=NOW + timedelta(hours=6))
    with pytest.raises(AssignmentConflict, match="Jean Driver is already driving"):
        trips.assign(actor, second, bus=None, driver_id=driver.id)


def test_the_database_refuses_an_overlap_the_checks_did_not_see():
    company = factories.company()
    bus = factories.bus(company)
    route = factories.route(company)
    factories.trip(route, bus_=bus, departs_at=NOW + timedelta(hours=5))
    with pytest.raises(Exception, match="overlap"), db.session.begin_nested():
        factories.trip(route, bus_=bus, departs_at=NOW + timedelta(hours=5, minutes=30))


def test_a_delay_that_runs_into_the_next_trip_of_the_bus_is_refused(actor):
    company = factories.company()
    bus = factories.bus(company)
    route = factories.route(company)
    trip = factories.trip(route, bus_=bus, departs_at=NOW + timedelta(hours=5))
    factories.trip(route, bus_=bus, departs_at=NOW + timedelta(hours=8))
    tx.commit()
    with pytest.raises(AssignmentConflict):
        trips.delay_trip(actor, trip, new_departure=NOW + timedelta(hours=7), reason="Engine", now=NOW)
    tx.rollback()  # as the request boundary does after a refusal
    delayed = trips.delay_trip(actor, trip, new_departure=NOW + timedelta(hours=5, minutes=40), reason="Rain", now=NOW)
    assert delayed.delay == timedelta(minutes=40)
    assert delayed.arrives_at - delayed.departs_at == timedelta(hours=2)


def test_a_delay_must_move_the_departure_later(actor):
    trip = new_trip()
    with pytest.raises(InvalidInput) as error:
        trips.delay_trip(actor, trip, new_departure=trip.departs_at - timedelta(minutes=5), reason="x", now=NOW)
    assert "new_departure" in error.value.fields


def test_cancelling_records_the_reason_and_emits_the_event_after_commit(actor):
    trip = new_trip()
    order = factories.order(trip, ["1A", "1B"])
    seen = []
    handler = events.subscribe("trip.cancelled")(lambda event: seen.append(event.payload))
    try:
        trips.cancel_trip(actor, trip, reason="Bridge closed at Nyabarongo", now=NOW)
        assert seen == []  # nothing leaves before the commit
        tx.commit()
    finally:
        events._subscribers["trip.cancelled"].remove(handler)
    assert trip.status == "cancelled" and trip.cancel_reason == "Bridge closed at Nyabarongo"
    assert seen == [
        {"trip_id": trip.id, "reason": "Bridge closed at Nyabarongo", "tickets": [t.id for t in order.tickets]}
    ]


def test_cancelling_needs_a_reason(actor):
    trip = new_trip()
    with pytest.raises(InvalidInput) as error:
        trips.cancel_trip(actor, trip, reason="  ", now=NOW)
    assert "reason" in error.value.fields


def test_a_rolled_back_cancellation_leaves_no_event(actor):
    trip = new_trip()
    trips.cancel_trip(actor, trip, reason="Test", now=NOW)
    tx.rollback()
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.trip_id == trip.id)) == 0


def test_departure_in_the_past_is_refused(actor):
    company = factories.company()
    with pytest.raises(InvalidInput) as error:
        trips.create_trip(
            actor,
            company,
            route=factories.route(company),
            departs_at=NOW - timedelta(minutes=1),
            bus=None,
            driver_id=None,
            now=NOW,
        )
    assert "departure" in error.value.fields


def test_timetable_generation_twice_creates_no_duplicates(actor):
    company = factories.company()
    route = factories.route(company)
    bus = factories.bus(company)
    timetable = trips.save_timetable(
        actor,
        company,
        None,
        route=route,
        departure_time=time(7, 30),
        weekdays=127,
        bus=bus,
        driver_id=None,
        valid_from=date(2026, 11, 25),
        valid_to=None,
        is_active=True,
    )
    first = trips.generate_trips(company, today=date(2026, 11, 25), days=14, now=NOW)
    second = trips.generate_trips(company, today=date(2026, 11, 25), days=14, now=NOW)
    # 07:30 in Kigali is 05:30 UTC: today's departure has gone by NOW, so 13 of the 14 days remain.
    assert len(first) == 13 and second == []
    stored = db.session.scalars(select(Trip).where(Trip.timetable_id == timetable.id).order_by(Trip.departs_at)).all()
    assert [t.id for t in stored] == sorted(t.id for t in first)
    assert stored[0].departs_at == datetime(2026, 11, 26, 5, 30, tzinfo=UTC)
    assert all(t.bus_id == bus.id and len(t.stops) == 3 for t in stored)


def test_generation_respects_weekdays_and_validity(actor):
    company = factories.company()
    route = factories.route(company)
    trips.save_timetable(
        actor,
        company,
        None,
        route=route,
        departure_time=time(9, 0),
        weekdays=0b1100000,
        bus=None,
        driver_id=None,
        valid_from=date(2026, 11, 26),
        valid_to=date(2026, 12, 6),
        is_active=True,
    )
    created = trips.generate_trips(company, today=date(2026, 11, 25), days=30, now=NOW)
    assert sorted(t.service_date for t in created) == [
        date(2026, 11, 28),
        date(2026, 11, 29),
        date(2026, 12, 5),
        date(2026, 12, 6),
    ]


def test_generation_leaves_a_busy_bus_off_the_trip(actor):
    company = factories.company()
    bus = factories.bus(company)
    route = factories.route(company)
    factories.trip(route, bus_=bus, departs_at=datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    trips.save_timetable(
        actor,
        company,
        None,
        route=route,
        departure_time=time(9, 0),
        weekdays=127,
        bus=bus,
        driver_id=None,
        valid_from=date(2026, 11, 26),
        valid_to=date(2026, 11, 26),
        is_active=True,
    )
    [trip] = trips.generate_trips(company, today=date(2026, 11, 26), days=1, now=NOW)
    assert trip.bus_id is None and trip.status == TripStatus.SCHEDULED
