"""Reading payments and refunds: a payer's own (``payment_for_user``, the only way a portal or API
view loads a payment by its reference), and the company's and the platform's money pages."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.booking.models import Order
from app.companies.models import Company
from app.core.errors import NotFound
from app.extensions import db
from app.payments.models import Payment, Refund

PAGE_SIZE = 50


def payment_for_user(user, reference: str) -> Payment:
    """``user``'s own payment ``reference`` (a guest's: of an order their browser placed); anyone
    else's is not found."""
    from app.booking.services.holds import is_guest

    query = select(Payment).where(Payment.reference == reference)
    if is_guest(user):
        query = query.join(Order, Order.id == Payment.order_id).where(Order.guest_key == user.key)
    else:
        query = query.where(Payment.user_id == user.id)
    payment = db.session.scalar(query)
    if payment is None:
        raise NotFound(_("No such payment."))
    return payment


def payments_of_order(order: Order) -> list[Payment]:
    """Every attempt to pay ``order``, oldest first (the order page's list)."""
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)))


def refund_for_company(company: Company, reference: str) -> Refund:
    """Refund ``reference`` if ``company`` owes it; another company's is not found."""
    refund = db.session.scalar(select(Refund).where(Refund.reference == reference, Refund.company_id == company.id))
    if refund is None:
        raise NotFound(_("No such refund."))
    return refund


@dataclass(frozen=True)
class PaymentFilter:
    company_id: int | None = None  # None: the whole platform
    status: str = ""
    provider: str = ""
    order: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1


def _where(query, model, where: PaymentFilter, zone: ZoneInfo):
    if where.company_id is not None:
        query = query.where(model.company_id == where.company_id)
    if where.status:
        query = query.where(model.status == where.status)
    if where.order:
        query = query.where(model.order_id.in_(select(Order.id).where(Order.code == where.order.upper())))
    if where.since:
        query = query.where(model.created_at >= datetime.combine(where.since, datetime.min.time(), zone))
    if where.until:
        query = query.where(
            model.created_at < datetime.combine(where.until + timedelta(days=1), datetime.min.time(), zone)
        )
    return query


def payments(where: PaymentFilter, zone: ZoneInfo, *, limit: int | None = PAGE_SIZE) -> tuple[list[Payment], bool]:
    """Newest first, one page (``limit=None``: all, for exports), and whether more follow."""
    query = _where(select(Payment), Payment, where, zone).options(joinedload(Payment.order))
    if where.provider:
        query = query.where(Payment.provider == where.provider)
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc())
    if limit is None:
        return list(db.session.scalars(query)), False
    rows = list(db.session.scalars(query.offset((max(where.page, 1) - 1) * limit).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def refunds(where: PaymentFilter, zone: ZoneInfo, *, limit: int = PAGE_SIZE) -> list[Refund]:
    query = _where(select(Refund), Refund, PaymentFilter(**{**where.__dict__, "status": ""}), zone)
    query = query.options(joinedload(Refund.payment).joinedload(Payment.order))
    return list(db.session.scalars(query.order_by(Refund.created_at.desc(), Refund.id.desc()).limit(limit)))


def totals(where: PaymentFilter, zone: ZoneInfo) -> dict[str, int]:
    """Money in and out for the filter: received (succeeded payments) and refunded."""
    received = db.session.scalar(
        _where(select(func.coalesce(func.sum(Payment.amount), 0)), Payment, where, zone).where(
            Payment.status == "succeeded"
        )
    )
    refunded = db.session.scalar(
        _where(
            select(func.coalesce(func.sum(Refund.amount), 0)),
            Refund,
            PaymentFilter(**{**where.__dict__, "status": ""}),
            zone,
        ).where(Refund.status == "succeeded")
    )
    return {"received": received, "refunded": refunded, "net": received - refunded}


def company_names() -> dict[int, str]:
    return dict(db.session.execute(select(Company.id, Company.name)).all())


def csv_export(rows: list[Payment], zone: ZoneInfo, companies: dict[int, str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["created", "reference", "order", "provider", "status", "amount", "currency"]
    header += ["provider_amount", "provider_currency", "provider_transaction", "refunded", "settled", "failure"]
    writer.writerow((["company"] if companies else []) + header)
    for p in rows:
        line = [
            p.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            p.reference,
            p.order.code,
            p.provider,
            p.status,
            p.amount,
            p.currency,
            p.provider_amount,
            p.provider_currency,
            p.provider_transaction_id or "",
            p.refunded_amount,
            p.settled_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if p.settled_at else "",
            _safe(p.failure_reason or ""),
        ]
        writer.writerow(([companies.get(p.company_id, "")] if companies else []) + line)
    return out.getvalue()


def _safe(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: never from our exports."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
