"""Every console URL that takes an object id answers 404 for another company's object, and the
pages about staff and money refuse dispatchers."""

from __future__ import annotations

from datetime import date, time

import pytest

from app.accounts.models import Membership
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Timetable
from app.notifications.models import Notification
from app.payments.services import payments, refunds
from app.tracking.models import Tracker
from tests import factories


def other_companys_objects() -> dict[str, int]:
    """One object of each kind, all owned by a company the caller does not belong to."""
    other = factories.company(name="Someone Else's Coaches")
    route = factories.route(other)
    bus = factories.bus(other)
    trip = factories.trip(route, bus_=bus)
    order = factories.order(trip, ["1A"], paid=False)
    payment = payments.record_cash(factories.member("agent", of=other), order, amount=order.total, now=utcnow())
    refund = refunds.open_refund(payment, 100, reason="passenger_cancelled", purpose="test:1", now=utcnow())
    timetable = Timetable(
        company_id=other.id, route_id=route.id, departure_time=time(8, 0), weekdays=127, valid_from=date(2026, 1, 1)
    )
    db.session.add(timetable)
    driver = factories.member("driver", of=other)
    notification = Notification(
        dedupe_key="trip_delayed:other:sms:+250788000001",
        kind="trip_delayed",
        channel="sms",
        address="+250788000001",
        company_id=other.id,
        trip_id=trip.id,
        status="gave_up",
        attempts=3,
        error="HTTP 500 from the gateway",
    )
    db.session.add(notification)
    tracker = Tracker(company_id=other.id, bus_id=bus.id, device_id="other-company-tracker")
    db.session.add(tracker)
    db.session.flush()
    membership = db.session.query(Membership).filter_by(user_id=driver.id).one()
    return {
        "trip_id": trip.id,
        "route_id": route.id,
        "bus_id": bus.id,
        "timetable_id": timetable.id,
        "membership_id": membership.id,
        "reference": refund.reference,
        "notification_id": notification.id,
        "tracker_id": tracker.id,
    }


# Stations and towns are shared by every operator (one Huye for all): no company owns them, and
# changing them is for company admins (tests/companies/test_views_console.py).
SHARED = {"station_id", "town_id"}


def console_rules_with_ids(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/console/") and rule.arguments and not set(rule.arguments) <= SHARED
    ]


def test_every_console_url_with_an_id_hides_other_companies_objects(app, client, login_as):
    login_as("admin")
    ids = other_companys_objects()
    rules = console_rules_with_ids(app)
    assert len(rules) >= 10, "the console's object pages are missing"
    token = client.csrf_token()
    for rule in rules:
        unknown = set(rule.arguments) - set(ids)
        assert not unknown, f"{rule.endpoint}: teach this test which object {unknown} names"
        url = rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token} if method != "GET" else None)
            assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) gave {response.status_code}"


ADMIN_ONLY = [
    "/console/staff",
    "/console/staff/invite",
    "/console/settings",
    "/console/audit",
    "/console/payments",
    "/console/payments.csv",
]


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_dispatchers_cannot_open_staff_or_money_pages(client, login_as, path):
    login_as("dispatcher")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/console/staff/invite", "/console/settings"])
def test_dispatchers_cannot_post_staff_or_money_changes(client, login_as, path):
    dispatcher = login_as("dispatcher")
    assert (
        client.submit(path, {"email": "x@example.rw", "name": "X", "role": "admin", "hold_minutes": 5}).status_code
        == 403
    )
    assert dispatcher.memberships[0].role == "dispatcher"


def test_dispatchers_cannot_change_roles_or_deactivate_staff(client, login_as):
    dispatcher = login_as("dispatcher")
    colleague = factories.member("driver", of=dispatcher.memberships[0].company)
    membership = colleague.memberships[0]
    assert client.submit(f"/console/staff/{membership.id}/role", {"role": "admin"}).status_code == 403
    assert client.submit(f"/console/staff/{membership.id}/active", {}).status_code == 403
    assert (membership.role, membership.is_enabled) == ("driver", True)


def test_dispatchers_cannot_change_fares(client, login_as):
    dispatcher = login_as("dispatcher")
    route = factories.route(dispatcher.memberships[0].company)
    assert client.get(f"/console/routes/{route.id}/fares").status_code == 403
    assert client.submit(f"/console/routes/{route.id}/fares", {}).status_code == 403
