"""The company's delivery log in the console: every SMS and email sent about its trips and
bookings, what failed and why, and sending a failed one again. Records of other companies answer
404. The super admin's log (``views/admin.py``) shares these helpers and the templates."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.audit.services import record
from app.core.edge import has_control
from app.core.errors import DomainError
from app.core.htmx import is_htmx, render
from app.fleet.queries import company_object_or_404
from app.notifications import admin_queries as queries
from app.notifications import services
from app.notifications.models import Notification
from app.notifications.rules import CHANNEL_LABELS, KIND_LABELS, LOG_PROVIDER, NEEDS_ATTENTION, STATUS_LABELS

blueprint = Blueprint("notifications", __name__)


class NotRetryable(DomainError):
    code = "not_retryable"
    message = _l("This message is not waiting for a retry: it was sent, or it is on its way.")


def log_context(surface: str, where: queries.LogFilter, companies: dict[int, str] | None = None) -> dict:
    """What the shared templates need: the surface whose endpoints they link to, the labels, the
    list to come back to, and the company names (the admin's log only)."""
    return {
        "surface": surface,
        "labels": {"kind": KIND_LABELS, "channel": CHANNEL_LABELS, "status": STATUS_LABELS},
        "attention": NEEDS_ATTENTION,
        "log_provider": LOG_PROVIDER,
        "back": url_for(f"{surface}.notifications.notification_list", **where.args()),
        "companies": companies,
        "retry_at_once": queries.RETRY_AT_ONCE,
    }


def list_page(template: str, log: dict, where: queries.LogFilter, *, company_id: int | None) -> Response:
    """One page of the log; the header counts what needs attention in ``company_id`` (None: all)."""
    rows, more = queries.records(where)
    return render(
        template,
        "results",
        notifications=rows,
        more=more,
        where=where,
        log=log,
        retryable=queries.count_needing_attention(where),
        attention_total=queries.attention_total(company_id),
    )


def detail_page(template: str, log: dict, notification: Notification) -> Response:
    context = json.dumps(notification.context, indent=2, ensure_ascii=False, sort_keys=True)
    return render(template, notification=notification, context=context, log=log)


def retry_by_hand(actor, notification: Notification) -> None:
    """Send a failed or given-up record again, on the audit log of the record's company."""
    before = {"status": notification.status, "attempts": notification.attempts}
    if not services.retry(notification):
        raise NotRetryable()
    label = f"{KIND_LABELS[notification.kind]} {CHANNEL_LABELS[notification.channel]}"
    record(
        actor,
        "notification.retried",
        notification,
        f"{label} to {notification.address} sent again",
        company_id=notification.company_id,
        before=before,
        after={"status": notification.status, "attempts": notification.attempts},
    )


def back_to(log: dict) -> str:
    """The page the retry came from (the list with its filters, or a record's page); nothing else."""
    target = request.form.get("next", "")
    ours = target.startswith(url_for(f"{log['surface']}.notifications.notification_list")) and not has_control(target)
    return target if ours else log["back"]


def retried(log: dict, notification: Notification) -> Response:
    """htmx swaps the record's row; a plain form goes back where it came from."""
    if is_htmx():
        return render("notifications/_row.html", n=notification, log={**log, "back": back_to(log)})
    flash(_("Sending again to %(address)s.", address=notification.address), "success")
    return redirect(back_to(log), 303)


def retried_all(actor, log: dict, where: queries.LogFilter) -> Response:
    """Send again every failed or given-up record the filter shows, a bounded batch at a time."""
    batch = queries.needing_attention(where)
    for notification in batch:
        retry_by_hand(actor, notification)
    left = queries.count_needing_attention(where) - len(batch)
    sending = ngettext("Sending %(num)d message again.", "Sending %(num)d messages again.", len(batch))
    if left > 0:
        sending += " " + ngettext(
            "%(num)d more needs attention: press again to send it.",
            "%(num)d more need attention: press again to send them.",
            left,
        )
    flash(sending, "success")
    return redirect(log["back"], 303)


# --- Console ------------------------------------------------------------------------------------


def _where(args) -> queries.LogFilter:
    return queries.LogFilter.from_args(args, company_id=g.access.company.id)


def _record(notification_id: int) -> Notification:
    return company_object_or_404(Notification, g.access.company, notification_id)


@blueprint.get("/notifications")
def notification_list():
    where = _where(request.args)
    log = log_context("console", where)
    return list_page("notifications/console/index.html", log, where, company_id=g.access.company.id)


@blueprint.get("/notifications/<int:notification_id>")
def notification_detail(notification_id: int):
    where = _where({})
    return detail_page("notifications/console/detail.html", log_context("console", where), _record(notification_id))


@blueprint.post("/notifications/<int:notification_id>/retry")
def notification_retry(notification_id: int):
    notification = _record(notification_id)
    retry_by_hand(g.user, notification)
    return retried(log_context("console", _where({})), notification)


@blueprint.post("/notifications/retry")
def notification_retry_all():
    where = _where(request.form)
    return retried_all(g.user, log_context("console", where), where)
