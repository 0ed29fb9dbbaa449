"""Boarding on the driver's page (``/driver/trips/<id>/...``): the scan page, its JSON routes
(session and CSRF like the rest of /driver, only the trip's own driver), the manifest and Depart
stop. The answers themselves are the boarding service's (tests/booking/test_boarding*.py)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.booking import qr
from app.booking.services import orders
from app.companies.models import Company
from app.extensions import db
from app.fleet.rules import TripStatus
from tests import factories
from tests.tracking.conftest import southern_route

NAMES = ("Aline Uwase", "Jean Bosco", "Claudine Mukamana")


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def boarding():
    """A bus boarding at Nyabugogo with its driver and three paid tickets Nyabugogo → Huye."""
    company = factories.company(name="Door Express")
    driver = factories.member("driver", of=company, name="Eric Driver")
    trip = factories.trip(
        southern_route(company),
        bus_=factories.bus(company, plate="RAD 300C"),
        driver=driver,
        departs_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    trip.status = TripStatus.BOARDING
    order = orders.book_seats(
        factories.user(),
        trip.id,
        seats=["1A", "1B", "1C"],
        origin=0,
        destination=2,
        passengers=[orders.Passenger(name) for name in NAMES],
        channel="web",
        paid=True,
        now=datetime.now(UTC),
    )
    return trip, driver, sorted(order.tickets, key=lambda t: t.seat_label)


def post_json(client, url: str, body: dict, *, csrf: bool = True):
    headers = {"Accept": "application/json"}
    if csrf:
        headers["X-CSRFToken"] = client.csrf_token()
    return client.post(url, json=body, headers=headers)


def test_the_driver_opens_the_scanner_from_the_trip(client, boarding):
    trip, driver, _ = boarding
    client.login(driver.email)
    assert f'href="/driver/trips/{trip.id}/scan"' in client.get("/driver/").get_data(as_text=True)

    page = client.get(f"/driver/trips/{trip.id}/scan")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Scan tickets" in html and "Or type the ticket code" in html
    assert "/static/vendor/jsQR.js" in html and "/static/js/scanner.js" in html
    assert '"boarded": "BOARDED"' in html  # the words the script shows come translated from here
    assert "0 of 3 boarded" in text(page) and all(name in text(page) for name in NAMES)


def test_another_drivers_trip_is_not_found(client, boarding):
    trip, _, tickets = boarding
    other = factories.member("driver", of=db.session.get(Company, trip.company_id))
    client.login(other.email)
    assert client.get(f"/driver/trips/{trip.id}/scan").status_code == 404
    assert client.get(f"/driver/trips/{trip.id}/pack", headers={"Accept": "application/json"}).status_code == 404
    answer = post_json(client, f"/driver/trips/{trip.id}/scans", {"code": tickets[0].code, "device": "x"})
    assert answer.status_code == 404 and tickets[0].boarded_at is None


def test_a_typed_code_and_a_qr_board_and_the_manifest_counts_them(client, boarding):
    trip, driver, tickets = boarding
    client.login(driver.email)
    url = f"/driver/trips/{trip.id}/scans"

    answer = post_json(client, url, {"code": tickets[0].code.lower(), "device": "phone-1", "stop": 0})
    assert answer.status_code == 200
    assert answer.json["result"] == "boarded" and answer.json["ticket"]["name"] == NAMES[0]
    answer = post_json(client, url, {"qr": qr.text_for(tickets[1]), "device": "phone-1", "stop": 0})
    assert answer.json["result"] == "boarded" and answer.json["ticket"]["seat"] == "1B"
    again = post_json(client, url, {"code": tickets[0].code, "device": "phone-2"}).json
    assert again["result"] == "already_boarded" and again["boarded_device"] == "phone-1"

    manifest = client.htmx("get", f"/driver/trips/{trip.id}/manifest")
    assert manifest.status_code == 200 and 'id="driver-manifest"' in manifest.get_data(as_text=True)
    assert "2 of 3 boarded" in text(manifest)


def test_scans_need_the_csrf_token_and_a_readable_body(client, boarding):
    trip, driver, tickets = boarding
    client.login(driver.email)
    url = f"/driver/trips/{trip.id}/scans"
    refused = post_json(client, url, {"code": tickets[0].code, "device": "phone-1"}, csrf=False)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf"
    assert post_json(client, url, {"code": 12, "device": "phone-1"}).status_code == 422
    assert post_json(client, url, {"code": tickets[0].code, "stop": "first"}).status_code == 422
    assert tickets[0].boarded_at is None


def test_the_offline_pack_and_an_upload_of_queued_scans(client, boarding):
    trip, driver, tickets = boarding
    client.login(driver.email)
    pack = client.get(f"/driver/trips/{trip.id}/pack", headers={"Accept": "application/json"}).json
    assert pack["trip"]["id"] == trip.id and pack["keys"]
    assert sorted(t["code"] for t in pack["tickets"]) == sorted(t.code for t in tickets)

    scans = [
        {
            "scan_id": str(uuid.uuid4()),
            "code": ticket.code,
            "stop": 0,
            "scanned_at": datetime.now(UTC).isoformat(),
            "result_on_device": "boarded",
        }
        for ticket in tickets[:2]
    ]
    url = f"/driver/trips/{trip.id}/scans/batch"
    first = post_json(client, url, {"device": "phone-9", "scans": scans})
    assert first.status_code == 200
    assert [a["result"] for a in first.json["answers"]] == ["boarded", "boarded"]
    again = post_json(client, url, {"device": "phone-9", "scans": scans})  # the answer was lost: sent again
    assert [a["result"] for a in again.json["answers"]] == ["boarded", "boarded"]
    assert tickets[0].boarded_offline and tickets[1].boarded_offline and tickets[2].boarded_at is None
    bad = post_json(client, url, {"device": "phone-9", "scans": [{**scans[0], "scanned_at": "yesterday"}]})
    assert bad.status_code == 422


def test_undo_and_depart_stop(client, boarding):
    trip, driver, tickets = boarding
    client.login(driver.email)
    for ticket in tickets[:2]:
        post_json(client, f"/driver/trips/{trip.id}/scans", {"code": ticket.code, "device": "phone-1", "stop": 0})
    undone = post_json(client, f"/driver/trips/{trip.id}/scans/{tickets[1].code}/undo", {"device": "phone-1"})
    assert undone.status_code == 200 and tickets[1].boarded_at is None

    response = client.htmx(
        "post", f"/driver/trips/{trip.id}/depart-stop", data={"position": "0", "no_show": [tickets[2].code]}
    )
    assert response.status_code == 200
    page = text(response)
    assert "1 of 2 boarded" in page and "1 no-show" in page and "Departed" in page
    assert tickets[2].status == "no_show" and tickets[1].status == "paid"
    assert trip.current_stop == 1
