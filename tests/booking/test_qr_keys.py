"""Rotating the keys that sign ticket QR codes: codes made before and after a rotation both
verify, a retired key vouches only for trips not yet ended, an unknown key for nothing, and
``flask qr rotate|keys`` guide the operator through it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.booking import qr
from app.booking.services import boarding, tickets
from app.cli import KEY_ID_LENGTH
from app.extensions import db
from config import parse_signing_keys
from tests import factories

NEW_KEY = {"k2027a": b"n" * 40}


@pytest.fixture
def ticket(now):
    company = factories.company()
    trip = factories.trip(factories.route(company), bus_=factories.bus(company), departs_at=now + timedelta(days=1))
    return factories.order(trip, ["2B"], origin=0, destination=2).tickets[0]


@pytest.fixture
def rotated(app, monkeypatch):
    """Call it to put a new signing key first; the keys configured before are then retired."""

    def rotate(new=NEW_KEY):
        monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", {**new, **app.config["QR_SIGNING_KEYS"]})

    return rotate


def test_codes_made_before_and_after_a_rotation_both_verify(ticket, rotated):
    old_kid, before = qr.signing_key_id(), qr.text_for(ticket)
    rotated()
    after = qr.text_for(ticket)
    assert (qr.verify(before).key_id, qr.verify(after).key_id) == (old_kid, "k2027a")
    for text in (before, after):
        verdict = tickets.verify_ticket(text, trip_id=ticket.trip_id)
        assert (verdict.valid, verdict.reason, verdict.ticket) == (True, "valid", ticket)


def test_tickets_issued_before_and_after_a_rotation_both_board(now, rotated):
    company = factories.company()
    driver = factories.member("driver", of=company)
    trip = factories.trip(
        factories.route(company), bus_=factories.bus(company), driver=driver, departs_at=now + timedelta(hours=1)
    )
    early = factories.order(trip, ["1A"]).tickets[0]
    printed = qr.text_for(early)  # the passenger printed it before the rotation
    rotated()
    late = factories.order(trip, ["1B"]).tickets[0]
    pack = boarding.offline_pack(driver, trip.id, now=now)
    assert set(pack["keys"]) == {"k2027a", qr.verify(printed).key_id}  # the phone checks both offline
    for ticket, text in ((early, printed), (late, qr.text_for(late))):
        answer = boarding.scan(driver, trip.id, qr=text, device="door", now=now)
        assert (answer.result, answer.ticket["code"]) == ("boarded", ticket.code)


@pytest.mark.parametrize("ended", ["arrived", "cancelled"])
def test_a_retired_key_no_longer_vouches_once_the_trip_has_ended(ticket, rotated, ended):
    before = qr.text_for(ticket)
    rotated()
    after = qr.text_for(ticket)
    ticket.trip.status = "departed"
    assert tickets.verify_ticket(before).valid  # on the road: the retired key still vouches

    ticket.trip.status = ended
    verdict = tickets.verify_ticket(before)
    assert (verdict.valid, verdict.reason) == (False, "retired_key")
    assert verdict.message == "This ticket's trip has ended and the key it was signed with is retired."
    assert verdict.claims == qr.verify(before)  # genuine, but no longer trusted
    assert tickets.verify_ticket(after).reason != "retired_key"  # the signing key is never retired


def test_a_key_id_no_longer_configured_is_unknown(app, ticket, monkeypatch):
    text = qr.text_for(ticket)
    monkeypatch.setitem(app.config, "QR_SIGNING_KEYS", NEW_KEY)  # the old key was removed
    verdict = tickets.verify_ticket(text)
    assert (verdict.valid, verdict.reason, verdict.ticket, verdict.claims) == (False, "unknown_key", None, None)


# --- flask qr rotate | keys ----------------------------------------------------------------------


def test_rotate_prints_a_new_key_first_and_keeps_the_others(app):
    before = app.config["QR_SIGNING_KEYS"]
    result = app.test_cli_runner().invoke(args=["qr", "rotate"])
    assert result.exit_code == 0, result.output
    value = re.search(r"^QR_SIGNING_KEYS=(\S+)$", result.output, re.M).group(1)
    keys = parse_signing_keys(value)  # what config.py will read
    new_kid, *old_kids = keys
    assert old_kids == list(before) and all(keys[kid] == before[kid] for kid in old_kids)
    assert len(new_kid) == KEY_ID_LENGTH and new_kid not in before and len(keys[new_kid]) >= 32
    assert f"New key {new_kid}:{keys[new_kid].decode()}" in result.output
    again = app.test_cli_runner().invoke(args=["qr", "rotate"]).output
    assert f"{new_kid}:" not in again  # a fresh secret each time


def test_keys_says_which_signs_and_when_a_retired_one_can_go(app, ticket, rotated, now):
    runner = app.test_cli_runner()
    old_kid = qr.signing_key_id()
    assert runner.invoke(args=["qr", "keys"]).output == f"{old_kid}  signs new tickets\n"

    rotated()
    listing = runner.invoke(args=["qr", "keys"]).output.splitlines()
    assert listing == ["k2027a  signs new tickets", f"{old_kid}  retired: paid tickets on 1 trip not yet ended"]
    since = (ticket.created_at - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    later = runner.invoke(args=["qr", "keys", "--since", since]).output
    assert f"{old_kid}  retired: no trip not yet ended needs it: it can be removed" in later

    ticket.trip.status = "arrived"
    db.session.flush()
    assert "it can be removed" in runner.invoke(args=["qr", "keys"]).output


def test_keys_refuses_a_since_that_is_not_a_date(app):
    result = app.test_cli_runner().invoke(args=["qr", "keys", "--since", "last tuesday"])
    assert result.exit_code == 2 and "--since" in result.output
