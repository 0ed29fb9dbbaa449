"""Live positions over websockets, under ``/ws`` (the sockets surface, ``app/web/sockets.py``).

- ``/ws/driver/trips/<id>``: the trip's driver sends fixes while it runs; each one is answered.
- ``/ws/trips/<id>`` (``?share=<token>``): a passenger with a paid ticket, or anyone holding a valid
  share link, gets a snapshot and then every position and event of the trip.
- ``/ws/fleet``: a company's admins and dispatchers get every position of its buses.
- ``/ws/console/trips/<id>``: the same people hear when one of their trips' passengers board (the
  console's manifest refreshes itself on each).

Every check runs before the handshake (``app.core.sockets``). Messages come from the process's one
Redis subscription (``app.core.realtime``); each socket keeps only the newest position per bus and
a few events, so a slow client is sent where the bus is now and never holds anyone else up.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, current_app, g, request, session
from sqlalchemy import select
from wsproto.frame_protocol import CloseReason

from app.accounts import services as accounts
from app.accounts.models import User
from app.accounts.queries import membership_for
from app.accounts.rules import CONSOLE_ROLES, SessionPolicy
from app.core.errors import DomainError, Forbidden, NotAuthenticated, NotFound
from app.core.models import utcnow
from app.core.realtime import hub
from app.core.sockets import Socket, accept, caps_for
from app.extensions import db
from app.fleet.models import Bus, Trip
from app.fleet.rules import TripStatus
from app.tracking import eta, live, services
from app.tracking.live import FixRefused, make_fix
from app.tracking.services import NotYourTrip
from app.web.surface import public, session_user

blueprint = Blueprint("tracking", __name__)

ENDING_EVENTS = {"trip.arrived": TripStatus.ARRIVED, "trip.cancelled": TripStatus.CANCELLED}
EVENTS_KEPT = 8  # per socket, besides the newest position of each bus
MAX_FIXES = 1000  # in one "fixes" message (the driver page buffers at most 720)
# An idle watcher's thread wakes this often (to notice its client left, ping, recheck): thousands
# of sockets per process, so not every second.
WATCHER_WAKE_SECONDS = 3.0
# What a trip's watchers (ticket holders and anyone with a share link) may hear of its events: the
# trip's own facts. Other events on the channel (orders, tickets, payments) are not theirs.
WATCHED_EVENTS = {
    "trip.boarding": ("status",),
    "trip.departed": ("status",),
    "trip.arrived": ("status",),
    "trip.delayed": ("departs_at", "delay_minutes", "reason"),
    "trip.cancelled": ("reason",),
    "trip.bus_changed": ("old_plate", "new_plate", "bus_id"),
}


def _bus_of(message: dict):
    return message.get("bus") if message.get("type") == "position" else None


# --- The driver ----------------------------------------------------------------------------------


@blueprint.get("/driver/trips/<int:trip_id>", websocket=True)
def drive(trip_id: int):
    now = utcnow()
    link = services.DriverLink(
        services.driver_trip(g.user, trip_id, now),
        g.user.id,
        now,
        still_signed_in=_signed_in_check(),
        recheck_seconds=current_app.config["WS_RECHECK_SECONDS"] / 2,  # drivers' fixes: twice as often
    )
    return accept(lambda sock: _drive(sock, link), caps=caps_for(user_id=g.user.id), max_message_bytes=256 * 1024)


def _drive(sock: Socket, link: services.DriverLink) -> None:
    with hub().subscribe(live.trip_channel(link.trip_id), maxsize=EVENTS_KEPT, latest_by=_bus_of) as news:
        while sock.open:
            raw = sock.receive(timeout=1.0)
            if raw is not None:
                answers, over = _take(raw, link)
                for answer in answers:
                    sock.send(answer)
                if over:
                    return
            while (message := news.get(timeout=0)) is not None:
                if message.get("event") in ENDING_EVENTS:
                    sock.send({"type": "trip", "status": ENDING_EVENTS[message["event"]]})
                    return
                if message.get("event") == "trip.bus_changed":
                    link.recheck_soon()
            sock.keep_alive()


def _take(raw: str | bytes, link: services.DriverLink) -> tuple[list[dict], bool]:
    """Answers to one message from the driver, and whether the conversation is over."""
    try:
        message = json.loads(raw)
    except ValueError:
        return [_error("bad_message", "Send one JSON object per message.")], False
    kind = message.get("type") if isinstance(message, dict) else None
    items = [message] if kind == "fix" else message.get("fixes") if kind == "fixes" else None
    if not isinstance(items, list):
        return [_error("bad_message", 'Send {"type": "fix", ...} or {"type": "fixes", "fixes": [...]}.')], False
    if len(items) > MAX_FIXES:
        return [_error("bad_message", f"Send at most {MAX_FIXES} fixes at a time.")], False
    answers = []
    try:
        for item in items:
            ts = item.get("ts") if isinstance(item, dict) else None
            ts = ts if isinstance(ts, int | float) and not isinstance(ts, bool) else None
            try:
                stored = link.take(_fix(item), utcnow())
            except FixRefused as error:
                answers.append(_error("bad_fix", error.message, ts))
                continue
            except (NotYourTrip, NotFound) as error:
                answers.append(_stopped(link.user_id, link.trip_id, error, ts))
                return answers, True
            answers.append({"type": "ack", "ts": ts, "moved": stored.moved})
        return answers, False
    finally:
        # A fix rarely touches the database (the assignment every 30 s, a trip's shape once a
        # minute), but when it does the connection must go back to the pool before the socket idles.
        db.session.remove()


def _fix(item) -> live.Fix:
    """A fix as the Geolocation API gives it: metres, metres per second, epoch milliseconds."""
    if not isinstance(item, dict):
        raise FixRefused("A fix is a JSON object.")
    ts = item.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise FixRefused("ts must be the fix's time in epoch milliseconds.")
    try:
        at = datetime.fromtimestamp(ts / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise FixRefused("ts is not a time we can read.") from None
    speed = item.get("speed")
    if isinstance(speed, int | float) and not isinstance(speed, bool):
        speed = speed * 3.6
    return make_fix(
        item.get("lat"),
        item.get("lon"),
        at,
        speed_kmh=speed,
        heading=item.get("heading"),
        accuracy_m=item.get("accuracy"),
    )


def _stopped(user_id: int, trip_id: int, error: Exception, ts) -> dict:
    """The trip ended (say so) or is no longer this driver's (refuse)."""
    trip = db.session.get(Trip, trip_id)
    if trip is not None and trip.driver_id == user_id and trip.status in ENDING_EVENTS.values():
        return {"type": "trip", "status": trip.status}
    return _error("not_your_trip", getattr(error, "message", str(error)), ts)


