"""Every page of the portal, console, admin, driver and POS surfaces, in Chromium at a phone's
390 × 844 and a laptop's 1366 × 900, signed in as the role that uses it and showing real content
(a trip with tickets, an order waiting for payment, a ticket on a running bus with a live position,
a share link, a notification, an audit entry...):

- the page never scrolls sideways (the document is no wider than the viewport);
- no console error, no uncaught exception, no failed request;
- a full-page screenshot of each, kept in ``test-artifacts/pages/`` (``<endpoint>-<width>.jpeg``);
- axe-core (from npm, vendored for the tests by scripts/assets.sh) finds no serious or critical
  violation on the main pages.

The pages come from ``app.url_map``: every GET route of those surfaces is visited, or listed in
``NOT_PAGES`` with the reason, so a new page cannot be forgotten. Problems of every page are
collected and reported together.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import SignupRequest, User
from app.accounts.rules import Role
from app.audit import services as audit
from app.booking.errors import SeatUnavailable
from app.booking.services import guests, holds, orders
from app.companies.models import Company
from app.core import tx
from app.core.models import utcnow
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.fleet.models import Timetable, Trip
from app.fleet.rules import TripStatus
from app.notifications.models import Notification
from app.payments.services import payments
from app.tracking import live
from app.tracking import services as tracking
from app.web.surface import GUEST_KEY
from tests import factories
from tests.e2e.conftest import data_app
from tests.web.test_surfaces import ANONYMOUS, GUESTS_WELCOME

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
AXE = ROOT / "tests" / "e2e" / "vendor" / "axe.min.js"
VIEWPORTS = ({"width": 390, "height": 844}, {"width": 1366, "height": 900})
SURFACES = ("portal", "console", "admin", "driver", "pos")

# GET routes of those surfaces that are not pages a person looks at, and why.
NOT_PAGES = {
    "portal.booking.ticket_pdf": "a PDF (tests/e2e/test_booking_journey.py reads its QR code)",
    "portal.booking.ticket_ics": "a calendar file",
    "console.payments.payment_csv": "a CSV export",
    "console.fleet.trip_manifest_csv": "a CSV export",
    "admin.payments.payment_csv": "a CSV export",
    "portal.notifications.bell": "a fragment the open pages poll, shown inside every portal page",
    "portal.home.favicon": "the icon (an image; every page links it, so a missing one fails there)",
    "portal.home.manifest": "the web app manifest (JSON; every page links it)",
    "portal.payments.paypal_return": "PayPal's return: it acts and redirects to the order page (checked)",
    "portal.payments.paypal_cancel": "PayPal's cancel: it acts and redirects to the pay page (checked)",
    "portal.guests.ticket_pdf": "a PDF (tests/e2e/test_guest_journey.py reads its QR code)",
    "portal.guests.ticket_ics": "a calendar file",
    "portal.companies.stylesheet": "an operator's colours (CSS; the branded pages link it)",
    "portal.companies.logo": "an operator's logo (an image; the branded pages show it)",
    "driver.boarding.pack": "a trip's offline pack (JSON the scan page keeps; tests/e2e/test_boarding.py)",
    "driver.home.worker": "the driver pages' service worker (JavaScript; tests/e2e/test_boarding.py)",
}
# Endpoint → who opens it: a visitor (signed out), or the demo account of the surface's role.
ACCOUNTS = {
    "passenger": "passenger@tms.rw",
    "manager": "manager@virunga.rw",
    "admin": "admin@tms.rw",
    "agent": "agent@virunga.rw",
}
SURFACE_ROLE = {"portal": "passenger", "console": "manager", "admin": "admin", "driver": "driver", "pos": "agent"}
# Pages also worth seeing as another role: the portal's home and search as a signed-in passenger,
# and the buyer's pages as a guest (no account: the browser's session names the guest's booking).
ALSO = [
    ("portal.home.index", "passenger"),
    ("portal.booking.search", "passenger"),
    ("portal.booking.checkout", "guest"),
    ("portal.payments.pay", "guest"),
    ("portal.booking.order", "guest"),
]
# The main page of each thing a person does, checked with axe-core (every page is checked for
# width and errors).
MAIN = {
    "portal.home.index",
    "portal.accounts.login",
    "portal.accounts.signup",
    "portal.booking.search",
    "portal.booking.trip_seats",
    "portal.booking.checkout",
    "portal.payments.pay",
    "portal.payments.sandbox",
    "portal.booking.order",
    "portal.booking.ticket",
    "portal.booking.my_tickets",
    "portal.accounts.account",
    "portal.notifications.inbox",
    "portal.tracking.watch",
    "portal.booking.cancel",
    "portal.guests.order",
    "portal.guests.ticket",
    "portal.guests.cancel",
    "portal.guests.lost",
    "portal.guests.claim",
    "console.companies.dashboard",
    "console.companies.brand",
    "console.fleet.trip_list",
    "console.fleet.trip_detail",
    "console.fleet.bus_edit",
    "console.fleet.route_edit",
    "console.fleet.timetable_edit",
    "console.payments.payment_list",
    "console.notifications.notification_list",
    "console.audit.index",
    "console.tracking.fleet_live",
    "admin.companies.index",
    "admin.payments.payment_list",
    "admin.notifications.notification_list",
    "admin.system.job_list",
    "driver.home.index",
    "driver.boarding.scan_page",
    "pos.home.index",
    "console.design.styleguide",
}
# A transparent 1 × 1 PNG: the map tiles (MAP_TILE_URL points at the live server, which has none).
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@dataclass
class World:
    """What the pages show, made through the services in the live server's database."""

    trip_id: int  # a Virunga Express trip tomorrow with seats sold
    bus_id: int
    route_id: int
    timetable_id: int
    order: str  # the demo passenger's paid order, on a bus that is on the road
    ticket: str
    pending: str  # an order waiting for payment
    hold: str  # seats held, before the passengers' names
    payment: str  # a sandbox payment waiting for the payer's approval
    share_token: str
    cancellable: str  # the passenger's paid ticket on tomorrow's trip, for the cancellation page
    guest_key: str  # the guest's browser session names it
    guest_hold: str  # a guest's seats held, before the contact and the passengers' names
    guest_pending: str  # a guest's order waiting for payment
    guest_token: str  # the magic link to a guest's paid order
    guest_ticket: str
    inbox_item: int  # the passenger's bell
    message: int  # an SMS to a passenger of the company, in the console and the admin
    reset_token: str
    signup_token: str
    search: dict[str, str]
    driver_email: str
    running_trip_id: int  # the driver's trip on the road, the passenger aboard
    station_id: int  # a bus park (stations and towns are shared by every operator)
    town_id: int


