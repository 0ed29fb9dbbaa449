"""The platform's delivery log for the super admin: every company's SMS and email records, what
needs attention (failed, gave up), and sending them again."""

from __future__ import annotations

from flask import Blueprint, g, request

from app.core.errors import NotFound
from app.notifications import admin_queries as queries
from app.notifications.models import Notification
from app.notifications.views.console import detail_page, list_page, log_context, retried, retried_all, retry_by_hand

blueprint = Blueprint("notifications", __name__)


def _record(notification_id: int) -> Notification:
    notification = queries.record_of(notification_id)
    if notification is None:
        raise NotFound()
    return notification


def _log(where: queries.LogFilter) -> dict:
    return log_context("admin", where, queries.company_names())


@blueprint.get("/notifications")
def notification_list():
    where = queries.LogFilter.from_args(request.args)
    return list_page("notifications/admin/index.html", _log(where), where, company_id=None)


@blueprint.get("/notifications/<int:notification_id>")
def notification_detail(notification_id: int):
    log = _log(queries.LogFilter())
    return detail_page("notifications/admin/detail.html", log, _record(notification_id))


@blueprint.post("/notifications/<int:notification_id>/retry")
def notification_retry(notification_id: int):
    notification = _record(notification_id)
    retry_by_hand(g.user, notification)
    return retried(_log(queries.LogFilter()), notification)


@blueprint.post("/notifications/retry")
def notification_retry_all():
    where = queries.LogFilter.from_args(request.form)
    return retried_all(g.user, _log(where), where)
