"""Two phones scanning the same ticket at the door, on real PostgreSQL: threads with their own
app contexts, sessions and connections. The conditional UPDATE lets exactly one of them board it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.booking import qr
from app.booking.models import BoardingScan
from app.booking.services import boarding
from app.core import tx
from app.extensions import db
from tests import factories

pytestmark = pytest.mark.own_transactions
ROUNDS = 100
APART = 0.05  # seconds between the two phones' scans, as at a busy door


def scan_from_two_phones(committed, driver_id: int, trip_id: int, text: str, apart: float) -> list[str]:
    barrier = threading.Barrier(2)
    results: list[str] = []

    def phone(device: str, delay: float) -> None:
        with committed.app_context():
            barrier.wait()
            time.sleep(delay)  # the scenario's spacing between the two scans, not a wait for anything
            try:
                user = db.session.get(User, driver_id)
                answer = boarding.scan(user, trip_id, qr=text, device=device, now=datetime.now(UTC))
                tx.commit()
                results.append(answer.result)
            except Exception as error:  # anything else fails the round, by name
                tx.rollback()
                results.append(f"error: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=phone, args=args) for args in (("phone-1", 0), ("phone-2", apart))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_one_ticket_scanned_by_two_phones_boards_exactly_once_in_every_round(committed):
    """Even rounds 50 ms apart (the issue's case), odd rounds at the same instant (the harder one)."""
    company = factories.company()
    driver = factories.member("driver", of=company)
    bus = factories.bus(company, rows=ROUNDS // 4)
    trip = factories.trip(
        factories.route(company), bus_=bus, driver=driver, departs_at=datetime.now(UTC) + timedelta(hours=1)
    )
    labels = [seat.label for seat in bus.seats]
    sold = [t for start in range(0, ROUNDS, 6) for t in factories.order(trip, labels[start : start + 6]).tickets]
    texts = [qr.text_for(ticket) for ticket in sold]
    driver_id, trip_id = driver.id, trip.id
    tx.commit()

    started = time.monotonic()
    for round_, text in enumerate(texts):
        results = scan_from_two_phones(committed, driver_id, trip_id, text, APART if round_ % 2 == 0 else 0)
        assert sorted(results) == ["already_boarded", "boarded"], (round_, results)
    assert time.monotonic() - started < 20
    assert db.session.scalar(select(func.count()).select_from(BoardingScan)) == 2 * ROUNDS  # every scan kept
