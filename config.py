"""Settings read from the environment.

Three modes (``TMS_ENV``): ``development`` (the default, used by ``make run``), ``test`` and
``production``. Without ``DATABASE_URL``/``REDIS_URL`` the app runs embedded: SQLite under
``instance/``, an in-process Redis substitute and jobs run inline. Production refuses to start
without its secrets and real services.
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

SMS_CREDENTIALS = {
    "africastalking": ("AFRICASTALKING_USERNAME", "AFRICASTALKING_API_KEY"),
    "twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
}
PRODUCTION_REQUIRED = ("SECRET_KEY", "JWT_SIGNING_KEY", "QR_SIGNING_KEYS", "DATABASE_URL", "REDIS_URL", "BASE_URL")


def base_url() -> str:
    """Where links in emails, SMS and share links point. Unset, it is the address gunicorn serves
    pages on (``GUNICORN_BIND``, read as gunicorn.conf.py reads it), so ``make run`` on another
    port links to itself; a wildcard host (``0.0.0.0``, ``::``) becomes loopback. Production
    requires it to be set."""
    explicit = (os.environ.get("BASE_URL") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    bind = (os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000").split(",")[0].strip()
    if bind.startswith(("unix:", "fd://")):
        return "http://127.0.0.1:8000"
    if bind.startswith("["):  # [::1]:8000
        host, _, port = bind[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = bind.rpartition(":") if ":" in bind else (bind, "", "")
    host = host or "127.0.0.1"
    if host in {"0.0.0.0", "::"}:  # noqa: S104  (a bind address read, not one bound)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port or '8000'}"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the process must not start."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc


def _decimal(name: str, default: str) -> Decimal:
    value = os.environ.get(name) or default
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ConfigError(f"{name} must be a decimal number, got {value!r}") from exc
    if number <= 0:
        raise ConfigError(f"{name} must be positive")
    return number


def _list(name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip().rstrip("/") for item in (os.environ.get(name) or default).split(",") if item.strip())


def _local_secret(name: str) -> str:
    """A per-checkout secret for development, kept under instance/ so restarts keep sessions."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / f"{name}.secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def parse_signing_keys(raw: str) -> dict[str, bytes]:
    """``kid:secret[,kid:secret...]``; the first key signs, all of them verify."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or len(secret) < 32:
            raise ConfigError("QR_SIGNING_KEYS entries must look like kid:secret with a secret of 32+ characters")
        keys[kid] = secret.encode()
    if not keys:
        raise ConfigError("QR_SIGNING_KEYS is empty")
    return keys


def _require_message_delivery() -> None:
    """Production sends its emails and SMS; writing them to the log instead (password-reset and
    invitation links included) must be asked for by name, and even then the log gets no content."""
    if _flag("MESSAGES_LOG_ONLY"):
        return
    if not os.environ.get("MAIL_SERVER"):
        raise ConfigError(
            "production needs MAIL_SERVER to send email (or MESSAGES_LOG_ONLY=1: see docs/configuration.md)"
        )
    provider = os.environ.get("SMS_PROVIDER") or "log"
    if provider == "log":
        raise ConfigError(
            "production needs SMS_PROVIDER (africastalking or twilio) to send SMS "
            "(or MESSAGES_LOG_ONLY=1: see docs/configuration.md)"
        )
    needed = SMS_CREDENTIALS.get(provider)
    if needed is None:
        raise ConfigError(f"SMS_PROVIDER must be africastalking or twilio, not {provider!r}")
    missing = [name for name in needed if not os.environ.get(name)]
    if provider == "twilio" and not (os.environ.get("TWILIO_FROM") or os.environ.get("TWILIO_MESSAGING_SERVICE_SID")):
        missing.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
    if missing:
        raise ConfigError(f"SMS_PROVIDER={provider} needs {', '.join(missing)}")


def load(env: str | None = None) -> dict:
    """Build the settings dict for ``app.config.from_mapping``."""
    env = env or os.environ.get("TMS_ENV", "development")
    if env not in {"development", "test", "production"}:
        raise ConfigError(f"TMS_ENV must be development, test or production, not {env!r}")
    production = env == "production"
    if production:
        missing = [name for name in PRODUCTION_REQUIRED if not os.environ.get(name)]
        if missing:
            raise ConfigError(f"production needs these environment variables: {', '.join(missing)}")
        _require_message_delivery()

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'tms.db'}"
    redis_url = os.environ.get("REDIS_URL") or None

    def secret(name: str) -> str:
        return os.environ.get(name) or _local_secret(name.lower())

    qr_keys_raw = os.environ.get("QR_SIGNING_KEYS") or f"dev1:{secret('QR_DEV_KEY')}"
    return {
        "TMS_ENV": env,
        "TESTING": env == "test",
        "SECRET_KEY": secret("SECRET_KEY"),
        "JWT_SIGNING_KEY": secret("JWT_SIGNING_KEY"),
        "JWT_ALGORITHM": "HS256",
        "JWT_AUDIENCE": "tms-api",
        "JWT_ISSUER": "tms",
        "JWT_TTL_SECONDS": _int("JWT_TTL_SECONDS", 900),
        "QR_SIGNING_KEYS": parse_signing_keys(qr_keys_raw),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Per web or worker process. gunicorn's threads share the pools: a thread that finds every
        # connection busy waits for one (SQLAlchemy up to 30 s, Redis up to 10 s).
        "SQLALCHEMY_ENGINE_OPTIONS": (
            {
                "pool_pre_ping": True,
                "pool_size": _int("DATABASE_POOL_SIZE", 5),
                "max_overflow": _int("DATABASE_MAX_OVERFLOW", 10),
            }
            if database_url.startswith("postgresql")
            else {}
        ),
        "REDIS_MAX_CONNECTIONS": _int("REDIS_MAX_CONNECTIONS", 100),
        "REDIS_URL": redis_url,
        # Without a real Redis there is no worker to hand jobs to: run them inline after commit.
        "JOBS_INLINE": redis_url is None or _flag("JOBS_INLINE"),
        "BASE_URL": base_url(),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER") or "TMS <no-reply@tms.rw>",
        "MAIL_TIMEOUT_SECONDS": _int("MAIL_TIMEOUT_SECONDS", 10),
        # Notifications. SMS_PROVIDER: "log" (the embedded demo: messages go to the log), or a gateway.
        # Outside production the log shows whole messages (the demo's reset links); in production
        # (only with MESSAGES_LOG_ONLY) it shows who and how long, never the content.
        "LOG_MESSAGE_BODIES": not production,
        # Masks tokens in logged addresses (reset and share links); emails and phones are always masked.
        "LOG_REDACT_TOKENS": _flag("LOG_REDACT_TOKENS", default=production),
        "SMS_PROVIDER": os.environ.get("SMS_PROVIDER") or "log",
        "SMS_TIMEOUT_SECONDS": _int("SMS_TIMEOUT_SECONDS", 10),
        "AFRICASTALKING_BASE_URL": (
            os.environ.get("AFRICASTALKING_BASE_URL") or "https://api.sandbox.africastalking.com"
        ).rstrip("/"),
        "AFRICASTALKING_USERNAME": os.environ.get("AFRICASTALKING_USERNAME") or None,
        "AFRICASTALKING_API_KEY": os.environ.get("AFRICASTALKING_API_KEY") or None,
        "AFRICASTALKING_SENDER_ID": os.environ.get("AFRICASTALKING_SENDER_ID") or None,
        "TWILIO_BASE_URL": (os.environ.get("TWILIO_BASE_URL") or "https://api.twilio.com").rstrip("/"),
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_FROM": os.environ.get("TWILIO_FROM") or None,
        "TWILIO_MESSAGING_SERVICE_SID": os.environ.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        # Seconds between attempts after a temporary failure; one attempt more than listed, then give up.
        "NOTIFY_RETRY_SECONDS": tuple(int(s) for s in _list("NOTIFY_RETRY_SECONDS", "30,120,600,1800,3600")),
        # Live tracking. Fixes outside the region (south, west, north, east in degrees), from the
        # future, older than the age limit or implying more than the speed limit are refused.
        "TRACKING_REGION": tuple(float(v) for v in _list("TRACKING_REGION", "-5.0,27.0,1.5,35.0")),
        "TRACKING_MAX_FIX_AGE_SECONDS": _int("TRACKING_MAX_FIX_AGE_SECONDS", 1800),
        "TRACKING_MAX_SPEED_KMH": _int("TRACKING_MAX_SPEED_KMH", 150),
        "TRACKING_STALE_SECONDS": _int("TRACKING_STALE_SECONDS", 120),
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION") or "© OpenStreetMap contributors",
        # Websockets. Each open socket holds its server's thread or greenlet: the gunicorn config in
        # use sets the total per process (the socket server's is large, the page server's small);
        # the per-user, per-share-link and per-address caps hold across every process.
        "WS_MAX_PER_PROCESS": _int("WS_MAX_PER_PROCESS", 16),
        "WS_MAX_PER_USER": _int("WS_MAX_PER_USER", 20),
        "WS_MAX_PER_LINK": _int("WS_MAX_PER_LINK", 20),
        "WS_MAX_PER_ADDRESS": _int("WS_MAX_PER_ADDRESS", 1000),
        "WS_SEND_TIMEOUT_SECONDS": _int("WS_SEND_TIMEOUT_SECONDS", 10),
        "WS_PING_SECONDS": _int("WS_PING_SECONDS", 25),
        # How often an open watcher's ticket, share link and session are checked again.
        "WS_RECHECK_SECONDS": _int("WS_RECHECK_SECONDS", 60),
        # Payments. Providers without credentials are not offered; the sandbox is for demos and tests.
        "PAYMENTS_SANDBOX": _flag("PAYMENTS_SANDBOX", default=not production),
        "PAYMENT_TIMEOUT_SECONDS": _int("PAYMENT_TIMEOUT_SECONDS", 15),
        "IDEMPOTENCY_TTL_HOURS": _int("IDEMPOTENCY_TTL_HOURS", 24),
        "MOMO_BASE_URL": (os.environ.get("MOMO_BASE_URL") or "https://sandbox.momodeveloper.mtn.com").rstrip("/"),
        "MOMO_TARGET_ENVIRONMENT": os.environ.get("MOMO_TARGET_ENVIRONMENT") or "sandbox",
        "MOMO_COLLECTION_USER_ID": os.environ.get("MOMO_COLLECTION_USER_ID") or None,
        "MOMO_COLLECTION_API_KEY": os.environ.get("MOMO_COLLECTION_API_KEY") or None,
        "MOMO_COLLECTION_SUBSCRIPTION_KEY": os.environ.get("MOMO_COLLECTION_SUBSCRIPTION_KEY") or None,
        "MOMO_DISBURSEMENT_USER_ID": os.environ.get("MOMO_DISBURSEMENT_USER_ID") or None,
        "MOMO_DISBURSEMENT_API_KEY": os.environ.get("MOMO_DISBURSEMENT_API_KEY") or None,
        "MOMO_DISBURSEMENT_SUBSCRIPTION_KEY": os.environ.get("MOMO_DISBURSEMENT_SUBSCRIPTION_KEY") or None,
        "MOMO_CURRENCY": os.environ.get("MOMO_CURRENCY") or "RWF",  # the MTN sandbox takes only EUR
        "MOMO_RATE": _decimal("MOMO_RATE", "1"),  # MOMO_CURRENCY per unit of the order's currency
        "PAYPAL_BASE_URL": (os.environ.get("PAYPAL_BASE_URL") or "https://api-m.sandbox.paypal.com").rstrip("/"),
        "PAYPAL_CLIENT_ID": os.environ.get("PAYPAL_CLIENT_ID") or None,
        "PAYPAL_CLIENT_SECRET": os.environ.get("PAYPAL_CLIENT_SECRET") or None,
        "PAYPAL_WEBHOOK_ID": os.environ.get("PAYPAL_WEBHOOK_ID") or None,
        "PAYPAL_CURRENCY": os.environ.get("PAYPAL_CURRENCY") or "USD",  # PayPal has no RWF
        "PAYPAL_RATE": _decimal("PAYPAL_RATE", "0.00069"),  # PAYPAL_CURRENCY per unit of the order's currency
        # Webhook certificates are fetched only from these origins (scheme, host and port must match).
        "PAYPAL_CERT_ORIGINS": _list(
            "PAYPAL_CERT_ORIGINS",
            "https://api.paypal.com,https://api.sandbox.paypal.com,https://api-m.paypal.com,https://api-m.sandbox.paypal.com",
        ),
        # Production runs behind the gateway (one hop); nothing else may set the client address.
        "PROXY_FIX_X_FOR": _int("PROXY_FIX_X_FOR", 1 if production else 0),
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": _int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 10),
        "LOGIN_MAX_FAILURES_PER_IP": _int("LOGIN_MAX_FAILURES_PER_IP", 50),
        "LOGIN_WINDOW_SECONDS": _int("LOGIN_WINDOW_SECONDS", 60),
        # A browser that signed in before carries a signed device cookie this long; it is limited
        # by its own failures only, so strangers cannot lock its owner out.
        "LOGIN_DEVICE_DAYS": _int("LOGIN_DEVICE_DAYS", 180),
        # Sign-up and password-reset emails to one address in an hour; more are quietly not sent.
        "ACCOUNT_EMAILS_PER_HOUR": _int("ACCOUNT_EMAILS_PER_HOUR", 5),
        "PASSWORD_RESET_MAX_AGE_SECONDS": _int("PASSWORD_RESET_MAX_AGE_SECONDS", 3600),
        # Guests (no account): seat holds started from one client address an hour, bookings and
        # ticket links sent to one phone an hour, claim codes to one phone an hour; and how long a
        # guest's ticket link keeps working after their trip arrives.
        "GUEST_HOLDS_PER_ADDRESS_PER_HOUR": _int("GUEST_HOLDS_PER_ADDRESS_PER_HOUR", 20),
        "GUEST_ORDERS_PER_PHONE_PER_HOUR": _int("GUEST_ORDERS_PER_PHONE_PER_HOUR", 5),
        "GUEST_LINKS_PER_PHONE_PER_HOUR": _int("GUEST_LINKS_PER_PHONE_PER_HOUR", 3),
        "CLAIM_CODES_PER_PHONE_PER_HOUR": _int("CLAIM_CODES_PER_PHONE_PER_HOUR", 3),
        "GUEST_LINK_DAYS_AFTER_TRIP": _int("GUEST_LINK_DAYS_AFTER_TRIP", 7),
        "SIGNUP_LINK_MAX_AGE_SECONDS": _int("SIGNUP_LINK_MAX_AGE_SECONDS", 24 * 3600),
        "DISPLAY_TIMEZONE": "Africa/Kigali",
        "SESSION_COOKIE_NAME": "tms_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _flag("SESSION_COOKIE_SECURE"),
        # Browser sessions (rows in user_sessions, see docs/architecture.md): every session ends
        # after SESSION_LIFETIME_SECONDS; staff sessions after STAFF_SESSION_LIFETIME_SECONDS, and
        # after STAFF_SESSION_IDLE_SECONDS without a request from the person (drivers excepted).
        "SESSION_LIFETIME_SECONDS": _int("SESSION_LIFETIME_SECONDS", 30 * 24 * 3600),
        "STAFF_SESSION_LIFETIME_SECONDS": _int("STAFF_SESSION_LIFETIME_SECONDS", 12 * 3600),
        "STAFF_SESSION_IDLE_SECONDS": _int("STAFF_SESSION_IDLE_SECONDS", 30 * 60),
        "PERMANENT_SESSION_LIFETIME": _int("SESSION_LIFETIME_SECONDS", 30 * 24 * 3600),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }
