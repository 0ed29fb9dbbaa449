"""Demo data for ``make run``: Rwandan operators, towns and stations, one account per role, and each
operator's fleet, timetables, trips and sales (``app.demo.fleet``).

Loading twice changes nothing: rows are matched on their natural keys.
"""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import func, select

from app.accounts.models import Membership, User
from app.accounts.rules import Role
from app.accounts.services import hash_password
from app.booking.models import Ticket
from app.companies.models import Company, Station, Town
from app.core.models import utcnow
from app.demo import fleet
from app.extensions import db
from app.fleet.models import Bus, Route, Trip
from app.notifications.models import Notification

DEMO_PASSWORD = "kigali-demo-2026"  # noqa: S105  (printed by make run; refused in production)

# Towns and the other names people type for them: former names (Butare, Gisenyi, Ruhengeri...),
# the main bus park's own name, and common spellings.
TOWNS = [
    ("kigali", "Kigali", ["Kigari"]),
    ("huye", "Huye", ["Butare"]),
    ("rubavu", "Rubavu", ["Gisenyi"]),
    ("musanze", "Musanze", ["Ruhengeri"]),
    ("rusizi", "Rusizi", ["Cyangugu", "Kamembe"]),
    ("muhanga", "Muhanga", ["Gitarama"]),
    ("karongi", "Karongi", ["Kibuye"]),
    ("nyamagabe", "Nyamagabe", ["Gikongoro"]),
    ("gicumbi", "Gicumbi", ["Byumba"]),
    ("nyanza", "Nyanza", ["Nyabisindu"]),
    ("rwamagana", "Rwamagana", []),
    ("kayonza", "Kayonza", []),
    ("nyagatare", "Nyagatare", []),
]

# Approximate coordinates of the main bus parks, with their towns.
STATIONS = [
    ("kgl-nyabugogo", "Nyabugogo Bus Park", "Kigali", -1.9393, 30.0447),
    ("kgl-remera", "Remera Bus Park", "Kigali", -1.9536, 30.1048),
    ("muhanga", "Muhanga Bus Park", "Muhanga", -2.0847, 29.7563),
    ("nyanza", "Nyanza Bus Park", "Nyanza", -2.3515, 29.7507),
    ("huye", "Huye Bus Park", "Huye", -2.5966, 29.7394),
    ("nyamagabe", "Nyamagabe Bus Park", "Nyamagabe", -2.4766, 29.5717),
    ("rusizi", "Kamembe Bus Park", "Rusizi", -2.4781, 28.9080),
    ("karongi", "Karongi Bus Park", "Karongi", -2.0603, 29.3478),
    ("musanze", "Musanze Bus Park", "Musanze", -1.4998, 29.6344),
    ("rubavu", "Rubavu Bus Park", "Rubavu", -1.7013, 29.2561),
    ("gicumbi", "Gicumbi Bus Park", "Gicumbi", -1.5762, 30.0675),
    ("rwamagana", "Rwamagana Bus Park", "Rwamagana", -1.9487, 30.4347),
    ("kayonza", "Kayonza Bus Park", "Kayonza", -1.8998, 30.5089),
    ("nyagatare", "Nyagatare Bus Park", "Nyagatare", -1.2981, 30.3275),
]

COMPANIES = [
    ("virunga-express", "Virunga Express", "+250788300100", "info@virunga.rw"),
    ("akagera-coaches", "Akagera Coaches", "+250788300200", "info@akagera.rw"),
    ("nyungwe-line", "Nyungwe Line", "+250788300300", "info@nyungwe.rw"),
]
# Each operator's brand colour (its demo logo is drawn in it). Akagera's amber is too light for
# white text: its pages show how a readable shade is derived.
BRANDS = {"virunga-express": "#9a3412", "akagera-coaches": "#f59e0b", "nyungwe-line": "#15803d"}

# (email, name, phone, super admin?, company code, role)
ACCOUNTS = [
    ("admin@tms.rw", "Aline Uwase", "+250788100001", True, None, None),
    ("manager@virunga.rw", "Eric Habimana", "+250788100002", False, "virunga-express", Role.ADMIN),
    ("dispatcher@virunga.rw", "Claudine Mukamana", "+250788100003", False, "virunga-express", Role.DISPATCHER),
    ("driver@virunga.rw", "Jean Bosco Niyonzima", "+250788100004", False, "virunga-express", Role.DRIVER),
    ("agent@virunga.rw", "Diane Ingabire", "+250788100005", False, "virunga-express", Role.AGENT),
    ("manager@akagera.rw", "Patrick Mugisha", "+250788100006", False, "akagera-coaches", Role.ADMIN),
    ("manager@nyungwe.rw", "Grace Uwimana", "+250788100007", False, "nyungwe-line", Role.ADMIN),
    ("passenger@tms.rw", "Olivier Nshimiyimana", "+250788100008", False, None, None),
]


def _upsert(model, key: dict, **values):
    row = db.session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
    return row


def _logo(name: str, colour: str) -> bytes:
    """A demo logo: a disc of the brand colour with the initials, then the name, as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (480, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 116, 116), fill=colour)
    initials = "".join(word[0] for word in name.split()[:2])
    draw.text((60, 60), initials, fill="white", anchor="mm", font=ImageFont.load_default(size=52))
    draw.text((132, 60), name.split()[0], fill=colour, anchor="lm", font=ImageFont.load_default(size=64))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def load() -> list[tuple[str, str]]:
    """Load the demo data; return (email, what the account is) for each demo login."""
    towns = {name: _upsert(Town, {"code": code}, name=name, aliases=aliases) for code, name, aliases in TOWNS}
    db.session.flush()
    for code, name, town, lat, lon in STATIONS:
        _upsert(Station, {"code": code}, name=name, town_id=towns[town].id, latitude=lat, longitude=lon)
    companies = {
        code: _upsert(Company, {"code": code}, name=name, phone=phone, email=email)
        for code, name, phone, email in COMPANIES
    }
    db.session.flush()
    for code, colour in BRANDS.items():
        company = companies[code]
        if company.brand_colour is None and company.logo_version is None:  # never over an admin's choice
            company.brand_colour = colour
            company.logo_png = _logo(company.name, colour)
            company.logo_version = hashlib.sha256(company.logo_png).hexdigest()[:12]

    password_hash = hash_password(DEMO_PASSWORD)
    logins = []
    for email, name, phone, is_admin, company_code, role in ACCOUNTS:
        user = _upsert(
            User,
            {"email": email},
            name=name,
            phone=phone,
            password_hash=password_hash,
            is_super_admin=is_admin,
            last_login_at=utcnow(),
        )
        db.session.flush()
        what = "super admin" if is_admin else "customer"
        if company_code:
            company = companies[company_code]
            _upsert(Membership, {"user_id": user.id, "company_id": company.id}, role=role.value)
            what = f"{role.label}, {company.name}"
        logins.append((email, what))
    db.session.flush()
    fleet.load(companies, utcnow())
    passenger = db.session.scalar(select(User).where(User.email == "passenger@tms.rw"))
    driver = db.session.scalar(select(User).where(User.email == "driver@virunga.rw"))
    fleet.passenger_booking(passenger, driver, companies["virunga-express"], utcnow())
    return logins


def loaded() -> dict[str, int]:
    """How much demo data there is, for ``flask demo load``'s summary."""
    models = {
        "companies": Company,
        "stations": Station,
        "routes": Route,
        "buses": Bus,
        "trips": Trip,
        "tickets": Ticket,
    }
    counts = {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in models.items()}
    counts["messages"] = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.channel.in_(("sms", "email")))
    )
    return counts
