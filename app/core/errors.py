"""The DomainError family and the one table that turns errors into responses (STYLE.md §11)."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict
from werkzeug.exceptions import HTTPException

from app.core import htmx, tx

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the business refused the request. Subclasses name the rule.

    Messages are for people, in the request's language: the class's own is marked with
    ``lazy_gettext`` and read when the error is raised; a service passes its own with ``gettext``.
    The JSON API's requests are always English (``core.i18n.select_language``), so machine
    clients read the same sentences whatever their Accept-Language."""

    status = 409
    code = "conflict"
    message = _l("This action conflicts with the current state.")

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None):
        self.message = str(message or self.message)
        super().__init__(self.message)
        self.fields = {name: [str(text) for text in texts] for name, texts in (fields or {}).items()}


class InvalidInput(DomainError):
    status = 422
    code = "invalid"
    message = _l("Some fields need attention.")


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "Send the request body as JSON (Content-Type: application/json)."  # the API only: English


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    message = _l("Please sign in to continue.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = _l("You do not have access to this page.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = _l("We could not find that.")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    message = _l("Too many attempts. Please wait a minute and try again.")

    def __init__(self, message: str | None = None, *, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


class ErrorDetail(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    code: str
    """What went wrong, for programs: ``invalid``, ``not_found``, ``seat_unavailable``..."""
    message: str
    """What went wrong, for people."""
    fields: dict[str, list[str]] = {}
    """Messages by the request's field names, when fields were at fault."""


class ErrorBody(BaseModel):
    """Every refusal of the JSON API."""

    error: ErrorDetail


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.blueprints[-1:] == ["api"]  # API views also served elsewhere (trackers' /osmand)
        or request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Response:
    """Render one error for whoever asked: JSON client, htmx request or full page."""
    if wants_json():
        body = ErrorBody(error=ErrorDetail(code=code, message=message, fields=fields or {}))
        response = current_app.json.response(body.model_dump(mode="json"))
        response.status_code = status
    elif status == 401:
        login = url_for("portal.accounts.login", next=request.full_path.rstrip("?"))
        response = Response(status=401, headers={"HX-Redirect": login}) if htmx.is_htmx() else redirect(login)
    elif htmx.is_htmx():
        response = htmx.toast(message, level="error", status=status)
    else:
        response = Response(render_template("errors/error.html", status=status, message=message), status=status)
    return response


def _domain(error: DomainError) -> Response:
    tx.rollback()
    response = error_response(error.status, error.code, error.message, error.fields)
    if getattr(error, "retry_after", None):  # rate limits, requests still running
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _http(error: HTTPException) -> Response:
    tx.rollback()
    status = error.code or 500
    if isinstance(error, CSRFError):
        return error_response(400, "csrf", _("Your session expired. Reload the page and try again."))
    if status < 500:
        message = {404: _("We could not find that page."), 405: _("That action is not allowed here.")}.get(
            status, error.description or _("Bad request.")
        )
        return error_response(status, (error.name or "error").lower().replace(" ", "_"), message)
    return _server_error(error)


def _server_error(error: Exception) -> Response:
    tx.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return error_response(500, "server_error", _("Something went wrong on our side. Please try again."))


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _server_error)
