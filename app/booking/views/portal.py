"""The passenger's journey on the portal: search, seat map, hold, checkout, orders,
tickets with QR codes, PDF and calendar files, cancellation."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.booking import documents, qr, queries, rules
from app.booking.errors import HoldExpired, TicketNotCancellable
from app.booking.forms import CheckoutForm, GuestCheckoutForm, SearchForm
from app.booking.models import Order, Ticket
from app.booking.rules import MAX_SEATS_PER_ORDER, search_problems
from app.booking.services import guests, holds, inventory, orders, tickets
from app.companies.queries import active_companies, stations_by_city
from app.core import tx
from app.core.edge import db_id
from app.core.errors import DomainError, InvalidInput, RateLimited
from app.core.htmx import render
from app.core.i18n import money, supported
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Trip
from app.web.surface import GUEST_KEY, current_guest, guests_welcome, public, session_user

blueprint = Blueprint("booking", __name__)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def _today() -> date:
    return utcnow().astimezone(_zone()).date()


# --- Search ----------------------------------------------------------------------------------


@blueprint.get("/search")
@public
def search():
    form = SearchForm(request.args)
    form.operator.choices = {"": _("All operators"), **{str(c.id): c.name for c in active_companies()}}
    offers, origin, destination, searched = [], None, None, bool(request.args)
    day = form.date.data or _today()
    if searched and form.validate():
        origin = queries.station_named(form.origin.data)
        destination = queries.station_named(form.destination.data)
        if origin is None:
            form.origin.errors.append(_("We do not know this bus park. Pick one from the list."))
        if destination is None:
            form.destination.errors.append(_("We do not know this bus park. Pick one from the list."))
        if origin and destination:
            for name, problem in search_problems(origin.id, destination.id, day, _today()).items():
                getattr(form, name).errors.append(problem)
        if not form.errors:
            offers = queries.search(
                origin.id,
                destination.id,
                day,
                zone=_zone(),
                now=utcnow(),
                company_id=int(form.operator.data) if (form.operator.data or "").isdigit() else None,
                time_of_day=form.time_of_day.data or None,
                sort=form.sort.data,
            )
    if not form.date.data:
        form.date.data = day
    return render(
        "booking/portal/search.html",
        "results",
        form=form,
        offers=offers,
        origin=origin,
        destination=destination,
        day=day,
        searched=searched,
        stations=stations_by_city(),
        status=422 if searched and form.errors else 200,
    )


# --- Seat map and hold -----------------------------------------------------------------------


def _trip_on_sale(trip_id: int) -> Trip:
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        abort(404)
    return trip


def _positions(trip: Trip) -> tuple[int, int]:
    """The passenger's stops from the query (station ids), as positions on the trip."""
    by_station = {stop.station_id: stop.position for stop in trip.stops}
    origin = by_station.get(request.values.get("from", type=db_id), 0)
    destination = by_station.get(request.values.get("to", type=db_id), len(trip.stops) - 1)
    if origin >= destination:
        raise InvalidInput(_("This trip does not go from that stop to that one."))
    return origin, destination


@blueprint.get("/trips/<int:trip_id>")
@public
def trip_seats(trip_id: int, error: str | None = None, status: int = 200):
    trip = _trip_on_sale(trip_id)
    origin, destination = _positions(trip)
    now = utcnow()
    user, guest = session_user(), current_guest()
    states = inventory.seat_states(
        trip,
        origin,
        destination,
        now=now,
        viewer_id=user.id if user else None,
        viewer_key=guest.key if guest and not user else None,
    )
    prices = queries.prices_for(trip, origin, destination)
    return render(
        "booking/portal/trip.html",
        "seat_map",
        trip=trip,
        origin=origin,
        destination=destination,
        states=states,
        prices=prices,
        seats=trip.bus.seats if trip.bus else [],
        max_seats=MAX_SEATS_PER_ORDER,
        error=error,
        on_sale=trip.status in ("scheduled", "boarding") and trip.bus and trip.time_at(origin) > now,
        status=status,
    )


@blueprint.post("/trips/<int:trip_id>/hold")
def hold_seats(trip_id: int):
    trip = _trip_on_sale(trip_id)
    origin, destination = _positions(trip)
    try:
        hold = holds.create_hold(
            g.user, trip.id, seats=request.form.getlist("seats"), origin=origin, destination=destination, now=utcnow()
        )
    except DomainError as refusal:  # taken seats, limits, bad choices: said on the seat map
        tx.rollback()
        return trip_seats(trip_id, error=refusal.message, status=refusal.status)
    return redirect(url_for(".checkout", code=hold.code), 303)


