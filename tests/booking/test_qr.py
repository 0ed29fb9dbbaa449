"""Signed ticket QR codes: any change breaks the signature, keys rotate, a real decoder reads them,
and verification checks the ticket record too."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import timedelta

import pytest

from app.booking import qr
from app.booking.services import tickets
from tests import factories, qrcodes


@pytest.fixture
def ticket(now):
    company = factories.company()
    trip = factories.trip(
        factories.route(company, stops=3),
        bus_=factories.bus(company, rows=3, vip_rows=1),
        departs_at=now + timedelta(days=1),
    )
    return factories.order(trip, ["2B"], origin=0, destination=2).tickets[0]


def raw(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def text_of(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_signed_code_verifies_to_its_claims_and_is_compact(app, ticket):
    text = qr.text_for(ticket)
    claims = qr.verify(text)
    assert (claims.ticket_code, claims.trip_id, claims.seat, claims.origin, claims.destination) == (
        ticket.code,
        ticket.trip_id,
        "2B",
        0,
        2,
    )
    assert claims.seat_class == "standard" and claims.service_date == ticket.trip.service_date
    assert claims.key_id == next(iter(app.config["QR_SIGNING_KEYS"]))
    assert len(text) < 80 and set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_flipping_any_byte_fails_verification(ticket):
    data = raw(qr.text_for(ticket))
    for index in range(len(data)):
        for flip in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[index] ^= flip
            with pytest.raises(qr.QRInvalid):
                qr.verify(text_of(bytes(tampered)))


@pytest.mark.parametrize(
    "change", [{"seat": "1A"}, {"seat_class": "vip"}, {"trip_id": 999}, {"destination": 1}, {"ticket_code": "AAAAAAAA"}]
)
def test_changing_a_claim_under_the_old_signature_is_forged(ticket, change):
    genuine = raw(qr.text_for(ticket))
    claims = qr.verify(text_of(genuine))
    forged = qr._pack(replace(claims, **change)) + genuine[-qr.MAC_BYTES :]
    with pytest.raises(qr.QRInvalid) as refused:
        qr.verify(text_of(forged))
    assert refused.value.reason == "forged"


def test_keys_rotate_and_an_unknown_key_id_fails(app, ticket):
    keys = app.config["QR_SIGNING_KEYS"]
    old_text = qr.text_for(ticket)
    app.config["QR_SIGNING_KEYS"] = {"k2": b"n" * 40, **keys}  # a new key signs; the old one still verifies
    try:
        new_text = qr.text_for(ticket)
        assert qr.verify(new_text).key_id == "k2" and qr.verify(old_text).ticket_code == ticket.code
        app.config["QR_SIGNING_KEYS"] = {"k3": b"x" * 40}  # the old keys are retired
        for text in (old_text, new_text):
            with pytest.raises(qr.QRInvalid) as refused:
                qr.verify(text)
            assert refused.value.reason == "unknown_key"
    finally:
        app.config["QR_SIGNING_KEYS"] = keys


@pytest.mark.parametrize("text", ["", "hello", "!!!!", "AAAA", "A" * 200])
def test_garbage_is_malformed_not_an_error(text):
    with pytest.raises(qr.QRInvalid) as refused:
        qr.verify(text)
    assert refused.value.reason in {"malformed", "unknown_key"}


def test_a_real_decoder_reads_the_png_and_the_text_verifies(ticket):
    text = qr.text_for(ticket)
    assert qrcodes.read(qr.png(text)) == text
    assert tickets.verify_ticket(qrcodes.read(qr.png(text))).valid


def test_the_inline_svg_is_a_qr_of_the_same_text(ticket):
    svg = qr.svg(qr.text_for(ticket))
    assert svg.startswith("<svg") and "<?xml" not in svg and "<script" not in svg


# --- The record behind the code ------------------------------------------------------------------


def test_verification_checks_the_ticket_record(now, ticket):
    text = qr.text_for(ticket)
    assert tickets.verify_ticket(text).reason == "valid"
    assert tickets.verify_ticket(text, trip_id=ticket.trip_id + 1).reason == "wrong_trip"
    ticket.status = "pending"
    assert tickets.verify_ticket(text).reason == "unpaid"
    ticket.status = "paid"
    tickets.cancel_ticket(ticket, now=now)
    verdict = tickets.verify_ticket(text)
    assert (verdict.valid, verdict.reason, verdict.message) == (False, "cancelled", "This ticket was cancelled.")


def test_a_well_signed_code_for_no_ticket_is_unknown(app, ticket):
    claims = replace(qr.claims_for(ticket), ticket_code="ZZZZZZZZ")
    assert tickets.verify_ticket(qr.sign(claims)).reason == "unknown_ticket"


def test_a_swapped_passenger_keeps_a_valid_code_and_the_record_names_the_new_seat(ticket):
    text = qr.text_for(ticket)
    ticket.seat_label = "3A"
    verdict = tickets.verify_ticket(text)
    assert verdict.valid and verdict.message.endswith("seat 3A.")
