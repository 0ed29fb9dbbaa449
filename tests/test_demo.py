"""Demo data: realistic, loadable twice, with one working login per role."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from app import demo
from app.accounts.models import Membership, User
from app.booking.models import SeatLeg, Ticket
from app.companies.models import Company, Station
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Bus, Route, Timetable, Trip
from app.fleet.services.trips import today_for

MODELS = (User, Membership, Company, Station, Route, Bus, Timetable, Trip, Ticket, SeatLeg)


def counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in MODELS)


def test_loading_twice_changes_nothing():
    demo.load()
    first = counts()
    demo.load()
    assert counts() == first
    assert first[2] == 3  # three operators
    assert first[3] >= 9


def test_each_operator_has_a_working_fleet_for_two_weeks():
    demo.load()
    for company in db.session.scalars(select(Company)):
        routes = db.session.scalars(select(Route).where(Route.company_id == company.id)).all()
        assert routes and all(3 <= len(route.stops) <= 6 for route in routes), company.name
        buses = db.session.scalars(select(Bus).where(Bus.company_id == company.id)).all()
        assert 8 <= len(buses) <= 15 and all(bus.capacity >= 25 for bus in buses)
        drivers = db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.company_id == company.id, Membership.role == "driver")
        )
        assert drivers >= 4
        days = set(db.session.scalars(select(Trip.service_date).where(Trip.company_id == company.id)))
        today = today_for(company, utcnow())
        assert {today + timedelta(days=n) for n in range(1, 14)} <= days
        sold = db.session.scalar(
            select(func.count())
            .select_from(Ticket)
            .join(Trip, Trip.id == Ticket.trip_id)
            .where(Trip.company_id == company.id)
        )
        assert sold > 0


def test_stations_sit_inside_rwanda():
    demo.load()
    for station in db.session.scalars(select(Station)):
        assert -2.9 < station.latitude < -1.0 and 28.8 < station.longitude < 31.0, station.name


LANDINGS = {
    "admin@tms.rw": "/admin/",
    "manager@virunga.rw": "/console/",
    "dispatcher@virunga.rw": "/console/",
    "driver@virunga.rw": "/driver/",
    "agent@virunga.rw": "/pos/",
    "manager@akagera.rw": "/console/",
    "manager@nyungwe.rw": "/console/",
    "passenger@tms.rw": "/",
}


def test_every_demo_login_opens_its_surface(app, client):  # `client` makes test clients browser-like
    demo.load()
    assert set(LANDINGS) == {account[0] for account in demo.ACCOUNTS}
    for email, landing in LANDINGS.items():
        client = app.test_client()
        response = client.submit("/login", {"email": email, "password": demo.DEMO_PASSWORD})
        assert response.location == landing, email
        assert client.get(landing).status_code == 200, email


def test_the_demo_passenger_rides_with_the_demo_driver_soon_and_has_an_unread_message():
    from app.booking.models import Order
    from app.core import tx
    from app.notifications import services as notifications

    demo.load()
    tx.commit()  # what `flask demo load` does: the ticket's messages go out after commit
    passenger = db.session.scalar(select(User).where(User.email == "passenger@tms.rw"))
    orders = db.session.scalars(select(Order).where(Order.user_id == passenger.id)).all()
    assert [order.status for order in orders] == ["paid"]
    trip = orders[0].tickets[0].trip  # the demo driver's next trip, to start and follow live
    assert trip.driver.email == "driver@virunga.rw" and trip.status == "scheduled"
    assert utcnow() + timedelta(minutes=15) < trip.departs_at < utcnow() + timedelta(days=1)
    assert notifications.unread_count(passenger.id) == 1
    from app.booking.services import boarding

    aboard = boarding.manifest(trip).stops[0].passengers  # the driver has people to scan at the door
    assert len(aboard) == 5 and {p.status for p in aboard} == {"not_yet"}


def test_make_run_prints_a_short_summary_with_the_logins_not_the_demo_messages(app, caplog):
    """`flask demo load` used to bury the logins under ~450 logged SMS and emails."""
    caplog.set_level(logging.INFO)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) <= 12
    assert lines[0].startswith("Demo data loaded: 3 operators, ")
    assert f"Sign in at http://tms.test/login with the password {demo.DEMO_PASSWORD}:" in lines
    assert all(any(line.split() and line.split()[0] == email for line in lines) for email in LANDINGS)
    assert not [r for r in caplog.records if r.name.startswith("app.notifications.channels")]
    # Messages sent once the demo is loaded are logged again (the sign-up and reset links).
    assert logging.getLogger("app.notifications.channels").getEffectiveLevel() < logging.WARNING
