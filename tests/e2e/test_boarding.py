"""Boarding on the driver's phone against the live server: tickets scanned by typed code and by a
QR picture fed to the page's reader (no camera needed), online and with the network cut
(``context.set_offline``), where the phone checks them itself and queues them until it is back;
a ticket boarded on two offline phones is flagged once; a forged QR is FORGED offline; Depart stop
lets the passengers who did not come go; a scan page never opened opens with no network (the
service worker's copy, kept while online), and signing out leaves nothing of it on the phone."""

from __future__ import annotations

import base64
import itertools
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from app.accounts.rules import Role
from app.booking import qr
from app.booking.models import BoardingScan, Ticket
from app.booking.services import orders
from app.core import tx
from app.core.models import utcnow
from app.extensions import db
from app.fleet.rules import TripStatus
from tests import factories
from tests.e2e.conftest import data_app
from tests.tracking.conftest import southern_route

PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "boarding"  # what the driver saw
NAMES = ("Aline Uwase", "Jean Bosco", "Claudine Mukamana", "Eric Nshuti", "Diane Ingabire", "Patrick Habimana")
_runs = itertools.count(1)


@dataclass(frozen=True)
class Boarding:
    trip_id: int
    driver: str  # email
    admin: str  # email of the company's admin, who watches the console manifest
    tickets: list[str]  # codes, in NAMES order: seats 1A, 1B, 1C, 1D, 2A, 2B from Nyabugogo to Huye
    qrs: list[str]  # their QR texts


@pytest.fixture(scope="module")
def live_db(live_server):
    with data_app(live_server) as app:
        yield app


def boarding_trip(live_db) -> Boarding:
    """A Kigali – Huye bus boarding at Nyabugogo, its driver, and six paid tickets on it."""
    run, n = time.time_ns(), next(_runs)
    with live_db.app_context():
        company = factories.company(code=f"boarding-{run}", name=f"Door Express {n}")
        driver = factories.member(Role.DRIVER, of=company, email=f"door{run}@door.rw", name="Eric Driver")
        admin = factories.member(Role.ADMIN, of=company, email=f"office{run}@door.rw", name="Grace Office")
        passenger = factories.user(email=f"buyer{run}@example.rw", name="Aline Uwase")
        trip = factories.trip(
            # Stations of their own: a station called "Huye" beside the town Huye would make the
            # search journeys, which share this database, ask which Huye was meant.
            southern_route(company, names=("Nyabugogo Gate", "Muhanga Gate", "Huye Gate")),
            bus_=factories.bus(company, plate=f"RAD {n:03d}B"),
            driver=driver,
            departs_at=utcnow() + timedelta(minutes=20),
        )
        trip.status = TripStatus.BOARDING
        order = orders.book_seats(
            passenger,
            trip.id,
            seats=["1A", "1B", "1C", "1D", "2A", "2B"],
            origin=0,
            destination=2,
            passengers=[orders.Passenger(name, f"+25078811{i:04d}") for i, name in enumerate(NAMES)],
            channel="web",
            paid=True,
            now=utcnow(),
        )
        tickets = sorted(order.tickets, key=lambda t: t.seat_label)
        found = Boarding(
            trip.id, driver.email, admin.email, [t.code for t in tickets], [qr.text_for(t) for t in tickets]
        )
        tx.commit()
    return found


def qr_picture(text: str) -> str:
    """The QR of ``text`` as the passenger's screen shows it, as a data: URL."""
    return "data:image/png;base64," + base64.b64encode(qr.png(text)).decode()


def forged(text: str) -> str:
    """The same QR text with one byte of its signature changed."""
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    raw[-1] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def signed_in(browser: Browser, base_url: str, email: str, **options) -> tuple[BrowserContext, Page, list[str]]:
    """A browser signed in as ``email``, and the page errors it will collect."""
    context = browser.new_context(base_url=base_url, **options)
    page, errors = context.new_page(), []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, email)
    return context, page, errors


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Create an account")).to_be_visible()  # the home page of a visitor


