"""Read-side lookups for accounts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from app.accounts.models import Membership, User, UserSession
from app.accounts.rules import IDLE_LIMITED_ROLES, SessionPolicy
from app.extensions import db


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


@dataclass(frozen=True)
class SessionFound:
    """A session row with its user, and what kind of account it is now (not when it signed in:
    a passenger made staff today gets staff limits at once)."""

    session: UserSession
    staff: bool
    idle_limited: bool


def session_by_token_hash(token_hash: str) -> SessionFound | None:
    """The unrevoked session with this token hash, its user and their kind, in one query."""
    enabled_membership = select(Membership.id).where(Membership.user_id == User.id, Membership.is_enabled.is_(True))
    staff = or_(User.is_super_admin, enabled_membership.exists())
    idle_limited = or_(
        User.is_super_admin, enabled_membership.where(Membership.role.in_(list(IDLE_LIMITED_ROLES))).exists()
    )
    row = db.session.execute(
        select(UserSession, User, staff, idle_limited)
        .join(User, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash, UserSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return SessionFound(row[0], bool(row[2]), bool(row[3]))


def live_sessions(found: SessionFound, *, now: datetime, policy: SessionPolicy) -> list[UserSession]:
    """The signed-in browsers of ``found``'s user that have not ended, most recently active first."""
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == found.session.user_id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [row for row in rows if now < policy.ends_at(row, staff=found.staff, idle_limited=found.idle_limited)]


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
