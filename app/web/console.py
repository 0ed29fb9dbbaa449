"""Company console at ``/console`` for company admins and dispatchers of one company."""

from __future__ import annotations

from app.accounts.rules import CONSOLE_ROLES
from app.companies.views.console import blueprint as companies
from app.web.surface import company_member, make_surface

blueprint = make_surface("console", "/console", admits=company_member(CONSOLE_ROLES))
blueprint.register_blueprint(companies)
