"""Customer portal at ``/``: public pages for everyone, account pages for signed-in users."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, send_from_directory, url_for
from flask_babel import gettext as _

from app.accounts.views.portal import blueprint as accounts
from app.booking.views.guests import blueprint as guests
from app.booking.views.portal import blueprint as booking
from app.companies import queries as companies
from app.companies.views.portal import blueprint as brands
from app.core.htmx import render
from app.notifications.views.portal import bell_context
from app.notifications.views.portal import blueprint as notifications
from app.payments.views.portal import blueprint as payments
from app.tracking.views.portal import blueprint as tracking
from app.web.surface import make_surface, public

blueprint = make_surface("portal", "/", admits=lambda user: user)
home = Blueprint("home", __name__)


@home.get("/")
@public
def index():
    from app.booking.forms import SearchForm

    form = SearchForm(formdata=None)
    form.operator.choices = {"": _("All operators")}
    return render(
        "home/portal/index.html",
        form=form,
        operators=companies.active_companies(),
        stations=companies.stations_by_city(),
    )


@home.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico whatever the page says; the layouts also link the SVG."""
    return send_from_directory(current_app.static_folder + "/img", "favicon.ico", max_age=7 * 86400)


@home.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest: the name, icons and colours a phone uses when the site is added to
    its home screen (linked from every layout)."""
    icons = [
        {"src": url_for("static", filename="img/favicon.svg"), "type": "image/svg+xml", "sizes": "any"},
        {"src": url_for("static", filename="img/icon-192.png"), "type": "image/png", "sizes": "192x192"},
        {"src": url_for("static", filename="img/icon-512.png"), "type": "image/png", "sizes": "512x512"},
        {
            "src": url_for("static", filename="img/icon-maskable-512.png"),
            "type": "image/png",
            "sizes": "512x512",
            "purpose": "maskable",
        },
    ]
    response = jsonify(
        name=_("TMS bus tickets"),
        short_name="TMS",
        description=_("Inter-city bus tickets in Rwanda, paid by mobile money."),
        start_url="/",
        scope="/",
        display="standalone",
        background_color="#f6f7f9",
        theme_color="#0a6650",
        icons=icons,
    )
    response.mimetype = "application/manifest+json"
    response.vary.add("Accept-Language")  # the name is in the visitor's language
    return response


blueprint.register_blueprint(home)
blueprint.register_blueprint(accounts)
blueprint.register_blueprint(booking)
blueprint.register_blueprint(guests)
blueprint.register_blueprint(payments)
blueprint.register_blueprint(notifications)
blueprint.register_blueprint(tracking)
blueprint.register_blueprint(brands)
blueprint.context_processor(bell_context)  # the bell in the portal layout