class ScanPage:
    """The driver's Scan tickets page on a phone, once its trip's tickets are on it."""

    def __init__(self, context: BrowserContext, page: Page, errors: list[str]):
        self.context, self.page, self.errors = context, page, errors
        expect(page.get_by_role("heading", name="Scan tickets", level=1)).to_be_visible()
        expect(page.locator("[data-scanner]")).to_have_attribute("data-ready", "true")
        expect(page.get_by_text("Ready to check tickets with no network.")).to_be_visible()
        # Answers go after 4 s; on a loaded machine the test's next click may come later than that.
        page.locator("[data-scanner]").evaluate("scanner => { scanner.dataset.answerMs = '600000'; }")
        self.answer = page.locator("[data-answer]")
        self.banner = page.locator("[data-banner]")
        self.manifest = page.locator("#driver-manifest")

    @classmethod
    def opened(cls, browser: Browser, base_url: str, setting: Boarding) -> ScanPage:
        """Signed in as the trip's driver, from My trips."""
        context, page, errors = signed_in(browser, base_url, setting.driver, viewport=PHONE)
        page.locator(f"#trip-{setting.trip_id}").get_by_role("link", name="Scan tickets").click()
        return cls(context, page, errors)

    def type_code(self, code: str) -> None:
        self.page.get_by_label("Or type the ticket code").fill(code)
        self.page.get_by_role("button", name="Check").click()

    def show_qr(self, text: str) -> None:
        """Hold the ticket's QR in front of the reader (the page's decode-from-picture hook)."""
        self.page.evaluate("url => window.tmsScanner.decodeImage(url)", qr_picture(text))

    def expect_answer(self, word: str, *details: str) -> None:
        expect(self.answer).to_be_visible()
        expect(self.answer.locator("[data-answer-word]")).to_have_text(word)
        for detail in details:
            expect(self.answer).to_contain_text(detail)

    def snapshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / f"{name}.png")

    def next_passenger(self) -> None:
        self.answer.get_by_role("button", name="Next passenger").click()
        expect(self.answer).to_be_hidden()

    def boarded_count(self, text: str) -> None:
        expect(self.manifest.locator(".manifest-stop", has_text="Nyabugogo").locator("[data-count]")).to_have_text(text)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


def stored(live_db, codes: list[str]) -> dict[str, Ticket]:
    with live_db.app_context():
        found = {t.code: t for t in db.session.scalars(select(Ticket).where(Ticket.code.in_(codes)))}
        db.session.expunge_all()
        return found


