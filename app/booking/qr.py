"""Signed ticket QR codes.

The QR text is one base64url string (no padding, no delimiter anywhere) of a fixed binary form:

    version (1) · key id length (1) · key id · ticket code (8) · trip id (4) · seat length (1) ·
    seat · from stop (1) · to stop (1) · class (1) · service date, days since 2000-01-01 (2) ·
    HMAC-SHA256 over everything before it, first 16 bytes

The key id picks a master secret among ``QR_SIGNING_KEYS`` (the first signs, all verify), so keys
can rotate while tickets already printed stay valid. Version 1 is MACed with the master secret
itself. Version 2, made from now on, is MACed with a key derived for its trip (``trip_key``: HKDF
over the key id and trip id), so a driver's phone can hold that trip's key and verify offline
without ever holding the master secret: at worst a stolen phone forges tickets for its own trip.
Verification compares in constant time; the ticket record, and whether a retired key may still
vouch for it, is checked by the caller (``booking.services.tickets.verify_ticket``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import struct
from dataclasses import dataclass, replace
from datetime import date, timedelta
from hashlib import sha256

import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

VERSION = 2  # what text_for makes; version 1 codes already sold keep verifying
VERSIONS = (1, 2)
MAC_BYTES = 16
TRIP_KEY_SALT = b"tms-ticket-v2"
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
    version: int = VERSION


def _keys() -> dict[str, bytes]:
    return current_app.config["QR_SIGNING_KEYS"]


def signing_key_id() -> str:
    """The key id new codes are made under; the others in ``QR_SIGNING_KEYS`` are retired."""
    return next(iter(_keys()))


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256 (the phone never derives: it receives the derived key)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def trip_key(master: bytes, kid: str, trip_id: int) -> bytes:
    """The 32-byte key that MACs version 2 codes of one trip under one master secret."""
    return hkdf_sha256(master, salt=TRIP_KEY_SALT, info=b"trip:" + str(trip_id).encode() + b"|kid:" + kid.encode())


def trip_keys(trip_id: int) -> dict[str, bytes]:
    """Every configured key id with its key for this trip: what an offline scanner is given."""
    return {kid: trip_key(master, kid, trip_id) for kid, master in _keys().items()}


def _pack(claims: Claims) -> bytes:
    kid, seat, code = claims.key_id.encode(), claims.seat.encode(), claims.ticket_code.encode()
    if len(code) != 8:
        raise ValueError("ticket codes are 8 characters")
    return b"".join(
        (
            struct.pack(">BB", claims.version, len(kid)),
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


def _mac(claims: Claims, master: bytes, body: bytes) -> bytes:
    key = master if claims.version == 1 else trip_key(master, claims.key_id, claims.trip_id)
    return hmac.new(key, body, sha256).digest()[:MAC_BYTES]


def sign(claims: Claims) -> str:
    """The QR text of ``claims`` at their version, under their key id (the signing key if none)."""
    claims = replace(claims, key_id=claims.key_id or signing_key_id())
    body = _pack(claims)
    return base64.urlsafe_b64encode(body + _mac(claims, _keys()[claims.key_id], body)).rstrip(b"=").decode()


def claims_for(ticket) -> Claims:
    return Claims(
        key_id=signing_key_id(),
        ticket_code=ticket.code,
        trip_id=ticket.trip_id,
        seat=ticket.seat_label,
        origin=ticket.origin_position,
        destination=ticket.destination_position,
        seat_class=ticket.seat_class,
        service_date=ticket.trip.service_date,
    )


def text_for(ticket) -> str:
    """The QR text of a ticket: version 2 under the signing key."""
    return sign(claims_for(ticket))


def verify(text: str) -> Claims:
    """The claims of a QR text we signed; QRInvalid otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise QRInvalid("malformed", "This is not a TMS ticket code.") from None
    if len(raw) < 2 + MAC_BYTES or raw[0] not in VERSIONS:
        raise QRInvalid("malformed", "This is not a TMS ticket code.")
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    try:
        claims = _unpack(body)
    except (struct.error, UnicodeDecodeError, IndexError, ValueError):
        raise QRInvalid("malformed", "This is not a TMS ticket code.") from None
    master = _keys().get(claims.key_id)
    if master is None:
        raise QRInvalid("unknown_key", "This ticket was signed with a key we do not know.")
    if not hmac.compare_digest(mac, _mac(claims, master, body)):
        raise QRInvalid("forged", "This ticket's signature does not match: it was altered or forged.")
    return claims


def _unpack(body: bytes) -> Claims:
    version, kid_length = struct.unpack_from(">BB", body, 0)
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
    service_date = EPOCH + timedelta(days=days)
    return Claims(kid, code, trip_id, seat, origin, destination, CLASSES[seat_class], service_date, version)


def svg(text: str, *, scale: int = 4) -> str:
    """An inline SVG of the QR code (no XML declaration, sized by CSS)."""
    return segno.make_qr(text, error="m").svg_inline(scale=scale, border=2, dark="#111")


def png(text: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
