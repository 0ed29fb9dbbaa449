"""One users table for everybody; company roles through memberships."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.rules import Role
from app.core.models import TimestampMixin, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.companies.models import Company


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    # When a code texted to ``phone`` last came back (claiming guest tickets); a new phone clears it.
    phone_verified_at: Mapped[datetime | None]
    password_hash: Mapped[str] = mapped_column(String(255))
    is_super_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password changes, on "sign out everywhere" and on deactivation: every API
    # token issued before stops working (browser sessions are rows in user_sessions).
    session_epoch: Mapped[int] = mapped_column(default=0)
    last_login_at: Mapped[datetime | None]
    # How the passenger wants to hear from us; the portal's bell gets everything regardless.
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True)
    # "rw", "en" or "fr" (app/core/i18n.py); None follows the browser. SMS and email use it too.
    language: Mapped[str | None] = mapped_column(String(5))

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_enabled

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class Membership(TimestampMixin, db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "company_id"),
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in Role)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    company: Mapped[Company] = relationship(lazy="joined")

    @property
    def role_label(self) -> str:
        return Role(self.role).label


class UserSession(db.Model):
    """A browser signed in to an account. The cookie carries a random token and the table only its
    SHA-256, so a copy of the table opens nothing. Ended by sign-out, "sign out everywhere", a
    password change or reset, deactivation, or the time limits of ``rules.SessionPolicy``."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime]  # written at most once a minute, and not by background polls
    expires_at: Mapped[datetime]  # the longest it may live; staff sessions end sooner
    revoked_at: Mapped[datetime | None]
    device: Mapped[str] = mapped_column(String(80))  # "Chrome on Android", for the account page
    address: Mapped[str] = mapped_column(String(45))  # the client address it signed in from

    user: Mapped[User] = relationship()


class SignupRequest(db.Model):
    """A sign-up waiting for its owner to open the emailed link; the account is made only then, so
    an address nobody confirmed never holds an account (nor blocks its owner from signing up).
    Rows older than the link's lifetime are deleted by the next sign-up."""

    __tablename__ = "signup_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    password_hash: Mapped[str] = mapped_column(String(255))
    # SHA-256 of a random value kept in the signing-up browser's session: the link opened there
    # confirms in one click; anywhere else (a mail scanner, someone else's browser) asks first.
    browser_hash: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str | None] = mapped_column(String(300))  # where to land once confirmed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
