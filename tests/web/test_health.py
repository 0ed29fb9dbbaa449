"""Health endpoints tell a load balancer whether this process, its database and Redis answer."""

from __future__ import annotations

from app import create_app
from app.extensions import db
from tests.conftest import free_port


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_says_503_when_redis_is_down(app):
    broken = create_app({**app.config, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error")
    with broken.app_context():
        db.engine.dispose()
