"""Idempotency keys for requests that move money, with the semantics of the best payment APIs.

The client sends a key (header ``Idempotency-Key`` on the API, a hidden field on our forms), scoped
to its user and kept for ``IDEMPOTENCY_TTL_HOURS``:

- the same key with the same body answers the first result again (``Idempotent-Replayed: true``);
- the same key with another body is refused (422); while the first request still runs, 409 with
  ``Retry-After`` (forms wait a few seconds for the first result instead);
- answers of 400 and above save nothing: the request did not happen, so it may be sent again.

Redis is the fast path (``SET NX`` of an in-flight marker holding the body's fingerprint). The
durable record is a row unique on (user, key), inserted before the work starts and committed with
the payment it creates: when Redis forgets, the row still answers, and two requests that both got
past Redis collide on the unique index, so nothing can run twice.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from datetime import timedelta

from flask import Response, current_app, g, make_response, request
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core import tx
from app.core.edge import has_control
from app.core.errors import DomainError
from app.core.models import utcnow
from app.core.schema import Header
from app.extensions import db, redis
from app.payments.models import IdempotencyKey

KEY_MAX_LENGTH = 255
RUNNING_MARKER_SECONDS = 60  # a request still "running" after this is presumed dead and may be retried
KEPT_HEADERS = ("Location", "Content-Type", "HX-Redirect")
KEYS = IdempotencyKey.__table__  # written with plain Core statements: this layer sits on every payment


class KeyMissing(DomainError):
    status = 400
    code = "idempotency_key_missing"
    message = "Send an Idempotency-Key header (a UUID you generate once per payment attempt)."


class KeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request body. Use a new key."


class StillRunning(DomainError):
    status = 409
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed. Retry in a moment."
    retry_after = 1


def fingerprint() -> str:
    """What makes two requests "the same": method, path and body (JSON canonicalised; form fields
    sorted, without the CSRF token, which changes with the session)."""
    if request.is_json:
        body = request.get_json(silent=True)
        content = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else request.get_data()
    else:
        fields = sorted((k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "idempotency_key"))
        content = json.dumps(fields)
    raw = f"{request.method} {request.path}\n".encode() + (content if isinstance(content, bytes) else content.encode())
    return hashlib.sha256(raw).hexdigest()


class Guard:
    """One request's claim on one key."""

    def __init__(self, user_id: int | None, key: str, fingerprint: str, *, scope: str | None = None):
        """``user_id``'s key, kept in Redis and in PostgreSQL; a guest's (``user_id`` None, ``scope``
        their browser's key) only in Redis, behind the order's own guard of one payment at a time."""
        self.user_id = user_id
        self.durable = user_id is not None
        self.key = key
        self.fingerprint = fingerprint
        owner = user_id if self.durable else f"guest:{hashlib.sha256((scope or '').encode()).hexdigest()[:32]}"
        self.redis_key = f"idem:{owner}:{hashlib.sha256(key.encode()).hexdigest()}"
        self.ttl = current_app.config["IDEMPOTENCY_TTL_HOURS"] * 3600

    def begin(self, *, wait: float = 0.0) -> Response | None:
        """Claim the key, or answer for it: the first result (replay), 422 or 409."""
        marker = json.dumps({"state": "running", "fp": self.fingerprint})
        deadline = time.monotonic() + wait
        while True:
            if redis.set(self.redis_key, marker, nx=True, ex=RUNNING_MARKER_SECONDS):
                return self._claim_durably()
            seen = redis.get(self.redis_key)
            if seen is None:
                continue  # expired between the two calls
            state = json.loads(seen)
            if state["fp"] != self.fingerprint:
                raise KeyReused()
            if state["state"] == "done":
                return self._replay(state["status"], state["body"], state["headers"])
            if time.monotonic() >= deadline:
                raise StillRunning()
            time.sleep(0.1)

    def _claim_durably(self) -> Response | None:
        """Insert the key's row as the request's first write, in the transaction that will carry
        the work (no savepoint: that would cost two more round trips on every payment). A
        collision can only roll back reads, so the whole transaction goes and the row decides."""
        if not self.durable:
            return None
        now = utcnow()
        try:
            db.session.execute(
                insert(KEYS).values(
                    user_id=self.user_id,
                    key=self.key,
                    fingerprint=self.fingerprint,
                    state="running",
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.ttl),
                )
            )
        except IntegrityError:
            tx.rollback()
        else:
            return None
        # Redis had forgotten the key (flushed, restarted, or the marker lapsed): the row decides.
        existing = db.session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.user_id == self.user_id, IdempotencyKey.key == self.key)
        )
        if existing is None:  # deleted meanwhile by the request that held it and gave up
            return self._claim_durably()
        if existing.fingerprint != self.fingerprint and existing.expires_at > now:
            redis.delete(self.redis_key)
            raise KeyReused()
        if existing.state == "done" and existing.expires_at > now:
            self._remember(existing.status_code, existing.response_body, existing.response_headers)
            return self._replay(existing.status_code, existing.response_body, existing.response_headers)
        stale = existing.created_at <= now - timedelta(seconds=RUNNING_MARKER_SECONDS)
        if existing.expires_at <= now or stale:
            # Expired, or its request died mid-way: this request takes the key over. What that one
            # started is guarded by the order itself (one payment under way at a time).
            self._update(
                fingerprint=self.fingerprint,
                state="running",
                created_at=now,
                expires_at=now + timedelta(seconds=self.ttl),
                status_code=None,
                response_body=None,
                response_headers=None,
            )
            return None
        raise StillRunning()

    def finish(self, response: Response) -> None:
        """Keep the answer with the work: written in this transaction, cached in Redis after commit."""
        body = response.get_data(as_text=True)
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        self._update(state="done", status_code=response.status_code, response_body=body, response_headers=headers)
        tx.after_commit(lambda: self._remember(response.status_code, body, headers))

    def _update(self, **values) -> None:
        if not self.durable:
            return
        db.session.execute(update(KEYS).where(KEYS.c.user_id == self.user_id, KEYS.c.key == self.key).values(**values))

    def abandon(self) -> None:
        """The request did not happen (refused or failed): forget the key so it may be sent again.
        Whatever the request wrote is rolled back first, so only the key's row goes."""
        tx.rollback()
        if not self.durable:
            redis.delete(self.redis_key)
            return
        db.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == self.user_id,
                IdempotencyKey.key == self.key,
                IdempotencyKey.state == "running",
            )
        )
        tx.commit()
        redis.delete(self.redis_key)

    def _remember(self, status: int, body: str, headers: dict) -> None:
        state = {"state": "done", "fp": self.fingerprint, "status": status, "body": body, "headers": headers}
        redis.set(self.redis_key, json.dumps(state), ex=self.ttl)

    @staticmethod
    def _replay(status: int, body: str, headers: dict) -> Response:
        response = Response(body, status=status, headers=headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response


HEADER = Header(
    "Idempotency-Key",
    "A key you generate once per payment attempt (a UUID): the same key and body answer the first "
    "result again; another body with it answers 422; while the first request runs, 409.",
    required=True,
    max_length=KEY_MAX_LENGTH,
    errors=(400, 409, 422),
    answer_headers={
        "Idempotent-Replayed": {
            "description": "true: this is the first answer to this key, sent again",
            "schema": {"type": "string", "enum": ["true"]},
        }
    },
)


def idempotent(*, wait: float = 0.0):
    """Make a view that starts a payment idempotent under the caller's key. ``wait``: how long a
    repeat waits for a running first request before answering 409 (forms wait; the API does not)."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            key = (request.headers.get("Idempotency-Key") or request.form.get("idempotency_key") or "").strip()
            if not key:
                raise KeyMissing()
            if len(key) > KEY_MAX_LENGTH or has_control(key):
                raise KeyMissing(f"An Idempotency-Key is one line of at most {KEY_MAX_LENGTH} characters.")
            guard = Guard(g.user.id, key, fingerprint(), scope=getattr(g.user, "key", None))
            replay = guard.begin(wait=wait)
            if replay is not None:
                return replay
            try:
                response = make_response(view(*args, **kwargs))
            except BaseException:
                guard.abandon()
                raise
            if response.status_code >= 400:
                guard.abandon()
            else:
                guard.finish(response)
            return response

        guarded.api_headers = (HEADER,)  # type: ignore[attr-defined]  (described in /api/v1/openapi.json)
        return guarded

    return decorate


def purge_expired(now) -> int:
    """Forget keys past their time (the job runs daily; a key is kept at least its TTL)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return result.rowcount or 0
