"""The fleet in the company console: network (routes, fares), buses, timetables, trips."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("fleet", __name__)

from app.fleet.views.console import buses, network, timetables, trips  # noqa: E402, F401  (register routes)
