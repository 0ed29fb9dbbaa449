"""Signed ticket QR codes.

The QR text is one base64url string (no padding, no delimiter anywhere) of a fixed binary form:

    version (1) · key id length (1) · key id · ticket code (8) · trip id (4) · seat length (1) ·
    seat · from stop (1) · to stop (1) · class (1) · service date, days since 2000-01-01 (2) ·
    HMAC-SHA256 over everything before it, first 16 bytes

The key id picks the key among ``QR_SIGNING_KEYS`` (the first signs, all verify), so keys can
rotate while tickets already printed stay valid. Verification compares in constant time; the
ticket record is checked by the caller (paid, not cancelled, right trip).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from hashlib import sha256

import segno
from flask import current_app

VERSION = 1
MAC_BYTES = 16
EPOCH = date(2000, 1, 1)
CLASSES = ("standard", "vip")


class QRInvalid(ValueError):
    """The text is not a ticket we signed; ``reason`` says why in one word."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    key_id: str
    ticket_code: str
    trip_id: int
    seat: str
    origin: int
    destination: int
    seat_class: str
    service_date: date


def _keys() -> dict[str, bytes]:
    return current_app.config["QR_SIGNING_KEYS"]


def _pack(claims: Claims) -> bytes:
    kid, seat, code = claims.key_id.encode(), claims.seat.encode(), claims.ticket_code.encode()
    if len(code) != 8:
        raise ValueError("ticket codes are 8 characters")
    return b"".join(
        (
            struct.pack(">BB", VERSION, len(kid)),
            kid,
            code,
            struct.pack(">IB", claims.trip_id, len(seat)),
            seat,
            struct.pack(
                ">BBBH",
                claims.origin,
                claims.destination,
                CLASSES.index(claims.seat_class),
                (claims.service_date - EPOCH).days,
            ),
        )
    )


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, sha256).digest()[:MAC_BYTES]


def sign(claims: Claims) -> str:
    key_id = claims.key_id or next(iter(_keys()))
    claims = Claims(**{**claims.__dict__, "key_id": key_id})
    body = _pack(claims)
    return base64.urlsafe_b64encode(body + _mac(_keys()[key_id], body)).rstrip(b"=").decode()


def claims_for(ticket) -> Claims:
    return Claims(
        key_id=next(iter(_keys())),
        ticket_code=ticket.code,
        trip_id=ticket.trip_id,
        seat=ticket.seat_label,
        origin=ticket.origin_position,
        destination=ticket.destination_position,
        seat_class=ticket.seat_class,
        service_date=ticket.trip.service_date,
    )


def text_for(ticket) -> str:
    """The QR text of a ticket, signed with the current key."""
    return sign(claims_for(ticket))


def verify(text: str) -> Claims:
    """The claims of a QR text we signed; QRInvalid otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise QRInvalid("malformed", "This is not a TMS ticket code.") from None
    if len(raw) < 2 + MAC_BYTES or raw[0] != VERSION:
        raise QRInvalid("malformed", "This is not a TMS ticket code.")
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    try:
        claims = _unpack(body)
    except (struct.error, UnicodeDecodeError, IndexError, ValueError):
        raise QRInvalid("malformed", "This is not a TMS ticket code.") from None
    key = _keys().get(claims.key_id)
    if key is None:
        raise QRInvalid("unknown_key", "This ticket was signed with a key we do not know.")
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise QRInvalid("forged", "This ticket's signature does not match: it was altered or forged.")
    return claims


def _unpack(body: bytes) -> Claims:
    _, kid_length = struct.unpack_from(">BB", body, 0)
    at = 2
    kid = body[at : at + kid_length].decode("ascii")
    at += kid_length
    code = body[at : at + 8].decode("ascii")
    at += 8
    trip_id, seat_length = struct.unpack_from(">IB", body, at)
    at += 5
    seat = body[at : at + seat_length].decode("ascii")
    at += seat_length
    origin, destination, seat_class, days = struct.unpack_from(">BBBH", body, at)
    if at + 5 != len(body) or len(code) != 8 or len(seat) != seat_length:
        raise ValueError("length mismatch")
    return Claims(kid, code, trip_id, seat, origin, destination, CLASSES[seat_class], EPOCH + timedelta(days=days))


def svg(text: str, *, scale: int = 4) -> str:
    """An inline SVG of the QR code (no XML declaration, sized by CSS)."""
    return segno.make_qr(text, error="m").svg_inline(scale=scale, border=2, dark="#111")


def png(text: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
