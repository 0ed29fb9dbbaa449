"""The six surfaces and the app-level health endpoints."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.web import admin, api, console, driver, health, portal, pos

    for surface in (portal, console, admin, driver, pos, api):
        app.register_blueprint(surface.blueprint)
    app.register_blueprint(health.blueprint)
