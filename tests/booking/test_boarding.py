"""Boarding at the bus door: every answer a driver's phone can get, undo, offline uploads from two
phones, the manifest and no-shows whose seats are sold again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.booking import qr
from app.booking.errors import NotYourBoarding, UndoTooLate
from app.booking.models import BoardingScan, SeatLeg, Ticket
from app.booking.services import boarding, tickets
from app.core import tx
from app.extensions import db
from app.notifications.models import Notification
from tests import factories


@pytest.fixture
def line(now):
    """Kigali → Muhanga → Huye tomorrow, a driver, and three paid tickets: 1A and 1B the whole way,
    2A from Muhanga."""
    company = factories.company(name="Volcano Express")
    driver = factories.member("driver", of=company, name="Eric Driver")
    route = factories.route(company, stops=3)
    for stop, name in zip(route.stops, ("Kigali", "Muhanga", "Huye"), strict=True):
        stop.station.name = name
    trip = factories.trip(
        route, bus_=factories.bus(company, rows=4, plate="RAD 123A"), driver=driver, departs_at=now + timedelta(hours=1)
    )
    whole = factories.order(trip, ["1A", "1B"])
    later = factories.order(trip, ["2A"], origin=1)
    return trip, driver, {t.seat_label: t for t in [*whole.tickets, *later.tickets]}


def local_hhmm(at, trip) -> str:
    return at.astimezone(ZoneInfo(trip.route.company.timezone)).strftime("%H:%M")


def scan(user, trip, ticket=None, *, text=None, now, device="phone-1", **values):
    return boarding.scan(
        user, trip.id, qr=qr.text_for(ticket) if text is None else text, device=device, now=now, **values
    )


def test_a_ticket_boards_once_and_the_second_phone_is_told_when_and_by_whom(line, now):
    trip, driver, sold = line
    first = scan(driver, trip, sold["1A"], now=now)
    assert first.result == "boarded" and first.warning is None
    assert first.ticket == {
        "code": sold["1A"].code,
        "name": "Passenger 1A",
        "seat": "1A",
        "class": "standard",
        "from": "Kigali",
        "to": "Huye",
    }
    assert first.message == "Boarded: Passenger 1A, seat 1A, Kigali to Huye."

    again = scan(driver, trip, sold["1A"], now=now + timedelta(seconds=30), device="phone-2")
    assert again.result == "already_boarded"
    assert (again.boarded_at, again.boarded_device) == (now, "phone-1")
    assert again.message == f"Already boarded at {local_hhmm(now, trip)}, scanned by Eric Driver on phone-1."
    assert again.as_json()["boarded_at"] == now.isoformat()
    ticket = db.session.get(Ticket, sold["1A"].id)
    assert (ticket.boarded_by_id, ticket.boarded_device, ticket.boarded_stop) == (driver.id, "phone-1", 0)
    results = db.session.scalars(select(BoardingScan.result).where(BoardingScan.trip_id == trip.id)).all()
    assert sorted(results) == ["already_boarded", "boarded"]


def test_a_typed_code_boards_like_the_qr(line, now):
    trip, driver, sold = line
    answer = boarding.scan(driver, trip.id, code=sold["1B"].code.lower(), device="phone-1", now=now)
    assert answer.result == "boarded" and answer.ticket["name"] == "Passenger 1B"


def test_a_ticket_for_another_trip_of_the_company_says_which_trip_date_and_bus(line, now):
    trip, driver, _ = line
    other = factories.trip(
        factories.route(trip.route.company, name="Kigali – Rubavu"),
        bus_=factories.bus(trip.route.company, plate="RAB 777C"),
        departs_at=now + timedelta(days=2),
    )
    (ticket,) = factories.order(other, ["1A"]).tickets
    answer = scan(driver, trip, ticket, now=now)
    assert answer.result == "wrong_trip" and answer.ticket["name"] == "Passenger 1A"
    assert answer.other_trip == {
        "id": other.id,
        "date": other.service_date.isoformat(),
        "departs_at": other.departs_at.isoformat(),
        "route": "Kigali – Rubavu",
        "plate": "RAB 777C",
    }
    assert "Kigali – Rubavu" in answer.message and "RAB 777C" in answer.message
    assert db.session.get(Ticket, ticket.id).boarded_at is None


def test_another_companys_ticket_is_the_wrong_trip_and_nothing_about_it(line, now):
    trip, driver, _ = line
    rival = factories.trip(bus_=factories.bus(factories.company(name="Rival")), departs_at=trip.departs_at)
    (ticket,) = factories.order(rival, ["1A"]).tickets
    ticket.passenger_name = "Secret Person"
    for text in (qr.text_for(ticket), None):
        answer = boarding.scan(driver, trip.id, qr=text, code=ticket.code, device="phone-1", now=now)
        assert answer.result == "wrong_trip"
        assert answer.ticket is None and answer.other_trip is None
        assert "Secret" not in str(answer.as_json()) and "Rival" not in answer.message


def test_unpaid_cancelled_and_no_show_tickets_are_refused_with_their_reason(line, now):
    trip, driver, sold = line
    (unpaid,) = factories.order(trip, ["3A"], paid=False).tickets
    assert scan(driver, trip, unpaid, now=now).result == "not_paid"
    tickets.cancel_ticket(sold["1B"], now=now)
    cancelled = scan(driver, trip, sold["1B"], now=now)
    assert (cancelled.result, cancelled.message) == ("cancelled", "Cancelled: this ticket was cancelled.")
    sold["2A"].status = "no_show"
    no_show = scan(driver, trip, sold["2A"], now=now)
    assert no_show.result == "cancelled" and "not there" in no_show.message


def test_forged_and_unreadable_codes_are_refused(line, now):
    trip, driver, sold = line
    ticket = sold["1A"]
    genuine = qr.text_for(ticket)
    altered = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
    vip = qr.sign(replace(qr.claims_for(ticket), seat_class="vip"))
    longer = qr.sign(replace(qr.claims_for(ticket), origin=1))
    for text in (altered, vip, longer):
        answer = scan(driver, trip, text=text, now=now)
        assert (answer.result, answer.ticket) == ("forged", None), text
        assert answer.message == "Forged: this is not a genuine ticket. Do not let it board."
    for text in ("hello", ""):
        assert scan(driver, trip, text=text, now=now).result == "unreadable"
    assert boarding.scan(driver, trip.id, code="ZZZZZZZZ", device="d", now=now).result == "unreadable"
    assert db.session.get(Ticket, ticket.id).boarded_at is None
    assert scan(driver, trip, ticket, now=now).result == "boarded"


def test_a_seat_label_changed_by_a_bus_swap_still_boards(line, now):
    trip, driver, sold = line
    old_label = qr.sign(replace(qr.claims_for(sold["1A"]), seat="9Z"))
    assert scan(driver, trip, text=old_label, now=now).result == "boarded"


def test_a_passenger_boarding_at_another_stop_is_boarded_with_a_warning(line, now):
    trip, driver, sold = line
    answer = scan(driver, trip, sold["2A"], now=now)
    assert (answer.result, answer.warning) == ("boarded", "wrong_stop")
    assert answer.message.endswith("Wrong stop: this passenger boards at Muhanga.")
    assert scan(driver, trip, sold["1A"], now=now, stop=1).warning == "wrong_stop"
    assert scan(driver, trip, sold["1B"], now=now, stop=0).warning is None


def test_only_the_trips_driver_and_the_companys_staff_board(line, now):
    trip, _, sold = line
    company = trip.route.company
    other_driver = factories.member("driver", of=company)
    for refused in (other_driver, factories.member("admin"), factories.member("agent"), factories.user()):
        with pytest.raises(NotYourBoarding):
            scan(refused, trip, sold["1A"], now=now)
        with pytest.raises(NotYourBoarding):
            boarding.offline_pack(refused, trip.id, now=now)
    assert scan(factories.member("dispatcher", of=company), trip, sold["1A"], now=now).result == "boarded"
    assert boarding.offline_pack(factories.member("admin", of=company), trip.id, now=now)["trip"]["id"] == trip.id
    agent = factories.member("agent", of=company)  # at the bus park: scans, but holds no key and moves no bus
    assert scan(agent, trip, sold["1B"], now=now).result == "boarded"
    with pytest.raises(NotYourBoarding):
        boarding.offline_pack(agent, trip.id, now=now)
    with pytest.raises(NotYourBoarding):
        boarding.depart_stop(agent, trip.id, 0, no_shows=[], now=now)


def test_a_mistaken_boarding_is_undone_within_two_minutes_and_audited(line, now):
    trip, driver, sold = line
    scan(driver, trip, sold["1A"], now=now)
    undone = boarding.undo(driver, trip.id, sold["1A"].code, device="phone-1", now=now + timedelta(seconds=119))
    assert undone.result == "undone" and undone.ticket["name"] == "Passenger 1A"
    assert db.session.get(Ticket, sold["1A"].id).boarded_at is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.boarding_undone"))
    assert entry.actor_id == driver.id and entry.company_id == trip.company_id
    assert entry.before["boarded_device"] == "phone-1" and entry.after["boarded_at"] is None
    assert db.session.scalar(select(BoardingScan.undone_at).where(BoardingScan.result == "boarded")) is not None
    assert scan(driver, trip, sold["1A"], now=now + timedelta(minutes=3)).result == "boarded"

    with pytest.raises(UndoTooLate) as late:
        boarding.undo(driver, trip.id, sold["1A"].code, device="phone-1", now=now + timedelta(minutes=5, seconds=1))
    assert late.value.message == "This boarding was more than 2 minutes ago: it can no longer be undone."
    assert db.session.get(Ticket, sold["1A"].id).boarded_at is not None


def offline(ticket, scan_id, at, **values):
    return {"scan_id": scan_id, "qr": qr.text_for(ticket), "stop": 0, "scanned_at": at, **values}


def test_a_batch_sent_twice_changes_nothing_and_answers_the_same(line, now):
    trip, driver, sold = line
    batch = [
        offline(sold["1A"], "s-1", now - timedelta(minutes=3)),
        offline(sold["1B"], "s-2", now - timedelta(minutes=2)),
        {"scan_id": "s-3", "code": "NOPE", "stop": 0, "scanned_at": (now - timedelta(minutes=1)).isoformat()},
    ]
    first = [a.as_json() for a in boarding.upload(driver, trip.id, batch, device="phone-1", now=now)]
    assert [a["result"] for a in first] == ["boarded", "boarded", "unreadable"]
    assert first[0]["offline"] and first[0]["boarded_at"] == (now - timedelta(minutes=3)).isoformat()
    again = [a.as_json() for a in boarding.upload(driver, trip.id, batch, device="phone-1", now=now + timedelta(1))]
    assert again == first
    assert db.session.scalar(select(db.func.count()).select_from(BoardingScan)) == 3
    assert db.session.get(Ticket, sold["1A"].id).boarded_offline


@pytest.mark.parametrize("earlier_uploads_first", [True, False])
def test_two_phones_boarding_one_ticket_offline_keep_the_first_and_flag_the_other(line, now, earlier_uploads_first):
    trip, driver, sold = line
    first = ("phone-A", [offline(sold["1A"], "a-1", now - timedelta(minutes=5))])
    second = ("phone-B", [offline(sold["1A"], "b-1", now - timedelta(minutes=4))])
    order = [first, second] if earlier_uploads_first else [second, first]
    answers = {device: boarding.upload(driver, trip.id, scans, device=device, now=now)[0] for device, scans in order}
    ticket = db.session.get(Ticket, sold["1A"].id)
    assert (ticket.boarded_device, ticket.boarded_at) == ("phone-A", now - timedelta(minutes=5))
    if earlier_uploads_first:
        assert answers["phone-B"].result == "already_boarded" and answers["phone-B"].duplicate
    flagged = db.session.scalars(select(BoardingScan).where(BoardingScan.duplicate.is_(True))).all()
    assert [s.device for s in flagged] == ["phone-B"]
    [duplicate] = boarding.manifest(trip).duplicates
    assert (duplicate.code, duplicate.device, duplicate.boarded_device) == (ticket.code, "phone-B", "phone-A")


def test_the_manifest_lists_each_stops_passengers_with_counts(line, now):
    trip, driver, sold = line
    scan(driver, trip, sold["1A"], now=now)
    manifest = boarding.manifest(trip)
    kigali, muhanga = manifest.stops
    assert (kigali.name, kigali.is_current, muhanga.name) == ("Kigali", True, "Muhanga")
    assert [(p.seat, p.status, p.destination) for p in kigali.passengers] == [
        ("1A", "boarded", "Huye"),
        ("1B", "not_yet", "Huye"),
    ]
    assert [p.seat for p in muhanga.passengers] == ["2A"]
    counts = manifest.as_json()["stops"][0]["counts"]
    assert counts == {"boarded": 1, "not_yet": 1, "no_show": 0}


def test_a_no_show_at_kigali_frees_the_seat_from_muhanga_and_is_told(line, now):
    trip, driver, sold = line
    scan(driver, trip, sold["1A"], now=now)
    missing = sold["1B"]
    missing.passenger_phone = "+250788555111"
    marked = boarding.depart_stop(driver, trip.id, 0, no_shows=[missing.code, sold["1A"].code], now=now)
    assert [t.code for t in marked] == [missing.code]  # 1A boarded: not a no-show
    assert db.session.get(Ticket, missing.id).status == "no_show" and trip.current_stop == 1
    assert not db.session.scalars(select(SeatLeg).where(SeatLeg.ticket_id == missing.id)).all()
    assert [p.status for p in boarding.manifest(trip).stops[0].passengers] == ["boarded", "no_show"]

    resold = factories.order(trip, ["1B"], origin=1)  # the real booking service
    assert resold.tickets[0].status == "paid"
    tx.commit()
    (sms,) = db.session.scalars(select(Notification).where(Notification.address == "+250788555111")).all()
    assert (sms.kind, sms.channel, sms.status) == ("ticket_no_show", "sms", "sent")
    assert sms.body.startswith("Volcano Express: bus Kigali-Huye") and missing.code in sms.body


def test_a_phones_clock_is_read_whatever_form_it_comes_in(line, now):
    trip, driver, sold = line
    batch = [
        offline(sold["1A"], "t-1", (now - timedelta(minutes=1)).replace(tzinfo=None).isoformat()),  # no offset: UTC
        offline(sold["1B"], "t-2", "yesterday-ish"),  # not a time: the server's now
        offline(sold["2A"], "t-3", now + timedelta(hours=1)),  # a clock ahead: now
    ]
    answers = boarding.upload(driver, trip.id, batch, device="p" * 80, now=now)
    assert [a.boarded_at for a in answers] == [now - timedelta(minutes=1), now, now]
    assert answers[0].boarded_device == "p" * 64
