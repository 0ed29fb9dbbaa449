"""The portal's bell and inbox: what we told a signed-in customer, newest first, and where each
item leads."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, redirect, request, url_for

from app.core.edge import page_number
from app.core.htmx import render, wants_fragment
from app.core.models import utcnow
from app.notifications import queries, services
from app.notifications.rules import KIND_LABELS
from app.web.surface import public, session_user

blueprint = Blueprint("notifications", __name__)


def bell_context() -> dict:
    """For the portal layout: the signed-in user's unread count, counted only where the bell shows."""
    user = session_user()
    return {"unread_notifications": (lambda: services.unread_count(user.id)) if user else (lambda: 0)}


@blueprint.get("/notifications/bell")
@public  # a signed-out page polling here loses its bell instead of being sent to the login page
def bell():
    """The bell alone, polled by every portal page: 204 while the count shown is still right."""
    user = session_user()
    if user is None:
        return Response(status=200)
    unread = services.unread_count(user.id)
    if request.args.get("shown", type=int) == unread:
        return Response(status=204)
    return render("notifications/portal/_bell.html", unread=unread)


def _page() -> int:
    return request.values.get("page", 1, type=page_number)


def _inbox_page(*, bell_changed: bool = False) -> Response:
    items, more = queries.inbox(g.user.id, _page())
    return render(
        "notifications/portal/inbox.html",
        "inbox",
        items=items,
        more=more,
        page=_page(),
        unread=services.unread_count(g.user.id),
        bell_changed=bell_changed,
        kinds=KIND_LABELS,
    )


@blueprint.get("/notifications")
def inbox():
    return _inbox_page()


@blueprint.post("/notifications/read")
def mark_all_read():
    services.mark_read(g.user.id, now=utcnow())
    if wants_fragment():
        return _inbox_page(bell_changed=True)
    return redirect(url_for(".inbox", page=_page() if _page() > 1 else None), 303)


def _portal_path(link: str | None) -> str:
    """Items lead to our own pages only; anything else goes back to the inbox."""
    parts = urlsplit(link or "")
    if link and link.startswith("/") and not link.startswith("//") and not parts.netloc and "\\" not in link:
        return link
    return url_for(".inbox")


@blueprint.post("/notifications/<int:notification_id>/open")
def open_item(notification_id: int):
    item = queries.inbox_item(g.user.id, notification_id)
    if item is None:
        abort(404)
    services.mark_read(g.user.id, now=utcnow(), notification_id=item.id)
    return redirect(_portal_path(item.link), 303)