# Endpoint → its URL's arguments (and query string). A page with arguments not listed here fails.
ARGUMENTS: dict[str, Callable[[World], dict]] = {
    "portal.booking.search": lambda w: w.search,
    "portal.booking.trip_seats": lambda w: {"trip_id": w.trip_id},
    "portal.booking.checkout": lambda w: {"code": w.hold},
    "portal.booking.order": lambda w: {"code": w.order},
    "portal.payments.pay": lambda w: {"code": w.pending},
    "portal.payments.status": lambda w: {"reference": w.payment},
    "portal.payments.sandbox": lambda w: {"reference": w.payment},
    "portal.booking.ticket": lambda w: {"code": w.ticket},
    "portal.tracking.watch": lambda w: {"token": w.share_token},
    "portal.booking.cancel": lambda w: {"code": w.cancellable},
    "portal.guests.order": lambda w: {"token": w.guest_token},
    "portal.guests.ticket": lambda w: {"token": w.guest_token, "code": w.guest_ticket},
    "portal.guests.cancel": lambda w: {"token": w.guest_token, "code": w.guest_ticket},
    "portal.booking.checkout@guest": lambda w: {"code": w.guest_hold},
    "portal.payments.pay@guest": lambda w: {"code": w.guest_pending},
    "portal.booking.order@guest": lambda w: {"code": w.guest_pending},
    "portal.accounts.reset_password": lambda w: {"token": w.reset_token},
    "portal.accounts.confirm_signup": lambda w: {"token": w.signup_token},
    "console.fleet.bus_edit": lambda w: {"bus_id": w.bus_id},
    "console.companies.station_edit": lambda w: {"station_id": w.station_id},
    "console.companies.town_edit": lambda w: {"town_id": w.town_id},
    "console.fleet.route_edit": lambda w: {"route_id": w.route_id},
    "console.fleet.route_fares": lambda w: {"route_id": w.route_id},
    "console.fleet.timetable_edit": lambda w: {"timetable_id": w.timetable_id},
    "console.fleet.trip_detail": lambda w: {"trip_id": w.trip_id},
    "console.fleet.trip_manifest": lambda w: {"trip_id": w.trip_id},
    "console.fleet.trip_swap": lambda w: {"trip_id": w.trip_id},
    "console.notifications.notification_detail": lambda w: {"notification_id": w.message},
    "admin.notifications.notification_detail": lambda w: {"notification_id": w.message},
    "portal.notifications.inbox": lambda w: {},
    "driver.boarding.scan_page": lambda w: {"trip_id": w.running_trip_id},
    "driver.boarding.manifest": lambda w: {"trip_id": w.running_trip_id},
}