def test_driver_boards_online_then_offline_and_the_queue_drains(browser: Browser, base_url, live_db):
    setting = boarding_trip(live_db)
    office_context, office, office_errors = signed_in(browser, base_url, setting.admin)
    office.goto(f"/console/trips/{setting.trip_id}/manifest")  # the office watches; nobody reloads it
    expect(office.locator("#manifest[data-live=open]")).to_be_attached()
    boarded_at_the_office = office.locator("#manifest-boarded .stat-value")
    expect(boarded_at_the_office).to_have_text("0")
    phone = ScanPage.opened(browser, base_url, setting)
    t = setting.tickets
    phone.boarded_count("0 of 6 boarded")

    # Online: two passengers, one by the code printed on the ticket, one by the QR on their phone.
    phone.type_code(t[0].lower())
    phone.expect_answer("BOARDED", NAMES[0], "1A", "Nyabugogo Gate → Huye Gate", "Standard")
    phone.snapshot("boarded")
    phone.next_passenger()
    phone.show_qr(setting.qrs[1])
    phone.expect_answer("BOARDED", NAMES[1], "1B")
    phone.next_passenger()
    phone.boarded_count("2 of 6 boarded")
    expect(boarded_at_the_office).to_have_text("2")
    phone.type_code(t[0])
    phone.expect_answer("ALREADY BOARDED", NAMES[0])
    phone.snapshot("already-boarded")
    phone.next_passenger()

    # No network: the phone checks the tickets itself and keeps them.
    phone.context.set_offline(True)
    expect(phone.banner).to_have_text("Offline — tickets are checked on this phone")
    phone.type_code(t[2])
    phone.expect_answer("BOARDED", NAMES[2], "1C", "Checked on this phone")
    phone.next_passenger()
    phone.show_qr(setting.qrs[3])
    phone.expect_answer("BOARDED", NAMES[3], "1D")
    phone.next_passenger()
    expect(phone.banner).to_have_text("Offline — 2 scans waiting")
    phone.show_qr(setting.qrs[2])  # twice offline: the queue knows
    phone.expect_answer("ALREADY BOARDED", NAMES[2])
    phone.next_passenger()
    phone.type_code(t[1])  # boarded online before the network went: the pack knows
    phone.expect_answer("ALREADY BOARDED", NAMES[1])
    phone.next_passenger()
    phone.show_qr(forged(setting.qrs[4]))
    phone.expect_answer("FORGED")
    phone.snapshot("forged-offline")
    phone.next_passenger()
    expect(phone.banner).to_have_text("Offline — 2 scans waiting")
    phone.snapshot("offline-queue")
    assert not stored(live_db, t[2:4])[t[2]].boarded_at, "an offline scan reached the server"

    # Back online: the queue drains and the manifest counts all four.
    phone.context.set_offline(False)
    expect(phone.banner).to_be_hidden()
    phone.boarded_count("4 of 6 boarded")
    expect(phone.page.locator("[data-recent] li", has_text=NAMES[3])).to_contain_text("sent")
    tickets = stored(live_db, t)
    assert [bool(tickets[code].boarded_at) for code in t] == [True, True, True, True, False, False]
    assert [tickets[code].boarded_offline for code in t[:4]] == [False, False, True, True]
    expect(boarded_at_the_office).to_have_text("4")
    expect(office.locator("#manifest-not-yet .stat-value")).to_have_text("2")
    for name in NAMES[:4]:
        expect(office.locator("[data-boarding=boarded]", has_text=name)).to_be_visible()
    phone.close()
    office_context.close()
    assert not office_errors, office_errors


def test_undo_and_depart_stop_let_the_passengers_who_did_not_come_go(browser: Browser, base_url, live_db):
    setting = boarding_trip(live_db)
    phone = ScanPage.opened(browser, base_url, setting)
    t = setting.tickets
    for code in t[:4]:
        phone.type_code(code)
        phone.expect_answer("BOARDED")
        if code != t[3]:
            phone.next_passenger()
    phone.answer.get_by_role("button", name="Undo").click()  # the wrong passenger: 1D stays outside
    expect(phone.answer).to_be_hidden()
    expect(phone.page.get_by_text(f"Boarding of {t[3]} undone.")).to_be_visible()
    phone.boarded_count("3 of 6 boarded")

    phone.manifest.get_by_role("button", name="Depart stop…").click()
    dialog = phone.page.get_by_role("dialog", name="Leave Nyabugogo Gate?")
    expect(dialog).to_be_visible()
    phone.snapshot("depart-stop")
    for name in NAMES[3:]:
        expect(dialog.get_by_role("checkbox", name=name)).to_be_checked()
    dialog.get_by_role("checkbox", name=NAMES[5]).uncheck()  # Patrick phoned: he is on the way
    dialog.get_by_role("button", name="Depart stop", exact=True).click()
    stop = phone.manifest.locator(".manifest-stop", has_text="Nyabugogo")
    expect(stop).to_contain_text("Departed")
    expect(stop.locator("[data-count]")).to_have_text("3 of 4 boarded · 2 no-shows")
    tickets = stored(live_db, t)
    assert [tickets[code].status for code in t] == ["paid", "paid", "paid", "no_show", "no_show", "paid"]

    # Patrick runs after the bus and boards at Muhanga, on a phone with no signal: the phone knows
    # the bus has left his stop, and that the no-shows' tickets are gone.
    phone.context.set_offline(True)
    phone.type_code(t[5])
    phone.expect_answer("BOARDED", NAMES[5])
    expect(phone.answer.locator("[data-answer-warning]")).to_have_text(
        "WRONG STOP: this passenger boards at another stop."
    )
    phone.snapshot("wrong-stop-offline")
    phone.next_passenger()
    phone.context.set_offline(False)
    expect(phone.banner).to_be_hidden()
    expect(stop.locator("[data-count]")).to_have_text("4 of 4 boarded · 2 no-shows")
    assert stored(live_db, [t[5]])[t[5]].boarded_stop == 1
    phone.close()


