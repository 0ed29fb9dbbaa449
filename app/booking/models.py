"""Orders, tickets and the seat-leg inventory.

A trip over stops s0..sn has legs 0..n-1. A ticket for a seat from stop i to stop j occupies
``seat_legs`` rows (trip, seat, leg) for legs i..j-1; the unique constraint on those three is the
last guard against selling a seat-leg twice, whatever code path tries.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.booking.rules import HOLD_STATUSES, ORDER_STATUSES, SCAN_RESULTS, TICKET_STATUSES
from app.core.models import TimestampMixin, one_of, utcnow
from app.extensions import db
from app.fleet.rules import SEAT_CLASSES

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.companies.models import Station
    from app.fleet.models import Trip


class Order(TimestampMixin, db.Model):
    """One checkout: the tickets bought together (a group that travels together)."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(one_of("status", ORDER_STATUSES), name="status"),
        CheckConstraint("total >= 0", name="total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    total: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(10), default="web")  # web, api, console, pos
    paid_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # an unpaid order gives its seats back then
    # A guest's order (no account): the browser that placed it keeps ``guest_key`` in its session;
    # the contact gets the tickets by SMS (and email) with a magic link, in ``language``. Claimed
    # into an account, ``user_id`` is set and the contact stays as it was given.
    guest_key: Mapped[str | None] = mapped_column(String(43), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(16), index=True)  # E.164
    contact_email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(5))

    user: Mapped[User | None] = relationship()
    tickets: Mapped[list[Ticket]] = relationship(back_populates="order", order_by="Ticket.id")


class Ticket(TimestampMixin, db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(one_of("status", TICKET_STATUSES), name="status"),
        CheckConstraint(one_of("seat_class", SEAT_CLASSES), name="seat_class"),
        CheckConstraint("destination_position > origin_position", name="leg_range"),
        CheckConstraint("price >= 0", name="price"),
        Index("ix_tickets_trip_id_status", "trip_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # printed on the ticket
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id"))
    seat_label: Mapped[str] = mapped_column(String(6))
    seat_class: Mapped[str] = mapped_column(String(10))
    origin_position: Mapped[int] = mapped_column(SmallInteger)
    destination_position: Mapped[int] = mapped_column(SmallInteger)
    origin_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    destination_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    passenger_name: Mapped[str] = mapped_column(String(120))
    passenger_phone: Mapped[str | None] = mapped_column(String(16))
    price: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    # Boarding, set by one conditional UPDATE (services.boarding): who scanned it, on which phone,
    # at which stop position, and whether the phone had no signal (then boarded_at is its clock).
    boarded_at: Mapped[datetime | None]
    boarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    boarded_device: Mapped[str | None] = mapped_column(String(64))
    boarded_stop: Mapped[int | None] = mapped_column(SmallInteger)
    boarded_offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    cancelled_at: Mapped[datetime | None]
    # The company's refund tiers when the ticket was bought: [[hours before departure, percent], ...]
    refund_policy: Mapped[list] = mapped_column(JSON, default=list)
    refund_amount: Mapped[int | None]  # set when cancelled; paid back by the payments side

    order: Mapped[Order] = relationship(back_populates="tickets")
    trip: Mapped[Trip] = relationship()
    origin: Mapped[Station] = relationship(foreign_keys=[origin_station_id], lazy="joined")
    destination: Mapped[Station] = relationship(foreign_keys=[destination_station_id], lazy="joined")

    @property
    def legs(self) -> range:
        return range(self.origin_position, self.destination_position)


class Hold(TimestampMixin, db.Model):
    """Seats kept for one buyer for a few minutes: committed rows with an expiry, never a lock."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint(one_of("status", HOLD_STATUSES), name="status"),
        CheckConstraint("destination_position > origin_position", name="leg_range"),
        Index("ix_holds_status_expires_at", "status", "expires_at"),
        Index("ix_holds_user_id_status", "user_id", "status"),
        Index("ix_holds_guest_key_status", "guest_key", "status"),
        CheckConstraint("(user_id IS NULL) <> (guest_key IS NULL)", name="buyer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)  # unguessable; names the hold in URLs
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guest_key: Mapped[str | None] = mapped_column(String(43))  # a guest's browser, else the user's
    origin_position: Mapped[int] = mapped_column(SmallInteger)
    destination_position: Mapped[int] = mapped_column(SmallInteger)
    seats: Mapped[list] = mapped_column(JSON)  # labels, in the order the buyer picked them
    status: Mapped[str] = mapped_column(String(12), default="active")
    expires_at: Mapped[datetime]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))

    trip: Mapped[Trip] = relationship()
    user: Mapped[User | None] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def legs(self) -> range:
        return range(self.origin_position, self.destination_position)


class SeatLeg(db.Model):
    """One seat on one leg of one trip, taken by a ticket or kept by a hold (exactly one)."""

    __tablename__ = "seat_legs"
    __table_args__ = (
        UniqueConstraint("trip_id", "seat_label", "leg"),
        CheckConstraint("(ticket_id IS NULL) <> (hold_id IS NULL)", name="owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    seat_label: Mapped[str] = mapped_column(String(6))
    leg: Mapped[int] = mapped_column(SmallInteger)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id", ondelete="CASCADE"), index=True)


class GuestLink(TimestampMixin, db.Model):
    """A magic link to a guest's order: the URL carries a signed ``<id>.<secret>``, the table only
    the secret's SHA-256. It ends at ``expires_at`` (after the trip) or when revoked (by the guest,
    or by sending a new link)."""

    __tablename__ = "guest_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()


class BoardingScan(db.Model):
    """Every scan at a bus door, whatever it answered, online or uploaded from a phone that had no
    signal. ``scan_id`` is the phone's own id for the scan, so an upload sent twice adds nothing.
    ``duplicate`` flags an offline boarding of a ticket another device boarded first (the trip's
    report shows it); ``undone_at`` a boarding undone as a mistake."""

    __tablename__ = "boarding_scans"
    __table_args__ = (
        CheckConstraint(one_of("result", SCAN_RESULTS), name="result"),
        Index("ix_boarding_scans_trip_id_scanned_at", "trip_id", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(String(36), unique=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    device: Mapped[str] = mapped_column(String(64))
    stop: Mapped[int] = mapped_column(SmallInteger)  # the stop position the bus was at
    scanned_at: Mapped[datetime]  # the phone's clock for an offline scan, else the server's
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[str] = mapped_column(String(20))
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    undone_at: Mapped[datetime | None]

    ticket: Mapped[Ticket | None] = relationship()
