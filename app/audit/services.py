"""Writing the audit log. Services call :func:`record` in the same transaction as the change."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from app.audit.models import AuditEntry
from app.extensions import db


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(obj, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited fields of ``obj`` as JSON-ready values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(
    actor,
    action: str,
    obj,
    summary: str,
    *,
    company_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        company_id=company_id,
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=getattr(obj, "id", None),
        summary=summary[:300],
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    db.session.add(entry)
    return entry