def _error(code: str, message: str, ts=None) -> dict:
    return {"type": "error", "code": code, "message": message, "ts": ts}


# --- Watchers ------------------------------------------------------------------------------------


@blueprint.get("/trips/<int:trip_id>", websocket=True)
@public  # a share link needs no account; everyone else needs a paid ticket, checked here
def watch(trip_id: int):
    now, user, token = utcnow(), session_user(), request.args.get("share")
    guest_token = request.args.get("token")  # a guest's magic link (booking.services.guests)
    if guest_token and token is None and user is None:
        return _watch_as_guest(trip_id, guest_token, now)
    if user is None and token is None:
        raise NotAuthenticated()
    if not _may_watch(user, trip_id, token, now):
        raise Forbidden(
            "This share link has ended." if token else "Only passengers with a ticket can follow this trip."
        )
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        raise NotFound()
    facts = {"id": trip.id, "status": trip.status, "plate": trip.bus.plate if trip.bus else None, "bus": trip.bus_id}
    shape = eta.shape_of(trip.id)
    user_id = user.id if user else None

    def snapshot() -> dict:
        return {"type": "snapshot", "trip": facts, "position": _position_on(facts, shape)}

    signed_in = _signed_in_check() if user else lambda now: True

    def allowed() -> bool:
        now = utcnow()
        viewer = db.session.get(User, user_id) if user_id else None
        return signed_in(now) and _may_watch(viewer, trip_id, token, now)

    over = facts["status"] in ENDING_EVENTS.values()
    return accept(
        lambda sock: _relay(
            sock,
            live.trip_channel(trip_id),
            snapshot,
            allowed,
            over=over,
            ends=lambda m: m.get("event") in ENDING_EVENTS,
            shown=_for_watchers,
        ),
        caps=caps_for(user_id=user_id, share_token=token),
    )


