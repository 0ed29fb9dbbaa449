"""API endpoints for accounts: tokens for device clients, and who the token belongs to."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, after_this_request, g, request

from app.accounts import services
from app.accounts.queries import active_memberships
from app.accounts.views import known_device, remember_device
from app.core.models import utcnow
from app.core.schema import Id, Model, operation, text
from app.web.surface import public

blueprint = Blueprint("accounts", __name__)


class TokenRequest(Model):
    email: text(254)
    password: text(128)


class Token(Model):
    access_token: str
    """A JWT: send it as ``Authorization: Bearer <token>``."""
    token_type: Literal["Bearer"]
    expires_in: int
    """Seconds until the token expires: ask for a new one then."""


class Membership(Model):
    company: str
    """The company's code."""
    company_name: str
    role: Literal["admin", "dispatcher", "driver", "agent"]


class Me(Model):
    id: Id
    name: str
    email: str
    phone: str | None
    is_super_admin: bool
    memberships: list[Membership]


@blueprint.post("/auth/token")
@public
@operation(body=TokenRequest, answers={200: Token}, errors=(401, 429))
def token(body: TokenRequest):
    """Exchange an email and password for a short-lived bearer token"""
    user, access_token, ttl = services.issue_api_token(
        email=body.email, password=body.password, ip=request.remote_addr or "", now=utcnow(), device=known_device()
    )
    # Clients that keep cookies get a browser's exemption from other people's failed attempts.
    after_this_request(lambda response: remember_device(response, user))
    return Token(access_token=access_token, token_type="Bearer", expires_in=ttl)  # noqa: S106  (a scheme name)


@blueprint.get("/me")
@operation(answers={200: Me})
def me():
    """The token's user and their company roles"""
    user = g.user
    return Me(
        id=user.id,
        name=user.name,
        email=user.email,
        phone=user.phone,
        is_super_admin=user.is_super_admin,
        memberships=[
            Membership(company=m.company.code, company_name=m.company.name, role=str(m.role))
            for m in active_memberships(user)
        ],
    )
