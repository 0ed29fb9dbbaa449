"""The passenger's live map on the ticket page, share links and the public page behind them."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.booking.models import Ticket
from app.booking.services import orders
from app.extensions import db
from app.fleet.models import Trip
from app.fleet.rules import TripStatus
from app.tracking import services
from app.tracking.live import make_fix
from app.tracking.models import ShareLink
from tests import factories
from tests.tracking.conftest import KIGALI, MUHANGA, southern_route

KIGALI_TIME = ZoneInfo("Africa/Kigali")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def map_data(response) -> dict:
    found = re.search(
        r'<script type="application/json" id="live-trip-data">(.*?)</script>', response.get_data(True), re.S
    )
    assert found, "the page carries no map data"
    return json.loads(found.group(1))


def local(at: datetime) -> str:
    return at.astimezone(KIGALI_TIME).strftime("%H:%M")


@dataclass
class Journey:
    trip: Trip
    ticket: Ticket
    passenger: object
    driver: object
    departed: datetime


def book(user, trip: Trip, *, origin: int, destination: int) -> Ticket:
    """``user`` bought seat 1A from ``origin`` to ``destination`` on the portal and paid."""
    order = orders.book_seats(
        user,
        trip.id,
        seats=["1A"],
        origin=origin,
        destination=destination,
        passengers=[orders.Passenger(name="Aline Uwase", phone="+250788111222")],
        channel="web",
        paid=True,
        now=datetime.now(UTC),
    )
    return order.tickets[0]


@pytest.fixture
def journey() -> Journey:
    """Aline's paid ticket Nyabugogo → Muhanga on the Kigali – Huye bus RAC 500D, which left 30
    minutes ago."""
    company = factories.company(name="Southern Line")
    driver = factories.member("driver", of=company, name="Eric Driver")
    departed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    trip = factories.trip(
        southern_route(company), bus_=factories.bus(company, plate="RAC 500D"), driver=driver, departs_at=departed
    )
    passenger = factories.user(name="Aline Uwase")
    ticket = book(passenger, trip, origin=0, destination=1)
    trip.status, trip.departed_at = TripStatus.DEPARTED, departed
    db.session.flush()
    return Journey(trip, ticket, passenger, driver, departed)


def report(journey: Journey, t: float, *, seconds_ago: int = 2) -> None:
    """The driver's phone reports the bus a fraction ``t`` of the way from Kigali to Muhanga."""
    now = datetime.now(UTC)
    lat, lon = KIGALI[0] + (MUHANGA[0] - KIGALI[0]) * t, KIGALI[1] + (MUHANGA[1] - KIGALI[1]) * t
    services.from_driver(
        journey.driver, journey.trip.id, make_fix(lat, lon, now - timedelta(seconds=seconds_ago)), now=now
    )


def ticket_page(client, journey: Journey):
    client.login(journey.passenger.email)
    return client.get(f"/tickets/{journey.ticket.code}")


# --- The map on the ticket page -------------------------------------------------------------------


