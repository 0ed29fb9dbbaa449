"""Signed ticket QR codes: any change breaks the signature, a trip's key vouches for that trip
alone, version 1 codes keep verifying, a real decoder reads them at a small QR version, and
verification checks the ticket record too."""

from __future__ import annotations

import base64
import hmac
from dataclasses import replace
from datetime import timedelta
from hashlib import sha256

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.booking import qr
from app.booking.services import tickets
from app.cli import KEY_ID_LENGTH
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


@pytest.fixture
def other_ticket(now, ticket):
    """A ticket of another trip of the same company."""
    trip = factories.trip(ticket.trip.route, bus_=ticket.trip.bus, departs_at=now + timedelta(days=2))
    return factories.order(trip, ["1A"], origin=0, destination=1).tickets[0]


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
    assert claims.key_id == next(iter(app.config["QR_SIGNING_KEYS"])) and claims.version == 2
    assert len(text) < 80 and set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


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


# --- Version 2: a key per trip ------------------------------------------------------------------


def test_hkdf_is_rfc_5869s_test_case_1():
    okm = qr.hkdf_sha256(
        bytes.fromhex("0b" * 22),
        salt=bytes.fromhex("000102030405060708090a0b0c"),
        info=bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        length=42,
    )
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")


def test_a_trip_key_is_hkdf_of_the_master_secret_over_the_trip_and_key_id(app):
    kid, master = next(iter(app.config["QR_SIGNING_KEYS"].items()))
    expected = qr.hkdf_sha256(master, salt=b"tms-ticket-v2", info=f"trip:42|kid:{kid}".encode())
    assert qr.trip_keys(42) == {kid: expected} and len(expected) == 32
    assert qr.trip_keys(43)[kid] != expected


def offline_verify(text: str, keys: dict[str, bytes]) -> qr.Claims | None:
    """What a driver's phone does with the offline pack: the MAC under its trip key, nothing else."""
    data = raw(text)
    body, mac = data[: -qr.MAC_BYTES], data[-qr.MAC_BYTES :]
    claims = qr._unpack(body)
    key = keys.get(claims.key_id)
    ok = claims.version == 2 and key is not None and hmac.compare_digest(mac, hmac.new(key, body, sha256).digest()[:16])
    return claims if ok else None


def test_a_trip_key_verifies_that_trips_tickets_and_refuses_every_other_trips(ticket, other_ticket):
    pack = qr.trip_keys(ticket.trip_id)
    assert offline_verify(qr.text_for(ticket), pack) == qr.verify(qr.text_for(ticket))
    assert offline_verify(qr.text_for(other_ticket), pack) is None
    assert offline_verify(qr.text_for(other_ticket), qr.trip_keys(other_ticket.trip_id)) is not None


def test_a_trip_key_cannot_mint_a_ticket_for_another_trip(ticket, other_ticket):
    stolen = qr.trip_keys(ticket.trip_id)
    claims = qr.claims_for(other_ticket)
    body = qr._pack(claims)
    minted = text_of(body + hmac.new(stolen[claims.key_id], body, sha256).digest()[:16])
    with pytest.raises(qr.QRInvalid) as refused:
        qr.verify(minted)
    assert refused.value.reason == "forged"
    assert tickets.verify_ticket(minted).reason == "forged"


def test_a_code_minted_with_its_own_trips_key_names_no_real_ticket(ticket):
    """The bound of a stolen phone: it can make codes for its own trip, but not a ticket that was
    never sold; the server answers unknown_ticket (and the boarding side compares claims)."""
    stolen = qr.trip_keys(ticket.trip_id)
    claims = replace(qr.claims_for(ticket), ticket_code="ZZZZZZZZ")
    body = qr._pack(claims)
    minted = text_of(body + hmac.new(stolen[claims.key_id], body, sha256).digest()[:16])
    verdict = tickets.verify_ticket(minted)
    assert (verdict.valid, verdict.reason, verdict.claims) == (False, "unknown_ticket", claims)


