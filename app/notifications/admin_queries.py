"""Reading the delivery log for the super admin and for a company's console: every record, newest
first, filtered by status, channel, kind, company and address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.companies.models import Company
from app.core.edge import db_id, page_number, parse
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.rules import CHANNELS, KINDS, NEEDS_ATTENTION, STATUSES

PAGE_SIZE = 50
LAST_PAGE = 10_000  # keeps a made-up page number from overflowing OFFSET
RETRY_AT_ONCE = 500  # "retry all shown": a bounded batch; press again for the rest

ATTENTION = "attention"  # the status filter's shortcut for failed and gave_up
ALL_CHANNELS = "all"  # the channel filter's value that includes portal items
SENT_BY_PROVIDER = ("sms", "email")  # the default channels: what can fail and need a person


@dataclass(frozen=True)
class LogFilter:
    company_id: int | None = None  # None: the whole platform
    status: str = ""  # one of STATUSES, ATTENTION, or "" for any
    channel: str = ""  # one of CHANNELS, ALL_CHANNELS, or "" for SMS and email
    kind: str = ""
    address: str = ""  # part of a phone number or email address
    page: int = 1
    of_one_company: bool = False  # the console's: the company is fixed, not a filter

    @classmethod
    def from_args(cls, args, *, company_id: int | None = None) -> LogFilter:
        """The filter named by a query string or a posted form (unknown values are ignored); with
        ``company_id``, scoped to that company whatever the arguments say."""
        status, channel, kind, page, company = (
            args.get(name, "") for name in ("status", "channel", "kind", "page", "company")
        )
        company, page = parse(db_id, company), parse(page_number, page) or 1
        if company_id is None and company is not None:
            company_id, chosen = company, True
        else:
            chosen = False
        return cls(
            company_id=company_id,
            status=status if status in (*STATUSES, ATTENTION) else "",
            channel=channel if channel in (*CHANNELS, ALL_CHANNELS) else "",
            kind=kind if kind in KINDS else "",
            address=args.get("q", "").strip()[:100],
            page=min(page, LAST_PAGE),
            of_one_company=company_id is not None and not chosen,
        )

    def args(self, **changes) -> dict[str, str | int]:
        """The query string naming this filter (for pager links and redirects), without blanks."""
        values = {
            "company": "" if self.of_one_company else (self.company_id or ""),
            "status": self.status,
            "channel": self.channel,
            "kind": self.kind,
            "q": self.address,
            "page": self.page if self.page > 1 else "",
            **changes,
        }
        return {name: value for name, value in values.items() if value}


def _where(query, where: LogFilter, *, statuses: tuple[str, ...] | None = None):
    if where.company_id is not None:
        query = query.where(Notification.company_id == where.company_id)
    if statuses is not None:
        query = query.where(Notification.status.in_(statuses))
    elif where.status == ATTENTION:
        query = query.where(Notification.status.in_(NEEDS_ATTENTION))
    elif where.status:
        query = query.where(Notification.status == where.status)
    if where.channel == "":
        query = query.where(Notification.channel.in_(SENT_BY_PROVIDER))
    elif where.channel != ALL_CHANNELS:
        query = query.where(Notification.channel == where.channel)
    if where.kind:
        query = query.where(Notification.kind == where.kind)
    if where.address:
        query = query.where(Notification.address.icontains(where.address, autoescape=True))
    return query


def records(where: LogFilter, *, limit: int = PAGE_SIZE) -> tuple[list[Notification], bool]:
    """One page of records, newest first, and whether an older page follows."""
    query = _where(select(Notification), where).order_by(Notification.created_at.desc(), Notification.id.desc())
    rows = list(db.session.scalars(query.offset((where.page - 1) * limit).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def _attention_statuses(where: LogFilter) -> tuple[str, ...]:
    """The statuses within the filter that need a person: none when it asks for another status."""
    if where.status in NEEDS_ATTENTION:
        return (where.status,)
    return NEEDS_ATTENTION if where.status in ("", ATTENTION) else ()


def needing_attention(where: LogFilter, *, limit: int = RETRY_AT_ONCE) -> list[Notification]:
    """The failed and given-up records the filter shows, newest first, at most ``limit``: what
    "retry all shown" sends again."""
    query = _where(select(Notification), where, statuses=_attention_statuses(where))
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def count_needing_attention(where: LogFilter) -> int:
    query = _where(select(func.count(Notification.id)), where, statuses=_attention_statuses(where))
    return db.session.scalar(query)


def attention_total(company_id: int | None = None) -> int:
    """Every failed or given-up record (of one company, or of the platform): the page header's count."""
    query = select(func.count(Notification.id)).where(Notification.status.in_(NEEDS_ATTENTION))
    if company_id is not None:
        query = query.where(Notification.company_id == company_id)
    return db.session.scalar(query)


def record_of(notification_id: int) -> Notification | None:
    """Any company's record (the super admin's); the console loads through its company instead."""
    return db.session.get(Notification, notification_id)


def company_names() -> dict[int, str]:
    return dict(db.session.execute(select(Company.id, Company.name)).all())
