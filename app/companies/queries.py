"""Read-side lookups for companies and stations."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from itertools import groupby

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import Membership
from app.companies.models import Company, Station, Town
from app.companies.rules import (
    CLEAR_LEAD,
    MATCH_AT,
    OFFER_AT,
    SUGGEST_AT,
    Palette,
    fold,
    palette,
    parse_colour,
    similarity,
    spellings,
)
from app.core.errors import NotFound
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


def enabled_stations() -> list[Station]:
    """Every station passengers can travel from, with its town, by town and name."""
    query = select(Station).join(Town).where(Station.is_enabled.is_(True)).order_by(Town.name, Station.name)
    return list(db.session.scalars(query))


def stations_by_town() -> list[tuple[Town, list[Station]]]:
    return [(town, list(group)) for town, group in groupby(enabled_stations(), key=lambda s: s.town)]


def station_or_404(station_id: int) -> Station:
    """A station by id: stations are shared by every operator, so any member may load one."""
    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound()
    return station


def town_or_404(town_id: int) -> Town:
    """A town by id; shared by every operator, as stations are."""
    town = db.session.get(Town, town_id)
    if town is None:
        raise NotFound()
    return town


def stations_by_city() -> list[tuple[str, list[Station]]]:
    """(town name, its stations), for pages that list stations under their town."""
    return [(town.name, stations) for town, stations in stations_by_town()]


def towns_with_station_counts() -> list[tuple[Town, int]]:
    counts = select(Station.town_id, func.count(Station.id).label("n")).group_by(Station.town_id).subquery()
    rows = db.session.execute(
        select(Town, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.town_id == Town.id).order_by(Town.name)
    )
    return [(town, n) for town, n in rows]


# --- Places: what a passenger types in From and To ----------------------------------------------


@dataclass(frozen=True)
class Place:
    """A town (every station in it) or one station, as a search goes from or to."""

    name: str  # as the form shows it: "Kigali", "Nyabugogo Bus Park"
    town: str
    station_ids: tuple[int, ...]
    is_town: bool

    @property
    def key(self) -> tuple[bool, str, str]:
        return (self.is_town, self.town, self.name)


def _places() -> list[tuple[Place, set[str]]]:
    """Every town with an enabled station, and every enabled station, with the folded names a
    person may type for each."""
    places = []
    for town, stations in stations_by_town():
        names = {fold(town.name), *(fold(alias) for alias in town.aliases or ())} - {""}
        places.append((Place(town.name, town.name, tuple(s.id for s in stations), True), names))
        for station in stations:
            places.append((Place(station.name, town.name, (station.id,), False), spellings(station.name)))
    return places


def _ranked(typed: str, places: list[tuple[Place, set[str]]]) -> list[tuple[float, Place]]:
    scored = [(max(similarity(typed, name) for name in names), place) for place, names in places]
    # Best first; for equal scores a town before its stations.
    return sorted(scored, key=lambda item: (-item[0], not item[1].is_town, item[1].name))


def find_place(text: str) -> tuple[Place | None, list[str]]:
    """The place a person meant by ``text`` (a town, a town's other name, a station, or "station,
    town"), or None with the names they may have meant (best first, at most three)."""
    places = _places()
    station_part, _comma, town_part = text.partition(",")
    if town_part.strip():  # "Nyabugogo Bus Park, Kigali", as the list offers stations
        typed, town_typed = fold(station_part), fold(town_part)
        for place, names in places:
            if not place.is_town and typed in names and fold(place.town) == town_typed:
                return place, []
    typed = fold(text)
    if not typed:
        return None, []
    exact = [place for place, names in places if typed in names]
    if len({place.town for place in exact}) == 1:  # spelled out whole, within one town
        return min(exact, key=lambda place: not place.is_town), []  # the town if it is named so
    ranked = _ranked(typed, places)
    best = ranked[0][0] if ranked else 0
    if best >= MATCH_AT:
        close = [place for score, place in ranked if score >= best - CLEAR_LEAD]
        first = close[0]
        if len(close) == 1 or (first.is_town and all(place.town == first.town for place in close)):
            return first, []  # one place, or a town and some of its own stations: the whole town
    suggestions = []
    for score, place in ranked:
        if score < SUGGEST_AT or len(suggestions) == 3:
            break
        label = place.name if place.is_town else f"{place.name}, {place.town}"
        if place.is_town or place.town not in suggestions:
            suggestions.append(label)
    return None, suggestions


def place_problem(text: str, suggestions: list[str]) -> str:
    """What to tell someone whose place was not found: the names they may have meant."""
    if suggestions:
        names = format_list(suggestions, style="or", locale=get_locale() or "en")
        return _("We do not know “%(typed)s”. Did you mean %(names)s?", typed=text.strip(), names=names)
    return _("We do not know “%(typed)s”. Type a town or a bus park, such as Kigali or Nyabugogo.", typed=text.strip())


def places_matching(text: str, limit: int = 8) -> list[tuple[Town, list[Station], int]]:
    """For the From and To lists: towns whose name (or another name) or whose stations match
    ``text``, best first, each with the stations to offer (all of them when the town matched, else
    those that did) and how many stations it has."""
    typed = fold(text)
    if not typed:
        return []
    found = []
    for town, stations in stations_by_town():
        names = {fold(town.name), *(fold(alias) for alias in town.aliases or ())} - {""}
        town_score = max(_contains(typed, name) for name in names)
        scored = [(max(_contains(typed, n) for n in spellings(s.name)), s) for s in stations]
        shown = stations if town_score >= OFFER_AT else [s for score, s in scored if score >= OFFER_AT]
        if shown:
            best = max(town_score, *(score for score, _s in scored))
            found.append((best, town, shown, len(stations)))
    found.sort(key=lambda item: (-item[0], item[1].name))
    return [(town, shown, size) for _score, town, shown, size in found[:limit]]


def _contains(typed: str, name: str) -> float:
    """Like ``similarity``, and a word of the name starting with what was typed counts too."""
    if any(word.startswith(typed) for word in name.split()):
        return 1.0 if name.startswith(typed) else 0.9
    return similarity(typed, name)


def members_of(company: Company) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership).where(Membership.company_id == company.id).order_by(Membership.role, Membership.id)
        )
    )


