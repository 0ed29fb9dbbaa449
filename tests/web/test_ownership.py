"""Every portal and API URL that names someone's order, ticket, payment, booking in progress, share
link or inbox item answers 404 to anyone else, exactly as for a code that never existed.

The URLs come from the app's URL map, so a new one is checked the day it is added; one whose
arguments this test cannot fill fails until it is taught what they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.booking.services import guests, holds, orders
from app.core.models import utcnow
from app.extensions import db
from app.notifications.models import Notification
from app.payments.services import payments
from app.tracking import services as tracking
from tests import factories
from tests.web.test_surfaces import ANONYMOUS, GUESTS_WELCOME

# (the path segment before an argument, the argument) → the kind of object it names.
OWNED = {
    ("orders", "code"): "order",
    ("tickets", "code"): "ticket",
    ("checkout", "code"): "hold",
    ("holds", "code"): "hold",
    ("payments", "reference"): "payment",
    ("shares", "link_id"): "share_link",
    ("notifications", "notification_id"): "notification",
}
# Arguments that name nobody's object.
NOT_OWNED = {
    ("trips", "trip_id"): "trips are the public timetable",
    # Undoing a boarding: refused before any lookup to all but the trip's driver and its company's
    # admins and dispatchers (tests/web/test_api_boarding.py).
    ("boardings", "code"): "a ticket of the trip being boarded, for its staff only",
}
# Who tries another user's object: a passenger, except where the object is scoped to a company's
# staff (a passenger is refused there before anything is looked up: 403).
STAFF_SCOPED = {"api.payments.record_cash": "agent"}
# A body the API would take (it validates bodies before it loads anything, for owner and stranger
# alike: a bad body answers 422 whoever's code is in the path, which tells nothing).
VALID_BODIES = {
    "api.payments.record_cash": {"amount": 5000},
    "api.payments.create_payment": {"provider": "sandbox"},
    "api.payments.sandbox_decision": {"decision": "approve"},
}


def named_objects(rule) -> dict[str, str]:
    """Argument → kind for ``rule``; fails for an argument this test does not know."""
    segments = rule.rule.split("/")
    found = {}
    for index, segment in enumerate(segments):
        if not segment.startswith("<"):
            continue
        name = segment.strip("<>").split(":")[-1]
        key = (segments[index - 1], name)
        assert key in OWNED or key in NOT_OWNED, (
            f"{rule.endpoint} ({rule.rule}): teach tests/web/test_ownership.py what <{name}> names"
        )
        if key in OWNED:
            found[name] = OWNED[key]
    return found


def owned_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("portal", "api") or rule.endpoint in ANONYMOUS - GUESTS_WELCOME:
            continue
        kinds = named_objects(rule)
        if kinds:
            yield rule, kinds


@dataclass
class Owned:
    owner: object
    staff: object  # an agent of the company that sold the order
    values: dict[str, dict[str, object]]  # kind → argument name → value


def owners_objects() -> Owned:
    """One object of each kind, all belonging to one passenger (and their operator)."""
    owner = factories.user(name="Owner Passenger")
    trip = factories.trip(bus_=factories.bus(rows=4))
    now = utcnow()
    people = [orders.Passenger("Owner Passenger")]
    paid = orders.book_seats(
        owner, trip.id, seats=["1A"], origin=0, destination=2, passengers=people, channel="web", paid=True, now=now
    )
    pending = orders.reserve(owner, trip.id, seats=["2A"], origin=0, destination=2, passengers=people, now=now)
    hold = holds.create_hold(owner, trip.id, seats=["3A"], origin=0, destination=2, now=now)
    trip.route.company.payment_providers = ["sandbox"]
    payment = payments.open_payment(owner, pending, "sandbox", now=now)
    link = tracking.share(owner, paid.tickets[0], hours=2, now=now)
    item = Notification(
        dedupe_key=f"ticket_issued:{paid.id}:inbox:user:{owner.id}",
        kind="ticket_issued",
        channel="inbox",
        address=f"user:{owner.id}",
        user_id=owner.id,
        order_id=paid.id,
        status="sent",
        body="Your tickets are ready.",
        link=f"/orders/{paid.code}",
    )
    db.session.add(item)
    db.session.flush()
    return Owned(
        owner=owner,
        staff=factories.member("agent", of=trip.route.company),
        values={
            "order": {"code": pending.code},
            "ticket": {"code": paid.tickets[0].code},
            "hold": {"code": hold.code},
            "payment": {"reference": payment.reference},
            "share_link": {"link_id": link.id},
            "notification": {"notification_id": item.id},
        },
    )


class Caller:
    """One signed-in user calling URLs as a browser (portal) or a partner's program (API) would."""

    def __init__(self, app, user):
        self.client = app.test_client()
        self.client.login(user.email)
        answer = self.client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
        self.token = answer.get_json()["access_token"]
        self.csrf = self.client.csrf_token()
        self.calls = 0

    def call(self, rule, method: str, url: str):
        self.calls += 1
        key = f"ownership-{self.calls}"
        if rule.endpoint.startswith("api."):
            headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
            body = VALID_BODIES.get(rule.endpoint, {}) if method != "GET" else None
            return self.client.open(url, method=method, headers=headers, json=body)
        data = {"csrf_token": self.csrf, "idempotency_key": key} if method != "GET" else None
        return self.client.open(url, method=method, data=data)


