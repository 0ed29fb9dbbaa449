"""Live maps for passengers: on their ticket page while the trip runs, and at a share link that
anyone may open (no account) until it ends.

The map itself is livemap.js on /ws/trips/<id>; these pages render every fact as text first, so
they say where the bus is and when it comes even when the map's tiles cannot load.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, url_for
from flask_babel import gettext as _

from app.booking import queries as booking_queries
from app.booking.models import Ticket
from app.core.htmx import is_htmx, render
from app.core.models import utcnow
from app.fleet.models import Trip
from app.fleet.rules import TripStatus
from app.tracking import queries, services
from app.tracking.forms import ShareForm
from app.tracking.models import ShareLink
from app.web.surface import public

blueprint = Blueprint("tracking", __name__)


def trip_socket(trip: Trip, token: str | None = None) -> str:
    return f"/ws/trips/{trip.id}" + (f"?share={token}" if token else "")


def _live(trip: Trip, *, board: int, alight: int, socket: str, now: datetime) -> dict:
    """The map's context: the latest fix on this trip and the outlook at the two stops."""
    position = queries.trip_position(trip)
    return {
        "trip": trip,
        "position": position,
        "age": None if position is None else max(int(now.timestamp() - position["ts"] / 1000), 0),
        "stale_seconds": queries.stale_seconds(),
        "board": board,
        "alight": alight,
        "outlooks": {
            "board": queries.outlook(trip, position, board, boarding=True),
            "alight": queries.outlook(trip, position, alight, boarding=False),
        },
        "data": queries.map_data(trip, position, board=board, alight=alight, socket=socket),
    }


def _shares(ticket: Ticket, now: datetime, **extra) -> dict:
    return {
        "ticket": ticket,
        "shares": queries.active_shares(ticket.id, g.user.id, now),
        "share_form": extra.pop("form", None) or ShareForm(formdata=None),
        "share_url": lambda link: current_app.config["BASE_URL"] + url_for("portal.tracking.watch", token=link.token),
        **extra,
    }


def live_section(ticket: Ticket, now: datetime, *, guest_token: str | None = None) -> dict | None:
    """For the ticket page: the live map and share links of a paid ticket whose trip has not ended.
    A guest's page (``guest_token``, their magic link) has the map, its socket opened with the link."""
    if ticket.status != "paid" or ticket.trip.status not in queries.WATCHABLE:
        return None
    trip = ticket.trip
    socket = f"/ws/trips/{trip.id}?token={guest_token}" if guest_token else trip_socket(trip)
    live = _live(trip, board=ticket.origin_position, alight=ticket.destination_position, socket=socket, now=now)
    if guest_token:
        return {"live": live, "guest": True}
    return {"live": live, **_shares(ticket, now)}


# --- Share links ---------------------------------------------------------------------------------


def _share_links(ticket: Ticket, *, status: int = 200, message: str, **extra) -> Response:
    """The share links card for htmx; the ticket page again otherwise."""
    if is_htmx():
        return render("tracking/portal/_share_links.html", status=status, **_shares(ticket, utcnow(), **extra))
    flash(message, "success" if status < 400 else "error")
    return redirect(url_for("portal.booking.ticket", code=ticket.code, _anchor="share-links"), 303)


@blueprint.post("/tickets/<code>/shares")
def share(code: str):
    ticket = booking_queries.ticket_for_user(g.user, code)
    form = ShareForm()
    if not form.validate_on_submit():
        return _share_links(ticket, status=422, message=_("Choose how long to share for."), form=form)
    now = utcnow()
    link = services.share(g.user, ticket, hours=form.hours(ticket.trip, now), now=now)
    return _share_links(ticket, message=_("Share link created: copy it below."), new_link=link)


@blueprint.post("/tickets/<code>/shares/<int:link_id>/revoke")
def revoke(code: str, link_id: int):
    ticket = booking_queries.ticket_for_user(g.user, code)
    link = queries.share_link_for_user(g.user, ticket, link_id)
    services.revoke_share(g.user, link.id, now=utcnow())
    return _share_links(ticket, message=_("Link revoked: it no longer works."), revoked=True)


# --- The page behind a share link ----------------------------------------------------------------


def _why_ended(link: ShareLink, trip: Trip | None) -> str:
    if link.revoked_at is not None:
        return "revoked"
    if trip is None or trip.status == TripStatus.CANCELLED:
        return "cancelled"
    if trip.status == TripStatus.ARRIVED:
        return "arrived"
    return "expired"


@blueprint.get("/live/<token>")
@public
def watch(token: str):
    """Anyone with the link: the trip's route, bus and ETAs; nothing about the passenger."""
    now = utcnow()
    link = queries.share_by_token(token)
    if link is None:
        abort(404)
    trip, ticket = link.trip, link.ticket
    if services.valid_share(token, now) is None:
        return render("tracking/portal/share_ended.html", status=410, why=_why_ended(link, trip), link=link)
    live = _live(
        trip,
        board=ticket.origin_position,
        alight=ticket.destination_position,
        socket=trip_socket(trip, token),
        now=now,
    )
    response = render("tracking/portal/shared.html", live=live, link=link)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
