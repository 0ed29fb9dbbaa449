"""The audit log shows every console change of the company, with before and after, filterable."""

from __future__ import annotations

from datetime import timedelta

from app.fleet.services import trips
from tests import factories


def test_changes_appear_with_who_what_and_before_after(now, client, login_as):
    admin = login_as("admin", name="Eric Habimana")
    company = admin.memberships[0].company
    trip = factories.trip(factories.route(company, name="Kigali – Huye"), departs_at=now + timedelta(hours=3))
    trips.delay_trip(admin, trip, new_departure=now + timedelta(hours=4), reason="Heavy rain", now=now)
    trips.cancel_trip(admin, trip, reason="Road closed", now=now)

    page = client.get("/console/audit").get_data(as_text=True)
    assert "Eric Habimana" in page
    assert "trip.delayed" in page and "Heavy rain" in page
    assert "trip.cancelled" in page and "Road closed" in page
    assert "<del>scheduled</del> → <ins>cancelled</ins>" in page

    only_delays = client.get("/console/audit?action=trip.delayed").get_data(as_text=True)
    assert "Heavy rain" in only_delays and "Road closed" not in only_delays


def test_filters_arrive_as_a_fragment_for_htmx(now, client, login_as):
    admin = login_as("admin")
    company = admin.memberships[0].company
    trips.cancel_trip(admin, factories.trip(factories.route(company)), reason="Strike", now=now)
    response = client.get("/console/audit?action=trip.cancelled", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="audit-results">') and "Strike" in body
    assert response.headers["Vary"] == "HX-Request" or "HX-Request" in response.headers["Vary"]


def test_another_companys_changes_are_not_shown(now, client, login_as):
    login_as("admin")
    outsider = factories.member("admin", of=factories.company())
    other_trip = factories.trip(factories.route(outsider.memberships[0].company))
    trips.cancel_trip(outsider, other_trip, reason="Secret reason", now=now)
    assert "Secret reason" not in client.get("/console/audit").get_data(as_text=True)


def test_dispatchers_do_not_read_the_audit_log(client, login_as):
    login_as("dispatcher")
    assert client.get("/console/audit").status_code == 403


def test_bad_filters_are_ignored_not_errors(client, login_as):
    login_as("admin")
    assert client.get("/console/audit?since=yesterday&actor=abc&page=-3").status_code == 200
