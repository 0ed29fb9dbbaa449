"""The driver's page: today's own trips, Start trip and End trip."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.extensions import db
from app.fleet.rules import TripStatus
from app.fleet.services import trips as trip_services
from tests import factories
from tests.tracking.conftest import southern_route


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def local_noon_today(company) -> datetime:
    return trip_services.local_datetime(company, trip_services.today_for(company), datetime.min.time()) + timedelta(
        hours=12
    )


def test_the_page_lists_only_the_drivers_own_trips_of_today(client):
    company = factories.company(name="Volcano Express")
    me, colleague = factories.member("driver", of=company), factories.member("driver", of=company)
    route = southern_route(company)
    noon = local_noon_today(company)
    mine = factories.trip(route, bus_=factories.bus(company, plate="RAB 101A"), driver=me, departs_at=noon)
    factories.trip(route, bus_=factories.bus(company, plate="RAB 102A"), driver=colleague, departs_at=noon)
    factories.trip(route, bus_=factories.bus(company, plate="RAB 103A"), driver=me, departs_at=noon + timedelta(days=1))
    factories.trip(route, bus_=factories.bus(company, plate="RAB 104A"), driver=me, departs_at=noon - timedelta(days=1))
    client.login(me.email)

    page = text(client.get("/driver/"))
    assert "My trips today" in page
    leaves = mine.departs_at.astimezone(ZoneInfo(client.application.config["DISPLAY_TIMEZONE"]))
    assert f"{leaves:%H:%M} · Kigali – Huye" in page
    assert "Nyabugogo → Huye" in page
    assert "RAB 101A" in page and "Scheduled" in page and "Start trip" in page
    assert "RAB 102A" not in page  # a colleague's
    assert "RAB 103A" not in page and "RAB 104A" not in page  # tomorrow's and yesterday's


def test_a_trip_still_on_the_road_from_yesterday_is_listed_with_end_trip(client, running):
    running.trip.departs_at = running.trip.departs_at - timedelta(days=1)
    db.session.flush()
    client.login(running.driver.email)
    response = client.get("/driver/")
    page = response.get_data(as_text=True)
    assert "RAC 500D" in page and "End trip" in page and "Start trip" not in page
    assert f'data-socket="ws://localhost/ws/driver/trips/{running.trip.id}"' in page
    assert "/static/js/driver.js" in page
    assert "<script>" not in page  # the CSP forbids inline scripts


def test_the_driver_starts_and_ends_a_trip(client):
    company = factories.company()
    driver = factories.member("driver", of=company)
    trip = factories.trip(
        southern_route(company),
        bus_=factories.bus(company, plate="RAD 200B"),
        driver=driver,
        departs_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    client.login(driver.email)

    response = client.submit(f"/driver/trips/{trip.id}/start")
    assert response.status_code == 303 and response.location == "/driver/"
    assert trip.status == TripStatus.DEPARTED and trip.departed_at is not None
    page = client.get("/driver/").get_data(as_text=True)
    assert "Trip started. Keep this page open" in page and "data-driver-tracking" in page

    response = client.submit(f"/driver/trips/{trip.id}/end")
    assert response.status_code == 303
    assert trip.status == TripStatus.ARRIVED
    page = text(client.get("/driver/"))
    assert "Trip ended." in page and "Arrived" in page
    assert "End trip" not in page and "Start trip" not in page


def test_a_trip_without_a_bus_cannot_be_started(client):
    company = factories.company()
    driver = factories.member("driver", of=company)
    trip = factories.trip(southern_route(company), driver=driver, departs_at=local_noon_today(company))
    trip.bus = None
    db.session.flush()
    client.login(driver.email)
    assert "No bus yet: ask your dispatcher" in text(client.get("/driver/"))

    response = client.submit(f"/driver/trips/{trip.id}/start")
    assert response.status_code == 409
    assert "This trip has no bus yet: ask your dispatcher to assign one." in text(response)
    assert trip.status == TripStatus.SCHEDULED


def test_a_trip_already_over_cannot_be_ended_twice_or_started_again(client, running):
    client.login(running.driver.email)
    assert client.submit(f"/driver/trips/{running.trip.id}/end").status_code == 303
    response = client.submit(f"/driver/trips/{running.trip.id}/start")
    assert response.status_code == 409
    assert "The trip is arrived; its status can no longer change." in text(response)


def test_another_drivers_trip_cannot_be_started_or_ended(client, running):
    colleague = factories.member("driver", of=running.trip.route.company)
    client.login(colleague.email)
    for action in ("start", "end"):
        response = client.submit(f"/driver/trips/{running.trip.id}/{action}")
        assert response.status_code == 404, action
    assert running.trip.status == TripStatus.DEPARTED


def test_starting_needs_the_pages_csrf_token(client, running):
    client.login(running.driver.email)
    response = client.post(f"/driver/trips/{running.trip.id}/end")
    assert response.status_code == 400
    assert running.trip.status == TripStatus.DEPARTED


def test_the_running_trip_comes_first_then_the_coming_ones_then_the_finished_ones(client, monkeypatch):
    """Finished trips were listed above the running one."""
    company = factories.company()
    driver = factories.member("driver", of=company)
    route = southern_route(company)
    noon = local_noon_today(company)
    now = noon - timedelta(hours=3)  # 09:00 in Kigali
    monkeypatch.setattr("app.tracking.views.driver.utcnow", lambda: now)

    def trip(plate, hours, status):
        leaves = noon + timedelta(hours=hours)
        return factories.trip(
            route, bus_=factories.bus(company, plate=plate), driver=driver, departs_at=leaves, status=status
        )

    trip("RAF 600A", -6, TripStatus.ARRIVED)  # 06:00, over
    trip("RAF 600B", -3.5, TripStatus.DEPARTED)  # 08:30, on the road
    later = trip("RAF 600C", 0, TripStatus.SCHEDULED)  # 12:00
    trip("RAF 600D", -2, TripStatus.CANCELLED)  # 10:00, called off
    client.login(driver.email)

    page = text(client.get("/driver/"))
    order = [page.index(plate) for plate in ("RAF 600B", "RAF 600C", "RAF 600A", "RAF 600D")]
    assert order == sorted(order)
    assert "You can start this trip from 11:30." in page  # 24-hour Kigali time

    response = client.submit(f"/driver/trips/{later.id}/start")
    assert response.status_code == 409
    leaves = later.departs_at.astimezone(ZoneInfo("Africa/Kigali"))
    assert f"Too early: this trip leaves {leaves:%a %d %b} 12:00; it can start from {leaves:%a %d %b} 11:30." in text(
        response
    )
    assert later.status == TripStatus.SCHEDULED


def test_the_service_worker_of_the_driver_pages_is_served_under_driver_and_checked_on_every_visit(client):
    driver = factories.member("driver", of=factories.company())
    client.login(driver.email)
    response = client.get("/driver/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # a new worker reaches the phones at once
    assert 'self.addEventListener("fetch"' in response.get_data(as_text=True)
    again = client.get("/driver/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
