"""Imports every model module so SQLAlchemy and Alembic see all tables."""

from app.accounts.models import Membership, User  # noqa: F401
from app.companies.models import Company, Station  # noqa: F401