@dataclass(frozen=True)
class Visit:
    endpoint: str
    role: str  # "visitor", "guest" (a visitor who booked without an account) or a key of the role's login

    @property
    def name(self) -> str:
        return (
            self.endpoint
            if self.role == SURFACE_ROLE.get(self.endpoint.split(".")[0])
            else f"{self.endpoint}@{self.role}"
        )


def page_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in SURFACES and "GET" in rule.methods and not rule.websocket:
            yield rule


def visits(app) -> list[Visit]:
    found = []
    for rule in sorted(page_rules(app), key=lambda r: r.rule):
        if rule.endpoint in NOT_PAGES:
            continue
        # The buyer's pages guests also reach are seen as the passenger here, and as a guest in ALSO.
        anonymous = rule.endpoint in ANONYMOUS - GUESTS_WELCOME
        role = "visitor" if anonymous else SURFACE_ROLE[rule.endpoint.split(".")[0]]
        found.append(Visit(rule.endpoint, role))
    return found + [Visit(endpoint, role) for endpoint, role in ALSO]


def url_of(app, world: World, visit: Visit) -> str:
    endpoint = visit.endpoint
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    teach = ARGUMENTS.get(visit.name, ARGUMENTS.get(endpoint))
    values = teach(world) if teach else {}
    missing = rule.arguments - set(values)
    assert not missing, f"{visit.name} ({rule.rule}): teach tests/e2e/test_every_page.py which {missing} to show"
    return rule.build(values, append_unknown=True)[1]


# --- The world --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_app(live_server):
    with data_app(live_server, PAYMENTS_SANDBOX=True) as app:
        yield app


def _free_seats(trip: Trip, count: int, book: Callable[[list[str]], object]):
    """``book`` the first ``count`` seats of ``trip`` that are still free."""
    for seat in trip.bus.seats:
        try:
            with db.session.begin_nested():
                return book([seat.label])
        except SeatUnavailable:
            continue
    raise AssertionError(f"no free seat on trip {trip.id}")


