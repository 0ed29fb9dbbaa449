"""Account operations. Each takes its inputs explicitly and never touches the request."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import SignupRequest, User, UserSession
from app.accounts.queries import SessionFound, session_by_token_hash, user_by_email
from app.accounts.rules import SESSION_TOUCH_SECONDS, SessionPolicy, device_summary
from app.core.errors import DomainError, InvalidInput, RateLimited
from app.core.i18n import DEFAULT_LANGUAGE, language_of, supported
from app.core.security import Counter, fingerprint, issue_token
from app.extensions import db
from app.notifications import services as notifications

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
RESET_SALT = "password-reset"
DEVICE_SALT = "known-device"
SIGNUP_SALT = "signup"
LOCKED_OUT = _l(
    "Too many attempts. Please wait a minute and try again, sign in from a browser you have used "
    "with TMS before, or reset your password."
)


class LoginRefused(DomainError):
    status = 401
    code = "login_refused"
    message = _l("That email and password do not match an account.")


class InvalidSignupLink(DomainError):
    status = 400
    code = "invalid_signup_link"
    message = _l("This sign-up link has expired or was already used. If you confirmed it already, sign in.")


class InvalidResetLink(DomainError):
    status = 400
    code = "invalid_reset_link"
    message = _l("This reset link has expired or was already used. Ask for a new one.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def _account_counter() -> Counter:
    c = current_app.config
    return Counter("login-account", c["LOGIN_MAX_FAILURES_PER_ACCOUNT"], c["LOGIN_WINDOW_SECONDS"])


def _ip_counter() -> Counter:
    c = current_app.config
    return Counter("login-ip", c["LOGIN_MAX_FAILURES_PER_IP"], c["LOGIN_WINDOW_SECONDS"])


def _device_counter() -> Counter:
    c = current_app.config
    return Counter("login-device", c["LOGIN_MAX_FAILURES_PER_ACCOUNT"], c["LOGIN_WINDOW_SECONDS"])


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def device_token(user: User) -> str:
    """The value of a browser's device cookie after it signed in to ``user``: proof that this
    browser has known the password before, which exempts it from lockouts strangers can cause."""
    return _device_serializer().dumps({"u": user.id, "n": secrets.token_urlsafe(12)})


def _known_device(device: str | None, user: User | None) -> str | None:
    """The device's own id when ``device`` is a cookie we set at a sign-in to ``user``."""
    if not device or user is None:
        return None
    try:
        data = _device_serializer().loads(device, max_age=current_app.config["LOGIN_DEVICE_DAYS"] * 86400)
    except BadSignature:  # SignatureExpired too
        return None
    if not isinstance(data, dict) or data.get("u") != user.id or not data.get("n"):
        return None
    return str(data["n"])


def request_signup(
    *,
    name: str,
    email: str,
    phone: str | None,
    password: str,
    browser: str,
    next_path: str | None,
    now: datetime,
    language: str | None = None,
) -> None:
    """Start a sign-up, answering the same whether or not the email has an account.

        A new email gets a link that creates the account; an existing account's owner gets an email
        saying someone tried, with sign-in and reset links. The password is hashed either way, so
        both take the same time. ``browser`` is a random value kept in the signing-up browser; the
    confirmation is written in ``language`` (the page's), a known owner's email in their own."""
    email = email.strip().lower()
    password_hash = hash_password(password)
    db.session.execute(delete(SignupRequest).where(SignupRequest.created_at < now - _signup_max_age()))
    owner = user_by_email(email)
    if owner is not None:
        if owner.is_enabled:
            _send_account_email(
                "signup_existing",
                owner.email,
                {"user_id": owner.id, "name": owner.name, "language": language_of(owner)},
                user_id=owner.id,
            )
        return
    signup = SignupRequest(
        email=email,
        name=name.strip(),
        phone=phone or None,
        password_hash=password_hash,
        browser_hash=_token_hash(browser),
        next_path=next_path if next_path and len(next_path) <= 300 else None,
        created_at=now,
    )
    db.session.add(signup)
    db.session.flush()
    context = {"signup_id": signup.id, "name": signup.name, "language": supported(language) or DEFAULT_LANGUAGE}
    _send_account_email("signup_confirmation", email, context)


def _send_account_email(kind: str, address: str, context: dict, user_id: int | None = None) -> None:
    """An account email (a notification record, sent after commit); each request is its own, up
    to ``ACCOUNT_EMAILS_PER_HOUR`` to one address, so nobody can flood a stranger's mailbox with
    sign-up or reset emails (the page says "check your email" either way)."""
    sent = Counter("account-email", current_app.config["ACCOUNT_EMAILS_PER_HOUR"], 3600)
    if sent.exceeded(address):
        log.info("account email (%s) to %s not sent: %d this hour already", kind, address, sent.limit)
        return
    sent.hit(address)
    outgoing = notifications.Outgoing(
        kind=kind,
        source=f"request-{uuid.uuid4().hex}",
        channel="email",
        address=address,
        context=context,
        user_id=user_id,
    )
    notifications.queue([outgoing])


