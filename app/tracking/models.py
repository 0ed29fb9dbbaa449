"""Trackers registered to buses, the position history, and share links to a live trip."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.booking.models import Ticket
from app.core.models import TimestampMixin, one_of, utcnow
from app.extensions import db
from app.fleet.models import Bus, Trip
from app.tracking.rules import SOURCES


class Tracker(TimestampMixin, db.Model):
    """A GPS device (or the Traccar Client app on a phone) that reports for one bus."""

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    bus_id: Mapped[int] = mapped_column(ForeignKey("buses.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)  # OsmAnd "id"/"deviceid"
    label: Mapped[str | None] = mapped_column(String(80))
    last_seen_at: Mapped[datetime | None]
    battery: Mapped[float | None] = mapped_column(Float)  # percent, as last reported

    bus: Mapped[Bus] = relationship(lazy="joined")


class Position(db.Model):
    """One accepted fix, kept for replay and analysis; written in batches, never one commit per fix."""

    __tablename__ = "positions"
    __table_args__ = (
        CheckConstraint(one_of("source", SOURCES), name="source"),
        Index("ix_positions_trip_id_recorded_at", "trip_id", "recorded_at"),
        Index("ix_positions_bus_id_recorded_at", "bus_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    bus_id: Mapped[int] = mapped_column(ForeignKey("buses.id", ondelete="CASCADE"))
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime]  # the fix's own time
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8))


class ShareLink(db.Model):
    """A passenger's link that shows their trip's bus to anyone who has it, until the trip ends or
    the link expires or is revoked."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    trip: Mapped[Trip] = relationship()
    ticket: Mapped[Ticket] = relationship()
