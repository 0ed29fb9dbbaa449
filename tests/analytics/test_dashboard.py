"""The console dashboard: the day at a glance and what needs attention, from known fixtures with
figures worked out by hand."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.analytics import queries as analytics
from app.extensions import db, redis
from app.fleet.rules import TripStatus
from app.fleet.services.trips import today_for
from app.payments.models import Payment, Refund
from app.tracking import live
from tests import factories
from tests.notifications.records import record

KIGALI = ZoneInfo("Africa/Kigali")
DAY = date(2030, 3, 14)  # a Thursday, far from the clock: nothing here depends on when it runs


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), KIGALI).astimezone(UTC)


NOW = at(DAY, 6)  # the dashboard is read at 06:00 that morning


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def paid(trip, seats, when: datetime):
    order = factories.order(trip, seats)
    order.paid_at = when
    return order


def cash_refund(order, amount: int) -> Refund:
    payment = Payment(
        reference=str(uuid.uuid4()),
        order_id=order.id,
        company_id=order.company_id,
        provider="cash",
        status="succeeded",
        amount=order.total,
        currency="RWF",
        provider_amount=str(order.total),
        provider_currency="RWF",
    )
    db.session.add(payment)
    db.session.flush()
    refund = Refund(
        reference=str(uuid.uuid4()),
        purpose=f"test:{uuid.uuid4().hex[:20]}",
        payment_id=payment.id,
        order_id=order.id,
        company_id=order.company_id,
        reason="passenger_cancelled",
        status="cash_due",
        amount=amount,
        currency="RWF",
        provider_amount=str(amount),
    )
    db.session.add(refund)
    db.session.flush()
    return refund


@pytest.fixture
def day(login_as):
    """Kigali → Muhanga → Huye, 2,000 a leg (4,000 the whole way). Bus A has 12 seats, bus B 8.

    On the day: 08:00 departed on A with 4 tickets (3 paid at 07:15, 1 the evening before); 09:00
    cancelled on A; 10:00 scheduled on B without a driver, 2 tickets paid at 07:50 and 1 booking
    waiting for payment; 14:00 scheduled with neither bus nor driver. The next morning at 07:00 on
    A without a driver, 1 ticket paid at 09:05 today. Three days later, without a bus."""
    admin = login_as("admin")
    company = admin.memberships[0].company
    driver = factories.member("driver", of=company)
    route = factories.route(company, stops=3, leg_fare=2000, name="Kigali – Huye")
    bus_a, bus_b = factories.bus(company, rows=3, plate="RAA 001A"), factories.bus(company, rows=2, plate="RAB 002B")
    factories.bus(company, rows=2, plate="RAC 003C", status="maintenance")

    def trip(when, bus=None, **values):
        return factories.trip(route, bus_=bus, departs_at=when, **values)

    first = trip(at(DAY, 8), bus_a, driver=driver)
    paid(first, ["1A", "1B", "1C"], at(DAY, 7, 15))
    paid(first, ["2A"], at(DAY - timedelta(days=1), 23, 30))
    first.status = TripStatus.DEPARTED
    trip(at(DAY, 9), bus_a, driver=driver, status=TripStatus.CANCELLED)
    third = trip(at(DAY, 10), bus_b)
    paid(third, ["1A", "1B"], at(DAY, 7, 50))
    waiting = factories.order(third, ["2A"], paid=False)
    waiting.expires_at = NOW + timedelta(minutes=10)
    trip(at(DAY, 14))
    tomorrow = trip(at(DAY + timedelta(days=1), 7), bus_a)
    paid(tomorrow, ["3A"], at(DAY, 9, 5))
    trip(at(DAY + timedelta(days=3), 9))
    cash_refund(paid(tomorrow, ["3B"], at(DAY - timedelta(days=2), 12)), 1800)
    record(company, status="failed")
    record(company, status="gave_up", channel="email")
    record(company, status="sent")
    record(company, status="failed", channel="inbox")  # the portal's bell: nothing to send again
    db.session.flush()
    return company, bus_a, bus_b


def test_the_day_at_a_glance_adds_up(day):
    company, bus_a, bus_b = day
    today = analytics.today(company, DAY, NOW)

    assert today.by_status == {"scheduled": 2, "boarding": 0, "departed": 1, "arrived": 0, "cancelled": 1}
    lines = [(t.departs_at, t.route, t.plate, t.status, t.sold, t.capacity, t.percent) for t in today.trips]
    assert lines == [
        (at(DAY, 8), "Kigali – Huye", "RAA 001A", "departed", 4, 12, 33),
        (at(DAY, 9), "Kigali – Huye", "RAA 001A", "cancelled", 0, 12, 0),
        (at(DAY, 10), "Kigali – Huye", "RAB 002B", "scheduled", 3, 8, 38),  # the booking waiting counts
        (at(DAY, 14), "Kigali – Huye", None, "scheduled", 0, 0, 0),
    ]
    # Paid today: 3 × 4,000 at 07:15 and 2 × 4,000 at 07:50 (hour 7), 1 × 4,000 at 09:05 (hour 9).
    assert [(h.hour, h.tickets, h.amount) for h in today.by_hour if h.tickets] == [(7, 5, 20000), (9, 1, 4000)]
    assert len(today.by_hour) == 24 and today.busiest_hour.hour == 7
    assert (today.tickets_sold, today.revenue) == (6, 24000)
    assert today.buses_active == 2  # the bus in maintenance is not in service

    needs = today.attention
    # Within 48 hours of 06:00: 10:00 (no driver), 14:00 (neither), tomorrow 07:00 (no driver).
    assert needs.unassigned_count == 3
    assert [(u.departs_at, u.needs_bus, u.needs_driver) for u in needs.unassigned] == [
        (at(DAY, 10), False, True),
        (at(DAY, 14), True, True),
        (at(DAY + timedelta(days=1), 7), False, True),
    ]
    assert (needs.awaiting_payment, needs.awaiting_amount) == (1, 4000)
    assert (needs.cash_refunds, needs.cash_refund_amount) == (1, 1800)
    assert needs.failed_messages == 2  # the SMS and the email, not the bell's entry


def test_buses_on_the_road_are_those_reporting_now(app, day):
    company, bus_a, bus_b = day
    stale = app.config["TRACKING_STALE_SECONDS"]
    for bus, age in ((bus_a, 10), (bus_b, stale + 5)):
        fix = {"lat": -1.9, "lon": 30.0, "ts": int((NOW.timestamp() - age) * 1000)}
        redis.hset(live.location_key(bus.id), mapping=fix)
    try:
        assert analytics.today(company, DAY, NOW).buses_on_road == 1
    finally:
        redis.delete(live.location_key(bus_a.id), live.location_key(bus_b.id))


def test_nothing_waiting_is_said_plainly(login_as):
    company = login_as("admin").memberships[0].company
    today = analytics.today(company, DAY, NOW)
    assert today.attention.empty and today.trips == [] and today.busiest_hour is None
    assert sum(today.by_status.values()) == 0


# --- The page --------------------------------------------------------------------------------


def test_the_dashboard_page_shows_the_figures_and_links_to_each_fix(client, login_as):
    admin = login_as("admin")
    company = admin.memberships[0].company
    route = factories.route(company, stops=2, leg_fare=3000, name="Kigali – Musanze")
    bus = factories.bus(company, rows=2, plate="RAD 444D")  # 8 seats
    day = today_for(company)
    start = datetime.combine(day, time(0), KIGALI)
    trip = factories.trip(route, bus_=bus, departs_at=(start + timedelta(hours=23, minutes=50)).astimezone(UTC))
    paid(trip, ["1A", "1B"], (start + timedelta(minutes=30)).astimezone(UTC))  # 2 × 3,000 at 00:30
    driverless = factories.trip(route, bus_=bus, departs_at=(start + timedelta(hours=33)).astimezone(UTC))
    record(company, status="failed")
    db.session.flush()

    raw = client.get("/console/").get_data(as_text=True)
    page = html.unescape(raw)
    assert company.name in page
    assert re.search(r"Sales today</span>\s*<span class=\"stat-value\">6,000 RWF</span>", page)
    assert "2 of 8 (25%)" in page  # the bar's figure, in words too
    assert '<rect class="bar-fill" width="25" height="8"/>' in page
    assert "Busiest hour: 00:00, 6,000 RWF." in page and "00:00–01:00" in page
    # tomorrow 09:00 is always within the next 48 hours and still to come, whenever this runs
    assert re.search(rf'href="/console/trips/{driverless.id}">[^<]*</a>:\s*no driver', page)
    assert "1 SMS or email to passengers failed." in page
    assert 'href="/console/notifications?status=attention"' in page
    assert f'href="/console/trips?date={day.isoformat()}&amp;status=scheduled"' in raw


def test_an_empty_day_says_what_to_do_next(client, login_as):
    login_as("dispatcher")
    page = text(client.get("/console/"))
    assert "No trips today." in page and 'href="/console/timetables/new"' in page
    assert "No tickets sold yet today." in page
    assert "Nothing needs you right now." in page