def _guest_may_watch(trip_id: int, guest_token: str, now: datetime) -> bool:
    from app.booking.services.guests import open_link

    try:
        link = open_link(guest_token, now=now)
    except DomainError:
        return False
    return any(t.trip_id == trip_id and t.status == "paid" for t in link.order.tickets)


def _watch_as_guest(trip_id: int, guest_token: str, now: datetime):
    """A guest's ticket page: their magic link, while it lasts and holds a paid ticket on the trip."""
    if not _guest_may_watch(trip_id, guest_token, now):
        raise Forbidden("Only passengers with a ticket can follow this trip.")
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        raise NotFound()
    facts = {"id": trip.id, "status": trip.status, "plate": trip.bus.plate if trip.bus else None, "bus": trip.bus_id}
    shape = eta.shape_of(trip.id)

    def snapshot() -> dict:
        return {"type": "snapshot", "trip": facts, "position": _position_on(facts, shape)}

    return accept(
        lambda sock: _relay(
            sock,
            live.trip_channel(trip_id),
            snapshot,
            lambda: _guest_may_watch(trip_id, guest_token, utcnow()),
            over=facts["status"] in ENDING_EVENTS.values(),
            ends=lambda m: m.get("event") in ENDING_EVENTS,
            shown=_for_watchers,
        ),
        caps=caps_for(user_id=None, share_token=guest_token),
    )


def _for_watchers(message: dict) -> dict | None:
    """Positions as they are; a trip event with only its public facts; nothing else."""
    if message.get("type") == "position":
        return message
    fields = WATCHED_EVENTS.get(message.get("event"))
    if fields is None:
        return None
    return {"event": message["event"], "trip_id": message.get("trip_id")} | {f: message.get(f) for f in fields}


def _may_watch(user, trip_id: int, token: str | None, now: datetime) -> bool:
    if services.may_watch(user, trip_id, share_token=token, now=now):
        return True
    return token is not None and services.holds_ticket(user, trip_id)


def _position_on(trip: dict, shape: eta.Shape | None) -> dict | None:
    """The bus's latest fix on this trip, with its progress along the route."""
    position = live.latest(trip["bus"]) if trip["bus"] else None
    if position is None or position["trip"] != trip["id"]:
        return None
    at = datetime.fromtimestamp(position["ts"] / 1000, UTC)
    progress = eta.progress(shape, position["lat"], position["lon"], at) if shape else None
    if progress is not None:
        position["progress"] = progress.as_message()
    return position


@blueprint.get("/fleet", websocket=True)
def fleet():
    membership = membership_for(g.user, CONSOLE_ROLES, session.get("company_id"))
    if membership is None:
        raise Forbidden("Only a company's admins and dispatchers follow its fleet.")
    user_id, company_id = g.user.id, membership.company_id
    bus_ids = list(db.session.scalars(select(Bus.id).where(Bus.company_id == company_id)))

    def snapshot() -> dict:
        return {"type": "snapshot", "positions": list(live.latest_many(bus_ids).values())}

    allowed = _still_console_member(user_id, company_id)
    return accept(
        lambda sock: _relay(sock, live.fleet_channel(company_id), snapshot, allowed), caps=caps_for(user_id=user_id)
    )


