"""Read-side lookups for accounts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.accounts.models import Membership, User
from app.extensions import db


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def user_for_session(session_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<epoch>"``; a stale epoch means the session ended."""
    user_id, _, epoch = session_id.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_enabled or user.session_epoch != int(epoch):
        return None
    return user


def active_user_for_token(claims: dict) -> User | None:
    subject = str(claims.get("sub", ""))
    if not subject.isdigit():
        return None
    user = db.session.get(User, int(subject))
    if user is None or not user.is_enabled or user.session_epoch != claims.get("epoch"):
        return None
    return user


def active_memberships(user: User, roles: Iterable[str] | None = None) -> list[Membership]:
    allowed = set(roles) if roles is not None else None
    return [
        m for m in user.memberships if m.is_enabled and m.company.is_active and (allowed is None or m.role in allowed)
    ]


def membership_for(user: User, roles: Iterable[str], preferred_company_id: int | None = None) -> Membership | None:
    """The membership that lets ``user`` into a company surface: the preferred company if it
    qualifies, else the first that does."""
    memberships = active_memberships(user, roles)
    for membership in memberships:
        if membership.company_id == preferred_company_id:
            return membership
    return memberships[0] if memberships else None
