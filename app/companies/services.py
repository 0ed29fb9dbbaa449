"""Company operations: shared stations, staff, and the company's own settings."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import warnings
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import Membership, User
from app.accounts.queries import user_by_email
from app.accounts.rules import Role
from app.accounts.services import end_sessions, hash_password
from app.audit.services import record, snapshot
from app.companies.models import Company, Station
from app.companies.rules import parse_colour
from app.core.errors import DomainError, InvalidInput
from app.core.i18n import language_of
from app.extensions import db
from app.notifications import services as notifications
from app.payments.rules import ONLINE_PROVIDERS

# Rwanda with a margin: a station outside this box is a typo (a swapped sign, lat for lon).
LATITUDES, LONGITUDES = (-3.0, -0.9), (28.8, 31.0)


class StaffChangeRefused(DomainError):
    code = "staff_change_refused"


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:30] or "station"


def add_station(actor, company: Company, *, name: str, city: str, latitude: float, longitude: float) -> Station:
    errors: dict[str, list[str]] = {}
    if not LATITUDES[0] <= latitude <= LATITUDES[1]:
        errors["latitude"] = [_("Latitude in Rwanda is between -3.0 and -0.9 (south of the equator).")]
    if not LONGITUDES[0] <= longitude <= LONGITUDES[1]:
        errors["longitude"] = [_("Longitude in Rwanda is between 28.8 and 31.0.")]
    duplicate = db.session.scalar(
        select(Station).where(func.lower(Station.name) == name.lower(), func.lower(Station.city) == city.lower())
    )
    if duplicate is not None:
        errors["name"] = [
            _(
                "%(name)s in %(city)s already exists; every operator shares it.",
                name=duplicate.name,
                city=duplicate.city,
            )
        ]
    if errors:
        raise InvalidInput(fields=errors)
    code = _slug(f"{city}-{name}")
    while db.session.scalar(select(Station.id).where(Station.code == code)):
        code = f"{_slug(f'{city}-{name}')[:24]}-{secrets.token_hex(2)}"
    station = Station(
        code=code, name=name, city=city, latitude=latitude, longitude=longitude, added_by_company_id=company.id
    )
    db.session.add(station)
    db.session.flush()
    record(
        actor,
        "station.created",
        station,
        f"Station {name}, {city}",
        company_id=company.id,
        after=snapshot(station, ("name", "city", "latitude", "longitude")),
    )
    return station


# --- Staff ----------------------------------------------------------------------------------

STAFF_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.DRIVER, Role.AGENT)


def invite_staff(actor, company: Company, *, name: str, email: str, phone: str | None, role: str) -> Membership:
    """Add someone to the company. New people get an account and an email to choose a password."""
    if role not in {r.value for r in STAFF_ROLES}:
        raise InvalidInput(fields={"role": [_("Choose a role.")]})
    user = user_by_email(email)
    if user is not None and db.session.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.company_id == company.id)
    ):
        raise InvalidInput(fields={"email": [_("%(email)s is already on your staff.", email=email)]})
    new_account = user is None
    if new_account:
        user = User(email=email, name=name, phone=phone, password_hash=hash_password(secrets.token_urlsafe(32)))
        db.session.add(user)
        db.session.flush()
    membership = Membership(user_id=user.id, company_id=company.id, role=role)
    db.session.add(membership)
    db.session.flush()
    record(
        actor,
        "staff.invited",
        membership,
        f"{name} <{email}> invited as {Role(role).label}",
        company_id=company.id,
        after={"email": email, "role": role},
    )
    notifications.queue(
        [
            notifications.Outgoing(
                kind="staff_invitation",
                source=f"membership{membership.id}",
                channel="email",
                address=user.email,
                context={
                    "user_id": user.id,
                    "name": user.name,
                    "company": company.name,
                    "new_account": new_account,
                    # A new account has no language yet: the inviting admin's is the best guess.
                    "language": language_of(user if user.language else actor),
                },
                user_id=user.id,
                company_id=company.id,
            )
        ]
    )
    return membership


def change_role(actor, membership: Membership, role: str) -> Membership:
    if role not in {r.value for r in STAFF_ROLES}:
        raise InvalidInput(fields={"role": [_("Choose a role.")]})
    if membership.user_id == actor.id and role != membership.role:
        raise StaffChangeRefused(_("You cannot change your own role; ask another company admin."))
    before = {"role": membership.role}
    membership.role = role
    db.session.flush()
    record(
        actor,
        "staff.role_changed",
        membership,
        f"{membership.user.name}: {Role(before['role']).label} → {Role(role).label}",
        company_id=membership.company_id,
        before=before,
        after={"role": role},
    )
    return membership


def set_active(actor, membership: Membership, active: bool, *, now: datetime) -> Membership:
    """Reactivate or deactivate a staff member; a deactivated one is signed out everywhere at once
    (browser sessions and API tokens), not when their cookie happens to expire."""
    if membership.user_id == actor.id and not active:
        raise StaffChangeRefused(_("You cannot deactivate yourself; ask another company admin."))
    before = {"is_enabled": membership.is_enabled}
    membership.is_enabled = active
    if not active:
        end_sessions(membership.user, now=now)
    db.session.flush()
    record(
        actor,
        "staff.activated" if active else "staff.deactivated",
        membership,
        f"{membership.user.name} {'reactivated' if active else 'deactivated'}",
        company_id=membership.company_id,
        before=before,
        after={"is_enabled": active},
    )
    return membership


# --- Settings -------------------------------------------------------------------------------

SETTINGS = ("hold_minutes", "days_ahead", "refund_policy", "payment_providers", "reminder_minutes")


def update_settings(
    actor,
    company: Company,
    *,
    hold_minutes: int,
    days_ahead: int,
    refund_policy: list,
    payment_providers: list[str] | None = None,
    reminder_minutes: int | None = None,
) -> Company:
    errors: dict[str, list[str]] = {}
    if not 2 <= hold_minutes <= 60:
        errors["hold_minutes"] = [_("Between 2 and 60 minutes.")]
    if not 1 <= days_ahead <= 90:
        errors["days_ahead"] = [_("Between 1 and 90 days.")]
    if reminder_minutes is not None and not 0 <= reminder_minutes <= 1440:
        errors["reminder_minutes"] = [_("Between 0 (no reminder) and 1440 minutes (a day).")]
    tiers = sorted(refund_policy, key=lambda tier: -tier[0])
    for hours, percent in tiers:
        if not (0 <= hours <= 720 and 0 <= percent <= 100):
            errors["refund_policy"] = [_("Hours from 0 to 720 and percentages from 0 to 100.")]
    if len({hours for hours, _ in tiers}) != len(tiers):
        errors["refund_policy"] = [_("Each tier needs its own number of hours.")]
    elif any(later[1] > earlier[1] for earlier, later in zip(tiers, tiers[1:], strict=False)):
        errors["refund_policy"] = [_("Cancelling later cannot refund more than cancelling earlier.")]
    if payment_providers is not None and not set(payment_providers) <= set(ONLINE_PROVIDERS):
        errors["payment_providers"] = [_("Choose among the listed payment methods.")]
    if errors:
        raise InvalidInput(fields=errors)
    before = snapshot(company, SETTINGS)
    company.hold_minutes, company.days_ahead = hold_minutes, days_ahead
    if payment_providers is not None:
        company.payment_providers = [name for name in ONLINE_PROVIDERS if name in payment_providers]
    if reminder_minutes is not None:
        company.reminder_minutes = reminder_minutes
    company.refund_policy = [list(tier) for tier in tiers]
    db.session.flush()
    record(
        actor,
        "company.settings_updated",
        company,
        "Sales, refund and reminder settings",
        company_id=company.id,
        before=before,
        after=snapshot(company, SETTINGS),
    )
    return company


# --- Brand ----------------------------------------------------------------------------------

LOGO_MAX_BYTES = 1024 * 1024  # as uploaded
LOGO_MIN_SIDE, LOGO_MAX_SIDE = 32, 4000  # pixels, as uploaded
LOGO_STORED_SIDE = 512  # pixels: kept no larger than this, which pages and tickets never exceed
LOGO_FORMATS = ("PNG", "JPEG", "WEBP")


def prepare_logo(data: bytes) -> bytes:
    """An uploaded logo as a fresh PNG of at most ``LOGO_STORED_SIDE`` pixels a side, or
    InvalidInput on the ``logo`` field. Only the decoded pixels are kept: whatever else the file
    carried (metadata, a script behind the image, a second frame) is not stored. SVG is refused
    rather than sanitised: it is a document that can run scripts, not an image."""
    from PIL import Image, UnidentifiedImageError

    def refuse(message: str):
        return InvalidInput(fields={"logo": [message]})

    if len(data) > LOGO_MAX_BYTES:
        raise refuse(_("The logo is larger than 1 MB; export a smaller PNG, JPEG or WebP."))
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype")) or b"<svg" in head:
        raise refuse(_("SVG logos are not accepted (they can carry scripts); upload a PNG, JPEG or WebP."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a bomb's header alone
            image = Image.open(io.BytesIO(data), formats=LOGO_FORMATS)
        with image:
            width, height = image.size
            if min(width, height) < LOGO_MIN_SIDE or max(width, height) > LOGO_MAX_SIDE:
                raise refuse(
                    _(
                        "The logo is %(width)d × %(height)d pixels; it must be %(low)d to %(high)d pixels a side.",
                        width=width,
                        height=height,
                        low=LOGO_MIN_SIDE,
                        high=LOGO_MAX_SIDE,
                    )
                )
            image.seek(0)
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Warning) as error:
        raise refuse(_("This file is not a PNG, JPEG or WebP image we can read.")) from error
    picture.thumbnail((LOGO_STORED_SIDE, LOGO_STORED_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


BRAND = ("brand_colour", "logo_version")


def update_brand(
    actor, company: Company, *, colour: str | None, logo: bytes | None = None, remove_logo: bool = False
) -> Company:
    """Set the brand colour (None or "" for the platform's own) and replace or remove the logo."""
    chosen = parse_colour(colour) if colour else None
    if colour and chosen is None:
        raise InvalidInput(fields={"brand_colour": [_("Enter a colour as #RRGGBB, such as #0B6E4F.")]})
    png = prepare_logo(logo) if logo else None
    before = snapshot(company, BRAND)
    company.brand_colour = chosen
    if png is not None:
        company.logo_png, company.logo_version = png, hashlib.sha256(png).hexdigest()[:12]
    elif remove_logo:
        company.logo_png = company.logo_version = None
    db.session.flush()
    record(
        actor,
        "company.brand_updated",
        company,
        "Brand colour and logo",
        company_id=company.id,
        before=before,
        after=snapshot(company, BRAND),
    )
    return company
