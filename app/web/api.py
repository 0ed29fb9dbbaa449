"""JSON API at ``/api/v1`` for devices and partners, authenticated by short-lived bearer tokens.

Token-authenticated, so ``core.security`` skips the CSRF check here: a browser never sends the
bearer header by itself, and bodies must be JSON (``core.schema`` answers 415 otherwise), which a
cross-site form cannot send; only the OsmAnd endpoint also takes forms, and a position is all
they can carry. Every endpoint declares its messages with ``core.schema.operation``.
"""

from __future__ import annotations

import jwt
from flask import request

from app.accounts import queries as accounts
from app.accounts.views.api import blueprint as accounts_api
from app.booking.views.api import blueprint as booking_api
from app.core.errors import NotAuthenticated
from app.core.security import read_token
from app.payments.views.api import blueprint as payments_api
from app.tracking.views.api import blueprint as tracking_api
from app.web.openapi import blueprint as openapi
from app.web.surface import make_surface


def bearer_user():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Send a bearer token from POST /api/v1/auth/token.")
    try:
        claims = read_token(token)
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticated("The bearer token is invalid or expired.") from exc
    user = accounts.active_user_for_token(claims)
    if user is None:
        raise NotAuthenticated("The bearer token is no longer valid.")
    return user


blueprint = make_surface("api", "/api/v1", admits=lambda user: user, identify=bearer_user)

blueprint.register_blueprint(accounts_api)
blueprint.register_blueprint(booking_api)
blueprint.register_blueprint(payments_api)
blueprint.register_blueprint(tracking_api)
blueprint.register_blueprint(openapi)
