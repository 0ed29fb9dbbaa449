"""Notification jobs: the send job, the subscribers that turn events into delivery records, the
boarding reminder scan and the sweep that resends what was lost. All on the ``high`` queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.booking.models import Order, Ticket
from app.core import events
from app.core.events import Event
from app.core.i18n import language_of, supported
from app.core.jobs import enqueue, job
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Trip
from app.notifications.services import Outgoing, claim, deliver, due, queue

# --- Sending -----------------------------------------------------------------------------------


@job
def send(notification_id: int) -> None:
    """Send one record, once: a second run of this job, or a copy enqueued twice, finds the record
    already claimed or sent and returns."""
    now = utcnow()
    notification = claim(notification_id, now)
    if notification is not None:
        deliver(notification, now=now)


@job
def send_due() -> int:
    """Every minute: enqueue what should be on its way and is not (a lost job, a dead worker, a
    retry whose scheduled job vanished with Redis)."""
    ids = due(utcnow())
    for notification_id in ids:
        enqueue("high", send, notification_id)
    return len(ids)


# --- Who hears about what ----------------------------------------------------------------------


def trip_context(trip: Trip) -> dict:
    """What a trip's messages say about it; times are kept as instants and written in each
    recipient's language when the message is rendered (``messages.render``)."""
    company = trip.route.company
    return {
        "company": company.name,
        "company_phone": company.phone,
        "route": trip.route.name,
        "trip_id": trip.id,
        "departs_at": trip.departs_at.isoformat(),
        "timezone": company.timezone,
        "plate": trip.bus.plate if trip.bus else None,
    }


def ticket_context(ticket: Ticket) -> dict:
    trip = ticket.trip
    return {
        "id": ticket.id,
        "code": ticket.code,
        "seat": ticket.seat_label,
        "passenger": ticket.passenger_name,
        "origin": ticket.origin.name,
        "destination": ticket.destination.name,
        "boards_at": trip.time_at(ticket.origin_position).isoformat(),
        "price": ticket.price,
        "currency": ticket.currency,
        "refund": ticket.refund_amount,
    }


def audience(
    kind: str, source: str, tickets: list[Ticket], context: dict, *, extra=None, buyers_only: bool = False
) -> list[Outgoing]:
    """One message per address about the tickets it holds: an SMS to each ticket's phone (the
    passenger's, else the buyer's), an email and a portal item to each buyer. A buyer who turned
    SMS or email off is not sent them; a passenger without an account always gets the SMS.
    ``extra(tickets) -> dict`` adds what depends on the recipient's own tickets; ``buyers_only``
    leaves the passengers' own phones out (what only the buyer can act on)."""
    groups: dict[tuple[str, str], tuple[User | None, list[Ticket]]] = {}

    def add(channel: str, address: str, user: User | None, ticket: Ticket) -> None:
        groups.setdefault((channel, address), (user, []))[1].append(ticket)

    guests: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        if ticket.order.user is None and ticket.order.contact_phone:
            guests.setdefault(ticket.order_id, []).append(ticket)  # a guest's: to the contact, below
            continue
        buyer = ticket.order.user
        phone = (
            (buyer.phone if buyer else None)
            if buyers_only
            else ticket.passenger_phone or (buyer.phone if buyer else None)
        )
        buyers_phone = buyer is not None and phone == buyer.phone
        if phone and (not buyers_phone or buyer.notify_sms):
            add("sms", phone, buyer if buyers_phone else None, ticket)
        if buyer is not None and buyer.is_enabled:
            if buyer.notify_email:
                add("email", buyer.email, buyer, ticket)
            add("inbox", f"user:{buyer.id}", buyer, ticket)
    outgoing = [item for held in guests.values() for item in _to_guest(kind, source, held, context, extra)]
    for (channel, address), (user, held) in groups.items():
        orders = {ticket.order for ticket in held}
        order = orders.pop() if len(orders) == 1 else None
        values = {
            **context,
            "tickets": [ticket_context(t) for t in held],
            "name": _first_name(user, held),
            "language": _language(user, held[0]),
        }
        if order is not None:
            values["order_code"] = order.code
        if extra is not None:
            values.update(extra(held))
        link = f"/tickets/{held[0].code}" if len(held) == 1 else (f"/orders/{order.code}" if order else "/tickets")
        values["link"] = link
        outgoing.append(
            Outgoing(
                kind=kind,
                source=source,
                channel=channel,
                address=address,
                context=values,
                user_id=user.id if user else None,
                company_id=held[0].order.company_id,
                trip_id=held[0].trip_id,
                order_id=order.id if order else None,
                link=link,
            )
        )
    return outgoing


