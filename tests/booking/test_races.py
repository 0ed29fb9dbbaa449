"""Many buyers at once on real PostgreSQL: threads with their own sessions, each taking a connection
from the pool, released together by a barrier. Nothing is ever sold twice."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.booking.errors import HoldLimitReached, SeatUnavailable
from app.booking.models import SeatLeg, Ticket
from app.booking.services import holds, orders
from app.core import tx
from app.extensions import db
from tests import factories

pytestmark = pytest.mark.own_transactions
BUYERS = 200


def run_together(committed, work, jobs: list) -> list[str]:
    """Run ``work(*job)`` in one thread per job, all released at once; collect each outcome."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def attempt(*args):
        with committed.app_context():
            barrier.wait()
            try:
                outcomes.append(work(*args))
                tx.commit()
            except (SeatUnavailable, HoldLimitReached) as refusal:
                tx.rollback()
                outcomes.append(f"refused: {refusal.message}")
            except Exception as error:  # anything else fails the test, by name
                tx.rollback()
                outcomes.append(f"error: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(jobs), "a buyer never came back"
    return outcomes


def nearly_full_trip(stops: int = 3, free: int = 10):
    """A 40-seat trip with all but ``free`` seats sold end to end; returns (trip id, free labels)."""
    company = factories.company()
    bus = factories.bus(company, rows=10)
    trip = factories.trip(
        factories.route(company, stops=stops), bus_=bus, departs_at=datetime.now(UTC) + timedelta(days=1)
    )
    labels = [seat.label for seat in bus.seats]
    sold, left = labels[:-free], labels[-free:]
    for start in range(0, len(sold), 6):
        factories.order(trip, sold[start : start + 6])
    tx.commit()
    return trip.id, left


def buy(user_id: int, trip_id: int, seats: list[str], origin: int, destination: int, pay: bool = True) -> str:
    """A buyer's whole path: hold, checkout, payment."""
    now = datetime.now(UTC)
    user = db.session.get(User, user_id)
    hold = holds.create_hold(user, trip_id, seats=seats, origin=origin, destination=destination, now=now)
    order = orders.checkout(user, hold.code, [orders.Passenger("Racer")] * len(seats), channel="web", now=now)
    if not pay:
        tx.commit()
        orders.mark_failed(order, now=now)
        return "gave up"
    orders.mark_paid(order, now=now)
    return "bought"


def buyers(count: int) -> list[int]:
    users = [factories.user() for _ in range(count)]
    tx.commit()
    return [user.id for user in users]


def no_seat_leg_twice(trip_id: int) -> None:
    db.session.expire_all()
    doubled = db.session.execute(
        select(SeatLeg.seat_label, SeatLeg.leg, func.count())
        .where(SeatLeg.trip_id == trip_id)
        .group_by(SeatLeg.seat_label, SeatLeg.leg)
        .having(func.count() > 1)
    ).all()
    assert doubled == []
    tickets = db.session.scalars(select(Ticket).where(Ticket.trip_id == trip_id, Ticket.status == "paid")).all()
    legs = Counter((t.seat_label, leg) for t in tickets for leg in t.legs)
    assert max(legs.values()) == 1
    stored = db.session.scalar(select(func.count()).where(SeatLeg.trip_id == trip_id, SeatLeg.ticket_id.is_not(None)))
    assert stored == sum(legs.values())  # every paid ticket holds exactly its seat-legs


@pytest.mark.parametrize("round_", range(10))
def test_two_hundred_buyers_for_the_last_ten_seats(committed, round_):
    trip_id, left = nearly_full_trip()
    users = buyers(BUYERS)
    wanted = left * (BUYERS // len(left))  # twenty buyers for each free seat
    random.Random(round_).shuffle(wanted)
    outcomes = run_together(
        committed, buy, [(user, trip_id, [seat], 0, 2) for user, seat in zip(users, wanted, strict=True)]
    )

    counts = Counter("refused" if o.startswith("refused") else o for o in outcomes)
    assert counts == {"bought": 10, "refused": 190}, counts
    assert all("no longer free" in o for o in outcomes if o.startswith("refused"))
    assert db.session.scalar(select(func.count()).where(Ticket.trip_id == trip_id, Ticket.status == "paid")) == 40
    no_seat_leg_twice(trip_id)


@pytest.mark.parametrize("round_", range(3))
def test_leg_ranges_groups_and_buyers_who_give_up(committed, round_):
    """Buyers of 1-3 seats over random leg ranges of a four-stop trip; a third of the winners
    give up before paying. Overlapping ranges exclude each other, disjoint ones share a seat,
    a group gets all its seats or none, and seats given up are sellable again."""
    trip_id, left = nearly_full_trip(stops=4, free=6)
    users = buyers(60)
    rng = random.Random(round_)
    jobs = []
    for index, user in enumerate(users):
        origin = rng.randrange(0, 3)
        jobs.append((user, trip_id, rng.sample(left, rng.choice((1, 1, 2, 3))), origin, rng.randrange(origin + 1, 4)))
        jobs[-1] += (index % 3 != 0,)  # every third buyer gives up after checkout
    outcomes = run_together(committed, buy, jobs)
    assert all(o in ("bought", "gave up") or "no longer free" in o for o in outcomes), outcomes
    assert outcomes.count("bought") >= 1

    no_seat_leg_twice(trip_id)
    db.session.expire_all()
    paid = db.session.scalars(select(Ticket).where(Ticket.trip_id == trip_id, Ticket.status == "paid")).all()
    by_order = Counter(ticket.order_id for ticket in paid if ticket.order.channel == "web")
    requested = {len(job[2]) for job in jobs}
    assert set(by_order.values()) <= requested  # whole groups only

    # Every seat-leg not on a paid ticket, given up ones included, can be bought now.
    taken = {(t.seat_label, leg) for t in paid for leg in t.legs}
    last = buyers(1)[0]
    free = [(seat, leg) for seat in left for leg in range(3) if (seat, leg) not in taken]
    assert free, "the round sold everything; pick another seed"
    for seat, leg in free:
        assert run_together(committed, buy, [(last, trip_id, [seat], leg, leg + 1)]) == ["bought"]
    no_seat_leg_twice(trip_id)
