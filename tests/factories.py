"""Build rows for tests with sensible defaults."""

from __future__ import annotations

import itertools

from app.accounts.models import Membership, User
from app.accounts.rules import Role
from app.accounts.services import hash_password
from app.companies.models import Company, Station
from app.extensions import db

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH: list[str] = []
_sequence = itertools.count(1)
ROLES = ("customer", "super_admin", *(role.value for role in Role))


def _password_hash(password: str) -> str:
    if password != PASSWORD:
        return hash_password(password)
    if not _PASSWORD_HASH:  # hashing is slow on purpose; do it once for the common password
        _PASSWORD_HASH.append(hash_password(PASSWORD))
    return _PASSWORD_HASH[0]


def user(*, email: str | None = None, password: str = PASSWORD, **values) -> User:
    n = next(_sequence)
    row = User(
        email=email or f"user{n}@example.rw",
        name=values.pop("name", f"Test User {n}"),
        password_hash=_password_hash(password),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def company(**values) -> Company:
    n = next(_sequence)
    row = Company(code=values.pop("code", f"company-{n}"), name=values.pop("name", f"Company {n}"), **values)
    db.session.add(row)
    db.session.flush()
    return row


def station(**values) -> Station:
    n = next(_sequence)
    row = Station(
        code=values.pop("code", f"station-{n}"),
        name=values.pop("name", f"Station {n}"),
        city=values.pop("city", "Kigali"),
        latitude=values.pop("latitude", -1.94),
        longitude=values.pop("longitude", 30.06),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def member(role: Role | str, *, of: Company | None = None, **user_values) -> User:
    row = user(**user_values)
    db.session.add(Membership(user=row, company=of or company(), role=Role(role).value))
    db.session.flush()
    return row


def user_with_role(role: str, **values) -> User:
    if role == "customer":
        return user(**values)
    if role == "super_admin":
        return user(is_super_admin=True, **values)
    return member(role, **values)
