"""Companies (tenants) and stations (shared by every company on the platform)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TimestampMixin
from app.extensions import db

COMPANY_STATUSES = ("active", "suspended")
# Refund share by notice: (at least this many hours before departure, percent refunded).
DEFAULT_REFUND_POLICY = [[24, 90], [2, 50]]


class Company(TimestampMixin, db.Model):
    __tablename__ = "companies"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("hold_minutes BETWEEN 2 AND 60", name="hold_minutes"),
        CheckConstraint("days_ahead BETWEEN 1 AND 90", name="days_ahead"),
        CheckConstraint("reminder_minutes BETWEEN 0 AND 1440", name="reminder_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # public slug
    name: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3), default="RWF")
    timezone: Mapped[str] = mapped_column(String(40), default="Africa/Kigali")
    # Money and sales settings, managed by the company's admins.
    hold_minutes: Mapped[int] = mapped_column(SmallInteger, default=10)
    refund_policy: Mapped[list] = mapped_column(JSON, default=lambda: [list(t) for t in DEFAULT_REFUND_POLICY])
    days_ahead: Mapped[int] = mapped_column(SmallInteger, default=14)  # trips generated this far ahead
    # Online payment methods the company accepts (those the platform has set up are offered).
    payment_providers: Mapped[list] = mapped_column(JSON, default=lambda: ["momo", "paypal", "sandbox"])
    # Passengers are reminded this long before departure; 0 sends no reminders.
    reminder_minutes: Mapped[int] = mapped_column(SmallInteger, default=60)
    # The operator's brand on its pages and tickets: a colour (#rrggbb) and a logo, re-encoded as
    # PNG when uploaded (companies.services.update_brand). The logo is loaded only when served;
    # logo_version (a digest of it) names it in URLs, so browsers may cache each version for good.
    brand_colour: Mapped[str | None] = mapped_column(String(7))
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_version: Mapped[str | None] = mapped_column(String(16))

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def __repr__(self) -> str:
        return f"<Company {self.code}>"


class Station(TimestampMixin, db.Model):
    __tablename__ = "stations"
    __table_args__ = (UniqueConstraint("name", "city"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(80), index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by_company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<Station {self.code}>"
