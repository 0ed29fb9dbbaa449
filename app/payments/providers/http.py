"""HTTP plumbing shared by the adapters: one pooled session, timeouts, errors classified, and
access tokens cached in Redis until shortly before they expire."""

from __future__ import annotations

import requests

from app.extensions import redis
from app.payments.providers import ProviderError

_session = requests.Session()


def call(method: str, url: str, *, timeout: float, **kwargs) -> requests.Response:
    """Send one request; network trouble and 5xx answers are temporary errors, 401/403 permanent
    (our credentials are wrong), anything else goes back to the adapter to read."""
    try:
        response = _session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        raise ProviderError(f"{method} {url}: {error.__class__.__name__}", temporary=True) from error
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderError(f"{method} {url} answered {response.status_code}", temporary=True)
    if response.status_code in (401, 403):
        raise ProviderError(f"{method} {url} refused our credentials ({response.status_code})", temporary=True)
    return response


def json_of(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def cached_token(name: str, fetch) -> str:
    """An access token from Redis, or a new one from ``fetch() -> (token, lifetime seconds)``."""
    key = f"payments:token:{name}"
    token = redis.get(key)
    if token:
        return token.decode() if isinstance(token, bytes) else token
    token, lifetime = fetch()
    redis.set(key, token, ex=max(int(lifetime) - 60, 30))
    return token


def forget_token(name: str) -> None:
    redis.delete(f"payments:token:{name}")
