"""Security plumbing: response headers, rate-limit counters, signed API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import jwt
from flask import Flask, Response, current_app, request

from app.extensions import csrf, redis


def content_security_policy(base_url: str, tile_url: str) -> str:
    """Scripts, styles and connections from this site only; images also from the map's tile host.

    ``'self'`` covers this site's websockets in current browsers; the socket address is named too,
    for browsers that read ``'self'`` as http(s) only."""
    site = urlsplit(base_url)
    sockets = f"{'wss' if site.scheme == 'https' else 'ws'}://{site.netloc}"
    tiles = urlsplit(tile_url)
    tile_origin = f"{tiles.scheme}://{tiles.netloc.replace('{s}', '*')}" if tiles.scheme and tiles.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(filter(None, ["img-src 'self' data:", tile_origin])),
            f"connect-src 'self' {sockets}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=(self)")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    headers.add("Vary", "HX-Request")
    return response


def _check_csrf() -> None:
    # The JSON API authenticates with bearer tokens, which browsers never attach on their own;
    # a URL that matched no view runs nothing, and its 404/405 should say so.
    if request.routing_exception is not None or request.blueprints[-1:] == ["api"]:
        return
    csrf.protect()


def init_app(app: Flask) -> None:
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(app.config["BASE_URL"], app.config["MAP_TILE_URL"])
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked below, once, for every surface but the API
    app.before_request(_check_csrf)
    app.after_request(_headers)


def fingerprint(value: str) -> str:
    """A short stable digest, so counters and tokens never carry the raw value."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class Counter:
    """A fixed-window failure counter in Redis (shared by every process)."""

    def __init__(self, name: str, limit: int, window_seconds: int):
        self.name = name
        self.limit = limit
        self.window = window_seconds

    def _key(self, subject: str) -> str:
        return f"rl:{self.name}:{fingerprint(subject)}"

    def exceeded(self, subject: str) -> int:
        """Seconds to wait if ``subject`` has used up its attempts, else 0."""
        key = self._key(subject)
        count = int(redis.get(key) or 0)
        if count < self.limit:
            return 0
        return max(int(redis.ttl(key)), 1)

    def hit(self, subject: str) -> None:
        key = self._key(subject)
        pipe = redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, self.window, nx=True)
        pipe.execute()

    def reset(self, subject: str) -> None:
        redis.delete(self._key(subject))


def issue_token(subject: str, *, epoch: int, now: datetime) -> tuple[str, int]:
    """A short-lived JWT for device and partner clients. Returns the token and its lifetime."""
    config = current_app.config
    ttl = config["JWT_TTL_SECONDS"]
    claims = {
        "sub": subject,
        "aud": config["JWT_AUDIENCE"],
        "iss": config["JWT_ISSUER"],
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": secrets.token_urlsafe(12),
        "epoch": epoch,
    }
    token = jwt.encode(claims, config["JWT_SIGNING_KEY"], algorithm=config["JWT_ALGORITHM"])
    return token, ttl


def read_token(token: str) -> dict:
    """Verify signature, algorithm, audience, issuer and expiry; raise ``jwt.InvalidTokenError``."""
    config = current_app.config
    return jwt.decode(
        token,
        config["JWT_SIGNING_KEY"],
        algorithms=[config["JWT_ALGORITHM"]],
        audience=config["JWT_AUDIENCE"],
        issuer=config["JWT_ISSUER"],
        options={"require": ["sub", "exp", "iat", "aud", "iss"]},
    )
