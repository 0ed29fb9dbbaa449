"""Guests: people who book without an account.

A guest's browser gets a random key in its session; their holds and orders carry it, so the seat
rules, holds and limits are the signed-in buyer's (:class:`~app.booking.services.holds.Guest`).
The guest gives a name, a phone number (and maybe an email); the paid tickets go to them by SMS
(and email) with a magic link to their order.

A magic link is ``/t/<id>.<secret>.<mac>``: ``secret`` is random and only its SHA-256 is stored
(a copy of the database opens nothing); ``mac`` is an HMAC of the rest with the app's key, so a
forged or mistyped link is refused before any lookup. A link ends some days after the trip
arrives, or when revoked: by the guest on the ticket page, or by sending a new link (which ends
the old ones). Links are made when a message is sent, never stored in a message's record.

Limits against abuse, in Redis like the sign-in limits: guest holds per client address, guest
bookings and link re-sends per phone. A phone's owner can later claim its guest tickets into an
account with a code sent to that phone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.accounts.rules import normalize_phone
from app.booking.errors import LinkEnded
from app.booking.models import GuestLink, Order
from app.core import events
from app.core.errors import InvalidInput, NotFound, RateLimited
from app.core.security import Counter
from app.extensions import db, redis

CLAIM_CODE_SECONDS = 600
CLAIM_CODE_TRIES = 5


def new_guest_key() -> str:
    return secrets.token_urlsafe(32)


# --- Contact ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """Who gets a guest's tickets: a name, an E.164 phone, maybe an email, and their language."""

    name: str
    phone: str
    email: str | None
    language: str


def clean_contact(name: str | None, phone: str | None, email: str | None, language: str) -> Contact:
    """The contact as typed, or field errors (``contact_name``, ``contact_phone``, ``contact_email``)."""
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not 2 <= len(name) <= 120:
        errors["contact_name"] = [_("Enter your name.")]
    cleaned_phone = ""
    try:
        cleaned_phone = normalize_phone(phone or "")
    except ValueError as error:
        errors["contact_phone"] = [str(error)]
    email = (email or "").strip().lower() or None
    if email is not None and (len(email) > 254 or "@" not in email or "." not in email.rsplit("@", 1)[-1]):
        errors["contact_email"] = [_("Enter an email address such as name@example.com, or leave it empty.")]
    if errors:
        raise InvalidInput(fields=errors)
    return Contact(name, cleaned_phone, email, language)


# --- Limits ----------------------------------------------------------------------------------


def _limit(name: str, setting: str) -> Counter:
    return Counter(name, current_app.config[setting], 3600)


def _minutes(seconds: int) -> int:
    return max((seconds + 59) // 60, 1)


def count_guest_hold(address: str) -> None:
    """One more guest hold from ``address``, or a refusal when it has started too many this hour."""
    counter = _limit("guest-hold", "GUEST_HOLDS_PER_ADDRESS_PER_HOUR")
    wait = counter.exceeded(address)
    if wait:
        raise RateLimited(
            _(
                "Too many bookings without an account from this network. Try again in %(minutes)s minutes, "
                "or sign in to book.",
                minutes=_minutes(wait),
            ),
            retry_after=wait,
        )
    counter.hit(address)


def count_guest_order(phone: str) -> None:
    """One more guest booking for ``phone``, or a refusal when it had too many this hour."""
    counter = _limit("guest-order", "GUEST_ORDERS_PER_PHONE_PER_HOUR")
    wait = counter.exceeded(phone)
    if wait:
        raise RateLimited(
            _(
                "This phone number has started too many bookings in the last hour. Try again in %(minutes)s minutes.",
                minutes=_minutes(wait),
            ),
            retry_after=wait,
        )
    counter.hit(phone)


# --- Orders ----------------------------------------------------------------------------------


def keep_contact(order: Order, guest_key: str, contact: Contact) -> Order:
    order.guest_key = guest_key
    order.contact_name, order.contact_phone, order.contact_email = contact.name, contact.phone, contact.email
    order.language = contact.language
    db.session.flush()
    return order


def order_of_guest(guest_key: str | None, code: str) -> Order:
    """The order ``code`` placed in the browser holding ``guest_key``; anyone else's is not found."""
    order = (
        db.session.scalar(select(Order).where(Order.code == code, Order.guest_key == guest_key)) if guest_key else None
    )
    if order is None:
        raise NotFound(_("No such order."))
    return order


# --- Magic links -----------------------------------------------------------------------------


def _mac(text: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"guest-link:{text}".encode(), hashlib.sha256).digest()[:12]
    return urlsafe_b64encode(digest).decode().rstrip("=")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link_expiry(order: Order) -> datetime:
    """Some days after the order's trip reaches the last stop any of its tickets goes to."""
    trip = order.tickets[0].trip
    arrival = trip.time_at(max(t.destination_position for t in order.tickets))
    return arrival + timedelta(days=current_app.config["GUEST_LINK_DAYS_AFTER_TRIP"])


def issue_link(order: Order, *, now: datetime) -> str:
    """A new magic link to ``order``: the token for ``/t/<token>`` (shown once, never stored)."""
    secret = secrets.token_urlsafe(12)
    link = GuestLink(order_id=order.id, secret_hash=_hash(secret), expires_at=link_expiry(order))
    db.session.add(link)
    db.session.flush()
    body = f"{link.id}.{secret}"
    return f"{body}.{_mac(body)}"


def open_link(token: str, *, now: datetime) -> GuestLink:
    """The live link ``token`` names. A forged or unknown one is not found; one that was revoked
    or has expired says so (:class:`LinkEnded`)."""
    body, _dot, mac = (token or "").rpartition(".")
    link_id, _dot, secret = body.partition(".")
    if not (link_id.isdigit() and secret and hmac.compare_digest(mac.encode(), _mac(body).encode())):
        raise NotFound(_("This ticket link is not valid. Check that it was copied whole."))
    link = db.session.get(GuestLink, int(link_id))
    if link is None or not hmac.compare_digest(link.secret_hash, _hash(secret)):
        raise NotFound(_("This ticket link is not valid. Check that it was copied whole."))
    if link.revoked_at is not None or link.expires_at <= now:
        raise LinkEnded()
    return link


def revoke_links(order: Order, *, now: datetime) -> int:
    """End every live link to ``order``; how many there were."""
    result = db.session.execute(
        update(GuestLink)
        .where(GuestLink.order_id == order.id, GuestLink.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def send_new_link(order: Order, *, now: datetime) -> None:
    """End the order's links and text (and email) a new one to its contact, at most
    ``GUEST_LINKS_PER_PHONE_PER_HOUR`` times an hour per phone."""
    counter = _limit("guest-link", "GUEST_LINKS_PER_PHONE_PER_HOUR")
    wait = counter.exceeded(order.contact_phone or "")
    if wait:
        raise RateLimited(
            _(
                "We sent this phone several links in the last hour. Try again in %(minutes)s minutes.",
                minutes=_minutes(wait),
            ),
            retry_after=wait,
        )
    counter.hit(order.contact_phone or "")
    revoke_links(order, now=now)
    events.emit("guest.link_requested", {"order_id": order.id}, company_id=order.company_id)


def find_guest_order(code: str, phone: str) -> Order | None:
    """A guest's paid order by its code and contact phone (the "lost your link?" form)."""
    try:
        phone = normalize_phone(phone or "")
    except ValueError:
        return None
    return db.session.scalar(
        select(Order).where(
            Order.code == (code or "").strip().upper(),
            Order.contact_phone == phone,
            Order.guest_key.is_not(None),
            Order.status.in_(("paid", "cancelled", "partially_refunded", "refunded")),
        )
    )


# --- Claiming guest tickets into an account ---------------------------------------------------


def claimable(user) -> list[Order]:
    """Guest orders bought with the account's phone number, not yet in any account."""
    if not user.phone:
        return []
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.contact_phone == user.phone, Order.user_id.is_(None), Order.guest_key.is_not(None))
            .where(Order.status != "pending")
            .order_by(Order.id)
        )
    )