@pytest.fixture(scope="module")
def world(live_app) -> World:
    run = time.time_ns()
    with live_app.test_request_context():  # the sandbox builds its approval URL
        now = utcnow()
        company = db.session.scalar(select(Company).where(Company.code == "virunga-express"))
        passenger = db.session.scalar(select(User).where(User.email == "passenger@tms.rw"))
        manager = db.session.scalar(select(User).where(User.email == "manager@virunga.rw"))
        company.payment_providers = sorted({*(company.payment_providers or []), "sandbox"})
        # Tomorrow's first departure with a bus: the demo sold seats on it.
        tomorrow = now + timedelta(days=1)
        trip = db.session.scalar(
            select(Trip)
            .where(Trip.company_id == company.id, Trip.bus_id.is_not(None), Trip.departs_at > tomorrow)
            .where(Trip.status == TripStatus.SCHEDULED)
            .order_by(Trip.departs_at)
            .limit(1)
        )
        last = len(trip.stops) - 1
        me = [orders.Passenger(passenger.name, passenger.phone)]
        pending = _free_seats(
            trip,
            1,
            lambda seats: orders.reserve(
                passenger, trip.id, seats=seats, origin=0, destination=last, passengers=me, now=now
            ),
        )
        hold = _free_seats(
            trip,
            1,
            lambda seats: holds.create_hold(passenger, trip.id, seats=seats, origin=0, destination=last, now=now),
        )
        payment = payments.open_payment(passenger, pending, "sandbox", now=now)
        cancellable = _free_seats(
            trip,
            1,
            lambda seats: orders.book_seats(
                passenger,
                trip.id,
                seats=seats,
                origin=0,
                destination=last,
                passengers=me,
                channel="web",
                paid=True,
                now=now,
            ),
        )

        # A guest (no account): a paid order with its magic link, an order waiting for payment and
        # seats held before the checkout, all in the guest's browser (its session's guest key).
        guest = holds.Guest(guests.new_guest_key())
        contact = guests.Contact("Aline Uwase", "+250788200001", None, "en")
        aline = [orders.Passenger("Aline Uwase")]

        def guest_order(seats):
            held = holds.create_hold(guest, trip.id, seats=seats, origin=0, destination=last, now=now)
            return orders.checkout(guest, held.code, aline, channel="web", now=now, contact=contact)

        guest_paid = orders.mark_paid(_free_seats(trip, 1, guest_order), now=now)
        guest_token = guests.issue_link(guest_paid, now=now)
        guest_pending = _free_seats(trip, 1, guest_order)
        guest_hold = _free_seats(
            trip,
            1,
            lambda seats: holds.create_hold(guest, trip.id, seats=seats, origin=0, destination=last, now=now),
        )
        tx.commit()
        base = live_app.config["BASE_URL"]
        payments.submit(payment, callback_url=base, return_url=base, cancel_url=base, now=now)

        # A bus on the road with the passenger aboard, its driver, and its latest position.
        driver = factories.member(Role.DRIVER, of=company, email=f"pages-driver{run}@virunga.rw", name="Eric Habimana")
        route = trip.route
        running = factories.trip(
            route,
            bus_=factories.bus(company, plate=f"RAC {run % 1000:03d}P"),
            driver=driver,
            departs_at=now + timedelta(minutes=5),
        )
        paid = orders.book_seats(
            passenger,
            running.id,
            seats=["1A"],
            origin=0,
            destination=last,
            passengers=me,
            channel="web",
            paid=True,
            now=now,
        )
        running.status, running.departed_at = TripStatus.DEPARTED, now
        first = running.stops[0].station
        live.store(
            live.Fix(lat=first.latitude + 0.01, lon=first.longitude + 0.01, at=now, speed_kmh=54, heading=180),
            bus_id=running.bus_id,
            company_id=company.id,
            trip_id=running.id,
            source="driver",
            now=now,
        )
        link = tracking.share(passenger, paid.tickets[0], hours=2, now=now)

        item = Notification(
            dedupe_key=f"pages-{run}:inbox",
            kind="ticket_issued",
            channel="inbox",
            address=f"user:{passenger.id}",
            user_id=passenger.id,
            order_id=paid.id,
            status="sent",
            body="Your tickets are ready.",
            link=f"/orders/{paid.code}",
        )
        message = Notification(
            dedupe_key=f"pages-{run}:sms",
            kind="ticket_issued",
            channel="sms",
            address=passenger.phone or "+250788123456",
            user_id=passenger.id,
            company_id=company.id,
            trip_id=running.id,
            order_id=paid.id,
            status="failed",
            attempts=3,
            provider="africastalking",
            error="Invalid phone number",
            body=f"TMS: your ticket {paid.tickets[0].code} is ready.",
        )
        db.session.add_all([item, message])
        audit.record(manager, "trip.status", running, f"Trip {running.id} departed", company_id=company.id)

        signup = SignupRequest(
            name="Claudine Newcomer",
            email=f"claudine{run}@example.rw",
            phone=None,
            password_hash=accounts.hash_password(factories.PASSWORD),
            browser_hash="0" * 64,
            created_at=now,
        )
        db.session.add(signup)
        db.session.flush()
        built = World(
            trip_id=trip.id,
            bus_id=trip.bus_id,
            route_id=route.id,
            timetable_id=db.session.scalar(select(Timetable.id).where(Timetable.company_id == company.id).limit(1)),
            order=paid.code,
            ticket=paid.tickets[0].code,
            pending=pending.code,
            hold=hold.code,
            payment=payment.reference,
            share_token=link.token,
            cancellable=cancellable.tickets[0].code,
            guest_key=guest.key,
            guest_hold=guest_hold.code,
            guest_pending=guest_pending.code,
            guest_token=guest_token,
            guest_ticket=guest_paid.tickets[0].code,
            inbox_item=item.id,
            message=message.id,
            reset_token=accounts.make_reset_token(manager),
            signup_token=accounts.make_signup_token(signup),
            search={
                "origin": trip.stops[0].station.name,
                "destination": trip.stops[last].station.name,
                "date": trip.departs_at.date().isoformat(),
            },
            driver_email=driver.email,
            running_trip_id=running.id,
            station_id=trip.stops[0].station_id,
            town_id=trip.stops[0].station.town_id,
        )
        tx.commit()
    return built


