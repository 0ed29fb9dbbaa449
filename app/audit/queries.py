"""Reading the audit log, newest first, filtered the way an investigator narrows it down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.extensions import db

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor_id: int | None = None
    object_type: str = ""
    object_id: int | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1


def entries(company_id: int, where: AuditFilter, tz: str) -> tuple[list[AuditEntry], bool]:
    """One page of entries and whether another page follows."""
    query = select(AuditEntry).where(AuditEntry.company_id == company_id)
    if where.action:
        query = query.where(AuditEntry.action.startswith(where.action))
    if where.actor_id:
        query = query.where(AuditEntry.actor_id == where.actor_id)
    if where.object_type:
        query = query.where(AuditEntry.object_type == where.object_type)
    if where.object_id:
        query = query.where(AuditEntry.object_id == where.object_id)
    zone = ZoneInfo(tz)
    if where.since:
        query = query.where(AuditEntry.created_at >= datetime.combine(where.since, datetime.min.time(), zone))
    if where.until:
        end = datetime.combine(where.until + timedelta(days=1), datetime.min.time(), zone)
        query = query.where(AuditEntry.created_at < end)
    offset = (max(where.page, 1) - 1) * PAGE_SIZE
    rows = list(
        db.session.scalars(
            query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).offset(offset).limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def facets(company_id: int) -> tuple[list[str], list[str], list[User]]:
    """Action families, object types and actors that appear in the company's log."""
    families = db.session.scalars(
        select(func.distinct(AuditEntry.action)).where(AuditEntry.company_id == company_id)
    ).all()
    types = db.session.scalars(
        select(func.distinct(AuditEntry.object_type)).where(AuditEntry.company_id == company_id)
    ).all()
    actors = db.session.scalars(
        select(User)
        .where(User.id.in_(select(AuditEntry.actor_id).where(AuditEntry.company_id == company_id)))
        .order_by(User.name)
    ).all()
    return sorted(families), sorted(types), list(actors)