def _signup_max_age() -> timedelta:
    return timedelta(seconds=current_app.config["SIGNUP_LINK_MAX_AGE_SECONDS"])


def _signup_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SIGNUP_SALT)


def make_signup_token(signup: SignupRequest) -> str:
    """The confirmation link's token; made when the email is sent, never stored."""
    return _signup_serializer().dumps({"s": signup.id, "f": fingerprint(signup.password_hash)})


def signup_for_token(token: str) -> SignupRequest:
    """The waiting sign-up a link names, or ``InvalidSignupLink`` if it is forged, too old or used."""
    try:
        data = _signup_serializer().loads(token, max_age=current_app.config["SIGNUP_LINK_MAX_AGE_SECONDS"])
    except BadSignature as exc:  # SignatureExpired too
        raise InvalidSignupLink() from exc
    signup = db.session.get(SignupRequest, data.get("s")) if isinstance(data, dict) else None
    if signup is None or data.get("f") != fingerprint(signup.password_hash):
        raise InvalidSignupLink()
    return signup


def opened_where_signed_up(signup: SignupRequest, browser: str | None) -> bool:
    """Whether the link is opened in the browser that filled in the form (one click suffices)."""
    return bool(browser) and secrets.compare_digest(_token_hash(browser), signup.browser_hash)


