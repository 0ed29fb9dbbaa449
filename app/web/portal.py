"""Customer portal at ``/``: public pages for everyone, account pages for signed-in users."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _

from app.accounts.views.portal import blueprint as accounts
from app.booking.views.portal import blueprint as booking
from app.companies import queries as companies
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
    operators = companies.active_companies()
    form.operator.choices = {"": _("All operators"), **{str(c.id): c.name for c in operators}}
    return render(
        "home/portal/index.html",
        form=form,
        operators=operators,
        stations=companies.stations_by_city(),
    )


blueprint.register_blueprint(home)
blueprint.register_blueprint(accounts)
blueprint.register_blueprint(booking)
blueprint.register_blueprint(payments)
blueprint.register_blueprint(notifications)
blueprint.register_blueprint(tracking)
blueprint.context_processor(bell_context)  # the bell in the portal layout