# --- The browser ------------------------------------------------------------------------------


@dataclass
class Seen:
    """What went wrong while one page was open."""

    errors: list[str] = field(default_factory=list)
    listening: bool = False

    def add(self, text: str) -> None:
        if self.listening:
            self.errors.append(text)


def _watch(page: Page, seen: Seen) -> None:
    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.add(f"console: {message.text}")

    def response(answer: Response) -> None:
        if answer.status >= 400:
            seen.add(f"{answer.status} {answer.request.method} {answer.url}")

    def failed(request: Request) -> None:
        # The browser cancels what is still loading when the test moves to the next page (the
        # favicon comes last): a cancelled request is no fault of the page. A missing file is a 404
        # answer, caught above; a refused connection or a reset is another failure, caught here.
        if request.failure == "net::ERR_ABORTED":
            return
        seen.add(f"failed {request.method} {request.url}: {request.failure}")

    page.on("console", console)
    page.on("pageerror", lambda error: seen.add(f"exception: {error}"))
    page.on("response", response)
    page.on("requestfailed", failed)


class Tab:
    """One signed-in (or signed-out) browser context and its page, reused for every page of a role."""

    def __init__(self, browser: Browser, base_url: str, email: str | None, password: str):
        self.context: BrowserContext = browser.new_context(
            base_url=base_url,
            viewport=VIEWPORTS[0],
            geolocation={"latitude": -1.9441, "longitude": 30.0619},
            permissions=["geolocation"],
        )
        self.context.route(re.compile(r"/no-tiles/"), lambda route: route.fulfill(body=TILE, content_type="image/png"))
        self.page = self.context.new_page()
        self.base_url = base_url
        self.seen = Seen()
        _watch(self.page, self.seen)
        if email:
            self.page.goto("/login")
            self.page.get_by_label("Email").fill(email)
            self.page.get_by_label("Password").fill(password)
            self.page.get_by_role("button", name="Log in").click()
            self.page.wait_for_url(lambda url: "/login" not in url)

    def be_guest(self, app, key: str) -> None:
        """The session a guest's browser has after holding seats without an account."""
        cookie = app.session_interface.get_signing_serializer(app).dumps({GUEST_KEY: key})
        self.context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": self.base_url}])

    def open(self, url: str) -> tuple[int, str]:
        self.seen.errors.clear()
        self.seen.listening = True
        self.page.set_viewport_size(VIEWPORTS[0])
        answer = self.page.goto(url)
        self.settle()
        return (answer.status if answer else 0), (answer.headers.get("content-type", "") if answer else "")

    def settle(self) -> None:
        """Until htmx has no request in flight (those a page starts on load are under way by now)."""
        self.page.wait_for_function("() => !document.querySelector('.htmx-request')")

    def close(self) -> list[str]:
        self.seen.listening = False
        return list(self.seen.errors)


