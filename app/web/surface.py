"""Surfaces are parent blueprints that deny by default.

Every endpoint under a surface needs a signed-in user whom the surface admits, unless its view is
marked :func:`public`. Domains hang child blueprints under a surface, so endpoints read
``surface.domain.action``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, current_app, g, request, session
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import Forbidden, NotAuthenticated
from app.core.models import utcnow

# Requests an open page makes by itself: the portal's bell and the console's live lists poll, and
# sockets reconnect. They keep a page live but are not the person's activity, so they never renew
# a session: a console left open on a screen still reaches its idle limit.
BACKGROUND_ENDPOINTS = frozenset({"portal.notifications.bell", "console.tracking.fleet_live"})


def public(view: Callable) -> Callable:
    """Let anonymous visitors reach this view."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


GUEST_KEY = "guest_key"  # the session's key for a guest buyer (no account): see booking.services.guests


def current_guest():
    """The guest buyer this browser's session names, or None."""
    from app.booking.services.holds import Guest

    key = session.get(GUEST_KEY)
    return Guest(key) if isinstance(key, str) and key else None


def guests_welcome(view: Callable) -> Callable:
    """A buyer's page for signed-in users and for guests who began a booking in this browser: the
    view finds its buyer in ``g.user`` (a user, or a :class:`~app.booking.services.holds.Guest`
    whose holds and orders are the only ones it can load). Anyone else is asked to sign in, as
    by any guarded view."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        buyer = session_user() or current_guest()
        if buyer is None:
            raise NotAuthenticated()
        g.user = buyer
        return view(*args, **kwargs)

    guarded.is_public = True  # type: ignore[attr-defined]  (the check is here, not in the surface guard)
    guarded.guests_welcome = True  # type: ignore[attr-defined]
    return guarded


def is_public(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    return view is None or getattr(view, "is_public", False)


def company_member(roles):
    """``admits`` for company surfaces: the caller's membership with one of ``roles``, in the
    company chosen this session if it qualifies."""
    from app.accounts.queries import membership_for

    return lambda user: membership_for(user, roles, session.get("company_id"))


def requires_role(*roles) -> Callable:
    """Narrow a view to members with one of ``roles`` (the surface already admitted them)."""
    allowed = {str(role) for role in roles}

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if getattr(g.access, "role", None) not in allowed:
                raise Forbidden(_("Only a company admin can open this page."))
            return view(*args, **kwargs)

        guarded.required_roles = allowed  # type: ignore[attr-defined]  (read by the surface tests)
        return guarded

    return decorate


def session_user():
    """The user signed in through the browser session, or None."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def load_session_user(token: str):
    """Flask-Login's user loader, run once per request that asks who is signed in (surfaces,
    sockets before their handshake): the cookie's token must name a live, unrevoked session.
    The session found is kept as ``g.signed_in`` for the account pages."""
    from app.accounts.rules import SessionPolicy
    from app.accounts.services import resume_session

    endpoint = request.endpoint or ""
    found = resume_session(
        token,
        now=utcnow(),
        policy=SessionPolicy.from_config(current_app.config),
        active=endpoint not in BACKGROUND_ENDPOINTS and not endpoint.startswith("ws."),
    )
    g.signed_in = found
    return found.session.user if found else None


def make_surface(
    name: str,
    url_prefix: str,
    admits: Callable[[object], object],
    identify: Callable[[], object] = session_user,
) -> Blueprint:
    """A surface. ``identify()`` finds the caller; ``admits(user)`` returns a truthy access
    context (kept as ``g.access``, e.g. the membership that grants entry) or None."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)

    @blueprint.before_request
    def guard() -> None:
        if is_public(request.endpoint):
            return
        user = identify()
        if user is None:
            raise NotAuthenticated()
        access = admits(user)
        if not access:
            raise Forbidden()
        g.user = user
        g.access = access

    return blueprint
