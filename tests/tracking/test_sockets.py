"""Live positions over websockets: who may open which socket (refused before the handshake), what
the driver's socket answers, and positions crossing from one gunicorn worker to another."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
import simple_websocket
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.queries import user_by_email
from app.booking.models import Ticket
from app.booking.services import boarding
from app.core import tx
from app.core.realtime import Hub
from app.core.sockets import Cap, Leases, Slots
from app.extensions import db
from app.fleet.models import Trip
from app.fleet.rules import TripStatus
from app.fleet.services import trips
from app.tracking import live, services
from tests import factories
from tests.conftest import REDIS_URL
from tests.tracking.conftest import KIGALI, MUHANGA, running_live_trip, ticket_for

ORIGIN = "http://tms.test"  # the test app's BASE_URL


def upgrade(client, url: str, *, origin: str | None = ORIGIN):
    """A browser's websocket upgrade request, answered by the Flask test client (which cannot
    complete a handshake: a request that passes every check ends in 400)."""
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    if origin:
        headers["Origin"] = origin
    return client.get(url, headers=headers)


PASSED = 400  # every check passed; only the handshake failed, for want of a real socket


def between(a, b, t: float) -> tuple[float, float]:
    return round(a[0] + (b[0] - a[0]) * t, 6), round(a[1] + (b[1] - a[1]) * t, 6)


def fix(t: float, *, seconds_ago: float = 0, **values) -> dict:
    lat, lon = between(KIGALI, MUHANGA, t)
    ts = int((time.time() - seconds_ago) * 1000)
    return {"type": "fix", "lat": lat, "lon": lon, "accuracy": 8, "speed": 16.5, "heading": 250, "ts": ts, **values}


# --- Refused at connect ----------------------------------------------------------------------------


def test_anonymous_visitors_cannot_open_a_trip_the_fleet_or_a_drivers_socket(client, running):
    trip_id = running.trip.id
    for url in (f"/ws/trips/{trip_id}", "/ws/fleet", f"/ws/driver/trips/{trip_id}"):
        response = upgrade(client, url)
        assert response.status_code == 401, url
        assert "<html" not in response.get_data(as_text=True)


def test_a_passenger_without_a_ticket_on_the_trip_is_refused(client, running):
    holder, other = factories.user(), factories.user()
    ticket_for(holder, running.trip)
    client.login(other.email)
    response = upgrade(client, f"/ws/trips/{running.trip.id}")
    assert response.status_code == 403
    assert "ticket" in response.get_data(as_text=True)

    client.login(holder.email)
    assert upgrade(client, f"/ws/trips/{running.trip.id}").status_code == PASSED


def test_a_share_link_opens_its_trip_until_it_expires_or_is_revoked(client, running):
    holder = factories.user()
    link = services.share(holder, ticket_for(holder, running.trip), hours=2, now=datetime.now(UTC))
    other = running_trip_of_another_company()
    assert upgrade(client, f"/ws/trips/{running.trip.id}?share={link.token}").status_code == PASSED
    assert upgrade(client, f"/ws/trips/{other.id}?share={link.token}").status_code == 403
    assert upgrade(client, f"/ws/trips/{running.trip.id}?share=forged-token").status_code == 403

    link.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.flush()
    response = upgrade(client, f"/ws/trips/{running.trip.id}?share={link.token}")
    assert response.status_code == 403
    assert response.get_data(as_text=True) == "This share link has ended."


def running_trip_of_another_company() -> Trip:
    company = factories.company()
    return factories.trip(factories.route(company), bus_=factories.bus(company), status=TripStatus.DEPARTED)


def test_only_the_assigned_driver_opens_the_drivers_socket_and_only_while_the_trip_runs(client, running):
    colleague = factories.member("driver", of=running.trip.route.company)
    client.login(colleague.email)
    response = upgrade(client, f"/ws/driver/trips/{running.trip.id}")
    assert response.status_code == 403
    assert response.get_data(as_text=True) == "You are not the driver of this trip."

    client.login(running.driver.email)
    assert upgrade(client, f"/ws/driver/trips/{running.trip.id}").status_code == PASSED
    assert upgrade(client, "/ws/driver/trips/999999").status_code == 404
    running.trip.status = TripStatus.ARRIVED
    db.session.flush()
    response = upgrade(client, f"/ws/driver/trips/{running.trip.id}")
    assert response.status_code == 403
    assert "not running" in response.get_data(as_text=True)


def test_a_socket_opened_from_another_site_is_refused_even_with_the_session_cookie(client, running):
    client.login(running.driver.email)
    url = f"/ws/driver/trips/{running.trip.id}"
    for origin in ("https://evil.example", "http://tms.test.evil.example", "null", None):
        response = upgrade(client, url, origin=origin)
        assert response.status_code == 403, origin
        assert response.get_data(as_text=True) == "This socket only opens from our own pages."
    assert upgrade(client, url, origin="http://localhost").status_code == PASSED  # the request's own host


def test_the_fleet_socket_is_for_the_companys_admins_and_dispatchers(client, running):
    company = running.trip.route.company
    for role, status in (("driver", 403), ("agent", 403), ("dispatcher", PASSED), ("admin", PASSED)):
        client.login(factories.member(role, of=company).email)
        assert upgrade(client, "/ws/fleet").status_code == status, role
    client.login(factories.user().email)
    assert upgrade(client, "/ws/fleet").status_code == 403


def test_a_trips_boarding_socket_is_for_its_companys_admins_and_dispatchers(client, running):
    company, url = running.trip.route.company, f"/ws/console/trips/{running.trip.id}"
    for role, status in (("driver", 403), ("agent", 403), ("dispatcher", PASSED), ("admin", PASSED)):
        client.login(factories.member(role, of=company).email)
        assert upgrade(client, url).status_code == status, role
    client.login(factories.member("admin", of=factories.company(name="Other Line")).email)
    assert upgrade(client, url).status_code == 403


def test_a_plain_request_to_a_socket_address_is_not_served(client, running):
    client.login(running.driver.email)
    assert client.get(f"/ws/driver/trips/{running.trip.id}").status_code == 400


def test_an_address_over_its_cap_is_refused_with_429_before_the_handshake(app, client, running):
    holder = factories.user()
    ticket_for(holder, running.trip)
    client.login(holder.email)
    cap = Cap("address", "127.0.0.1", app.config["WS_MAX_PER_ADDRESS"])
    for _ in range(cap.limit):
        Leases([cap]).take()  # other people's sockets from behind the same address
    response = upgrade(client, f"/ws/trips/{running.trip.id}")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many live connections" in response.get_data(as_text=True)


def test_a_share_link_over_its_cap_is_refused_but_its_owner_still_connects(app, client, running):
    holder = factories.user()
    link = services.share(holder, ticket_for(holder, running.trip), hours=2, now=datetime.now(UTC))
    for _ in range(app.config["WS_MAX_PER_LINK"]):
        Leases([Cap("link", link.token, app.config["WS_MAX_PER_LINK"])]).take()
    assert upgrade(client, f"/ws/trips/{running.trip.id}?share={link.token}").status_code == 429
    client.login(holder.email)
    assert upgrade(client, f"/ws/trips/{running.trip.id}").status_code == PASSED


def test_a_full_process_refuses_with_503_and_retry_after_instead_of_queueing(app, client, running):
    client.login(running.driver.email)
    app.extensions["socket_slots"] = full = Slots(0)
    try:
        response = upgrade(client, f"/ws/driver/trips/{running.trip.id}")
    finally:
        del app.extensions["socket_slots"]
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert full.used == 0


# --- A slow watcher ---------------------------------------------------------------------------------


def test_a_watcher_that_falls_behind_gets_the_newest_position_of_each_bus_and_the_events(app):
    hub = Hub(redis_lib.Redis.from_url(REDIS_URL))
    with hub.subscribe("trip:test-slow", maxsize=3, latest_by=lambda m: m.get("bus")) as slow:
        for n in range(50):
            slow.offer({"type": "position", "bus": 1, "n": n})
            if n in (10, 20):
                slow.offer({"event": "trip.delayed", "n": n})
        slow.offer({"type": "position", "bus": 2, "n": 0})
        for n in range(5):
            slow.offer({"event": "trip.bus_changed", "n": n})
        received = [slow.get(timeout=0) for _ in range(6)]
    assert received[-1] is None  # nothing else queued: no backlog of old positions
    assert received[:5] == [
        {"type": "position", "bus": 1, "n": 49},
        {"type": "position", "bus": 2, "n": 0},
        {"event": "trip.bus_changed", "n": 2},  # events are kept up to maxsize, dropping the oldest
        {"event": "trip.bus_changed", "n": 3},
        {"event": "trip.bus_changed", "n": 4},
    ]


# --- On a live server with two worker processes -------------------------------------------------------

live_server = pytest.mark.own_transactions


@live_server
def test_a_drivers_fix_reaches_a_passenger_connected_to_another_worker_process(live_tms):
    trip = running_live_trip(live_tms)
    passenger = live_tms.connect(f"/ws/trips/{trip.id}", cookie=live_tms.login(trip.passenger))
    snapshot = passenger.next()
    assert snapshot["type"] == "snapshot"
    assert snapshot["trip"]["id"] == trip.id and snapshot["trip"]["status"] == "departed"
    assert snapshot["position"] is None

    driver_cookie = live_tms.login(trip.driver)
    for _ in range(60):  # the kernel hands each connection to either worker
        driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=driver_cookie)
        if driver.pid != passenger.pid:
            break
        driver.close()
    assert driver.pid != passenger.pid, "every driver socket landed on the passenger's worker"

    sent = fix(0.5)
    driver.send(sent)
    assert driver.next() == {"type": "ack", "ts": sent["ts"], "moved": True}
    position = passenger.next("position", where=lambda m: m["bus"] == trip.bus_id)
    assert (position["lat"], position["lon"], position["ts"]) == (sent["lat"], sent["lon"], sent["ts"])
    assert position["trip"] == trip.id and position["source"] == "driver"
    assert position["speed"] == pytest.approx(16.5 * 3.6, abs=0.1)  # m/s from the phone, km/h on the map
    assert position["progress"]["next_stop"] == 1 and 20 < position["progress"]["km"] < 30


@live_server
def test_bad_messages_are_answered_and_the_same_socket_then_takes_a_good_fix(live_tms):
    trip = running_live_trip(live_tms)
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=live_tms.login(trip.driver))
    now_ms = int(time.time() * 1000)

    driver.send("{not json")
    assert driver.next() == {
        "type": "error",
        "code": "bad_message",
        "message": "Send one JSON object per message.",
        "ts": None,
    }
    driver.send({"type": "position", "lat": 1})
    assert driver.next()["code"] == "bad_message"
    driver.send({"type": "fix", "lat": -1.95, "ts": now_ms})
    assert driver.next() == {
        "type": "error",
        "code": "bad_fix",
        "message": "A position needs lat and lon.",
        "ts": now_ms,
    }
    driver.send({"type": "fix", "lat": -1.95, "lon": 30.06})
    assert driver.next()["message"] == "ts must be the fix's time in epoch milliseconds."
    driver.send(fix(0.1, lat=999))
    assert "not a place on Earth" in driver.next()["message"]
    driver.send(fix(0.1, seconds_ago=-600))
    assert driver.next()["message"] == "The position's time is in the future; check the device clock."

    good = fix(0.1)
    driver.send(good)
    assert driver.next() == {"type": "ack", "ts": good["ts"], "moved": True}
    with live_tms.app.app_context():
        assert live.latest(trip.bus_id)["ts"] == good["ts"]


@live_server
def test_fixes_buffered_offline_and_sent_late_never_move_the_bus_back(live_tms):
    trip = running_live_trip(live_tms)
    cookie = live_tms.login(trip.driver)
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=cookie)
    latest = fix(0.4, seconds_ago=5)  # about 37 m for each 0.001
    driver.send(latest)
    assert driver.next()["moved"] is True
    driver.close()

    # The phone kept fixes from before that one while offline, and flushes them in order.
    buffered = [fix(0.396 + i * 0.001, seconds_ago=65 - i * 10) for i in range(4)] + [fix(0.401)]
    passenger = live_tms.connect(f"/ws/trips/{trip.id}?share={trip.share}")
    assert passenger.next("snapshot")["position"]["ts"] == latest["ts"]
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=cookie)
    driver.send({"type": "fixes", "fixes": buffered})
    acks = [driver.next() for _ in buffered]
    assert [(a["type"], a["ts"], a["moved"]) for a in acks] == [("ack", f["ts"], f is buffered[-1]) for f in buffered]

    assert passenger.next("position")["ts"] == buffered[-1]["ts"]  # the older ones were never shown
    with live_tms.app.app_context():
        assert live.latest(trip.bus_id)["lat"] == buffered[-1]["lat"]


@live_server
def test_a_share_link_shows_where_the_bus_is_and_when_it_reaches_each_stop(live_tms):
    trip = running_live_trip(live_tms)
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=live_tms.login(trip.driver))
    driver.send(fix(0.9))
    driver.next("ack")

    watcher = live_tms.connect(f"/ws/trips/{trip.id}?share={trip.share}")  # no account
    snapshot = watcher.next("snapshot")
    assert snapshot["trip"]["bus"] == trip.bus_id and snapshot["trip"]["plate"]
    position = snapshot["position"]
    assert position["bus"] == trip.bus_id
    assert position["progress"]["next_stop"] == 1
    assert set(position["progress"]["eta"]) == {"0", "1", "2"}
    assert position["progress"]["eta"]["0"] is None  # passed
    assert position["progress"]["eta"]["2"] > time.time()


@live_server
def test_when_the_trip_ends_the_driver_is_told_and_watchers_get_the_event(live_tms):
    trip = running_live_trip(live_tms)
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=live_tms.login(trip.driver))
    watcher = live_tms.connect(f"/ws/trips/{trip.id}", cookie=live_tms.login(trip.passenger))
    watcher.next("snapshot")

    with live_tms.app.app_context():
        row = db.session.get(Trip, trip.id)
        trips.change_status(row.driver, row, TripStatus.ARRIVED, now=datetime.now(UTC))
        tx.commit()  # the event is published after the commit

    assert driver.next() == {"type": "trip", "status": "arrived"}
    event = watcher.next(where=lambda m: m.get("event") == "trip.arrived")
    assert event["trip_id"] == trip.id
    for ws in (driver, watcher):  # nothing more will come: the server closes both
        with pytest.raises(simple_websocket.ConnectionClosed):
            ws.client.receive(timeout=3)


@live_server
def test_console_staff_follow_every_bus_of_their_company(live_tms):
    trip = running_live_trip(live_tms)
    with live_tms.app.app_context():
        company = db.session.get(Trip, trip.id).route.company
        dispatcher = factories.member("dispatcher", of=company).email
        db.session.commit()
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=live_tms.login(trip.driver))
    first = fix(0.2, seconds_ago=10)
    driver.send(first)
    driver.next("ack")

    console = live_tms.connect("/ws/fleet", cookie=live_tms.login(dispatcher))
    assert [(p["bus"], p["ts"]) for p in console.next("snapshot")["positions"]] == [(trip.bus_id, first["ts"])]
    second = fix(0.21)
    driver.send(second)
    driver.next("ack")
    assert console.next("position", where=lambda m: m["bus"] == trip.bus_id)["ts"] == second["ts"]

    assert live_tms.refusal("/ws/fleet", cookie=live_tms.login(trip.passenger)) == 403


@live_server
def test_the_console_hears_that_a_passenger_boarded_but_not_who(live_tms):
    trip = running_live_trip(live_tms)
    with live_tms.app.app_context():
        company = db.session.get(Trip, trip.id).route.company
        dispatcher = factories.member("dispatcher", of=company)
        email = dispatcher.email
        db.session.commit()
    console = live_tms.connect(f"/ws/console/trips/{trip.id}", cookie=live_tms.login(email))
    assert console.next("snapshot")["trip"] == trip.id
    with live_tms.app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.trip_id == trip.id))
        boarding.scan(db.session.merge(dispatcher), trip.id, code=ticket.code, device="door", now=datetime.now(UTC))
        tx.commit()  # the event is published once the boarding is stored
    heard = console.next(None, where=lambda m: m.get("event") == "boarding.scanned")
    assert heard == {"event": "boarding.scanned", "trip_id": trip.id}  # the page reloads; no name travels


@live_server
def test_refusals_come_before_the_handshake_on_the_real_server(live_tms):
    trip = running_live_trip(live_tms)
    assert live_tms.refusal(f"/ws/trips/{trip.id}") == 401
    assert live_tms.refusal(f"/ws/trips/{trip.id}?share={trip.share}", origin="https://evil.example") == 403
    driver_cookie = live_tms.login(trip.driver)
    assert live_tms.refusal(f"/ws/driver/trips/{trip.id}", cookie=driver_cookie, origin="https://evil.example") == 403
    assert live_tms.refusal(f"/ws/driver/trips/{trip.id}", cookie=live_tms.login(trip.passenger)) == 403


@live_server
def test_a_watcher_that_leaves_or_vanishes_gives_its_subscription_back(live_tms):
    trip = running_live_trip(live_tms)
    channel = live.trip_channel(trip.id)
    redis = redis_lib.Redis.from_url(REDIS_URL)

    def subscribers() -> int:
        return dict(redis.pubsub_numsub(channel))[channel.encode()]

    def soon(expected: int) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and subscribers() != expected:
            time.sleep(0.1)
        return subscribers() == expected

    polite = live_tms.connect(f"/ws/trips/{trip.id}?share={trip.share}")
    polite.next("snapshot")
    assert soon(1)
    polite.close()  # a close frame
    assert soon(0)

    vanishing = live_tms.connect(f"/ws/trips/{trip.id}?share={trip.share}")
    vanishing.next("snapshot")
    assert soon(1)
    vanishing.client.sock.shutdown(socket.SHUT_RDWR)  # the connection just ends, no close frame
    assert soon(0)


def test_watchers_hear_the_trips_own_facts_and_nothing_about_other_peoples_orders():
    from app.tracking.views.sockets import _for_watchers

    position = {"type": "position", "bus": 3, "trip": 7, "lat": -1.9, "lon": 30.0, "ts": 1}
    assert _for_watchers(position) == position
    cancelled = {"event": "trip.cancelled", "trip_id": 7, "reason": "Landslide", "tickets": [11, 12, 13]}
    assert _for_watchers(cancelled) == {"event": "trip.cancelled", "trip_id": 7, "reason": "Landslide"}
    swapped = {
        "event": "trip.bus_changed",
        "trip_id": 7,
        "old_plate": "RAB 1",
        "new_plate": "RAD 2",
        "bus_id": 4,
        "tickets": [11],
        "moves": [{"ticket_id": 11, "from": "1A", "to": "2B"}],
    }
    assert _for_watchers(swapped) == {
        "event": "trip.bus_changed",
        "trip_id": 7,
        "old_plate": "RAB 1",
        "new_plate": "RAD 2",
        "bus_id": 4,
    }
    for private in ("ticket.cancelled", "tickets.issued", "order.failed", "payment.failed"):
        assert _for_watchers({"event": private, "order_id": 9, "refund_amount": 4500}) is None


# --- Caps and clients that stop listening, on the live server -------------------------------------


@live_server
def test_one_passengers_sockets_beyond_the_cap_are_refused_and_a_closed_one_frees_its_place(live_tms):
    trip = running_live_trip(live_tms)
    cookie = live_tms.login(trip.passenger)
    cap = live_tms.app.config["WS_MAX_PER_USER"]
    opened = [live_tms.connect(f"/ws/trips/{trip.id}", cookie=cookie) for _ in range(cap)]

    assert live_tms.refusal(f"/ws/trips/{trip.id}", cookie=cookie) == 429
    # Others are not held back by one passenger's tabs: the share link still opens.
    live_tms.connect(f"/ws/trips/{trip.id}?share={trip.share}").next("snapshot")

    opened[0].close()
    deadline = time.monotonic() + 10
    while True:  # the place comes back as soon as the server sees the close
        try:
            live_tms.connect(f"/ws/trips/{trip.id}", cookie=cookie).next("snapshot")
            break
        except simple_websocket.ConnectionError:
            assert time.monotonic() < deadline, "the closed socket's place never came back"
            time.sleep(0.2)


@live_server
def test_a_client_that_stops_answering_pings_is_dropped(live_tms):
    trip = running_live_trip(live_tms)
    silent = live_tms.raw(f"/ws/trips/{trip.id}?share={trip.share}")
    silent.settimeout(1)
    received, deadline = b"", time.monotonic() + 20  # WS_PING_SECONDS is 2 here
    while time.monotonic() < deadline:
        try:
            chunk = silent.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break  # the server closed the connection
        received += chunk
    else:
        raise AssertionError("a client that never answered a ping was kept for 20 s")
    assert b"Ping/Pong timeout" in received  # the close frame says why
    assert soon(lambda: links_open(trip.share) == 0), "the dropped client still holds its place"


@live_server
def test_a_client_that_stops_reading_is_dropped_without_holding_up_its_trip_mates(live_tms):
    trip = running_live_trip(live_tms)
    mate = live_tms.connect(f"/ws/trips/{trip.id}", cookie=live_tms.login(trip.passenger))
    mate.next("snapshot")
    stuck = live_tms.raw(f"/ws/trips/{trip.id}?share={trip.share}", receive_buffer=4096)
    assert links_open(trip.share) == 1

    # Far more than the kernel and the gateway buffer between the server and a client that reads nothing.
    publisher = redis_lib.Redis.from_url(REDIS_URL)
    padding = "x" * 512 * 1024
    for bus in range(40):
        publisher.publish(live.trip_channel(trip.id), json.dumps({"type": "position", "bus": -bus, "pad": padding}))
    publisher.publish(live.trip_channel(trip.id), json.dumps({"type": "position", "bus": trip.bus_id, "n": 1}))
    assert mate.next("position", where=lambda m: m["bus"] == trip.bus_id, timeout=15)["n"] == 1

    # WS_SEND_TIMEOUT_SECONDS is 3 here.
    assert soon(lambda: links_open(trip.share) == 0, 20), "the client that stopped reading still holds its place"
    stuck.close()


def links_open(token: str) -> int:
    """Sockets open with this share link, as the servers count them."""
    return redis_lib.Redis.from_url(REDIS_URL).zcard(Leases._key(Cap("link", token, 0)))


def soon(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@live_server
def test_signing_out_everywhere_closes_the_maps_and_the_drivers_socket_already_open(live_tms):
    trip = running_live_trip(live_tms)
    watcher = live_tms.connect(f"/ws/trips/{trip.id}", cookie=live_tms.login(trip.passenger))
    watcher.next("snapshot")
    stranger = live_tms.connect(f"/ws/trips/{trip.id}?share={trip.share}")  # no session to end
    stranger.next("snapshot")
    driver = live_tms.connect(f"/ws/driver/trips/{trip.id}", cookie=live_tms.login(trip.driver))

    with live_tms.app.app_context():
        for email in (trip.passenger, trip.driver):
            accounts.end_sessions(user_by_email(email), now=datetime.now(UTC))
        tx.commit()

    with pytest.raises(simple_websocket.ConnectionClosed):  # WS_RECHECK_SECONDS is 2 here
        watcher.next(timeout=10)
    assert watcher.client.close_reason == 1008
    answer, deadline = None, time.monotonic() + 15
    while answer is None and time.monotonic() < deadline:  # it looks again at a fix once a check is due
        driver.send(fix(0.3))
        reply = driver.next()
        answer = reply if reply["type"] == "error" else None
    assert answer is not None, "the driver's socket kept taking fixes after the driver was signed out"
    assert answer["code"] == "not_your_trip" and "signed out" in answer["message"]
    stranger.send({"type": "noise"})
    assert stranger.client.connected  # a share link's map has no session to lose