@blueprint.post("/trips/<int:trip_id>/guest")
@public  # booking without an account: the browser gets a guest key; limited per client address
def guest_hold(trip_id: int):
    """Hold seats for a passenger who is not signed in (a signed-in one holds them as themself)."""
    trip = _trip_on_sale(trip_id)
    origin, destination = _positions(trip)
    user = session_user()
    buyer = user or current_guest() or holds.Guest(guests.new_guest_key())
    try:
        if user is None:
            guests.count_guest_hold(request.remote_addr or "")
        hold = holds.create_hold(
            buyer, trip.id, seats=request.form.getlist("seats"), origin=origin, destination=destination, now=utcnow()
        )
    except DomainError as refusal:
        tx.rollback()
        return trip_seats(trip_id, error=refusal.message, status=refusal.status)
    if user is None:
        session[GUEST_KEY] = buyer.key
    return redirect(url_for(".checkout", code=hold.code), 303)


# --- Checkout --------------------------------------------------------------------------------


@blueprint.route("/checkout/<code>", methods=["GET", "POST"])
@guests_welcome
def checkout(code: str):
    now = utcnow()
    guest = holds.is_guest(g.user)
    hold = holds.hold_of(g.user, code)
    if hold.status == "converted" and hold.order is not None:
        return redirect(url_for("portal.payments.pay", code=hold.order.code), 303)
    trip = hold.trip
    form = GuestCheckoutForm() if guest else CheckoutForm()
    while len(form.passengers) < len(hold.seats):  # one passenger per seat, whatever was posted
        form.passengers.append_entry()
    while len(form.passengers) > len(hold.seats):
        form.passengers.pop_entry()
    if not form.is_submitted() and not guest:
        form.passengers[0].form.name.data = g.user.name
        form.passengers[0].form.phone.data = g.user.phone
    status = 200
    if hold.status == "active" and hold.expires_at > now and form.validate_on_submit():
        people = [orders.Passenger(entry.form.name.data, entry.form.phone.data) for entry in form.passengers]
        try:
            contact = None
            if guest:
                contact = guests.clean_contact(
                    form.contact_name.data,
                    form.contact_phone.data,
                    form.contact_email.data,
                    supported(str(get_locale())) or "en",
                )
                guests.count_guest_order(contact.phone)
            order = orders.checkout(g.user, hold.code, people, channel="web", now=now, contact=contact)
        except InvalidInput as error:
            tx.rollback()
            for name, messages in error.fields.items():
                field, _dash, index = name.partition("-")
                if index.isdigit() and int(index) < len(form.passengers):
                    getattr(form.passengers[int(index)].form, field).errors.extend(messages)
                elif hasattr(form, name) and name.startswith("contact_"):
                    getattr(form, name).errors.extend(messages)
                else:
                    form.form_errors.extend(messages)
            status = 422
        except RateLimited as error:
            tx.rollback()
            form.form_errors.append(error.message)
            status = error.status
        except HoldExpired as error:
            tx.rollback()
            form.form_errors.append(error.message)
            status = error.status
        else:
            return _placed(order, shown_total=form.shown_total.data)
    elif form.is_submitted():
        status = 422 if hold.status == "active" else 410
    expired = hold.status != "active" or hold.expires_at <= now
    priced = None if expired else orders.quote(trip, hold.seats, hold.origin_position, hold.destination_position)
    form.shown_total.data = str(priced.total) if priced else ""
    return render(
        "booking/portal/checkout.html",
        guest=guest,
        hold=hold,
        trip=trip,
        form=form,
        quote=priced,
        seconds_left=holds.seconds_left(hold, now),
        expired=expired,
        policy=trip.route.company.refund_policy,
        status=status,
    )


def _placed(order: Order, *, shown_total: str | None) -> Response:
    """On to paying, saying so when the order was priced other than the page showed (the fares
    changed meanwhile: the order is priced when placed); straight to the tickets when it is free."""
    if shown_total and shown_total.isdigit() and int(shown_total) != order.total:
        flash(
            _(
                "The fares changed while you were booking: this booking costs %(total)s, not %(shown)s.",
                total=money(order.total, order.currency),
                shown=money(int(shown_total), order.currency),
            ),
            "info",
        )
    if order.status == "paid":
        flash(_("Nothing to pay: your tickets are issued."), "success")
        return redirect(url_for(".order", code=order.code), 303)
    return redirect(url_for("portal.payments.pay", code=order.code), 303)


@blueprint.post("/checkout/<code>/release")
@guests_welcome
def release(code: str):
    hold = holds.release_hold(g.user, code, now=utcnow())
    flash(_("Your seats were released."), "info")
    stops = hold.trip.stops
    return redirect(
        url_for(
            ".trip_seats",
            trip_id=hold.trip_id,
            **{"from": stops[hold.origin_position].station_id, "to": stops[hold.destination_position].station_id},
        ),
        303,
    )


# --- Orders ------------------------------------------------------------


@blueprint.get("/orders/<code>")
@guests_welcome
def order(code: str):
    from app.payments.queries import payments_of_order

    order = queries.order_for_user(g.user, code)
    return render(
        "booking/portal/order.html", order=order, payments=payments_of_order(order), guest=holds.is_guest(g.user)
    )


