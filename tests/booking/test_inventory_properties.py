"""A state machine over hold, release, expire, confirm and cancel on one small trip: after every
step, per leg, free + held + sold = capacity, where each figure is read its own way (the seat map,
active holds, paid tickets), and the database agrees with a model of what should be where."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from sqlalchemy import func, select

from app.booking.errors import HoldExpired, HoldLimitReached, OrderNotPayable, SeatUnavailable
from app.booking.models import Hold, Ticket
from app.booking.services import holds, orders, tickets
from app.booking.services.inventory import seat_states
from app.extensions import db
from tests import factories

SEATS = ["1A", "1B", "2A", "2B"]
LEGS = 3  # four stops


class Inventory(RuleBasedStateMachine):
    held = Bundle("held")
    sold = Bundle("sold")

    def __init__(self):
        super().__init__()
        company = factories.company()
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.trip = factories.trip(
            factories.route(company, stops=LEGS + 1),
            bus_=factories.bus(company, layout="1A 1B\n2A 2B"),
            departs_at=self.now + timedelta(days=3),
        )
        self.users = [factories.user() for _ in range(3)]
        self.model: dict[tuple[str, int], str] = {}  # (seat, leg) → "held:<code>" or "sold:<ticket id>"

    # --- steps ---

    @rule(
        target=held,
        user=st.integers(0, 2),
        seats=st.lists(st.sampled_from(SEATS), min_size=1, max_size=3, unique=True),
        origin=st.integers(0, LEGS - 1),
        length=st.integers(1, LEGS),
    )
    def hold(self, user, seats, origin, length):
        destination = min(origin + length, LEGS)
        self._forget_expired()
        wanted = {(seat, leg) for seat in seats for leg in range(origin, destination)}
        try:
            made = holds.create_hold(
                self.users[user], self.trip.id, seats=seats, origin=origin, destination=destination, now=self.now
            )
        except SeatUnavailable:
            assert wanted & set(self.model), "refused although every seat-leg was free"
            return None
        except HoldLimitReached:
            return None
        assert not wanted & set(self.model), "sold a seat-leg that was taken"
        for key in wanted:
            self.model[key] = f"held:{made.code}"
        return (user, made.code, made.expires_at)

    @rule(entry=consumes(held))
    def release(self, entry):
        if entry is None:
            return
        user, code, _ = entry
        holds.release_hold(self.users[user], code, now=self.now)
        self._drop(f"held:{code}")

    @rule(minutes=st.integers(1, 12))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    @rule(target=sold, entry=consumes(held))
    def confirm(self, entry):
        if entry is None:
            return None
        user, code, expires_at = entry
        try:
            order = orders.checkout(
                self.users[user],
                code,
                [orders.Passenger(f"P {n}") for n in range(4)][: self._seats_of(code)],
                channel="web",
                now=self.now,
            )
            orders.mark_paid(order, now=self.now)
        except (HoldExpired, OrderNotPayable):
            assert self.now >= expires_at
            self._drop(f"held:{code}")
            return None
        assert self.now < expires_at
        for ticket in order.tickets:
            for leg in ticket.legs:
                assert self.model[(ticket.seat_label, leg)] == f"held:{code}"
                self.model[(ticket.seat_label, leg)] = f"sold:{ticket.id}"
        return order.tickets[0].id

    @rule(entry=consumes(sold))
    def cancel(self, entry):
        if entry is None:
            return
        tickets.cancel_ticket(db.session.get(Ticket, entry), now=self.now)
        self._drop(f"sold:{entry}")

    # --- the model ---

    def _seats_of(self, code: str) -> int:
        return len(db.session.scalar(select(Hold).where(Hold.code == code)).seats)

    def _drop(self, owner: str) -> None:
        for key in [k for k, v in self.model.items() if v == owner]:
            del self.model[key]

    def _forget_expired(self) -> None:
        for code in {v for v in self.model.values() if v.startswith("held:")}:
            hold = db.session.scalar(select(Hold).where(Hold.code == code[5:]))
            if hold.expires_at <= self.now:
                self._drop(code)

    # --- what must hold after every step ---

    @invariant()
    def free_held_and_sold_add_up_per_leg(self):
        self._forget_expired()
        for leg in range(LEGS):
            states = seat_states(self.trip, leg, leg + 1, now=self.now, viewer_id=None)
            free = sum(1 for seat in SEATS if seat not in states)
            held = db.session.scalar(
                select(func.coalesce(func.sum(func.json_array_length(Hold.seats)), 0)).where(
                    Hold.trip_id == self.trip.id,
                    Hold.status == "active",
                    Hold.expires_at > self.now,
                    Hold.origin_position <= leg,
                    Hold.destination_position > leg,
                )
            )
            sold = db.session.scalar(
                select(func.count()).where(
                    Ticket.trip_id == self.trip.id,
                    Ticket.status == "paid",
                    Ticket.origin_position <= leg,
                    Ticket.destination_position > leg,
                )
            )
            assert free + held + sold == len(SEATS), (leg, free, held, sold)
            expected = {seat: v.split(":")[0] for (seat, at), v in self.model.items() if at == leg}
            assert {s: ("held" if v == "held" else "sold") for s, v in states.items()} == expected


def test_free_held_and_sold_always_add_up():
    Inventory.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    Inventory.TestCase().runTest()