def test_a_ticket_boarded_on_two_offline_phones_is_flagged_once(browser: Browser, base_url, live_db):
    setting = boarding_trip(live_db)
    first, second = ScanPage.opened(browser, base_url, setting), ScanPage.opened(browser, base_url, setting)
    for phone in (first, second):
        phone.context.set_offline(True)
        phone.show_qr(setting.qrs[0])
        phone.expect_answer("BOARDED", NAMES[0])
        phone.next_passenger()
        expect(phone.banner).to_have_text("Offline — 1 scan waiting")
    for phone in (first, second):
        phone.context.set_offline(False)
        expect(phone.banner).to_be_hidden()
    expect(second.page.locator("[data-recent] li", has_text=NAMES[0])).to_contain_text("boarded on two phones")
    expect(first.page.locator("[data-recent] li", has_text=NAMES[0])).not_to_contain_text("two phones")
    with live_db.app_context():
        scans = db.session.scalars(select(BoardingScan).where(BoardingScan.trip_id == setting.trip_id)).all()
        assert sorted(scan.duplicate for scan in scans) == [False, True]
        assert len({scan.device for scan in scans}) == 2  # each phone named by its own id
    office_context, office, _ = signed_in(browser, base_url, setting.admin)
    office.goto(f"/console/trips/{setting.trip_id}/manifest")
    expect(office.locator("[data-duplicate]")).to_have_count(1)
    expect(office.locator("[data-duplicate]")).to_contain_text(NAMES[0])
    office_context.close()
    first.close()
    second.close()


# The phone's copies for a dead zone, as the service worker and the scanner see them.
WARM = """async ([scanUrl, tripId]) => {
  const registration = await navigator.serviceWorker.getRegistration(scanUrl);
  if (!registration || !registration.active || !(await caches.has("tms-driver"))) return false;
  const cache = await caches.open("tms-driver");
  const files = [scanUrl, "/static/js/scanner.js", "/static/js/scanner-offline.js", "/static/vendor/jsQR.js",
                 "/static/css/scanner.css", "/static/vendor/htmx.min.js", "/static/js/app.js"];
  const kept = await Promise.all(files.map((file) => cache.match(file)));
  return kept.every(Boolean) && Boolean(await window.tmsOffline.store.pack(tripId));
}"""
NOTHING_KEPT = """async () => (await caches.keys()).length === 0 && (await indexedDB.databases()).length === 0"""


