"""Super-admin dashboard at ``/admin`` for the platform's own staff."""

from __future__ import annotations

from app.companies.views.admin import blueprint as companies
from app.notifications.views.admin import blueprint as notifications
from app.payments.views.admin import blueprint as payments
from app.system.views.admin import blueprint as system
from app.web.styleguide import blueprint as styleguide
from app.web.surface import make_surface

blueprint = make_surface("admin", "/admin", admits=lambda user: user if user.is_super_admin else None)
blueprint.register_blueprint(companies)
blueprint.register_blueprint(payments)
blueprint.register_blueprint(notifications)
blueprint.register_blueprint(system)
blueprint.register_blueprint(styleguide)