WIDTH_CHECK = """() => {
  const width = window.innerWidth;
  const doc = Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0);
  const culprits = [];
  if (doc > width) {
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.classList.length ? '.' + [...el.classList].join('.') : '');
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      const parent = el.parentElement ? el.parentElement.getBoundingClientRect() : null;
      if (box.width > 0 && box.right > width + 0.5 && (!parent || parent.right <= width + 0.5)) {
        culprits.push(name(el) + ' (' + Math.round(box.left) + '–' + Math.round(box.right) + ' px)');
      }
    }
  }
  return {width, doc, culprits: culprits.slice(0, 6)};
}"""


def _axe(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is, readably."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the browser's debugger protocol, so the CSP allows it
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          const bad = r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
          return {
            rules: r.passes.length + r.violations.length + r.incomplete.length,
            bad: bad.map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + (n.failureSummary ?
                ' — ' + n.failureSummary.split('\\n').slice(1, 2).join('').trim() : ''))
            }))
          };
        }"""
    )
    assert result["rules"] > 10, "axe-core checked nothing"
    return [
        f"axe {v['impact']} {v['id']}: {v['help']}\n" + "\n".join(f"        {node}" for node in v["nodes"])
        for v in result["bad"]
    ]


@pytest.fixture(scope="module")
def tabs(browser: Browser, base_url: str, live_app, world: World):
    made: dict[str, Tab] = {}

    def tab(role: str) -> Tab:
        if role not in made:
            if role == "visitor":
                made[role] = Tab(browser, base_url, None, "")
            elif role == "guest":
                made[role] = Tab(browser, base_url, None, "")
                made[role].be_guest(live_app, world.guest_key)
            elif role == "driver":
                made[role] = Tab(browser, base_url, world.driver_email, factories.PASSWORD)
            else:
                made[role] = Tab(browser, base_url, ACCOUNTS[role], DEMO_PASSWORD)
        return made[role]

    yield tab
    for made_tab in made.values():
        made_tab.context.close()


# --- The checks -------------------------------------------------------------------------------


def test_every_page_route_is_visited_or_listed_with_a_reason(app):
    endpoints = {rule.endpoint for rule in page_rules(app)}
    assert set(NOT_PAGES) <= endpoints, f"listed but gone: {set(NOT_PAGES) - endpoints}"
    taught = {name.split("@")[0] for name in ARGUMENTS}  # "endpoint@role": that role's own arguments
    assert taught <= endpoints, f"taught but gone: {taught - endpoints}"
    assert not MAIN - (endpoints - set(NOT_PAGES)), f"main pages not visited: {MAIN - endpoints}"
    for rule in page_rules(app):
        if rule.arguments and rule.endpoint not in NOT_PAGES:
            assert rule.endpoint in ARGUMENTS, f"{rule.endpoint} ({rule.rule}): teach this test what to show"


def test_every_page_fits_a_phone_and_a_laptop_without_errors(live_app, world, tabs):
    """Both viewports on every page; a screenshot of each; axe-core on the main pages."""
    assert AXE.exists(), "axe-core is missing: run `make assets` (scripts/assets.sh vendors it for the tests)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.*"):
        old.unlink()
    problems: list[str] = []
    checked = 0
    with live_app.test_request_context():
        planned = [(visit, url_of(live_app, world, visit)) for visit in visits(live_app)]
    for visit, url in planned:
        tab = tabs(visit.role)
        status, content_type = tab.open(url)
        found: list[str] = []
        if status != 200 or not content_type.startswith("text/html"):
            found.append(f"answered {status} {content_type} (landed on {tab.page.url})")
        for viewport in VIEWPORTS:
            tab.page.set_viewport_size(viewport)
            width = tab.page.evaluate(WIDTH_CHECK)
            if width["doc"] > viewport["width"]:
                found.append(
                    f"{viewport['width']} px: the document is {width['doc']} px wide, widened by "
                    + ", ".join(width["culprits"])
                )
            tab.page.screenshot(path=ARTIFACTS / f"{visit.name}-{viewport['width']}.jpeg", full_page=True, quality=70)
        if visit.endpoint in MAIN:
            tab.page.set_viewport_size(VIEWPORTS[0])
            found += _axe(tab.page)
        found += tab.close()
        checked += 1
        problems += [f"{visit.name} {url}\n    {line}" for line in found]
    assert checked >= 50, checked
    assert not problems, f"{len(problems)} problems on {checked} pages:\n" + "\n".join(problems)
