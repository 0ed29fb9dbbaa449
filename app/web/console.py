"""Company console at ``/console`` for company admins and dispatchers of one company."""

from __future__ import annotations

from app.accounts.rules import CONSOLE_ROLES
from app.audit.views.console import blueprint as audit
from app.companies.views.console import blueprint as companies
from app.fleet.views.console import blueprint as fleet
from app.notifications.views.console import blueprint as notifications
from app.payments.views.console import blueprint as payments
from app.tracking.views.console import blueprint as tracking
from app.web.styleguide import blueprint as styleguide
from app.web.surface import company_member, make_surface

blueprint = make_surface("console", "/console", admits=company_member(CONSOLE_ROLES))
blueprint.register_blueprint(companies)
blueprint.register_blueprint(fleet)
blueprint.register_blueprint(audit)
blueprint.register_blueprint(payments)
blueprint.register_blueprint(notifications)
blueprint.register_blueprint(tracking)
blueprint.register_blueprint(styleguide)