@blueprint.post("/orders/<code>/tickets-link")
@guests_welcome
def open_tickets(code: str):
    """The guest who just paid opens their tickets in this browser: a fresh magic link of their own
    (the SMS brings another)."""
    order = queries.order_for_user(g.user, code)
    if not holds.is_guest(g.user) or order.status not in ("paid", "cancelled", "partially_refunded", "refunded"):
        return redirect(url_for(".order", code=order.code), 303)
    return redirect(url_for("portal.guests.order", token=guests.issue_link(order, now=utcnow())), 303)


# --- Tickets ---------------------------------------------------------------------------------


@blueprint.get("/tickets")
def my_tickets():
    now = utcnow()
    mine = queries.tickets_of(g.user.id)
    upcoming = [
        t for t in mine if rules.is_upcoming(t.status, t.trip.status, t.trip.time_at(t.destination_position), now)
    ]
    past = [t for t in reversed(mine) if t not in upcoming]
    return render("booking/portal/tickets.html", upcoming=upcoming, past=past, claimable=guests.claimable(g.user))


def cancellation(ticket: Ticket, now) -> dict:
    """Whether ``ticket`` can be cancelled now, and what that gives back under its terms."""
    departs_at = ticket.trip.time_at(ticket.origin_position)
    can_cancel = ticket.status == "paid" and ticket.trip.status in ("scheduled", "boarding") and departs_at > now
    return {
        "can_cancel": can_cancel,
        "refund": tickets.refund_for(ticket, departs_at, now) if can_cancel else None,
        "hours_left": max(int((departs_at - now).total_seconds() // 3600), 0),
        "policy": sorted(ticket.refund_policy, reverse=True),
    }


def ticket_page(ticket: Ticket, *, urls: dict, tracking) -> Response:
    """A ticket as its holder sees it: facts, QR, PDF, live map, cancellation (``urls`` names
    where its PDF, calendar and cancellation are: the account's pages or a guest link's)."""
    return render(
        "booking/portal/ticket.html",
        ticket=ticket,
        trip=ticket.trip,
        qr_svg=qr.svg(qr.text_for(ticket)) if ticket.status == "paid" else None,
        urls=urls,
        tracking=tracking,
        **cancellation(ticket, utcnow()),
    )


def cancel_page(ticket: Ticket, *, urls: dict, confirmed: bool) -> Response:
    """Cancelling asks first: the refund and the terms, then (``confirmed``) the cancellation."""
    if confirmed:
        try:
            tickets.cancel_ticket(ticket, now=utcnow())
        except TicketNotCancellable as error:
            tx.rollback()
            flash(error.message, "error")
        else:
            flash(
                _(
                    "Ticket %(code)s cancelled. Refund: %(amount)s.",
                    code=ticket.code,
                    amount=money(ticket.refund_amount, ticket.currency),
                ),
                "success",
            )
        return redirect(urls["ticket"], 303)
    return render(
        "booking/portal/cancel.html", ticket=ticket, trip=ticket.trip, urls=urls, **cancellation(ticket, utcnow())
    )


def _ticket_urls(code: str) -> dict:
    return {
        "ticket": url_for(".ticket", code=code),
        "pdf": url_for(".ticket_pdf", code=code),
        "ics": url_for(".ticket_ics", code=code),
        "cancel": url_for(".cancel", code=code),
    }


@blueprint.get("/tickets/<code>")
def ticket(code: str):
    from app.tracking.views.portal import live_section

    ticket = queries.ticket_for_user(g.user, code)
    return ticket_page(ticket, urls=_ticket_urls(code), tracking=live_section(ticket, utcnow()))


@blueprint.route("/tickets/<code>/cancel", methods=["GET", "POST"])
def cancel(code: str):
    ticket = queries.ticket_for_user(g.user, code)
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    return cancel_page(ticket, urls=_ticket_urls(code), confirmed=confirmed)


@blueprint.get("/tickets/<code>/ticket.pdf")
def ticket_pdf(code: str):
    return pdf_response(queries.ticket_for_user(g.user, code))


def pdf_response(ticket: Ticket) -> Response:
    """A ticket's PDF as a download: A4 to print, or ``?layout=phone`` to read on a screen."""
    layout = request.args.get("layout") if request.args.get("layout") in documents.LAYOUTS else "a4"
    suffix = "" if layout == "a4" else f"-{layout}"
    return Response(
        documents.ticket_pdf(ticket, layout=layout),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="ticket-{ticket.code}{suffix}.pdf"'},
    )


@blueprint.get("/tickets/<code>/calendar.ics")
def ticket_ics(code: str):
    ticket = queries.ticket_for_user(g.user, code)
    return Response(
        documents.ticket_ics(ticket, url=url_for(".ticket", code=code, _external=True)),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="trip-{ticket.code}.ics"'},
    )
