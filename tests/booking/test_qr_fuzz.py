"""The fuzz job's QR half: the decoder answers claims or ``QRInvalid`` for any text; nothing but
the exact code we signed verifies; and whatever we can sign reads back as it was signed."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from hypothesis import strategies as st

from app.booking import qr
from tests.fuzzing import TEXT, fuzz

pytestmark = pytest.mark.fuzz
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126))
CLAIMS = st.builds(
    qr.Claims,
    key_id=st.just(""),
    ticket_code=ASCII.filter(lambda code: len(code) == 8)
    | st.text("ABCDEFGHJKMNPQRSTUVWXYZ23456789", min_size=8, max_size=8),
    trip_id=st.integers(0, 2**32 - 1),
    seat=ASCII.filter(lambda seat: len(seat) <= 255),
    origin=st.integers(0, 255),
    destination=st.integers(0, 255),
    seat_class=st.sampled_from(qr.CLASSES),
    service_date=st.integers(0, 2**16 - 1).map(lambda days: qr.EPOCH + timedelta(days=days)),
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_any_text_is_claims_or_a_reason():
    texts = TEXT | st.binary(max_size=80).map(b64) | st.binary(max_size=80).map(lambda raw: b64(b"\x01" + raw))

    @fuzz("qr decoder: any text", examples=300, text=texts)
    def case(text):
        try:
            qr.verify(text)
        except qr.QRInvalid as invalid:
            assert invalid.reason in ("malformed", "forged", "unknown_key")


def test_what_we_sign_reads_back_and_no_other_byte_does():
    @fuzz(
        "qr decoder: signed and altered", examples=200, claims=CLAIMS, at=st.integers(0, 10_000), bit=st.integers(0, 7)
    )
    def case(claims, at, bit):
        text = qr.sign(claims)
        read = qr.verify(text)
        assert read == qr.Claims(**{**claims.__dict__, "key_id": read.key_id})
        raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        raw[at % len(raw)] ^= 1 << bit
        with pytest.raises(qr.QRInvalid):
            qr.verify(b64(bytes(raw)))
