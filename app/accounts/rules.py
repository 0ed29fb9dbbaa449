"""Who may do what: company roles and which surface each one opens."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # company admin: staff, money settings and everything a dispatcher does
    DISPATCHER = "dispatcher"  # runs trips, swaps and manifests; no staff or money
    DRIVER = "driver"
    AGENT = "agent"  # station agent selling at the counter

    @property
    def label(self) -> str:
        return {"admin": "Company admin", "dispatcher": "Dispatcher", "driver": "Driver", "agent": "Station agent"}[
            self.value
        ]


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
        raise ValueError("That phone number is too long.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Enter a phone number such as 0788 123 456 or +250 788 123 456.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("That is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