def search_stations(text: str, limit: int = 100) -> list[Station]:
    """Enabled stations whose name or town contains ``text`` (any case), by town and name."""
    query = select(Station).join(Town).where(Station.is_enabled.is_(True))
    if text:
        pattern = f"%{text.lower().replace('%', '').replace('_', '')}%"
        query = query.where(func.lower(Station.name).like(pattern) | func.lower(Town.name).like(pattern))
    return list(db.session.scalars(query.order_by(Town.name, Station.name).limit(limit)))


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
        return f"brand-{re.sub(r'[^a-z0-9-]', '-', self.code.lower())}" if self.palette else ""

    @property
    def palette(self) -> Palette | None:
        """None without a colour (or with one that is not ``#rrggbb``, which nothing stores)."""
        colour = parse_colour(self.colour or "")
        return palette(colour) if colour and colour == self.colour else None

    @property
    def stylesheet(self) -> str:
        """The design system's four brand colours (docs/design.md) scoped to ``css_class``, links
        in the readable shade, and the colour itself for the operator's mark (``--operator``)."""
        colours = self.palette
        if colours is None:
            return ""
        return (
            f".{self.css_class}{{--brand:{colours.text};--brand-contrast:#ffffff;--brand-strong:{colours.strong};"
            f"--brand-tint:{colours.tint};--link:{colours.text};--brand-ink:#ffffff;"
            f"--operator:{colours.brand};--operator-contrast:{colours.contrast}}}\n"
        )

    @property
    def stylesheet_version(self) -> str:
        """Names the stylesheet in its URL: a new colour, or new rules, make a new address."""
        return hashlib.sha256(self.stylesheet.encode()).hexdigest()[:12]


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
