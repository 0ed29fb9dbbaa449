"""Payments and refunds are records with states; idempotency keys and provider webhooks are stored
so that nothing is charged, applied or forgotten twice."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin, one_of, utcnow
from app.extensions import db
from app.payments.rules import OPEN_PAYMENT_STATUSES, PAYMENT_STATUSES, PROVIDERS, REFUND_REASONS, REFUND_STATUSES

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.booking.models import Order, Ticket


_OPEN = text(one_of("status", OPEN_PAYMENT_STATUSES))


class Payment(TimestampMixin, db.Model):
    """One attempt to pay an order through one provider."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(one_of("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint(one_of("provider", PROVIDERS), name="provider"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_amount"),
        # One attempt under way per order: a second one, whatever its key, is refused by the database.
        Index("uq_payments_order_id_open", "order_id", unique=True, postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_payments_status_next_check_at", "status", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(36), unique=True)  # ours, sent to the provider (uuid4)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the payer's account
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # staff taking cash
    provider: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="initiated")
    amount: Mapped[int]  # the order's currency, minor units
    currency: Mapped[str] = mapped_column(String(3))
    provider_amount: Mapped[str] = mapped_column(String(20))  # exactly as sent, e.g. "4.20"
    provider_currency: Mapped[str] = mapped_column(String(3))
    provider_order_id: Mapped[str | None] = mapped_column(String(64), index=True)  # PayPal's order id
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))  # MoMo's, or PayPal's capture
    payer_phone: Mapped[str | None] = mapped_column(String(16))
    approve_url: Mapped[str | None] = mapped_column(String(500))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    refunded_amount: Mapped[int] = mapped_column(default=0)
    settled_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PAYMENT_STATUSES


class Refund(TimestampMixin, db.Model):
    """Money going back to a payer, for one ticket or for a whole payment that found no seats."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(one_of("status", REFUND_STATUSES), name="status"),
        CheckConstraint(one_of("reason", REFUND_REASONS), name="reason"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_refunds_status_next_check_at", "status", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(36), unique=True)  # ours, sent to the provider
    # What the refund is for ("ticket:12", "payment:7"): an event delivered twice refunds once.
    purpose: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    provider_amount: Mapped[str] = mapped_column(String(20))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    settled_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(default=0)

    payment: Mapped[Payment] = relationship(back_populates="refunds")
    ticket: Mapped[Ticket | None] = relationship()


class IdempotencyKey(db.Model):
    """The durable record of a client's idempotency key: written in the same transaction as the
    payment it started, unique per user, so a flushed Redis can never let a request run twice."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        CheckConstraint("state IN ('running', 'done')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # of method, path and body
    state: Mapped[str] = mapped_column(String(8), default="running")
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WebhookEvent(db.Model):
    """A provider's notification as received (after its signature checked out), processed by a job."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(100))  # the provider's id: a redelivery is the same event
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(300))
