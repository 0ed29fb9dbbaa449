"""Read-side lookups for companies and stations."""

from __future__ import annotations

from itertools import groupby

from sqlalchemy import func, select

from app.accounts.models import Membership
from app.companies.models import Company, Station
from app.extensions import db


def active_companies() -> list[Company]:
    return list(db.session.scalars(select(Company).where(Company.status == "active").order_by(Company.name)))


def all_companies_with_staff_counts() -> list[tuple[Company, int]]:
    staff = (
        select(Membership.company_id, func.count(Membership.id).label("staff"))
        .where(Membership.is_enabled.is_(True))
        .group_by(Membership.company_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Company, func.coalesce(staff.c.staff, 0))
        .outerjoin(staff, staff.c.company_id == Company.id)
        .order_by(Company.name)
    )
    return [(company, count) for company, count in rows]


def stations_by_city() -> list[tuple[str, list[Station]]]:
    stations = db.session.scalars(
        select(Station).where(Station.is_enabled.is_(True)).order_by(Station.city, Station.name)
    )
    return [(city, list(group)) for city, group in groupby(stations, key=lambda s: s.city)]


def members_of(company: Company) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership).where(Membership.company_id == company.id).order_by(Membership.role, Membership.id)
        )
    )


def search_stations(text: str, limit: int = 100) -> list[Station]:
    """Enabled stations whose name or city contains ``text`` (any case), by city and name."""
    query = select(Station).where(Station.is_enabled.is_(True))
    if text:
        pattern = f"%{text.lower().replace('%', '').replace('_', '')}%"
        query = query.where(func.lower(Station.name).like(pattern) | func.lower(Station.city).like(pattern))
    return list(db.session.scalars(query.order_by(Station.city, Station.name).limit(limit)))
