"""The surfaces (six for people, one for their websockets) and the app-level health endpoints."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.web import admin, api, console, driver, health, portal, pos, sockets

    for surface in (portal, console, admin, driver, pos, api, sockets):
        app.register_blueprint(surface.blueprint)
    app.register_blueprint(health.blueprint)