def _code_key(user) -> str:
    return f"claim-code:{user.id}"


def request_claim_code(user) -> None:
    """Text a one-time code to the account's phone (made when the SMS is sent), at most
    ``CLAIM_CODES_PER_PHONE_PER_HOUR`` an hour per phone."""
    if not user.phone:
        raise InvalidInput(_("Add your phone number to your account first."))
    counter = _limit("claim-code", "CLAIM_CODES_PER_PHONE_PER_HOUR")
    wait = counter.exceeded(user.phone)
    if wait:
        raise RateLimited(
            _(
                "We sent several codes to this phone in the last hour. Try again in %(minutes)s minutes.",
                minutes=_minutes(wait),
            ),
            retry_after=wait,
        )
    counter.hit(user.phone)
    events.emit("account.phone_code_requested", {"user_id": user.id, "phone": user.phone})


def make_claim_code(user_id: int, phone: str) -> str:
    """A fresh six-digit code for ``phone``; Redis keeps its hash for ``CLAIM_CODE_SECONDS``."""
    code = f"{secrets.randbelow(10**6):06d}"
    redis.hset(f"claim-code:{user_id}", mapping={"hash": _hash(f"{phone}:{code}"), "tries": 0})
    redis.expire(f"claim-code:{user_id}", CLAIM_CODE_SECONDS)
    return code


def claim_with_code(user, code: str, *, now: datetime) -> list[Order]:
    """The code texted to the account's phone proves it: its guest orders join the account."""
    key = _code_key(user)
    stored = redis.hgetall(key)
    wrong = InvalidInput(fields={"code": [_("That code is not right, or it has expired. Ask for a new one.")]})
    if not stored or not user.phone:
        raise wrong
    if redis.hincrby(key, "tries", 1) > CLAIM_CODE_TRIES:
        redis.delete(key)
        raise wrong
    expected = stored.get(b"hash", stored.get("hash"))
    expected = expected.decode() if isinstance(expected, bytes) else expected
    if not hmac.compare_digest(expected or "", _hash(f"{user.phone}:{(code or '').strip()}")):
        raise wrong
    redis.delete(key)
    user.phone_verified_at = now
    return claim(user, now=now)


def claim(user, *, now: datetime) -> list[Order]:
    """Move the guest orders bought with the account's proven phone into the account (the code
    just came back, or it did before for this same number)."""
    if user.phone_verified_at is None:
        raise InvalidInput(fields={"code": [_("Prove the number is yours first: ask for a code.")]})
    orders = claimable(user)
    for order in orders:
        order.user_id = user.id
    db.session.flush()
    return orders
