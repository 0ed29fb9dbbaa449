"""Account views, and the device cookie both the portal and the API set at a sign-in."""

from __future__ import annotations

from flask import Response, current_app, request

from app.accounts import services

DEVICE_COOKIE = "tms_device"


def known_device() -> str | None:
    """The browser's device cookie, if it sent one (``services.authenticate`` judges it)."""
    return request.cookies.get(DEVICE_COOKIE)


def remember_device(response: Response, user) -> Response:
    """Mark this browser as one that signed in to ``user``, so strangers' failures never lock it out."""
    response.set_cookie(
        DEVICE_COOKIE,
        services.device_token(user),
        max_age=current_app.config["LOGIN_DEVICE_DAYS"] * 86400,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
