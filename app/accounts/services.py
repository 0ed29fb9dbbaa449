"""Account operations. Each takes its inputs explicitly and never touches the request."""

from __future__ import annotations

import uuid
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.queries import user_by_email
from app.core.errors import DomainError, InvalidInput, RateLimited
from app.core.security import Counter, fingerprint, issue_token
from app.extensions import db
from app.notifications import services as notifications

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
RESET_SALT = "password-reset"


class LoginRefused(DomainError):
    status = 401
    code = "login_refused"
    message = "That email and password do not match an account."


class InvalidResetLink(DomainError):
    status = 400
    code = "invalid_reset_link"
    message = "This reset link has expired or was already used. Ask for a new one."


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


def register_customer(*, name: str, email: str, phone: str | None, password: str, now: datetime) -> User:
    email = email.strip().lower()
    if user_by_email(email) is not None:
        raise InvalidInput(fields={"email": ["An account with this email already exists. Sign in instead."]})
    user = User(
        name=name.strip(), email=email, phone=phone or None, password_hash=hash_password(password), last_login_at=now
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise InvalidInput(fields={"email": ["An account with this email already exists. Sign in instead."]}) from exc
    return user


def authenticate(*, email: str, password: str, ip: str, now: datetime) -> User:
    """Check a password, under per-account and per-IP failure limits.

    Once a limit is reached the password is not even checked, so guessing stops there.
    """
    email = email.strip().lower()
    accounts, ips = _account_counter(), _ip_counter()
    wait = max(accounts.exceeded(email), ips.exceeded(ip))
    if wait:
        raise RateLimited(retry_after=wait)
    user = user_by_email(email)
    if not password_matches(user, password) or not user.is_enabled:
        accounts.hit(email)
        ips.hit(ip)
        raise LoginRefused()
    accounts.reset(email)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return user


def issue_api_token(*, email: str, password: str, ip: str, now: datetime) -> tuple[str, int]:
    user = authenticate(email=email, password=password, ip=ip, now=now)
    return issue_token(str(user.id), epoch=user.session_epoch, now=now)


def update_profile(user: User, *, name: str, email: str, phone: str | None) -> User:
    email = email.strip().lower()
    other = user_by_email(email)
    if other is not None and other.id != user.id:
        raise InvalidInput(fields={"email": ["Another account already uses this email."]})
    user.name, user.email, user.phone = name.strip(), email, phone or None
    db.session.flush()
    return user


def update_notification_choices(user: User, *, sms: bool, email: bool) -> User:
    """Whether trip messages reach the user's own phone and email; portal items always do."""
    user.notify_sms, user.notify_email = bool(sms), bool(email)
    db.session.flush()
    return user


def change_password(user: User, *, current: str, new: str) -> User:
    if not password_matches(user, current):
        raise InvalidInput(fields={"current_password": ["That is not your current password."]})
    _set_password(user, new)
    return user


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_epoch += 1  # sign out every other session and revoke API tokens
    db.session.flush()


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
        notifications.queue(
            [
                notifications.Outgoing(
                    kind="password_reset",
                    source=f"request-{uuid.uuid4().hex}",
                    channel="email",
                    address=user.email,
                    context={"user_id": user.id, "name": user.name},
                    user_id=user.id,
                )
            ]
        )


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


def reset_password(*, token: str, password: str) -> User:
    user = user_for_reset_token(token)
    _set_password(user, password)
    _account_counter().reset(user.email)
    return user
