"""Driver's mobile page at ``/driver``."""

from __future__ import annotations

from flask import Blueprint, g

from app.accounts.rules import Role
from app.core.htmx import render
from app.web.surface import company_member, make_surface

blueprint = make_surface("driver", "/driver", admits=company_member({Role.DRIVER}))
home = Blueprint("home", __name__)


@home.get("/")
def index():
    return render("home/driver/index.html", membership=g.access)


blueprint.register_blueprint(home)
