"""The company's money in the console. Admins: payments and refunds with filters and a CSV export,
cash refunds handed over. Admins and dispatchers: cash received at the office (``rules.CASH_ROLES``)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.audit.services import record
from app.booking import queries as booking_queries
from app.booking.errors import OrderNotPayable
from app.core import tx
from app.core.edge import day, page_number
from app.core.errors import InvalidInput, NotFound
from app.core.htmx import render
from app.core.models import utcnow
from app.payments import queries
from app.payments.rules import CASH_ROLES, MONEY_ROLES, PAYMENT_STATUSES, PROVIDERS
from app.payments.services import payments, refunds
from app.web.surface import requires_role

blueprint = Blueprint("payments", __name__)


def _date(name: str) -> date | None:
    return request.args.get(name, type=day)


def payment_filter(company_id: int | None) -> queries.PaymentFilter:
    return queries.PaymentFilter(
        company_id=company_id,
        status=request.args.get("status", "") if request.args.get("status") in PAYMENT_STATUSES else "",
        provider=request.args.get("provider", "") if request.args.get("provider") in PROVIDERS else "",
        order=request.args.get("order", "").strip()[:12],
        since=_date("since"),
        until=_date("until"),
        page=request.args.get("page", 1, type=page_number),
    )


def csv_response(body: str, name: str) -> Response:
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/payments")
@requires_role(*MONEY_ROLES)
def payment_list():
    company = g.access.company
    zone = ZoneInfo(company.timezone)
    where = payment_filter(company.id)
    rows, more = queries.payments(where, zone)
    return render(
        "payments/console/index.html",
        "results",
        payments=rows,
        more=more,
        where=where,
        refunds=queries.refunds(where, zone),
        totals=queries.totals(where, zone),
        statuses=PAYMENT_STATUSES,
        providers=PROVIDERS,
    )


@blueprint.get("/payments.csv")
@requires_role(*MONEY_ROLES)
def payment_csv():
    company = g.access.company
    zone = ZoneInfo(company.timezone)
    rows, _ = queries.payments(payment_filter(company.id), zone, limit=None)
    return csv_response(queries.csv_export(rows, zone), f"payments-{company.code}.csv")


@blueprint.get("/cash")
@requires_role(*CASH_ROLES)
def cash_desk(error: str | None = None, status: int = 200):
    """Cash at the office: a walk-up passenger pays for a booking waiting for payment."""
    return render("payments/console/cash.html", error=error, form=request.form, status=status)


@blueprint.post("/cash")
@requires_role(*CASH_ROLES)
def record_cash():
    company = g.access.company
    code = request.form.get("order", "").strip().upper()[:12]
    amount = request.form.get("amount", "").strip()
    try:
        order = booking_queries.order_for_company({company.id}, code)
        if not (amount.isascii() and amount.isdigit() and len(amount) <= 9):
            raise InvalidInput(_("Enter the amount received, in RWF."))
        payments.record_cash(g.user, order, amount=int(amount), now=utcnow())
    except NotFound:
        tx.rollback()
        return cash_desk(
            _("No booking %(code)s in %(company)s.", code=code or _("(blank)"), company=company.name), status=422
        )
    except (InvalidInput, OrderNotPayable) as error:
        tx.rollback()
        return cash_desk(" ".join(m for ms in error.fields.values() for m in ms) or error.message, status=error.status)
    flash(_("Cash recorded for order %(code)s: tickets issued.", code=order.code), "success")
    return redirect(url_for(".cash_desk"), 303)


@blueprint.post("/refunds/<reference>/paid-out")
@requires_role(*MONEY_ROLES)
def refund_paid_out(reference: str):
    refund = queries.refund_for_company(g.access.company, reference)
    refunds.pay_out_cash(refund, now=utcnow())
    record(g.user, "refund.paid_out", refund, f"Cash refund {refund.amount} handed over", company_id=refund.company_id)
    flash(_("Cash refund marked as handed over."), "success")
    return redirect(url_for(".payment_list"), 303)
