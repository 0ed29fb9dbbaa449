"""Station agent's point-of-sale page at ``/pos``."""

from __future__ import annotations

from flask import Blueprint, g

from app.accounts.rules import Role
from app.core.htmx import render
from app.web.surface import company_member, make_surface

blueprint = make_surface("pos", "/pos", admits=company_member({Role.AGENT}))
home = Blueprint("home", __name__)


@home.get("/")
def index():
    return render("home/pos/index.html", membership=g.access)


blueprint.register_blueprint(home)
