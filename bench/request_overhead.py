"""Cost of TMS's request path (guard, boundary, CSRF, rendering) against a bare Flask app.

Runs in-process on the embedded default with a throwaway SQLite file, so it needs no services:
    .venv/bin/python bench/request_overhead.py [--requests 400]
Prints milliseconds per request and the ratio to a one-line Flask view on the same machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(client, path: str, n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    n = parser.parse_args().requests

    from flask import Flask

    bare = Flask("baseline")
    bare.add_url_rule("/", "index", lambda: "ok")
    baseline = timed(bare.test_client(), "/", n)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("REDIS_URL", None)
        from flask_migrate import upgrade

        from app import create_app, demo
        from app.core import tx

        app = create_app({"TMS_ENV": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
        with app.app_context():
            upgrade()
            demo.load()
            tx.commit()
        anonymous = app.test_client()
        manager = app.test_client()
        page = manager.get("/login").get_data(as_text=True)
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        login = {"csrf_token": token, "email": "manager@virunga.rw", "password": demo.DEMO_PASSWORD}
        manager.post("/login", data=login)

        print(f"baseline bare Flask view   {baseline:7.3f} ms/request")
        for label, client, path in [
            ("GET /healthz", anonymous, "/healthz"),
            ("GET / (home, 2 queries)", anonymous, "/"),
            ("GET /login (form + CSRF)", anonymous, "/login"),
            ("GET /console/ (signed in)", manager, "/console/"),
        ]:
            ms = timed(client, path, n)
            print(f"{label:<27}{ms:7.3f} ms/request  x{ms / baseline:6.1f} baseline")
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


if __name__ == "__main__":
    main()
