"""``/healthz`` says the process answers; ``/readyz`` says its database and Redis answer too."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db, redis
from app.web.surface import public

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
@public
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't crash: this endpoint exists to say what is down
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
