"""Settings: embedded by default, real services when named, production refuses to start bare."""

from __future__ import annotations

import fakeredis
import pytest

import config
from app import create_app

PRODUCTION_ENV = {
    "SECRET_KEY": "s" * 40,
    "JWT_SIGNING_KEY": "j" * 40,
    "QR_SIGNING_KEYS": "k2026:" + "q" * 40,
    "DATABASE_URL": "postgresql+psycopg://tms:tms@127.0.0.1:5432/tms_test",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "BASE_URL": "https://tickets.example.rw",
}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ["TMS_ENV", "JOBS_INLINE", *PRODUCTION_ENV]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_embedded_default_uses_sqlite_fakeredis_and_inline_jobs(clean_env):
    settings = config.load()
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert settings["REDIS_URL"] is None and settings["JOBS_INLINE"] is True
    app = create_app({"TMS_ENV": "development"})
    assert isinstance(app.extensions["redis"], fakeredis.FakeRedis)
    assert app.extensions["queues"]["high"].is_async is False


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_refuses_to_start_without_each_secret(clean_env, missing):
    for name, value in PRODUCTION_ENV.items():
        if name != missing:
            clean_env.setenv(name, value)
    clean_env.setenv("TMS_ENV", "production")
    with pytest.raises(config.ConfigError, match=missing):
        create_app()


def test_production_with_everything_set_uses_real_services_and_secure_cookies(clean_env):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("TMS_ENV", "production")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["JOBS_INLINE"] is False
    assert app.extensions["queues"]["default"].is_async is True
    assert app.config["QR_SIGNING_KEYS"] == {"k2026": b"q" * 40}


@pytest.mark.parametrize("raw", ["", "nokey", "k1:short", ":" + "x" * 40])
def test_malformed_signing_keys_are_refused(raw):
    with pytest.raises(config.ConfigError):
        config.parse_signing_keys(raw)


def test_signing_keys_keep_their_order_for_rotation():
    keys = config.parse_signing_keys(f"new:{'n' * 32}, old:{'o' * 32}")
    assert list(keys) == ["new", "old"]


def test_unknown_environment_name_is_refused(clean_env):
    clean_env.setenv("TMS_ENV", "staging")
    with pytest.raises(config.ConfigError):
        config.load()
