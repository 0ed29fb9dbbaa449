"""An operator's brand for every page that shows it: the logo and a small stylesheet per company.

Both are public (search results and tickets show them) and named by a digest of their content, so
a browser keeps each one for a year and a change gets a new URL."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, request

from app.companies import queries
from app.companies.queries import Brand
from app.web.surface import public

blueprint = Blueprint("companies", __name__)

YEAR = 365 * 24 * 3600


def _cached(response: Response, version: str, asked: str) -> Response:
    """For good when the URL names the current version; a few minutes for an older one (a page
    cached before the change), which gets the current content. Kept by the browser only: a
    signed-in browser's response carries its refreshed session cookie, which no shared cache may
    hand to somebody else."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.max_age = YEAR if asked == version else 300
    if asked == version:
        response.cache_control.immutable = True
    response.set_etag(version)
    return response.make_conditional(request)


@blueprint.get("/brand/<code>/logo-<version>.png")
@public
def logo(code: str, version: str):
    found = queries.logo_of(code)
    if found is None:
        abort(404)
    png, current = found
    response = Response(png, mimetype="image/png")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return _cached(response, current, version)


@blueprint.get("/brand/<code>/<version>.css")
@public
def stylesheet(code: str, version: str):
    brand = queries.brand_by_code(code)
    if brand is None or brand.palette is None:
        abort(404)
    return _cached(Response(brand.stylesheet, mimetype="text/css"), brand.stylesheet_version, version)


@blueprint.app_context_processor
def brand_helpers() -> dict:
    """``operator_brand(name)`` for templates: the brands are read once per request."""

    def operator_brand(name: str) -> Brand | None:
        if "brands" not in g:
            g.brands = queries.brands_by_name()
        return g.brands.get(name)

    return {"operator_brand": operator_brand}