class GuestCaller(Caller):
    """A browser with no account whose session holds a guest key (it began a booking as a guest)."""

    def __init__(self, app, key: str):
        self.client = app.test_client()
        with self.client.session_transaction() as session:
            session["guest_key"] = key
        self.csrf = self.client.csrf_token()
        self.calls = 0


def guests_objects() -> Owned:
    """A guest's booking in progress, order waiting for payment and payment."""
    guest = holds.Guest("the-owners-guest-key")
    trip = factories.trip(bus_=factories.bus(rows=4))
    trip.route.company.payment_providers = ["sandbox"]
    now = utcnow()
    hold = holds.create_hold(guest, trip.id, seats=["1A"], origin=0, destination=2, now=now)
    placed = holds.create_hold(guest, trip.id, seats=["2A"], origin=0, destination=2, now=now)
    contact = guests.Contact("Guest Owner", "+250788123456", None, "en")
    order = orders.checkout(
        guest, placed.code, [orders.Passenger("Guest Owner")], channel="web", now=now, contact=contact
    )
    payment = payments.open_payment(guest, order, "sandbox", now=now)
    return Owned(
        owner=guest,
        staff=None,
        values={
            "order": {"code": order.code},
            "hold": {"code": hold.code},
            "payment": {"reference": payment.reference},
        },
    )


def guest_calls(app, owned: Owned):
    yield from calls(app, owned, only=GUESTS_WELCOME)


def test_a_guests_booking_is_not_found_for_anyone_else(app, client):
    owned = guests_objects()
    strangers = [Caller(app, factories.user(name="Signed-in Stranger")), GuestCaller(app, "another-guests-key")]
    checked = set()
    for rule, method, url in guest_calls(app, owned):
        for stranger in strangers:
            response = stranger.call(rule, method, url)
            assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) gave {response.status_code}"
        checked.add(rule.endpoint)
    assert checked == GUESTS_WELCOME


def test_a_guest_reaches_their_own_booking_and_nobody_elses(app, client, owned):
    guest = guests_objects()
    caller = GuestCaller(app, guest.owner.key)
    for rule, method, url in guest_calls(app, guest):
        response = caller.call(rule, method, url)
        assert response.status_code not in (404, 500), f"{method} {url} ({rule.endpoint}) gave {response.status_code}"
    for rule, method, url in calls(app, owned, only=GUESTS_WELCOME):  # a user's objects
        response = GuestCaller(app, guest.owner.key).call(rule, method, url)
        assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) gave {response.status_code}"