# What the console's manifest hears of a trip: that boarding changed, never who (it reloads itself).
MANIFEST_EVENTS = frozenset(
    {"boarding.scanned", "boarding.undone", "boarding.stop_departed", "ticket.no_show", "ticket.cancelled"}
    | set(ENDING_EVENTS)
    | {"trip.departed", "trip.bus_changed"}
)


@blueprint.get("/console/trips/<int:trip_id>", websocket=True)
def console_trip(trip_id: int):
    membership = membership_for(g.user, CONSOLE_ROLES, session.get("company_id"))
    trip = db.session.get(Trip, trip_id)
    if membership is None or trip is None or trip.company_id != membership.company_id:
        raise Forbidden("Only the trip's company follows its boarding.")
    user_id = g.user.id
    allowed = _still_console_member(user_id, membership.company_id)

    def shown(message: dict) -> dict | None:
        name = message.get("event")
        return {"event": name, "trip_id": trip_id} if name in MANIFEST_EVENTS else None

    return accept(
        lambda sock: _relay(
            sock, live.trip_channel(trip_id), lambda: {"type": "snapshot", "trip": trip_id}, allowed, shown=shown
        ),
        caps=caps_for(user_id=user_id),
    )


def _still_console_member(user_id: int, company_id: int) -> Callable[[], bool]:
    """For a console socket: whether its viewer is still signed in and still an admin or
    dispatcher of the company."""
    signed_in = _signed_in_check()

    def allowed() -> bool:
        viewer = db.session.get(User, user_id)
        member = membership_for(viewer, CONSOLE_ROLES, company_id) if viewer else None
        return signed_in(utcnow()) and member is not None and member.company_id == company_id

    return allowed


def _signed_in_check() -> Callable[[datetime], bool]:
    """For a socket opened with a browser session: whether that session still lets it in (a
    sign-out, "sign out everywhere", a password change or a deactivation ends it)."""
    token_hash = g.signed_in.session.token_hash
    policy = SessionPolicy.from_config(current_app.config)
    return lambda now: accounts.session_live(token_hash, now=now, policy=policy)


def _relay(
    sock: Socket,
    channel: str,
    snapshot: Callable[[], dict],
    allowed: Callable[[], bool],
    *,
    over: bool = False,
    ends: Callable[[dict], bool] = lambda message: False,
    shown: Callable[[dict], dict | None] = lambda message: message,
) -> None:
    """The snapshot, then what is published on ``channel``, until the client leaves, the story
    ends, or the viewer may no longer watch."""
    with hub().subscribe(channel, maxsize=EVENTS_KEPT, latest_by=_bus_of) as news:
        sock.send(snapshot())  # read after subscribing: nothing published meanwhile is missed
        if over:
            return
        # A watcher whose ticket, link or session ends meanwhile is let go within one to one and a
        # half WS_RECHECK_SECONDS (spread out, so thousands of sockets opened together do not all
        # ask the database in the same second).
        every = current_app.config["WS_RECHECK_SECONDS"]
        recheck_at = time.monotonic() + every * random.uniform(1, 1.5)  # noqa: S311  (timer jitter, not a secret)
        while sock.open:
            message = news.get(timeout=WATCHER_WAKE_SECONDS)
            if message is not None:
                message = shown(message)
            if message is not None:
                sock.send(message)
                if ends(message):
                    return
            if time.monotonic() >= recheck_at:
                if not _briefly(allowed):
                    sock.close(CloseReason.POLICY_VIOLATION, "You can no longer follow this.")
                    return
                recheck_at = time.monotonic() + every * random.uniform(1, 1.5)  # noqa: S311  (timer jitter, not a secret)
            while sock.receive(timeout=0) is not None:
                pass  # watchers have nothing to say; don't let what they send pile up
            sock.keep_alive()


def _briefly(check: Callable[[], bool]) -> bool:
    """Run ``check`` in a database session that ends right after."""
    try:
        return check()
    finally:
        db.session.remove()