def _language(user: User | None, ticket: Ticket) -> str:
    """The recipient's language: the account's; for a passenger's own phone, the language the
    booking was made in (a guest's order keeps it), else the buyer's."""
    if user is not None:
        return language_of(user)
    order = ticket.order
    return supported(getattr(order, "language", None)) or language_of(order.user)


def _to_guest(kind: str, source: str, held: list[Ticket], context: dict, extra) -> list[Outgoing]:
    """A guest's order: its contact hears about all of its tickets, by SMS and (if given) email, in
    the contact's language, with a magic link to the order made when each message is sent."""
    order = held[0].order
    values = {
        **context,
        "tickets": [ticket_context(t) for t in held],
        "name": (order.contact_name or "").split(" ")[0],
        "order_code": order.code,
        "guest_order_id": order.id,  # messages.render makes the link: it is never stored
        "language": order.language,
        "link": "",
    }
    if extra is not None:
        values.update(extra(held))
    channels = [("sms", order.contact_phone)] + ([("email", order.contact_email)] if order.contact_email else [])
    return [
        Outgoing(
            kind=kind,
            source=source,
            channel=channel,
            address=address,
            context=values,
            company_id=order.company_id,
            trip_id=held[0].trip_id,
            order_id=order.id,
        )
        for channel, address in channels
    ]


def _first_name(user: User | None, tickets: list[Ticket]) -> str:
    name = user.name if user else tickets[0].passenger_name
    return (name or "").split(" ")[0]


def _tickets(ids) -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).where(Ticket.id.in_(list(ids))).order_by(Ticket.id))) if ids else []


def _active_tickets(trip_id: int) -> list[Ticket]:
    return list(
        db.session.scalars(select(Ticket).where(Ticket.trip_id == trip_id, Ticket.status == "paid").order_by(Ticket.id))
    )


@events.subscribe("tickets.issued")
def on_tickets_issued(event: Event) -> None:
    order = db.session.get(Order, event.payload["order_id"])
    if order is None:
        return
    tickets = [t for t in order.tickets if t.status == "paid"]
    if tickets:
        trip = tickets[0].trip
        queue(audience("ticket_issued", f"order{order.id}", tickets, trip_context(trip)))


@events.subscribe("payment.failed")
def on_payment_failed(event: Event) -> None:
    order = db.session.get(Order, event.payload["order_id"])
    if order is None or order.status == "paid":
        return
    trip = db.session.get(Trip, order.trip_id)
    context = {
        **trip_context(trip),
        "amount": event.payload["amount"],
        "currency": event.payload["currency"],
        "provider": event.payload["provider"],
        "reason": event.payload.get("reason") or "",
        "order_code": order.code,
        "seats_kept": order.status == "pending",
    }
    tickets = list(order.tickets)
    outgoing = audience("payment_failed", f"payment{event.payload['payment_id']}", tickets, context, buyers_only=True)
    for item in outgoing:
        item.context.pop("guest_order_id", None)  # paying goes on in the guest's own browser
        item.link = item.context["link"] = f"/orders/{order.code}"
    queue(outgoing)


@events.subscribe("guest.link_requested")
def on_guest_link_requested(event: Event) -> None:
    """A guest asked for a new link to their order (the old ones were revoked)."""
    order = db.session.get(Order, event.payload["order_id"])
    if order is None or not order.contact_phone:
        return
    tickets = [t for t in order.tickets if t.status in ("paid", "cancelled")]
    if tickets:
        queue(_to_guest("ticket_link", f"event{event.id}", tickets, trip_context(tickets[0].trip), None))


