"""The schema comes from migrations, and the models match them."""

from __future__ import annotations

import pytest
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.core.models import utcnow
from app.extensions import db
from tests.conftest import REDIS_URL


def test_upgrade_head_built_every_table(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "memberships", "companies", "stations", "alembic_version"} <= tables


@pytest.mark.own_transactions
def test_models_and_migrations_do_not_drift(app):
    with app.app_context():
        check()  # `flask db check`: raises when autogenerate finds anything to do


@pytest.mark.own_transactions
def test_stations_get_towns_from_their_city_and_give_it_back(tmp_path):
    """0009_towns on a database that already has stations: a city that is another name of a known
    town joins it (Butare is Huye), an unknown city becomes a town of its own, and going back
    restores every station's city."""
    other = create_app(
        {
            "TMS_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'towns.db'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "REDIS_URL": REDIS_URL,
            "JOBS_INLINE": True,
        }
    )
    cities = {
        "Nyabugogo": "Kigali",
        "Remera": "kigali ",
        "Butare Park": "Butare",
        "Huye Park": "Huye",
        "Kibeho": "Kibeho",
    }
    with other.app_context():
        upgrade(revision="0010_guests")
        for n, (name, city) in enumerate(cities.items()):
            db.session.execute(
                text(
                    "INSERT INTO stations (code, name, city, latitude, longitude, is_enabled, created_at, updated_at)"
                    " VALUES (:code, :name, :city, -2, 30, true, :now, :now)"
                ),
                {"code": f"s{n}", "name": name, "city": city, "now": utcnow()},
            )
        db.session.commit()
        upgrade(revision="0009_towns")
        rows = db.session.execute(
            text("SELECT s.name, t.name, t.aliases FROM stations s JOIN towns t ON t.id = s.town_id")
        ).all()
        towns = {station: town for station, town, _aliases in rows}
        assert towns == {
            "Nyabugogo": "Kigali",
            "Remera": "Kigali",
            "Butare Park": "Huye",
            "Huye Park": "Huye",
            "Kibeho": "Kibeho",
        }
        assert "Butare" in next(aliases for _s, town, aliases in rows if town == "Huye")
        db.session.commit()
        downgrade(revision="0010_guests")
        restored = dict(db.session.execute(text("SELECT name, city FROM stations")).all())
        assert restored == {**cities, "Remera": "Kigali", "Butare Park": "Huye"}  # a city is its town's name now
        db.session.remove()
        db.engine.dispose()
