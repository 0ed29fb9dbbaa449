"""Imports every model module so SQLAlchemy and Alembic see all tables."""

from app.accounts.models import Membership, SignupRequest, User, UserSession  # noqa: F401
from app.audit.models import AuditEntry  # noqa: F401
from app.booking.models import GuestLink, Hold, Order, SeatLeg, Ticket  # noqa: F401
from app.companies.models import Company, Station  # noqa: F401
from app.core.events import Event  # noqa: F401
from app.fleet.models import Bus, BusSeat, Fare, Route, RouteStop, Timetable, Trip, TripStop  # noqa: F401
from app.notifications.models import Notification  # noqa: F401
from app.payments.models import IdempotencyKey, Payment, Refund, WebhookEvent  # noqa: F401
from app.tracking.models import Position, ShareLink, Tracker  # noqa: F401