def test_the_ticket_holder_sees_the_route_their_stops_and_the_timetable_before_any_fix(client, journey):
    response = ticket_page(client, journey)
    page = text(response)

    assert response.status_code == 200
    assert "Where is the bus?" in page and "RAC 500D" in page
    assert "No position yet" in page and "Not known yet" in page
    muhanga_due = journey.departed + timedelta(minutes=60)
    assert re.search(r"At Nyabugogo <span[^>]*>\(boarding\)</span></dt>\s*<dd[^>]*>Departed</dd>", page)
    assert re.search(
        rf"At Muhanga <span[^>]*>\(getting off\)</span></dt>\s*<dd[^>]*>{local(muhanga_due)} \(timetable\)", page
    )
    assert "vendor/leaflet/leaflet.js" in page and "vendor/leaflet/leaflet.css" in page and "js/livemap.js" in page

    data = map_data(response)
    assert data["socket"] == f"/ws/trips/{journey.trip.id}"
    assert [s["name"] for s in data["stops"]] == ["Nyabugogo", "Muhanga", "Huye"]
    assert (data["stops"][0]["lat"], data["stops"][0]["lon"]) == KIGALI
    assert (data["board"], data["alight"], data["position"]) == (0, 1, None)
    assert data["trip"] == {"id": journey.trip.id, "status": "departed", "plate": "RAC 500D"}
    assert data["tiles"]["url"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert data["staleSeconds"] == 120
    assert data["liveFrom"] == int((journey.departed - timedelta(hours=2)).timestamp() * 1000)


def test_a_reported_position_gives_where_the_bus_is_how_old_the_fix_is_and_the_eta(client, journey):
    report(journey, 0.5)
    response = ticket_page(client, journey)
    page = text(response)

    assert re.search(r"data-live-age[^>]*>\d s ago<", page)
    assert "Between Nyabugogo and Muhanga · on time" in page
    position = map_data(response)["position"]
    eta = datetime.fromtimestamp(position["progress"]["eta"]["1"], UTC)
    assert abs((eta - (journey.departed + timedelta(minutes=60))).total_seconds()) < 60
    assert re.search(rf"\(getting off\)</span></dt>\s*<dd[^>]*>about {local(eta)}<", page)


def test_an_old_fix_says_there_is_no_recent_position(client, journey):
    report(journey, 0.3, seconds_ago=300)
    page = text(ticket_page(client, journey))
    assert "No recent position (last 5 min ago)" in page


def test_passed_stops_show_as_passed(client, journey):
    report(journey, 1.0)
    page = text(ticket_page(client, journey))
    assert re.search(r"\(getting off\)</span></dt>\s*<dd[^>]*>Passed<", page)
    assert re.search(r'<li data-stop="1" class="live-stop-alight live-stop-passed">', page)


def test_a_scheduled_trip_shows_the_map_with_timetable_times(client, journey):
    journey.trip.status = TripStatus.SCHEDULED
    db.session.flush()
    page = text(ticket_page(client, journey))
    assert "Where is the bus?" in page
    assert f"{local(journey.departed)} (timetable)" in page


@pytest.mark.parametrize("status", [TripStatus.ARRIVED, TripStatus.CANCELLED])
def test_no_map_once_the_trip_is_over(client, journey, status):
    journey.trip.status = status
    db.session.flush()
    page = text(ticket_page(client, journey))
    assert "Where is the bus?" not in page and "livemap.js" not in page and "Share live location" not in page


def test_no_map_on_a_cancelled_ticket(client, journey):
    journey.ticket.status = "cancelled"
    db.session.flush()
    page = text(ticket_page(client, journey))
    assert "Where is the bus?" not in page and "live-trip-data" not in page


def test_someone_elses_ticket_shows_no_map_and_cannot_be_shared(client, journey):
    client.login(factories.user().email)
    assert client.get(f"/tickets/{journey.ticket.code}").status_code == 404
    assert client.htmx("post", f"/tickets/{journey.ticket.code}/shares", data={"duration": "2"}).status_code == 404
    assert db.session.scalar(select(ShareLink)) is None


# --- Share links -------------------------------------------------------------------------------------


def share(client, journey: Journey, duration: str = "2"):
    return client.htmx("post", f"/tickets/{journey.ticket.code}/shares", data={"duration": duration})


def test_sharing_shows_a_link_to_copy_that_lasts_the_chosen_hours(client, journey):
    page = text(ticket_page(client, journey))  # signs in
    assert "Share live location" in page and "No active links." in page

    before = datetime.now(UTC)
    response = share(client, journey, "6")
    assert response.status_code == 200
    link = db.session.scalar(select(ShareLink))
    assert link.ticket_id == journey.ticket.id and link.created_by_id == journey.passenger.id
    assert timedelta(hours=6) - timedelta(seconds=5) <= link.expires_at - before <= timedelta(hours=6, seconds=5)
    fragment = text(response)
    assert fragment.lstrip().startswith('<section class="card share-links" id="share-links"')
    assert f'value="http://tms.test/live/{link.token}"' in fragment
    assert f'data-copy="share-url-{link.id}"' in fragment and "Link created" in fragment
    assert "Revoke" in fragment and "No active links." not in fragment


def test_until_the_trip_ends_is_the_default_and_never_past_a_day(client, journey):
    client.login(journey.passenger.email)
    response = share(client, journey, "trip")
    assert response.status_code == 200
    link = db.session.scalar(select(ShareLink))
    # expected arrival at Huye 150 min after leaving (2 h from now) plus 2 h of slack, in whole hours
    assert timedelta(hours=3, minutes=59) < link.expires_at - datetime.now(UTC) <= timedelta(hours=5)

    journey.trip.arrives_at = datetime.now(UTC) + timedelta(days=3)
    db.session.flush()
    share(client, journey, "trip")
    longest = max(db.session.scalars(select(ShareLink.expires_at)))
    assert longest - datetime.now(UTC) <= timedelta(hours=24)


def test_an_unknown_duration_is_refused(client, journey):
    client.login(journey.passenger.email)
    response = share(client, journey, "72")
    assert response.status_code == 422
    assert "Not a valid choice" in text(response)
    assert db.session.scalar(select(ShareLink)) is None


def test_sharing_without_javascript_returns_to_the_ticket_page(client, journey):
    client.login(journey.passenger.email)
    response = client.submit(f"/tickets/{journey.ticket.code}/shares", {"duration": "2"})
    assert response.status_code == 303
    assert response.location == f"/tickets/{journey.ticket.code}#share-links"
    token = db.session.scalar(select(ShareLink.token))
    page = text(client.get(response.location))
    assert "Share link created" in page and f"/live/{token}" in page


def test_sharing_needs_the_csrf_token(client, journey):
    client.login(journey.passenger.email)
    response = client.htmx("post", f"/tickets/{journey.ticket.code}/shares", csrf=False, data={"duration": "2"})
    assert response.status_code == 400
    assert db.session.scalar(select(ShareLink)) is None


def test_revoking_ends_the_link_at_once(client, journey):
    client.login(journey.passenger.email)
    share(client, journey)
    link = db.session.scalar(select(ShareLink))
    assert client.get(f"/live/{link.token}").status_code == 200

    response = client.htmx("post", f"/tickets/{journey.ticket.code}/shares/{link.id}/revoke")
    assert response.status_code == 200
    fragment = text(response)
    assert "Link revoked" in fragment and link.token not in fragment and "No active links." in fragment
    assert db.session.get(ShareLink, link.id).revoked_at is not None
    ended = client.get(f"/live/{link.token}")
    assert ended.status_code == 410
    assert "stopped sharing" in text(ended)


def test_only_the_maker_may_revoke(client, app, journey):
    client.login(journey.passenger.email)
    share(client, journey)
    link = db.session.scalar(select(ShareLink))
    stranger = app.test_client()
    stranger.login(factories.user().email)
    assert stranger.htmx("post", f"/tickets/{journey.ticket.code}/shares/{link.id}/revoke").status_code == 404
    other = book(journey.passenger, factories.trip(bus_=factories.bus()), origin=0, destination=2)
    assert client.htmx("post", f"/tickets/{other.code}/shares/{link.id}/revoke").status_code == 404
    assert db.session.get(ShareLink, link.id).revoked_at is None


def test_a_cancelled_ticket_shares_nothing_new_but_its_links_can_still_be_revoked(client, journey):
    """The ticket pages and the share links load the passenger's tickets with one rule: issued
    tickets, paid or cancelled."""
    client.login(journey.passenger.email)
    share(client, journey)
    link = db.session.scalar(select(ShareLink))
    journey.ticket.status = "cancelled"
    db.session.flush()

    assert client.get(f"/tickets/{journey.ticket.code}").status_code == 200
    refused = share(client, journey)
    assert refused.status_code == 409 and "This ticket was cancelled" in text(refused)
    assert db.session.scalar(select(func.count(ShareLink.id))) == 1
    revoked = client.htmx("post", f"/tickets/{journey.ticket.code}/shares/{link.id}/revoke")
    assert revoked.status_code == 200 and db.session.get(ShareLink, link.id).revoked_at is not None


# --- The public page behind a link --------------------------------------------------------------------


@pytest.fixture
def shared(journey) -> ShareLink:
    return services.share(journey.passenger, journey.ticket, hours=2, now=datetime.now(UTC))


def test_anyone_with_the_link_follows_the_bus_without_an_account(app, journey, shared):
    report(journey, 0.5)
    visitor = app.test_client()
    response = visitor.get(f"/live/{shared.token}")
    page = text(response)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Robots-Tag"] == "noindex"
    assert "Kigali – Huye" in page and "Southern Line" in page and "RAC 500D" in page
    assert "Between Nyabugogo and Muhanga" in page and "Nyabugogo" in page and "Huye" in page
    for private in ("Aline", "Uwase", journey.ticket.code, "1A", "+250788111222", "Share live location"):
        assert private not in page, private
    data = map_data(response)
    assert data["socket"] == f"/ws/trips/{journey.trip.id}?share={shared.token}"
    assert data["position"]["lat"] == pytest.approx((KIGALI[0] + MUHANGA[0]) / 2, abs=1e-5)


def test_an_unknown_link_is_not_found(client):
    assert client.get("/live/no-such-token").status_code == 404


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda link, trip: setattr(link, "expires_at", datetime.now(UTC) - timedelta(minutes=1)), "The link expired"),
        (lambda link, trip: setattr(trip, "status", TripStatus.ARRIVED), "the bus has arrived"),
        (lambda link, trip: setattr(trip, "status", TripStatus.CANCELLED), "This trip was cancelled"),
        (lambda link, trip: setattr(link, "revoked_at", datetime.now(UTC)), "stopped sharing"),
    ],
)
def test_a_link_that_ended_is_gone_and_says_why(client, journey, shared, change, says):
    change(shared, journey.trip)
    db.session.flush()
    response = client.get(f"/live/{shared.token}")
    page = text(response)
    assert response.status_code == 410
    assert "This live link has ended" in page and says in page
    assert "live-trip-data" not in page and "RAC 500D" not in page
