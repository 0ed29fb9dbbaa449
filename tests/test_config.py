"""Settings: embedded by default, real services when named, production refuses to start bare."""

from __future__ import annotations

import io
import logging
import os

import fakeredis
import pytest

import config
from app import create_app
from app.core import logs
from app.notifications.channels import email, sms

PRODUCTION_ENV = {
    "SECRET_KEY": "s" * 40,
    "JWT_SIGNING_KEY": "j" * 40,
    "QR_SIGNING_KEYS": "k2026:" + "q" * 40,
    "DATABASE_URL": "postgresql+psycopg://tms:tms@127.0.0.1:5432/tms_test",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "BASE_URL": "https://tickets.example.rw",
}
MESSAGE_DELIVERY = {
    "MAIL_SERVER": "smtp.example.rw",
    "SMS_PROVIDER": "africastalking",
    "AFRICASTALKING_USERNAME": "tms",
    "AFRICASTALKING_API_KEY": "at-key",
}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ["TMS_ENV", "JOBS_INLINE", "MESSAGES_LOG_ONLY", "GUNICORN_BIND", *PRODUCTION_ENV, *MESSAGE_DELIVERY]:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("TWILIO_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def production(env, **values) -> None:
    """Everything production needs, then ``values`` on top (None removes a variable)."""
    for name, value in {**PRODUCTION_ENV, **MESSAGE_DELIVERY, "TMS_ENV": "production", **values}.items():
        if value is None:
            env.delenv(name, raising=False)
        else:
            env.setenv(name, value)


def test_embedded_default_uses_sqlite_fakeredis_and_inline_jobs(clean_env):
    settings = config.load()
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert settings["REDIS_URL"] is None and settings["JOBS_INLINE"] is True
    app = create_app({"TMS_ENV": "development"})
    assert isinstance(app.extensions["redis"], fakeredis.FakeRedis)
    assert app.extensions["queues"]["high"].is_async is False


@pytest.mark.parametrize(
    ("bind", "links"),
    [
        (None, "http://127.0.0.1:8000"),
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("localhost", "http://localhost:8000"),
        ("unix:/run/tms.sock", "http://127.0.0.1:8000"),
    ],
)
def test_links_point_where_make_run_serves_unless_base_url_says(clean_env, bind, links):
    """make run on GUNICORN_BIND=127.0.0.1:8123 once emailed and texted links to port 8000."""
    if bind is not None:
        clean_env.setenv("GUNICORN_BIND", bind)
    assert config.load()["BASE_URL"] == links
    clean_env.setenv("BASE_URL", "https://tickets.example.rw/")
    assert config.load()["BASE_URL"] == "https://tickets.example.rw"


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_refuses_to_start_without_each_secret(clean_env, missing):
    production(clean_env, **{missing: None})
    with pytest.raises(config.ConfigError, match=missing):
        create_app()


def test_production_with_everything_set_uses_real_services_and_secure_cookies(clean_env):
    production(clean_env)
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


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"MAIL_SERVER": None}, "MAIL_SERVER"),
        ({"SMS_PROVIDER": None}, "SMS_PROVIDER"),
        ({"SMS_PROVIDER": "log"}, "SMS_PROVIDER"),
        ({"AFRICASTALKING_API_KEY": None}, "AFRICASTALKING_API_KEY"),
        ({"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM"),
    ],
)
def test_production_refuses_to_start_without_a_way_to_send_email_and_sms(clean_env, values, says):
    production(clean_env, **values)
    with pytest.raises(config.ConfigError, match=says) as refused:
        create_app()
    assert "MESSAGES_LOG_ONLY" in str(refused.value) or says.startswith(("AFRICASTALKING", "TWILIO"))


def test_production_told_to_log_messages_logs_who_and_how_long_never_the_content(clean_env, caplog):
    production(clean_env, MAIL_SERVER=None, SMS_PROVIDER=None, MESSAGES_LOG_ONLY="1")
    app = create_app()
    link = "https://tickets.example.rw/password/reset/eyJ1IjoxLCJmIjoiYWJjIn0.Z2x5Zg.c2lnbmF0dXJlLXNlY3JldA"
    with app.app_context(), caplog.at_level(logging.INFO):
        email.send(to="olivier@example.rw", subject="Reset your password", text=f"Open {link} within the hour.")
        sms.send("+250788123456", f"Your code: {link}")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "olivier@example.rw" not in logged and "o***@example.rw" in logged
    assert "+250788123456" not in logged and "+2507******56" in logged
    assert "password/reset" not in logged and "Your code" not in logged and "within the hour" not in logged


def test_every_log_line_masks_addresses_and_in_production_tokens():
    def written(tokens: bool, message: str, *args) -> str:
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.addFilter(logs.Redactor(tokens=tokens))
        logger = logging.getLogger(f"tms.test.{tokens}")
        logger.addHandler(handler)
        try:
            logger.warning(message, *args)
        finally:
            logger.removeHandler(handler)
        return out.getvalue().strip()

    reset = "IjEyMyI.Zmdo.abcdefghijklmnopqrstuvwxyz"
    share = "3nKMPpANddFkXMqydd2Lfna1PnFYPOdKUsZVTyB5P3U"
    message = "reset for ada.m@tms.rw (+250722000111) at /password/reset/%s and /ws/trips/4?share=%s&hello=1"
    assert written(True, message, reset, share) == (
        "reset for a***@tms.rw (+2507******11) at /password/reset/[token] and /ws/trips/4?share=[token]&hello=1"
    )
    assert written(False, message, reset, share) == (
        f"reset for a***@tms.rw (+2507******11) at /password/reset/{reset} and /ws/trips/4?share={share}&hello=1"
    )
    assert written(True, "ticket /tickets/3X5NXAD4 order TMS-8812") == "ticket /tickets/3X5NXAD4 order TMS-8812"


def test_every_process_logs_through_the_redactor(clean_env):
    production(clean_env)
    create_app()
    handlers = logging.getLogger().handlers
    assert handlers
    assert all(any(isinstance(f, logs.Redactor) and f.tokens for f in handler.filters) for handler in handlers)
    create_app({"TMS_ENV": "test"})  # back to the test suite's own settings: tokens shown
    assert not any(f.tokens for handler in handlers for f in handler.filters if isinstance(f, logs.Redactor))
