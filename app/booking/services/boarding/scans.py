"""Scans at the bus door, online or uploaded from a phone that had no signal, and their undoing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload

from app.accounts.models import User
from app.accounts.queries import active_memberships
from app.accounts.rules import Role
from app.audit import services as audit
from app.booking.errors import NotBoarded, NotYourBoarding, UndoTooLate
from app.booking.models import BoardingScan, Ticket
from app.booking.rules import UNDO_WINDOW
from app.booking.services.tickets import verify_ticket
from app.core import events
from app.core.errors import InvalidInput, NotFound
from app.core.i18n import local_time
from app.extensions import db
from app.fleet.models import Bus, Route, Trip

BOARDING_FIELDS = ("boarded_at", "boarded_by_id", "boarded_device", "boarded_stop", "boarded_offline")
# The signature held and the record decides; any other refusal of verify_ticket is a forgery
# (a bad or unknown key, a code naming no ticket of ours), except text that is no ticket at all.
RECORD_REASONS = ("valid", "cancelled", "unpaid")


@dataclass(frozen=True)
class ScanAnswer:
    """What the phone shows for one scan (the contract's JSON is :meth:`as_json`)."""

    scan_id: str | None
    result: str  # rules.SCAN_RESULTS, or "undone"
    message: str
    warning: str | None = None  # "wrong_stop"
    ticket: dict | None = None  # never for another company's ticket, a forgery or unreadable text
    boarded_at: datetime | None = None  # boarded and already_boarded: the (first) boarding
    boarded_device: str | None = None
    other_trip: dict | None = None  # wrong_trip, for a ticket of the same company
    offline: bool = False
    duplicate: bool = False

    def as_json(self) -> dict:
        return {
            **self.__dict__,
            "boarded_at": self.boarded_at.isoformat() if self.boarded_at else None,
        }


# --- Who boards a trip -----------------------------------------------------------------------------


def may_board(user, trip: Trip, *, at_the_door: bool = False) -> bool:
    """The trip's driver, and the admins and dispatchers of its company; ``at_the_door`` (scans,
    uploads, undo) also its station agents, who board passengers at the bus park. Drivers of its
    other trips and other companies may not; neither may agents take the trip's offline pack (its
    key) or let the bus leave a stop."""
    roles = {m.role for m in active_memberships(user) if m.company_id == trip.company_id}
    allowed = {Role.ADMIN, Role.DISPATCHER} | ({Role.AGENT} if at_the_door else set())
    return bool(roles) and (trip.driver_id == user.id or bool(roles & allowed))


def boarding_trip(user, trip_id: int, *, at_the_door: bool = False) -> Trip:
    """The trip, if ``user`` may board it (``may_board``). Read lean, as the scan path needs it:
    its route and company and its bus's plate; not the bus's seats nor the stops (loaded if asked
    for)."""
    trip = db.session.scalar(
        select(Trip)
        .where(Trip.id == trip_id)
        .options(
            joinedload(Trip.route).options(joinedload(Route.company), lazyload(Route.stops)),
            joinedload(Trip.bus).lazyload(Bus.seats),
            lazyload(Trip.driver),
            lazyload(Trip.stops),
        )
    )
    if trip is None:
        raise NotFound(_("No such trip."))
    if not may_board(user, trip, at_the_door=at_the_door):
        raise NotYourBoarding()
    return trip


# --- Scans -------------------------------------------------------------------------------------------


def scan(
    user,
    trip_id: int,
    *,
    qr: str | None = None,
    code: str | None = None,
    device: str,
    stop: int | None = None,
    scan_id: str | None = None,
    scanned_at: datetime | str | None = None,
    offline: bool = False,
    boarded_on_device: bool = True,
    now: datetime,
) -> ScanAnswer:
    """Board the ticket of a QR text (or a typed ``code``) on this trip, at ``stop`` (the bus's
    current stop when left out). ``offline``: a scan the phone made with no signal at
    ``scanned_at`` (its clock), which it showed as boarded unless ``boarded_on_device`` is false."""
    return _scan(
        user,
        boarding_trip(user, trip_id, at_the_door=True),
        text=qr,
        code=code,
        device=device,
        stop=stop,
        scan_id=scan_id,
        scanned_at=_instant(scanned_at),
        offline=offline,
        boarded_on_device=boarded_on_device,
        now=now,
    )


def upload(user, trip_id: int, scans: list[dict], *, device: str, now: datetime) -> list[ScanAnswer]:
    """A phone's queued offline scans, one answer each. Sending the same batch again changes
    nothing and answers the same (scans are known by ``scan_id``)."""
    trip = boarding_trip(user, trip_id, at_the_door=True)
    return [
        _scan(
            user,
            trip,
            text=item.get("qr"),
            code=item.get("code"),
            device=device,
            stop=item.get("stop"),
            scan_id=item["scan_id"],
            scanned_at=_instant(item.get("scanned_at")),
            offline=True,
            boarded_on_device=item.get("result_on_device") in (None, "boarded"),
            now=now,
        )
        for item in scans
    ]


def _scan(
    user,
    trip: Trip,
    *,
    text,
    code,
    device,
    stop,
    scan_id,
    scanned_at,
    offline,
    boarded_on_device,
    now,
) -> ScanAnswer:
    scan_id, device = scan_id or str(uuid4()), device[:64]  # a phone's name is kept to its column
    known = _stored(scan_id)
    if known is not None:
        return _answer(known)
    if text is None and code is None:
        raise InvalidInput(fields={"qr": [_("Send the QR text or the ticket's code.")]})
    at = min(scanned_at or now, now) if offline else now  # a phone's clock may run ahead
    stop = trip.current_stop if stop is None else stop
    ticket, result = _read(trip, text, code)
    duplicate = False
    if result is None:
        result, duplicate = _redeem(user, ticket, device, stop, at, offline and boarded_on_device)
    record = BoardingScan(
        scan_id=scan_id,
        trip_id=trip.id,
        ticket_id=ticket.id if ticket else None,
        user_id=user.id,
        device=device,
        stop=stop,
        scanned_at=at,
        received_at=now,
        offline=offline,
        result=result,
        duplicate=duplicate,
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:  # the same scan, sent twice at once: the first one's answer
        return _answer(_stored(scan_id))
    payload = {"scan_id": scan_id, "result": result, "ticket_id": record.ticket_id, "stop": stop}
    events.emit("boarding.scanned", payload, company_id=trip.company_id, trip_id=trip.id)
    return _answer(record)


def _stored(scan_id: str) -> BoardingScan | None:
    return db.session.scalar(select(BoardingScan).where(BoardingScan.scan_id == scan_id))


def _instant(value: datetime | str | None) -> datetime | None:
    """A phone's time, as the API gives it or as JSON text from the driver page (UTC when it has
    no offset); None, so the server's now, when it is not a time at all."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _read(trip: Trip, text: str | None, code: str | None) -> tuple[Ticket | None, str | None]:
    """The ticket a scan names, and why it cannot board (None when it may)."""
    if text is not None:
        verdict = verify_ticket(text)
        if verdict.reason == "malformed":
            return None, "unreadable"
        if verdict.reason not in RECORD_REASONS or verdict.ticket is None:
            return verdict.ticket, "forged"
        ticket, claims = verdict.ticket, verdict.claims
    else:
        ticket = db.session.scalar(select(Ticket).where(Ticket.code == code.strip().upper()))
        if ticket is None:
            return None, "unreadable"
        claims = None
    if ticket.trip_id != trip.id and ticket.trip.company_id != trip.company_id:
        return ticket, "wrong_trip"  # another company's: said without a word about it
    if claims is not None and (
        claims.seat_class != ticket.seat_class
        or (claims.origin, claims.destination) != (ticket.origin_position, ticket.destination_position)
    ):
        return ticket, "forged"  # a seat label may differ: a bus swap moved them, the record wins
    if ticket.trip_id != trip.id:
        return ticket, "wrong_trip"
    return ticket, _refusal(ticket)


def _refusal(ticket: Ticket) -> str | None:
    if ticket.status in ("cancelled", "no_show"):
        return "cancelled"
    return None if ticket.status == "paid" else "not_paid"


def _redeem(user, ticket: Ticket, device: str, stop: int, at: datetime, boarded_offline: bool) -> tuple[str, bool]:
    """Board ``ticket``: (result, duplicate). An offline boarding of a ticket another phone boarded
    keeps the earlier of the two and flags the later one a duplicate."""
    values = {
        "boarded_at": at,
        "boarded_by_id": user.id,
        "boarded_device": device,
        "boarded_stop": stop,
        "boarded_offline": boarded_offline,
    }
    if _board(ticket, values, Ticket.boarded_at.is_(None)):
        return "boarded", False
    db.session.refresh(ticket)
    if ticket.boarded_at is None:  # cancelled or marked a no-show meanwhile
        return _refusal(ticket) or "already_boarded", False
    if not boarded_offline or ticket.boarded_device == device:
        return "already_boarded", False
    first = ticket.boarded_at
    if at < first and _board(ticket, values, Ticket.boarded_at == first):
        db.session.execute(
            update(BoardingScan)
            .where(
                BoardingScan.ticket_id == ticket.id,
                BoardingScan.result == "boarded",
                BoardingScan.undone_at.is_(None),
            )
            .values(duplicate=True)
        )
        return "boarded", False
    return "already_boarded", True


def _board(ticket: Ticket, values: dict, condition) -> bool:
    """The one conditional UPDATE that redeems a ticket; True when this call did."""
    won = db.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == "paid", condition)
        .values(**values)
        .returning(Ticket.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return won is not None


# --- Answers -----------------------------------------------------------------------------------------


def _answer(record: BoardingScan) -> ScanAnswer:
    """The answer to a recorded scan, the same each time it is asked for."""
    trip, ticket, result = db.session.get(Trip, record.trip_id), record.ticket, record.result
    if ticket is not None and (result in ("forged", "unreadable") or ticket.trip.company_id != trip.company_id):
        ticket = None
    warning = "wrong_stop" if result == "boarded" and ticket.origin_position != record.stop else None
    first = ticket if result in ("boarded", "already_boarded") else None
    other = ticket.trip if result == "wrong_trip" and ticket is not None else None
    return ScanAnswer(
        scan_id=record.scan_id,
        result=result,
        message=_message(result, ticket, trip, warning),
        warning=warning,
        ticket=_ticket_json(ticket) if ticket else None,
        boarded_at=first.boarded_at if first else None,
        boarded_device=first.boarded_device if first else None,
        other_trip=trip_json(other) if other else None,
        offline=record.offline,
        duplicate=record.duplicate,
    )


def _ticket_json(ticket: Ticket) -> dict:
    return {
        "code": ticket.code,
        "name": ticket.passenger_name,
        "seat": ticket.seat_label,
        "class": ticket.seat_class,
        "from": ticket.origin.name,
        "to": ticket.destination.name,
    }


def trip_json(trip: Trip) -> dict:
    return {
        "id": trip.id,
        "date": trip.service_date.isoformat(),
        "departs_at": trip.departs_at.isoformat(),
        "route": trip.route.name,
        "plate": trip.bus.plate if trip.bus else None,
    }


def _message(result: str, ticket: Ticket | None, trip: Trip, warning: str | None) -> str:
    """The one sentence on the phone's screen."""
    zone = trip.route.company.timezone
    if result == "boarded":
        said = _(
            "Boarded: %(name)s, seat %(seat)s, %(origin)s to %(destination)s.",
            name=ticket.passenger_name,
            seat=ticket.seat_label,
            origin=ticket.origin.name,
            destination=ticket.destination.name,
        )
        if warning:
            said += " " + _("Wrong stop: this passenger boards at %(stop)s.", stop=ticket.origin.name)
        return said
    if result == "already_boarded":
        when = local_time(ticket.boarded_at, "%H:%M", zone=zone)
        scanner = db.session.get(User, ticket.boarded_by_id) if ticket.boarded_by_id else None
        if scanner is None:
            return _("Already boarded at %(time)s, scanned on %(device)s.", time=when, device=ticket.boarded_device)
        return _(
            "Already boarded at %(time)s, scanned by %(person)s on %(device)s.",
            time=when,
            person=scanner.name,
            device=ticket.boarded_device,
        )
    if result == "wrong_trip" and ticket is not None:
        other = ticket.trip
        return _(
            "Wrong trip: this ticket is for %(route)s on %(day)s, bus %(plate)s.",
            route=other.route.name,
            day=local_time(other.departs_at, "%a %d %b %H:%M", zone=zone),
            plate=other.bus.plate if other.bus else _("not yet chosen"),
        )
    if result == "cancelled" and ticket is not None and ticket.status == "no_show":
        return _("Cancelled: this passenger was marked as not there when the bus left their stop.")
    return {
        "wrong_trip": _("Wrong trip: this ticket is not for this bus."),
        "not_paid": _("Not paid: this ticket has not been paid for."),
        "cancelled": _("Cancelled: this ticket was cancelled."),
        "forged": _("Forged: this is not a genuine ticket. Do not let it board."),
        "unreadable": _("Unreadable: this is not a ticket code. Scan again or type the code."),
    }[result]


# --- Undo ----------------------------------------------------------------------------------------------


def undo(user, trip_id: int, ticket_code: str, *, device: str, now: datetime) -> ScanAnswer:
    """Take back a mistaken boarding, within ``UNDO_WINDOW`` of it; audited."""
    trip = boarding_trip(user, trip_id, at_the_door=True)
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.code == ticket_code.strip().upper(), Ticket.trip_id == trip.id)
    )
    if ticket is None:
        raise NotFound(_("No ticket of this trip has this code."))
    if ticket.boarded_at is None:
        raise NotBoarded()
    if now - ticket.boarded_at > UNDO_WINDOW:
        raise UndoTooLate()
    before = audit.snapshot(ticket, BOARDING_FIELDS)
    cleared = dict.fromkeys(BOARDING_FIELDS) | {"boarded_offline": False}
    if not _board(ticket, cleared, Ticket.boarded_at == ticket.boarded_at):
        raise NotBoarded()
    db.session.execute(
        update(BoardingScan)
        .where(BoardingScan.ticket_id == ticket.id, BoardingScan.result == "boarded", BoardingScan.undone_at.is_(None))
        .values(undone_at=now)
    )
    audit.record(
        user,
        "ticket.boarding_undone",
        ticket,
        f"Boarding of ticket {ticket.code} ({ticket.passenger_name}) undone on {device}",
        company_id=trip.company_id,
        before=before,
        after=audit.snapshot(ticket, BOARDING_FIELDS),
    )
    events.emit("boarding.undone", {"ticket_id": ticket.id}, company_id=trip.company_id, trip_id=trip.id)
    message = _(
        "Boarding undone: %(name)s, seat %(seat)s, has not boarded.", name=ticket.passenger_name, seat=ticket.seat_label
    )
    return ScanAnswer(scan_id=None, result="undone", message=message, ticket=_ticket_json(ticket))
