"""The sockets surface at ``/ws``: websockets for live positions.

Like every surface it denies by default (a signed-in user, unless a view is ``@public``); on top of
that an upgrade must come from one of our own pages (``Origin``), since browsers attach the session
cookie to a websocket opened by any site. Refusals are plain HTTP answers to the upgrade request,
given before any handshake.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from app.core.errors import DomainError, Forbidden
from app.core.sockets import refused
from app.tracking.views.sockets import blueprint as tracking
from app.web.surface import make_surface

blueprint = make_surface("ws", "/ws", admits=lambda user: user)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@blueprint.before_request
def same_origin() -> None:
    origin = (request.headers.get("Origin") or "").lower()
    if origin not in {_origin(request.host_url), _origin(current_app.config["BASE_URL"])}:
        raise Forbidden("This socket only opens from our own pages.")


blueprint.register_error_handler(DomainError, refused)
blueprint.register_blueprint(tracking)