def confirm_signup(*, token: str, now: datetime) -> User:
    """Create the account a confirmation link stands for. The link works once: every waiting
    sign-up for the address goes, and an address that has an account by now makes none."""
    signup = signup_for_token(token)
    db.session.execute(delete(SignupRequest).where(SignupRequest.email == signup.email))
    if user_by_email(signup.email) is not None:
        raise InvalidSignupLink()
    user = User(
        name=signup.name, email=signup.email, phone=signup.phone, password_hash=signup.password_hash, last_login_at=now
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same link confirmed twice at once
        raise InvalidSignupLink() from exc
    return user


def authenticate(*, email: str, password: str, ip: str, now: datetime, device: str | None = None) -> User:
    """Check a password, under failure limits a stranger cannot turn against the owner.

    A browser that signed in to this account before (``device``, its device cookie) is limited
    on its own: only its own failures lock it. Anyone else is limited per account and per client
    address, and past either limit the password is not even checked, so guessing stops there.
    """
    email = email.strip().lower()
    user = user_by_email(email)
    accounts, ips, devices = _account_counter(), _ip_counter(), _device_counter()
    known = _known_device(device, user)
    if known is not None and devices.exceeded(known):
        known = None  # a device cookie used for guessing is trusted no more (until its window ends)
    if known is None:
        wait = max(accounts.exceeded(email), ips.exceeded(ip))
        if wait:
            raise RateLimited(LOCKED_OUT, retry_after=wait)
    if not password_matches(user, password) or not user.is_enabled:
        ips.hit(ip)
        if known is not None:
            devices.hit(known)
        else:
            accounts.hit(email)
        raise LoginRefused()
    if known is not None:
        devices.reset(known)
    else:
        accounts.reset(email)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return user


def issue_api_token(
    *, email: str, password: str, ip: str, now: datetime, device: str | None = None
) -> tuple[User, str, int]:
    """A bearer token for the API, under the same limits as the portal's sign-in."""
    user = authenticate(email=email, password=password, ip=ip, now=now, device=device)
    return user, *issue_token(str(user.id), epoch=user.session_epoch, now=now)


def update_profile(user: User, *, name: str, email: str, phone: str | None) -> User:
    email = email.strip().lower()
    other = user_by_email(email)
    if other is not None and other.id != user.id:
        raise InvalidInput(fields={"email": [_("Another account already uses this email.")]})
    if (phone or None) != user.phone:
        user.phone_verified_at = None  # a new number is proven again before it claims anything
    user.name, user.email, user.phone = name.strip(), email, phone or None
    db.session.flush()
    return user


def set_language(user: User, language: str) -> User:
    """The language pages, SMS and email speak to ``user`` in (one of ``core.i18n.LANGUAGES``)."""
    user.language = language
    db.session.flush()
    return user


def update_notification_choices(user: User, *, sms: bool, email: bool) -> User:
    """Whether trip messages reach the user's own phone and email; portal items always do."""
    user.notify_sms, user.notify_email = bool(sms), bool(email)
    db.session.flush()
    return user


def change_password(user: User, *, current: str, new: str, keep: UserSession, now: datetime) -> User:
    """Set a new password; the browser that changed it stays signed in, every other one is not."""
    if not password_matches(user, current):
        raise InvalidInput(fields={"current_password": [_("That is not your current password.")]})
    user.password_hash = hash_password(new)
    end_sessions(user, now=now, keep=keep)
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


INVITATION_MAX_AGE_SECONDS = 7 * 24 * 3600


def make_reset_token(user: User, *, invitation: bool = False) -> str:
    # Bound to the current password hash: once the password changes, the link is spent.
    # An invitation to new staff lasts a week; a reset link lasts PASSWORD_RESET_MAX_AGE_SECONDS.
    data = {"u": user.id, "f": fingerprint(user.password_hash)}
    if invitation:
        data["i"] = 1
    return _serializer().dumps(data)


def request_password_reset(*, email: str) -> None:
    """Email a reset link if the account exists; say nothing either way."""
    user = user_by_email(email)
    if user is not None and user.is_enabled:
        context = {"user_id": user.id, "name": user.name, "language": language_of(user)}
        _send_account_email("password_reset", user.email, context, user_id=user.id)


def user_for_reset_token(token: str) -> User:
    try:
        data = _serializer().loads(token, max_age=INVITATION_MAX_AGE_SECONDS)
        age_limit = INVITATION_MAX_AGE_SECONDS if isinstance(data, dict) and data.get("i") else None
        data = _serializer().loads(token, max_age=age_limit or current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"])
    except (SignatureExpired, BadSignature) as exc:
        raise InvalidResetLink() from exc
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.is_enabled or data.get("f") != fingerprint(user.password_hash):
        raise InvalidResetLink()
    return user


def is_invitation(token: str) -> bool:
    """Whether a (valid) password link is a new staff member's invitation, not a reset."""
    try:
        data = _serializer().loads(token, max_age=INVITATION_MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        return False
    return isinstance(data, dict) and bool(data.get("i"))


def reset_password(*, token: str, password: str, now: datetime) -> User:
    """Set a new password from an emailed link; whoever was signed in anywhere is signed out."""
    user = user_for_reset_token(token)
    user.password_hash = hash_password(password)
    end_sessions(user, now=now)
    _account_counter().reset(user.email)
    return user


def set_enabled(user: User, enabled: bool, *, now: datetime) -> User:
    """Open or close an account; closing it ends its sessions and API tokens at once."""
    user.is_enabled = enabled
    if not enabled:
        end_sessions(user, now=now)
    db.session.flush()
    return user


# --- Browser sessions -------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    user: User, *, user_agent: str, address: str, now: datetime, policy: SessionPolicy
) -> tuple[UserSession, str]:
    """A newly signed-in browser: its row, and the token for its cookie (kept nowhere else).

    The user's ended rows are cleared on the way, so the table holds about one row per device."""
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, or_(UserSession.revoked_at.is_not(None), UserSession.expires_at <= now)
        )
    )
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=_token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        device=device_summary(user_agent)[:80],
        address=address[:45],
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def resume_session(token: str, *, now: datetime, policy: SessionPolicy, active: bool) -> SessionFound | None:
    """The live session a cookie's token names, or None if it was revoked, ran out or never was.

    An ``active`` request (one the person made, not a page's background poll) moves
    ``last_seen_at`` on, at most once a minute, so most requests write nothing."""
    found = session_by_token_hash(_token_hash(token))
    if not _still_live(found, now, policy):
        return None
    if active and now - found.session.last_seen_at >= timedelta(seconds=SESSION_TOUCH_SECONDS):
        found.session.last_seen_at = now
        db.session.flush()
    return found


def session_live(token_hash: str, *, now: datetime, policy: SessionPolicy) -> bool:
    """Whether the session with this token hash still lets its browser in: asked again by the
    websockets it opened, which stay open after the request that let them in."""
    return _still_live(session_by_token_hash(token_hash), now, policy)


def _still_live(found: SessionFound | None, now: datetime, policy: SessionPolicy) -> bool:
    if found is None or not found.session.user.is_enabled:
        return False
    return now < policy.ends_at(found.session, staff=found.staff, idle_limited=found.idle_limited)


def end_session(session: UserSession, *, now: datetime) -> None:
    """Sign one browser out: its cookie opens nothing from now on, even if it was copied."""
    session.revoked_at = session.revoked_at or now
    db.session.flush()


def end_sessions(user: User, *, now: datetime, keep: UserSession | None = None) -> None:
    """Sign ``user`` out of every browser but ``keep``, and revoke every API token issued so far."""
    ending = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        ending = ending.where(UserSession.id != keep.id)
    db.session.execute(ending.values(revoked_at=now))
    user.session_epoch += 1
    db.session.flush()
