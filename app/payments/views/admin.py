"""The platform's money for the super admin: every company's payments and refunds, and what needs a
person (payments held for review, refunds that failed)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request
from sqlalchemy import select

from app.core.edge import db_id
from app.core.htmx import render
from app.extensions import db
from app.payments import queries
from app.payments.models import Payment, Refund
from app.payments.rules import PAYMENT_STATUSES, PROVIDERS
from app.payments.views.console import csv_response, payment_filter

blueprint = Blueprint("payments", __name__)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


@blueprint.get("/payments")
def payment_list():
    where = payment_filter(request.args.get("company", type=db_id))
    rows, more = queries.payments(where, _zone())
    attention = list(
        db.session.scalars(select(Payment).where(Payment.status == "mismatch").order_by(Payment.id.desc()).limit(50))
    )
    failed = list(
        db.session.scalars(select(Refund).where(Refund.status == "failed").order_by(Refund.id.desc()).limit(50))
    )
    return render(
        "payments/admin/index.html",
        "results",
        payments=rows,
        more=more,
        where=where,
        totals=queries.totals(where, _zone()),
        companies=queries.company_names(),
        attention=attention,
        failed_refunds=failed,
        statuses=PAYMENT_STATUSES,
        providers=PROVIDERS,
    )


@blueprint.get("/payments.csv")
def payment_csv():
    rows, _ = queries.payments(payment_filter(request.args.get("company", type=db_id)), _zone(), limit=None)
    return csv_response(queries.csv_export(rows, _zone(), queries.company_names()), "payments-all.csv")
