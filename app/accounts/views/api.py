"""API endpoints for accounts: tokens for device clients, and who the token belongs to."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from app.accounts import services
from app.accounts.queries import active_memberships
from app.core.api import json_body
from app.core.models import utcnow
from app.web.surface import public

blueprint = Blueprint("accounts", __name__)


@blueprint.post("/auth/token")
@public
def token():
    body = json_body(email=(str, 254), password=(str, 128))
    access_token, ttl = services.issue_api_token(
        email=body["email"], password=body["password"], ip=request.remote_addr or "", now=utcnow()
    )
    return jsonify(access_token=access_token, token_type="Bearer", expires_in=ttl)  # noqa: S106  (a scheme name)


@blueprint.get("/me")
def me():
    user = g.user
    return jsonify(
        id=user.id,
        name=user.name,
        email=user.email,
        phone=user.phone,
        is_super_admin=user.is_super_admin,
        memberships=[
            {"company": m.company.code, "company_name": m.company.name, "role": m.role}
            for m in active_memberships(user)
        ],
    )