def version_1_text(app, ticket) -> str:
    """A code as version 1 made it before this change: MACed with the master secret itself."""
    claims = replace(qr.claims_for(ticket), version=1)
    body = qr._pack(claims)
    assert body[0] == 1
    return text_of(body + hmac.new(app.config["QR_SIGNING_KEYS"][claims.key_id], body, sha256).digest()[:16])


def test_a_version_1_code_sold_before_keeps_verifying(app, ticket):
    text = version_1_text(app, ticket)
    assert text != qr.text_for(ticket) and qr.sign(replace(qr.claims_for(ticket), version=1)) == text
    assert qr.verify(text) == replace(qr.verify(qr.text_for(ticket)), version=1)
    verdict = tickets.verify_ticket(text, trip_id=ticket.trip_id)
    assert (verdict.valid, verdict.ticket, verdict.claims.version) == (True, ticket, 1)
    assert offline_verify(text, qr.trip_keys(ticket.trip_id)) is None  # a phone checks it against its pack instead


def longest_text(kid_length: int) -> str:
    """A real version 2 code with the longest seat label (4 characters) and a key id this long."""
    claims = qr.Claims("k" * kid_length, "ABCDEFGH", 2**31, "12AB", 40, 41, "vip", qr.EPOCH + timedelta(days=9999))
    body = qr._pack(claims)
    return text_of(body + bytes(qr.MAC_BYTES))


def test_the_longest_code_fits_a_version_4_qr_that_a_phone_reads_at_arms_length(app):
    """At level M, version 4 is 33 modules a side: on a 5 cm code each module is 1.5 mm."""
    text = longest_text(KEY_ID_LENGTH)  # the longest key id ``flask qr rotate`` makes
    assert segno.make_qr(text, error="m").designator == "4-M"
    assert qrcodes.read(qr.png(text)) == text


def test_the_qr_versions_docs_architecture_states():
    """The measured sizes the "Offline ticket verification" notes argue with."""
    assert len(longest_text(8)) == 64 and segno.make_qr(longest_text(8), error="m").version == 5
    with_signature = text_of(raw(longest_text(KEY_ID_LENGTH)) + bytes(64))  # an Ed25519 signature beside the MAC
    assert segno.make_qr(with_signature, error="m").version == 8


# --- Whatever the decoder reads, it answers claims or QRInvalid -----------------------------------


def versions(app, ticket) -> list[str]:
    return [qr.text_for(ticket), version_1_text(app, ticket)]


def test_every_truncation_and_every_single_byte_flip_is_refused(app, ticket):
    for text in versions(app, ticket):
        for end in range(len(text)):
            with pytest.raises(qr.QRInvalid):
                qr.verify(text[:end])
        data = raw(text)
        for index in range(len(data)):
            for flip in range(1, 256):
                tampered = bytearray(data)
                tampered[index] ^= flip
                with pytest.raises(qr.QRInvalid):
                    qr.verify(text_of(bytes(tampered)))


ANY_BYTES = st.binary(max_size=80) | st.tuples(st.sampled_from([b"\x01", b"\x02"]), st.binary(max_size=80)).map(
    b"".join
)


@settings(
    max_examples=400, derandomize=True, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=ANY_BYTES, cut=st.integers(0, 80), text=st.text(max_size=90))
def test_random_bytes_and_text_are_refused_with_qr_invalid_alone(app, data, cut, text):
    for candidate in (text_of(data), text_of(data)[:cut], text):
        with pytest.raises(qr.QRInvalid) as refused:
            qr.verify(candidate)
        assert refused.value.reason in {"malformed", "unknown_key", "forged"}


@settings(
    max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.integers(0, 100), which=st.sampled_from([0, 1]))
def test_an_altered_real_code_never_verifies_as_the_original(app, ticket, at, value, cut, which):
    text = versions(app, ticket)[which]
    original = qr.verify(text)
    data = bytearray(raw(text))
    data[at % len(data)] = value
    for candidate in (text_of(bytes(data)), text_of(bytes(data[: cut % len(data)]))):
        try:
            claims = qr.verify(candidate)
        except qr.QRInvalid:
            continue
        assert candidate == text and claims == original  # only an unchanged byte can still verify


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
