"""Shared pieces of the bounded fuzz job (``pytest -m fuzz``): Hypothesis strategies for hostile
input, a runner that tallies cases and time, and the checks that nothing was half written.

Every fuzz run is deterministic (``derandomize``: the same cases on every machine, so a failure
reproduces) and bounded by its number of examples; the counts and times are printed at the end of
every pytest run under "fuzzing" and written to ``fuzzing.txt`` in pytest's temporary directory.
``FUZZ_SCALE=20`` multiplies the examples and draws new cases each run, for a longer hunt by hand.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from app.extensions import db

TALLIES: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
SCALE = int(os.environ.get("FUZZ_SCALE") or 1)

# Text an attacker or a broken client sends: control characters, lone surrogates, digits galore.
NASTY = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\r\n", "\t", "\x1b[31m", "\x85", "9" * 40, "é" * 300, "'; --"]
)
TEXT = st.one_of(NASTY, st.text(max_size=24), st.text(st.characters(codec="utf-8"), max_size=8))
# What can travel in a URL or a form at all (UTF-8 has no lone surrogates).
WIRE_TEXT = TEXT.filter(lambda value: not any("\ud800" <= c <= "\udfff" for c in value))
INTEGERS = st.one_of(
    st.integers(-5, 50),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 2**70, -(2**63), 10**30]),
    st.integers(),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, st.floats(), TEXT)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10
)
WATCHED = ("users", "holds", "seat_legs", "orders", "tickets", "payments", "refunds", "idempotency_keys")


def near(valid: dict, hostile: dict) -> st.SearchStrategy[dict]:
    """``valid`` as it is, with one field replaced by something from ``hostile``, or with one left
    out: so that some cases get all the way through and others fail at each step."""
    keys = sorted(hostile)
    return st.one_of(
        st.just(valid),
        st.sampled_from(keys).flatmap(lambda key: hostile[key].map(lambda value: {**valid, key: value})),
        st.sampled_from(sorted(valid)).map(lambda gone: {k: v for k, v in valid.items() if k != gone}),
    )


def tally(name: str, *, cases: int, seconds: float) -> None:
    """Add a run's cases and seconds under ``name`` (parametrised tests add up)."""
    TALLIES[name][0] += cases
    TALLIES[name][1] += seconds


def summary() -> list[str]:
    return [f"{name}: {int(cases)} cases in {seconds:.1f} s" for name, (cases, seconds) in sorted(TALLIES.items())]


def fuzz(label: str, /, *, examples: int = 60, **strategies) -> Callable:
    """Run the decorated body over ``strategies`` at once, ``examples`` times at most, and tally
    it under ``label``. Used inside a test, so the body sees the test's fixtures."""

    def decorate(body: Callable) -> None:
        count = [0]

        @settings(
            max_examples=examples * SCALE,
            deadline=None,
            database=None,
            derandomize=SCALE == 1,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(**strategies)
        def case(**values):
            count[0] += 1
            body(**values)

        started = time.monotonic()
        try:
            case()
        finally:
            tally(label, cases=count[0], seconds=time.monotonic() - started)

    return decorate


def rows(tables=WATCHED) -> dict[str, int]:
    return {name: db.session.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in tables}  # noqa: S608  (our own table names)


def bookings_are_whole() -> None:
    """Every hold and every live ticket owns exactly the seat-legs it stands for, and every order
    has its tickets: what a request that failed half-way would break."""
    from app.booking.models import Hold, Order, SeatLeg, Ticket

    legs_of_holds = dict(
        db.session.execute(
            select(SeatLeg.hold_id, func.count()).where(SeatLeg.hold_id.is_not(None)).group_by(SeatLeg.hold_id)
        ).all()
    )
    for hold in db.session.scalars(select(Hold).where(Hold.status == "active")):
        expected = len(hold.seats) * (hold.destination_position - hold.origin_position)
        assert legs_of_holds.get(hold.id, 0) == expected, f"hold {hold.code} owns a part of its seats"
    legs_of_tickets = dict(
        db.session.execute(
            select(SeatLeg.ticket_id, func.count()).where(SeatLeg.ticket_id.is_not(None)).group_by(SeatLeg.ticket_id)
        ).all()
    )
    for ticket in db.session.scalars(select(Ticket).where(Ticket.status.in_(("pending", "paid")))):
        expected = ticket.destination_position - ticket.origin_position
        assert legs_of_tickets.get(ticket.id, 0) == expected, f"ticket {ticket.code} owns a part of its legs"
    empty = db.session.scalar(select(func.count(Order.id)).where(~Order.tickets.any()))
    assert empty == 0, "an order without tickets"


def refused_cleanly(response, before: dict[str, int], tables=WATCHED) -> None:
    """A 4xx with the error body that left every watched table as it was; never a 5xx."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        if response.mimetype == "application/json":
            error = response.get_json()["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str), error
        assert rows(tables) == before, f"a refused request ({response.status_code}) left rows behind"
