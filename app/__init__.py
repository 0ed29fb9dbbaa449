"""TMS: one Flask app for passengers, operators, drivers, station agents and platform admins."""

from __future__ import annotations

from flask import Flask, Response
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from app.core import logs


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides what the environment says (tests use it)."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(settings.load((config or {}).get("TMS_ENV")))
    app.config.update(config or {})
    logs.configure(redact_tokens=app.config["LOG_REDACT_TOKENS"])

    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    _init_extensions(app)
    _init_boundary(app)
    _init_templates(app)

    from app import cli, web
    from app.core import edge, errors, security

    errors.init_app(app)
    edge.init_app(app)  # before any route: converters, JSON depth, control characters
    security.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)
    from app.core.models import render_migration_item
    from app.extensions import csrf, db, login_manager, migrate, redis_binding
    from app.notifications import jobs as notification_jobs  # noqa: F401  (subscribes messages to events)
    from app.payments import jobs  # noqa: F401  (subscribes refunds to cancellations)
    from app.tracking import jobs as tracking_jobs  # noqa: F401  (takes ended trips off the live map)
    from app.web.surface import load_session_user

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        settings.INSTANCE_DIR.mkdir(exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True, render_item=render_migration_item)
    csrf.init_app(app)
    redis_binding.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "portal.accounts.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)


def _init_boundary(app: Flask) -> None:
    """One commit per request: kept for answers below 400, rolled back for the rest."""
    from app.core import tx
    from app.core.errors import error_response

    @app.after_request
    def finish_transaction(response: Response) -> Response:
        if response.status_code >= 400:
            tx.rollback()
            return response
        try:
            tx.commit()
        except IntegrityError:
            tx.rollback()
            app.logger.exception("commit refused by a database constraint")
            return error_response(409, "conflict", _("Someone else changed this at the same time. Please try again."))
        return response


def _init_templates(app: Flask) -> None:
    # Messages to people are marked for translation with _() and {% trans %}; dates, times and
    # money are formatted per language (app/core/i18n.py).
    from app.core import i18n

    i18n.init_app(app)

    from app.payments.rules import PAYMENT_STATUS_LABELS, PROVIDER_LABELS, REFUND_STATUS_LABELS

    app.add_template_filter(lambda name: PROVIDER_LABELS.get(name, name), "provider_label")
    app.add_template_filter(lambda status: PAYMENT_STATUS_LABELS.get(status, status), "payment_status")
    app.add_template_filter(lambda status: REFUND_STATUS_LABELS.get(status, status), "refund_status")
