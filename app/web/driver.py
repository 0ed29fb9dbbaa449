"""Driver's mobile page at ``/driver``: today's trips, starting and ending them, sharing the
bus's position while one runs, and boarding its passengers (scanning their tickets)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, request

from app.accounts.rules import Role
from app.booking.views.driver import blueprint as boarding
from app.tracking.views.driver import blueprint as tracking
from app.tracking.views.driver import today_page
from app.web.surface import company_member, make_surface

blueprint = make_surface("driver", "/driver", admits=company_member({Role.DRIVER}))
home = Blueprint("home", __name__)


@home.get("/")
def index():
    return today_page()


@home.get("/sw.js")
def worker():
    """The service worker of the driver's pages (static/js/driver-sw.js). Served from here because a
    worker answers only for pages under its own folder; checked again on every visit, so a new one
    reaches the phones at once."""
    script = Path(current_app.static_folder, "js", "driver-sw.js").read_bytes()  # a few kB
    response = current_app.response_class(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


blueprint.register_blueprint(home)
blueprint.register_blueprint(tracking)
blueprint.register_blueprint(boarding)