@events.subscribe("account.phone_code_requested")
def on_phone_code_requested(event: Event) -> None:
    """A code to prove an account's phone (claiming guest tickets); made when the SMS is sent."""
    user = db.session.get(User, event.payload["user_id"])
    if user is None or user.phone != event.payload["phone"]:
        return
    context = {"user_id": user.id, "phone": user.phone, "language": user.language}
    queue(
        [
            Outgoing(
                kind="claim_code",
                source=f"event{event.id}",
                channel="sms",
                address=user.phone,
                context=context,
                user_id=user.id,
            )
        ]
    )


@events.subscribe("trip.delayed")
def on_trip_delayed(event: Event) -> None:
    trip = db.session.get(Trip, event.payload["trip_id"])
    if trip is None:
        return
    context = {
        **trip_context(trip),
        "delay_minutes": event.payload["delay_minutes"],
        "reason": event.payload.get("reason") or "",
    }
    queue(audience("trip_delayed", f"event{event.id}", _active_tickets(trip.id), context))


@events.subscribe("trip.cancelled")
def on_trip_cancelled(event: Event) -> None:
    trip = db.session.get(Trip, event.payload["trip_id"])
    if trip is None:
        return
    context = {**trip_context(trip), "reason": event.payload.get("reason") or ""}

    def refunds(held: list[Ticket]) -> dict:
        return {"refund_total": sum(t.refund_amount or 0 for t in held), "currency": held[0].currency}

    tickets = _tickets(event.payload.get("tickets", ()))
    queue(audience("trip_cancelled", f"trip{trip.id}", tickets, context, extra=refunds))


@events.subscribe("trip.bus_changed")
def on_bus_changed(event: Event) -> None:
    trip = db.session.get(Trip, event.payload["trip_id"])
    if trip is None:
        return
    moves = {move["ticket_id"]: move for move in event.payload.get("moves", ())}
    context = {**trip_context(trip), "plate": event.payload["new_plate"], "old_plate": event.payload.get("old_plate")}

    def seats(held: list[Ticket]) -> dict:
        moved = [
            {"passenger": t.passenger_name, "old_seat": moves[t.id]["from"], "seat": moves[t.id]["to"]}
            for t in held
            if t.id in moves and moves[t.id]["from"] != moves[t.id]["to"]
        ]
        return {"moved": moved}

    tickets = [t for t in _tickets(event.payload.get("tickets", ())) if t.status == "paid"]
    queue(audience("bus_changed", f"event{event.id}", tickets, context, extra=seats))


@events.subscribe("ticket.no_show")
def on_no_show(event: Event) -> None:
    """The bus left a stop without these passengers: their tickets are void, their seats resold."""
    trip = db.session.get(Trip, event.payload["trip_id"])
    if trip is None:
        return
    tickets = [t for t in _tickets(event.payload.get("tickets", ())) if t.status == "no_show"]
    queue(audience("ticket_no_show", f"event{event.id}", tickets, trip_context(trip)))


# --- Boarding reminders ------------------------------------------------------------------------


@job
def send_boarding_reminders() -> int:
    """Every five minutes: remind the passengers of trips leaving within their company's lead
    time. One reminder per trip and departure time per address (a delayed trip reminds again with
    its new time); tickets bought after the reminder was due are not reminded."""
    now = utcnow()
    trips = db.session.scalars(
        select(Trip).where(
            Trip.status.in_(("scheduled", "boarding")),
            Trip.departs_at > now,
            Trip.departs_at <= now + timedelta(days=1),
        )
    )
    count = 0
    for trip in trips:
        lead = timedelta(minutes=trip.route.company.reminder_minutes)
        if not lead or trip.departs_at - lead > now:
            continue
        reminded_from = trip.departs_at - lead
        tickets = [t for t in _active_tickets(trip.id) if t.order.paid_at is None or t.order.paid_at <= reminded_from]
        source = f"trip{trip.id}@{trip.departs_at:%Y%m%d%H%M}"
        count += len(queue(audience("boarding_reminder", source, tickets, trip_context(trip)), now=now).ids)
    return count
