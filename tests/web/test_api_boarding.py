"""Boarding over the JSON API, for partners' scanners and station staff: scan, offline upload,
the offline pack and undo, each refused to whoever may not board the trip."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from app.booking import qr
from app.core.models import utcnow
from tests import factories
from tests.booking.test_api import token


@pytest.fixture
def line(now):
    company = factories.company(name="Volcano Express")
    driver = factories.member("driver", of=company)
    trip = factories.trip(
        factories.route(company, stops=3),
        bus_=factories.bus(company, rows=3, plate="RAD 123A"),
        driver=driver,
        departs_at=now + timedelta(hours=1),
    )
    tickets = factories.order(trip, ["1A", "1B", "2A"]).tickets
    return trip, driver, tickets


@pytest.fixture
def api(client):
    def call(method, path, user, **kwargs):
        return client.open(
            f"/api/v1{path}", method=method, headers={"Authorization": f"Bearer {token(client, user)}"}, **kwargs
        )

    return call


def test_a_scan_boards_once_and_the_second_scanner_hears_when_and_where(api, line):
    trip, driver, (ticket, *_) = line
    body = {"qr": qr.text_for(ticket), "device": "gate-1", "scan_id": "0b7e-1"}
    first = api("POST", f"/trips/{trip.id}/boardings", driver, json=body)
    assert first.status_code == 200
    answer = first.get_json()
    assert answer["result"] == "boarded" and answer["warning"] is None and answer["scan_id"] == "0b7e-1"
    assert answer["ticket"] == {
        "code": ticket.code,
        "name": "Passenger 1A",
        "seat": "1A",
        "class": "standard",
        "from": ticket.origin.name,
        "to": ticket.destination.name,
    }
    assert api("POST", f"/trips/{trip.id}/boardings", driver, json=body).get_json() == answer  # sent again

    second = api("POST", f"/trips/{trip.id}/boardings", driver, json={"code": ticket.code, "device": "gate-2"})
    again = second.get_json()
    assert (again["result"], again["boarded_device"], again["boarded_at"]) == (
        "already_boarded",
        "gate-1",
        answer["boarded_at"],
    )


def test_a_forged_code_and_another_companys_ticket_are_refused_with_their_reason(api, line):
    trip, driver, (ticket, *_) = line
    rival = factories.trip(bus_=factories.bus(factories.company()), departs_at=trip.departs_at)
    (theirs,) = factories.order(rival, ["1A"]).tickets
    cases = {
        "forged": qr.text_for(ticket)[:-3] + "AAA",
        "wrong_trip": qr.text_for(theirs),
        "unreadable": "not a ticket",
    }
    for result, text in cases.items():
        answer = api("POST", f"/trips/{trip.id}/boardings", driver, json={"qr": text, "device": "g"}).get_json()
        assert (answer["result"], answer["ticket"], answer["other_trip"]) == (result, None, None), result


def test_an_offline_batch_is_idempotent_and_answers_per_scan(api, line):
    trip, driver, (first, second, _) = line
    at = (utcnow() - timedelta(minutes=4)).isoformat()
    scans = [
        {"scan_id": "p1-1", "qr": qr.text_for(first), "stop": 0, "scanned_at": at, "result_on_device": "boarded"},
        {"scan_id": "p1-2", "code": second.code, "stop": 1, "scanned_at": at},
    ]
    sent = api("POST", f"/trips/{trip.id}/boardings/batch", driver, json={"device": "phone-1", "scans": scans})
    assert sent.status_code == 200
    answers = sent.get_json()["answers"]
    assert [(a["result"], a["warning"], a["offline"]) for a in answers] == [
        ("boarded", None, True),
        ("boarded", "wrong_stop", True),
    ]
    again = api("POST", f"/trips/{trip.id}/boardings/batch", driver, json={"device": "phone-1", "scans": scans})
    assert again.get_json()["answers"] == answers

    later = [{**scans[0], "scan_id": "p2-1", "scanned_at": utcnow().isoformat()}]
    duplicate = api("POST", f"/trips/{trip.id}/boardings/batch", driver, json={"device": "phone-2", "scans": later})
    [flagged] = duplicate.get_json()["answers"]
    assert (flagged["result"], flagged["duplicate"], flagged["boarded_device"]) == ("already_boarded", True, "phone-1")


def test_the_offline_pack_is_for_the_trips_driver_and_the_companys_staff_only(api, line, app):
    trip, driver, tickets = line
    company = trip.route.company
    agent = factories.member("agent", of=company)  # boards at the bus park; holds no key
    for refused in (
        factories.member("driver", of=company),  # drives another trip
        agent,
        factories.member("admin"),  # another company's
        factories.member("agent"),  # another company's
        factories.user(),
    ):
        answer = api("GET", f"/trips/{trip.id}/offline-pack", refused)
        assert answer.status_code == 403, refused
        assert answer.get_json()["error"]["code"] == "not_your_trip"
        if refused is not agent:
            scan = api("POST", f"/trips/{trip.id}/boardings", refused, json={"code": tickets[0].code, "device": "x"})
            assert scan.status_code == 403
    at_the_gate = api("POST", f"/trips/{trip.id}/boardings", agent, json={"code": tickets[0].code, "device": "gate"})
    assert at_the_gate.status_code == 200 and at_the_gate.get_json()["result"] == "boarded"
    for allowed in (driver, factories.member("admin", of=company), factories.member("dispatcher", of=company)):
        pack = api("GET", f"/trips/{trip.id}/offline-pack", allowed)
        assert pack.status_code == 200
    pack = pack.get_json()
    assert pack["trip"]["plate"] == "RAD 123A" and [s["position"] for s in pack["trip"]["stops"]] == [0, 1, 2]
    assert {t["code"] for t in pack["tickets"]} == {t.code for t in tickets}
    assert pack["tickets"][0]["from"] == 0 and pack["tickets"][0]["to"] == 2
    masters = set(app.config["QR_SIGNING_KEYS"].values())
    held = [base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)) for key in pack["keys"].values()]
    assert not masters & set(held)  # the trip's own keys at most, never a signing key


def test_undo_within_two_minutes_and_not_by_another_company(api, line):
    trip, driver, (ticket, *_) = line
    api("POST", f"/trips/{trip.id}/boardings", driver, json={"code": ticket.code, "device": "gate-1"})
    refused = api("DELETE", f"/trips/{trip.id}/boardings/{ticket.code}", factories.member("admin"))
    assert refused.status_code == 403
    undone = api("DELETE", f"/trips/{trip.id}/boardings/{ticket.code}?device=gate-1", driver)
    assert undone.status_code == 200 and undone.get_json()["result"] == "undone"
    nothing = api("DELETE", f"/trips/{trip.id}/boardings/{ticket.code}", driver)
    assert nothing.status_code == 409 and nothing.get_json()["error"]["code"] == "not_boarded"


def test_the_boarding_endpoints_are_in_the_openapi_description(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post"} <= set(paths["/trips/{trip_id}/boardings"])
    assert {"post"} <= set(paths["/trips/{trip_id}/boardings/batch"])
    assert {"get"} <= set(paths["/trips/{trip_id}/offline-pack"])
    assert {"delete"} <= set(paths["/trips/{trip_id}/boardings/{code}"])