def calls(app, owned: Owned, only: set[str] | None = None):
    for rule, kinds in sorted(owned_rules(app), key=lambda found: found[0].rule):
        if only is not None and rule.endpoint not in only:
            continue
        arguments = {name: owned.values[kind][name] for name, kind in kinds.items()}
        url = rule.build(arguments, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=lambda m: m != "GET"):
            yield rule, method, url


@pytest.fixture
def owned(client) -> Owned:  # the client fixture makes app.test_client() browser-like
    return owners_objects()


def test_every_url_naming_a_users_object_is_not_found_for_anyone_else(app, owned):
    strangers = {
        "passenger": Caller(app, factories.user(name="Stranger")),
        "agent": Caller(app, factories.member("agent", name="Other Operator's Agent")),
    }
    checked = set()
    for rule, method, url in calls(app, owned):
        stranger = strangers[STAFF_SCOPED.get(rule.endpoint, "passenger")]
        response = stranger.call(rule, method, url)
        assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) gave {response.status_code}"
        checked.add(rule.endpoint)
    assert len(checked) >= 20, sorted(checked)
    assert {"portal.booking.ticket", "portal.payments.status", "api.booking.get_order"} <= checked


def test_a_passenger_is_refused_staff_only_urls_before_any_lookup(app, owned):
    passenger = Caller(app, factories.user(name="Curious Passenger"))
    for rule, method, url in calls(app, owned):
        if rule.endpoint in STAFF_SCOPED:
            assert passenger.call(rule, method, url).status_code == 403, rule.endpoint


def test_the_same_urls_answer_their_owner(app, owned):
    """The 404s above are ownership, not broken URLs: the owner (or, for staff URLs, their
    operator's staff) reaches every one of them."""
    callers = {"passenger": Caller(app, owned.owner), "agent": Caller(app, owned.staff)}
    for rule, method, url in calls(app, owned):
        response = callers[STAFF_SCOPED.get(rule.endpoint, "passenger")].call(rule, method, url)
        assert response.status_code not in (404, 500), f"{method} {url} ({rule.endpoint}) gave {response.status_code}"


BARE_LOAD = re.compile(
    r"(?:select|session\.get|session\.scalar)\(\s*(Order|Ticket|Payment|Hold|ShareLink|Notification)\b"
)


def test_portal_and_api_views_load_these_objects_only_through_the_owner_scoped_loaders():
    """``booking.queries.order_for_user``, ``ticket_for_user``, ``payments.queries.payment_for_user``,
    ``tracking.queries.share_link_for_user``...: one owner check per object, never a copy in a view."""
    views = [p for p in Path("app").glob("*/views/*.py") if p.stem in ("portal", "api")]
    assert len(views) >= 8
    for path in views:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not BARE_LOAD.search(line), f"{path}:{number} loads an owned object itself: {line.strip()}"


def test_a_magic_link_opens_its_own_order_only(app, client, now):
    """``/t/<token>/...``: the token is the permission; another order's ticket under it is not
    found, and a token changed by one character opens nothing."""
    trip = factories.trip(bus_=factories.bus(rows=4))
    mine, theirs = (
        orders.book_seats(
            None,
            trip.id,
            seats=[seat],
            origin=0,
            destination=2,
            passengers=[orders.Passenger("A Guest")],
            channel="web",
            paid=True,
            now=now,
        )
        for seat in ("1A", "2A")
    )
    token = guests.issue_link(mine, now=now)
    assert client.get(f"/t/{token}/{mine.tickets[0].code}").status_code == 200
    for path in ("", "/ticket.pdf", "/calendar.ics", "/cancel"):
        assert client.get(f"/t/{token}/{theirs.tickets[0].code}{path}").status_code == 404, path
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/t/{forged}").status_code == 404
    link_id, secret, mac = token.split(".")
    assert client.get(f"/t/{int(link_id) + 1}.{secret}.{mac}").status_code == 404
