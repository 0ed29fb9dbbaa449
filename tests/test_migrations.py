"""The schema comes from migrations, and the models match them."""

from __future__ import annotations

import pytest
from flask_migrate import check
from sqlalchemy import inspect

from app.extensions import db


def test_upgrade_head_built_every_table(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "memberships", "companies", "stations", "alembic_version"} <= tables


@pytest.mark.own_transactions
def test_models_and_migrations_do_not_drift(app):
    with app.app_context():
        check()  # `flask db check`: raises when autogenerate finds anything to do
