"""Read-side lookups for companies and stations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import func, select

from app.accounts.models import Membership
from app.companies.models import Company, Station
from app.companies.rules import Palette, palette
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


@dataclass(frozen=True)
class Brand:
    """What pages and tickets show of an operator: its name, colour and logo."""

    code: str
    name: str
    colour: str | None
    logo_version: str | None

    @property
    def css_class(self) -> str:
        """The class whose element takes the brand (served by ``portal.companies.stylesheet``)."""
        return f"brand-{re.sub(r'[^a-z0-9-]', '-', self.code.lower())}" if self.colour else ""

    @property
    def palette(self) -> Palette | None:
        return palette(self.colour) if self.colour else None


def brand_of(company: Company) -> Brand:
    return Brand(company.code, company.name, company.brand_colour, company.logo_version)


_BRAND_COLUMNS = (Company.code, Company.name, Company.brand_colour, Company.logo_version)


def brands_by_name() -> dict[str, Brand]:
    """Every operator's brand by its name (a few dozen rows, never the logos)."""
    return {row.name: Brand(*row) for row in db.session.execute(select(*_BRAND_COLUMNS))}


def brand_by_code(code: str) -> Brand | None:
    row = db.session.execute(select(*_BRAND_COLUMNS).where(Company.code == code)).first()
    return Brand(*row) if row else None


def logo_of(code: str) -> tuple[bytes, str] | None:
    """A company's logo (PNG bytes) and its version, or None."""
    row = db.session.execute(
        select(Company.logo_png, Company.logo_version).where(Company.code == code, Company.logo_png.is_not(None))
    ).first()
    return (row[0], row[1]) if row else None
