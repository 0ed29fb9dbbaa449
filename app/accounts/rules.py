"""Who may do what: company roles and which surface each one opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    ADMIN = "admin"  # company admin: staff, money settings and everything a dispatcher does
    DISPATCHER = "dispatcher"  # runs trips, swaps and manifests; no staff or money
    DRIVER = "driver"
    AGENT = "agent"  # station agent selling at the counter

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self.value])


ROLE_LABELS = {
    "admin": _l("Company admin"),
    "dispatcher": _l("Dispatcher"),
    "driver": _l("Driver"),
    "agent": _l("Station agent"),
}


CONSOLE_ROLES = frozenset({Role.ADMIN, Role.DISPATCHER})

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


def normalize_phone(raw: str, region: str = "RW") -> str:
    """Return ``raw`` as E.164 (``+2507XXXXXXXX``); local Rwandan numbers need no prefix.

    Raises ``ValueError`` with a sentence for the user when the number cannot be valid.
    """
    import phonenumbers

    text = raw.strip()
    if len(text) > 32:
        raise ValueError(_("That phone number is too long."))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("Enter a phone number such as 0788 123 456 or +250 788 123 456.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("That is not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- Sessions ---------------------------------------------------------------------------------

# Roles whose sessions end after a quiet spell: desks and counters are shared, and a console left
# open is a console anyone can use. Drivers are staff (a shorter lifetime) but have no idle limit:
# their page shares the bus's position over a websocket for hours while nobody touches the phone.
IDLE_LIMITED_ROLES = frozenset({Role.ADMIN, Role.DISPATCHER, Role.AGENT})

# last_seen_at is written at most this often, so most requests write nothing.
SESSION_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class SessionPolicy:
    """How long a browser session lives: every session up to ``lifetime``; staff (super admins
    and company members) up to ``staff_lifetime``, and those in an idle-limited role (staff too)
    only while they were active within ``staff_idle``."""

    lifetime: timedelta
    staff_lifetime: timedelta
    staff_idle: timedelta

    @classmethod
    def from_config(cls, config) -> SessionPolicy:
        return cls(
            lifetime=timedelta(seconds=config["SESSION_LIFETIME_SECONDS"]),
            staff_lifetime=timedelta(seconds=config["STAFF_SESSION_LIFETIME_SECONDS"]),
            staff_idle=timedelta(seconds=config["STAFF_SESSION_IDLE_SECONDS"]),
        )

    def ends_at(self, session, *, staff: bool, idle_limited: bool) -> datetime:
        """When ``session`` (a ``UserSession``) ends, if nothing revokes it sooner."""
        end = session.expires_at
        if staff:
            end = min(end, session.created_at + self.staff_lifetime)
        if idle_limited:
            end = min(end, session.last_seen_at + self.staff_idle)
        return end


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_summary(user_agent: str) -> str:
    """A short name such as "Chrome on Android": enough for people to recognise their devices."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "A browser")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    return f"{browser} on {system}" if system else browser
