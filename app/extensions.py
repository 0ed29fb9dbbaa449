"""Extension objects, created unbound and attached to an app by ``create_app``."""

from __future__ import annotations

import fakeredis
import redis as redis_lib
from flask import Flask, current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from rq import Queue
from werkzeug.local import LocalProxy

from app.core.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

QUEUE_NAMES = ("high", "default", "low")


class RedisBinding:
    """One Redis connection pool per app: the real server, or an in-process substitute."""

    def init_app(self, app: Flask) -> None:
        url = app.config["REDIS_URL"]
        if url:
            # A thread that finds every connection busy waits for one (up to 10 s) instead of
            # failing: each websocket holds a thread, and thousands may publish at once.
            pool = redis_lib.BlockingConnectionPool.from_url(
                url, max_connections=app.config["REDIS_MAX_CONNECTIONS"], timeout=10, health_check_interval=30
            )
            client = redis_lib.Redis(connection_pool=pool)
        else:
            client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        inline = app.config["JOBS_INLINE"]
        app.extensions["redis"] = client
        app.extensions["queues"] = {name: Queue(name, connection=client, is_async=not inline) for name in QUEUE_NAMES}


redis_binding = RedisBinding()
redis: redis_lib.Redis = LocalProxy(lambda: current_app.extensions["redis"])  # type: ignore[assignment]


def get_queue(name: str) -> Queue:
    return current_app.extensions["queues"][name]