def until(page: Page, check: str, arg=None, timeout_s: float = 15) -> None:
    """Poll an asynchronous check in the page (wait_for_function does not wait for its promise)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(check, arg):
        assert time.monotonic() < deadline, f"never true: {check}"
        page.wait_for_timeout(200)


def test_a_scan_page_never_opened_opens_with_no_network_and_sign_out_leaves_nothing(
    browser: Browser, base_url, live_db
):
    setting = boarding_trip(live_db)
    context, page, errors = signed_in(browser, base_url, setting.driver, viewport=PHONE)
    scan_url = f"/driver/trips/{setting.trip_id}/scan"
    expect(page.locator(f"#trip-{setting.trip_id}").get_by_role("link", name="Scan tickets")).to_have_attribute(
        "href", scan_url
    )
    until(page, WARM, [scan_url, setting.trip_id])

    # The tab was dropped; the driver opens the scan page, never opened before, in a dead zone.
    context.set_offline(True)
    page.goto(scan_url)
    phone = ScanPage(context, page, errors)
    expect(phone.banner).to_have_text("Offline — tickets are checked on this phone")
    phone.type_code(setting.tickets[0])
    phone.expect_answer("BOARDED", NAMES[0], "1A", "Checked on this phone")
    phone.next_passenger()
    expect(phone.banner).to_have_text("Offline — 1 scan waiting")
    phone.snapshot("opened-offline")
    # A driver's page the phone has no copy of: a short offline answer, not the browser's error.
    other = context.new_page()
    answer = other.goto(f"/driver/trips/{setting.trip_id}/manifest")
    assert answer is not None and answer.status == 503
    expect(other.get_by_role("link", name="↻")).to_be_visible()
    other.close()

    context.set_offline(False)
    expect(phone.banner).to_be_hidden()
    phone.boarded_count("1 of 6 boarded")
    ticket = stored(live_db, setting.tickets[:1])[setting.tickets[0]]
    assert ticket.boarded_at and ticket.boarded_offline

    # Signing out leaves no passenger's name on the phone.
    sign_out(page)
    until(page, NOTHING_KEPT)
    phone.close()


# What the scanner's database holds after a sign-out: packs and queued scans, as plain data.
KEPT = """() => new Promise((resolve) => {
  const request = indexedDB.open("tms-boarding", 1);
  request.onsuccess = () => {
    const tx = request.result.transaction(["packs", "queue"], "readonly");
    const packs = tx.objectStore("packs").getAll(), queue = tx.objectStore("queue").getAll();
    tx.oncomplete = () => { request.result.close(); resolve({ packs: packs.result, queue: queue.result }); };
  };
})"""


def test_a_scan_still_waiting_at_sign_out_is_kept_without_names_and_sent_later(browser: Browser, base_url, live_db):
    setting = boarding_trip(live_db)
    phone = ScanPage.opened(browser, base_url, setting)
    page = phone.page
    page.route("**/scans**", lambda route: route.abort())  # signal for pages, none for the server
    phone.type_code(setting.tickets[0])
    phone.expect_answer("BOARDED", NAMES[0], "Checked on this phone")
    phone.next_passenger()
    expect(phone.banner).to_contain_text("1 scan waiting")
    page.unroute("**/scans**")

    sign_out(page)
    until(page, "async () => (await caches.keys()).length === 0")
    kept = page.evaluate(KEPT)
    assert kept["packs"] == [] and len(kept["queue"]) == 1
    assert NAMES[0] not in str(kept["queue"])  # the boarding stays; the passenger's name does not
    assert not stored(live_db, setting.tickets[:1])[setting.tickets[0]].boarded_at

    sign_in(page, setting.driver)
    page.locator(f"#trip-{setting.trip_id}").get_by_role("link", name="Scan tickets").click()
    ScanPage(phone.context, page, phone.errors).boarded_count("1 of 6 boarded")
    assert stored(live_db, setting.tickets[:1])[setting.tickets[0]].boarded_offline
    phone.close()


def test_a_browser_without_random_uuid_still_names_its_scans(browser: Browser, base_url, live_db):
    """crypto.randomUUID exists on secure pages only (a phone on plain http has none)."""
    setting = boarding_trip(live_db)
    context, page, errors = signed_in(browser, base_url, setting.driver, viewport=PHONE)
    context.add_init_script("delete Crypto.prototype.randomUUID")
    page.goto(f"/driver/trips/{setting.trip_id}/scan")
    phone = ScanPage(context, page, errors)
    assert page.evaluate("() => typeof crypto.randomUUID") == "undefined"
    phone.type_code(setting.tickets[0])
    phone.expect_answer("BOARDED", NAMES[0])
    phone.next_passenger()
    context.set_offline(True)
    phone.type_code(setting.tickets[1])
    phone.expect_answer("BOARDED", NAMES[1], "Checked on this phone")
    phone.next_passenger()
    context.set_offline(False)
    expect(phone.banner).to_be_hidden()
    phone.boarded_count("2 of 6 boarded")
    with live_db.app_context():
        ids = db.session.scalars(select(BoardingScan.scan_id).where(BoardingScan.trip_id == setting.trip_id)).all()
    version_4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert len(ids) == 2 and all(version_4.fullmatch(scan_id) for scan_id in ids)
    phone.close()
