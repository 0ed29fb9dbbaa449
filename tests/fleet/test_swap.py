"""Bus swap: refused when the new bus cannot take everyone; otherwise every passenger keeps or
gets a seat in the new layout, groups stay together, and the change is announced after commit."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.booking.errors import SeatUnavailable
from app.booking.models import SeatLeg, Ticket
from app.booking.services import orders as booking
from app.core import events, tx
from app.core.errors import InvalidInput
from app.core.events import Event
from app.extensions import db
from app.fleet.errors import SwapRefused
from app.fleet.models import Bus, Trip
from app.fleet.services.swap import reseat, swap_bus
from tests import factories


def setup_trip(*, rows=3, vip_rows=0, stops=3):
    company = factories.company()
    bus = factories.bus(company, rows=rows, vip_rows=vip_rows)
    trip = factories.trip(
        factories.route(company, stops=stops), bus_=bus, departs_at=datetime.now(UTC) + timedelta(hours=3)
    )
    return company, trip


def seats_by_ticket(trip):
    return {t.passenger_name: t.seat_label for t in db.session.scalars(select(Ticket).where(Ticket.trip_id == trip.id))}


def test_refused_when_passengers_outnumber_the_new_bus_seats(now):
    company, trip = setup_trip(rows=3)  # 12 seats
    factories.order(trip, ["1A", "1B", "1C", "1D", "2A", "2B"])
    factories.order(trip, ["2C", "2D", "3A"])
    small = factories.bus(company, rows=2)  # 8 seats
    with pytest.raises(SwapRefused, match=f"Bus {small.plate} has 8 seats but 9 passengers"):
        swap_bus(None, trip, small, now=now)


def test_refused_when_one_class_does_not_fit(now):
    company, trip = setup_trip(rows=3, vip_rows=1)  # 4 VIP + 8 standard
    factories.order(trip, ["1A", "1B", "1C"])  # three VIP passengers
    fewer_vip = factories.bus(company, rows=5, layout="1A* 1B* _ 1C 1D\n2A 2B _ 2C 2D\n3A 3B _ 3C 3D")
    with pytest.raises(SwapRefused, match="2 VIP seats but 3 VIP passengers"):
        swap_bus(None, trip, fewer_vip, now=now)


def test_refused_when_the_new_bus_is_busy_or_not_in_service(now):
    company, trip = setup_trip()
    busy = factories.bus(company)
    factories.trip(factories.route(company), bus_=busy, departs_at=trip.departs_at + timedelta(minutes=30))
    with pytest.raises(SwapRefused, match="busy then"):
        swap_bus(None, trip, busy, now=now)
    broken = factories.bus(company, status="maintenance")
    with pytest.raises(SwapRefused, match="maintenance"):
        swap_bus(None, trip, broken, now=now)
    foreign = factories.bus(factories.company())
    with pytest.raises(SwapRefused, match="another company"):
        swap_bus(None, trip, foreign, now=now)


def test_passengers_keep_their_labels_where_the_new_layout_has_them(now):
    company, trip = setup_trip(rows=3)
    factories.order(trip, ["1A", "3D"])
    bigger = factories.bus(company, rows=10)
    before = seats_by_ticket(trip)
    swap_bus(None, trip, bigger, now=now)
    assert seats_by_ticket(trip) == before
    assert trip.bus_id == bigger.id


def test_passengers_whose_seat_is_gone_are_reseated_with_their_group_together(now):
    company, trip = setup_trip(rows=3)
    factories.order(trip, ["1A"])
    group = factories.order(trip, ["3A", "3B", "3C"])  # row 3 does not exist on the new bus
    factories.order(trip, ["3D"])
    new_bus = factories.bus(company, layout="1A 1B _ 1C 1D\n2A 2B _ 2C 2D\nX1 X2 _ X3 X4")
    swap_bus(None, trip, new_bus, now=now)

    tickets = db.session.scalars(select(Ticket).where(Ticket.trip_id == trip.id)).all()
    labels = [t.seat_label for t in tickets]
    assert len(labels) == len(set(labels)) == 5
    assert set(labels) <= {s.label for s in new_bus.seats}
    assert seats_by_ticket(trip)["Passenger 1A"] == "1A"
    order_of_layout = [s.label for s in new_bus.seats]
    positions = sorted(order_of_layout.index(t.seat_label) for t in group.tickets)
    assert positions == list(range(positions[0], positions[0] + 3))  # side by side
    legs = db.session.execute(
        select(SeatLeg.seat_label, func.count()).where(SeatLeg.trip_id == trip.id).group_by(SeatLeg.seat_label)
    ).all()
    assert dict(legs) == {label: 2 for label in labels}  # every ticket still holds both legs


def test_riders_of_different_legs_can_share_a_seat_on_a_smaller_bus(now):
    company, trip = setup_trip(rows=1, stops=3)  # 4 seats, legs 0 and 1
    factories.order(trip, ["1A", "1B"], origin=0, destination=1)
    factories.order(trip, ["1C", "1D"], origin=1, destination=2)
    two_seats = factories.bus(company, layout="1A _ 1B")
    swap_bus(None, trip, two_seats, now=now)
    assert sorted(seats_by_ticket(trip).values()) == ["1A", "1A", "1B", "1B"]


def test_reseat_falls_back_to_an_optimal_plan():
    class T:
        def __init__(self, id_, order_id, label, a, b):
            self.id, self.order_id, self.seat_label, self.seat_class = id_, order_id, label, "standard"
            self.origin_position, self.destination_position = a, b

        @property
        def legs(self):
            return range(self.origin_position, self.destination_position)

    class S:
        def __init__(self, label):
            self.label, self.seat_class = label, "standard"

    # Greedy by group size would put the long group first and strand the others; the interval plan fits.
    tickets = [T(1, 1, "Z1", 0, 1), T(2, 2, "Z2", 1, 3), T(3, 3, "Z3", 0, 2), T(4, 4, "Z4", 2, 3)]
    plan = reseat(tickets, [S("A"), S("B")])
    used = Counter((plan[t.id], leg) for t in tickets for leg in t.legs)
    assert max(used.values()) == 1


def test_the_change_is_announced_after_commit_with_the_new_plate(now):
    company, trip = setup_trip()
    factories.order(trip, ["1A", "1B"])
    new_bus = factories.bus(company, plate="RAD 123A")
    heard = []
    handler = events.subscribe("trip.bus_changed")(lambda event: heard.append(event.payload))
    try:
        swap_bus(None, trip, new_bus, now=now)
        assert heard == []
        tx.commit()
    finally:
        events._subscribers["trip.bus_changed"].remove(handler)
    assert heard[0]["new_plate"] == "RAD 123A" and len(heard[0]["tickets"]) == 2
    event = db.session.scalar(select(Event).where(Event.trip_id == trip.id, Event.name == "trip.bus_changed"))
    assert event.delivered_at is not None


def test_a_rolled_back_swap_announces_nothing(now):
    company, trip = setup_trip()
    tx.commit()
    swap_bus(None, trip, factories.bus(company), now=now)
    tx.rollback()
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.trip_id == trip.id)) == 0


@pytest.mark.own_transactions
@pytest.mark.parametrize("round_", range(5))
def test_swap_racing_bookings_never_leaves_a_ticket_without_a_seat(now, committed, round_):
    company = factories.company()
    old_bus = factories.bus(company, rows=4)  # 1A..4D
    new_bus = factories.bus(company, layout="1A 1B _ 1C 1D\nN1 N2 _ N3 N4\nN5 N6 _ N7 N8\nN9 NA _ NB NC")
    trip = factories.trip(factories.route(company, stops=4), bus_=old_bus, departs_at=now + timedelta(hours=4))
    factories.order(trip, ["2A", "2B"])  # a group whose seats the new bus lacks
    tx.commit()
    trip_id, new_bus_id = trip.id, new_bus.id
    labels = sorted({s.label for s in old_bus.seats} | {s.label for s in new_bus.seats})
    rng = random.Random(round_)
    barrier = threading.Barrier(13)
    outcomes: list[str] = []

    def buy(seat: str, origin: int, destination: int):
        with committed.app_context():
            barrier.wait()
            try:
                booking.book_seats(
                    None,
                    trip_id,
                    seats=[seat],
                    origin=origin,
                    destination=destination,
                    passengers=[booking.Passenger("Racer")],
                    channel="web",
                    paid=True,
                    now=datetime.now(UTC),
                )
                tx.commit()
                outcomes.append("sold")
            except (SeatUnavailable, InvalidInput):  # taken, or not a seat of the bus it now has
                tx.rollback()
                outcomes.append("refused")
            except Exception as error:
                tx.rollback()
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    def swap():
        with committed.app_context():
            barrier.wait()
            try:
                swap_bus(None, db.session.get(Trip, trip_id), db.session.get(Bus, new_bus_id), now=datetime.now(UTC))
                tx.commit()
                outcomes.append("swapped")
            except SwapRefused:
                tx.rollback()
                outcomes.append("swap refused")
            except Exception as error:  # any other outcome fails the test below, with its name
                tx.rollback()
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=swap)]
    for _ in range(12):
        origin = rng.randrange(0, 3)
        threads.append(threading.Thread(target=buy, args=(rng.choice(labels), origin, rng.randrange(origin + 1, 4))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 13 and set(outcomes) <= {"sold", "refused", "swapped"}, outcomes

    db.session.expire_all()
    trip = db.session.get(Trip, trip_id)
    layout = {s.label for s in trip.bus.seats}
    tickets = db.session.scalars(select(Ticket).where(Ticket.trip_id == trip_id)).all()
    assert tickets and all(t.seat_label in layout for t in tickets), "a ticket points at a seat the bus lacks"
    held = Counter(
        (leg.seat_label, leg.leg) for leg in db.session.scalars(select(SeatLeg).where(SeatLeg.trip_id == trip_id))
    )
    assert max(held.values()) == 1
    expected = Counter((t.seat_label, leg) for t in tickets for leg in t.legs)
    assert held == expected  # every ticket holds exactly its own legs, nothing more
    assert outcomes.count("sold") + 2 == len(tickets)


def test_one_vip_passenger_and_one_moved_passenger_read_in_the_singular(now):
    """Messages and the audit log said "1 passengers"."""
    from app.audit.models import AuditEntry

    company, trip = setup_trip(rows=3, vip_rows=1)
    factories.order(trip, ["1A"])  # one VIP passenger
    no_vip = factories.bus(company, rows=3)
    with pytest.raises(SwapRefused) as refused:
        swap_bus(None, trip, no_vip, now=now)
    assert refused.value.message == f"Bus {no_vip.plate} has 0 VIP seats but 1 VIP passenger has a ticket."

    factories.order(trip, ["2A"])
    moved = factories.bus(company, rows=3, layout="1A* 1B* _ 1C* 1D*\n3A 3B _ 3C 3D")  # no row 2: 2A moves
    swap_bus(None, trip, moved, now=now)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "trip.bus_swapped"))
    assert entry.summary.endswith(", 1 passenger re-seated")
