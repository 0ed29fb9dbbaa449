"""The booking journey over JSON: stations, trip search, seat maps, holds, orders, tickets, and
ticket verification for company staff. Errors come back as ``{"error": {code, message, fields}}``."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request, url_for

from app.accounts.queries import active_memberships
from app.booking import qr, queries
from app.booking.models import Hold, Order, Ticket
from app.booking.rules import search_problems
from app.booking.services import holds, inventory, orders, tickets
from app.companies.models import Station
from app.core.api import json_body
from app.core.errors import Forbidden, InvalidInput, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.fleet.models import Trip

blueprint = Blueprint("booking", __name__)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def _station_json(station: Station) -> dict:
    return {
        "id": station.id,
        "name": station.name,
        "city": station.city,
        "latitude": station.latitude,
        "longitude": station.longitude,
    }


@blueprint.get("/stations")
def stations():
    text = request.args.get("q", "").strip()[:80]
    return jsonify(stations=[_station_json(s) for s in queries.station_search(text, limit=20)])


def _station_arg(name: str, errors: dict) -> Station | None:
    value = request.args.get(name, type=int)
    station = db.session.get(Station, value) if value else None
    if station is None or not station.is_enabled:
        errors[name] = ["Unknown station: give a station id from GET /api/v1/stations."]
    return station


@blueprint.get("/trips/search")
def search():
    errors: dict[str, list[str]] = {}
    origin, destination = _station_arg("from", errors), _station_arg("to", errors)
    today = utcnow().astimezone(_zone()).date()
    try:
        day = date.fromisoformat(request.args["date"]) if request.args.get("date") else today
    except ValueError:
        errors["date"] = ["Give the date as YYYY-MM-DD."]
        day = today
    if origin and destination:
        for name, problem in search_problems(origin.id, destination.id, day, today).items():
            errors.setdefault({"destination": "to"}.get(name, name), []).append(problem)
    sort = request.args.get("sort", "time")
    if sort not in ("time", "price"):
        errors["sort"] = ["Sort by time or price."]
    if errors:
        raise InvalidInput(fields=errors)
    offers = queries.search(
        origin.id,
        destination.id,
        day,
        zone=_zone(),
        now=utcnow(),
        company_id=request.args.get("operator", type=int),
        time_of_day=request.args.get("time_of_day"),
        sort=sort,
    )
    return jsonify(
        date=day.isoformat(),
        trips=[
            {
                "trip_id": o.trip_id,
                "operator": o.operator,
                "route": o.route,
                "from": {"station_id": origin.id, "name": origin.name, "departs_at": o.departs_at.isoformat()},
                "to": {"station_id": destination.id, "name": destination.name, "arrives_at": o.arrives_at.isoformat()},
                "seats_free": o.seats_free,
                "price": {"standard": o.price, **({"vip": o.vip_price} if o.vip_price else {})},
                "currency": o.currency,
            }
            for o in offers
        ],
    )


def _trip(trip_id: int) -> Trip:
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        raise NotFound("No such trip.")
    return trip


def _positions(stations: list[int], origin_station, destination_station) -> tuple[int, int]:
    """Stop positions on a trip calling at ``stations`` of the passenger's two stations: the whole
    trip when they are left out."""
    by_station = {station: position for position, station in enumerate(stations)}
    origin = by_station.get(origin_station) if origin_station else 0
    destination = by_station.get(destination_station) if destination_station else len(stations) - 1
    if origin is None or destination is None or origin >= destination:
        raise InvalidInput(fields={"to": ["This trip does not go from that stop to that one."]})
    return origin, destination


def _stations_of(trip_id) -> list[int]:
    stations = queries.trip_stations(trip_id)
    if not stations:
        raise NotFound("No such trip.")
    return stations


@blueprint.get("/trips/<int:trip_id>/seats")
def seats(trip_id: int):
    trip = _trip(trip_id)
    stations = [stop.station_id for stop in trip.stops]
    origin, destination = _positions(stations, request.args.get("from", type=int), request.args.get("to", type=int))
    states = inventory.seat_states(trip, origin, destination, now=utcnow(), viewer_id=g.user.id)
    return jsonify(
        trip_id=trip.id,
        bus=trip.bus.plate if trip.bus else None,
        prices=queries.prices_for(trip, origin, destination),
        currency=trip.route.company.currency,
        seats=[
            {
                "label": seat.label,
                "row": seat.row,
                "column": seat.column,
                "class": seat.seat_class,
                "state": states.get(seat.label, "free"),
            }
            for seat in (trip.bus.seats if trip.bus else [])
        ],
    )


def _hold_json(hold: Hold) -> dict:
    return {
        "code": hold.code,
        "trip_id": hold.trip_id,
        "seats": hold.seats,
        "from_position": hold.origin_position,
        "to_position": hold.destination_position,
        "status": hold.status,
        "expires_at": hold.expires_at.isoformat(),
        "seconds_left": holds.seconds_left(hold, utcnow()),
    }


def _check_labels(seats: list) -> None:
    if not all(isinstance(seat, str) and len(seat) <= 6 for seat in seats):
        raise InvalidInput(fields={"seats": ['Seats are labels such as "12A".']})


@blueprint.post("/holds")
def create_hold():
    body = json_body(trip_id=(int, 0), seats=(list, 0))
    raw = request.get_json()
    _check_labels(body["seats"])
    origin, destination = _positions(_stations_of(body["trip_id"]), raw.get("from"), raw.get("to"))
    hold = holds.create_hold(
        g.user, body["trip_id"], seats=body["seats"], origin=origin, destination=destination, now=utcnow()
    )
    return jsonify(hold=_hold_json(hold)), 201


@blueprint.delete("/holds/<code>")
def release_hold(code: str):
    return jsonify(hold=_hold_json(holds.release_hold(g.user, code, now=utcnow())))


def _order_json(order: Order) -> dict:
    return {
        "code": order.code,
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "expires_at": order.expires_at.isoformat() if order.expires_at else None,
        "tickets": [_ticket_json(t) for t in order.tickets],
    }


def _ticket_json(ticket: Ticket) -> dict:
    return {
        "code": ticket.code,
        "status": ticket.status,
        "trip_id": ticket.trip_id,
        "seat": ticket.seat_label,
        "class": ticket.seat_class,
        "passenger": ticket.passenger_name,
        "from": ticket.origin.name,
        "to": ticket.destination.name,
        "departs_at": ticket.trip.time_at(ticket.origin_position).isoformat(),
        "price": ticket.price,
        "refund_amount": ticket.refund_amount,
        "qr": qr.text_for(ticket) if ticket.status == "paid" else None,
        "url": url_for("portal.booking.ticket", code=ticket.code, _external=True),
    }


@blueprint.post("/orders")
def create_order():
    """Check out a hold (``hold``), or book seats in one call (``trip_id``, ``seats``, optional
    ``from``/``to`` station ids); either way one passenger per seat, priced by the server."""
    raw = request.get_json(silent=True)
    one_call = isinstance(raw, dict) and "hold" not in raw and "trip_id" in raw
    body = json_body(
        passengers=(list, 0), **({"trip_id": (int, 0), "seats": (list, 0)} if one_call else {"hold": (str, 40)})
    )
    people = []
    for entry in body["passengers"][:6]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name", ""), str):
            raise InvalidInput(fields={"passengers": ["Each passenger is an object with a name and a phone."]})
        people.append(orders.Passenger(entry.get("name", ""), entry.get("phone") or None))
    if not one_call:
        return jsonify(
            order=_order_json(orders.checkout(g.user, body["hold"], people, channel="api", now=utcnow()))
        ), 201
    _check_labels(body["seats"])
    origin, destination = _positions(_stations_of(body["trip_id"]), raw.get("from"), raw.get("to"))
    order = orders.reserve(
        g.user,
        body["trip_id"],
        seats=body["seats"],
        origin=origin,
        destination=destination,
        passengers=people,
        now=utcnow(),
    )
    return jsonify(order=_order_json(order)), 201


@blueprint.get("/orders/<code>")
def get_order(code: str):
    return jsonify(order=_order_json(queries.order_for_user(g.user, code)))


@blueprint.get("/tickets")
def my_tickets():
    return jsonify(tickets=[_ticket_json(t) for t in queries.tickets_of(g.user.id)])


@blueprint.post("/tickets/verify")
def verify():
    """For company staff at the door: is this QR a ticket to travel? Answers 200 either way."""
    body = json_body(qr=(str, 400))
    companies = {m.company_id for m in active_memberships(g.user)}
    if not companies:
        raise Forbidden("Only company staff verify tickets.")
    trip_id = request.get_json().get("trip_id")
    if trip_id is not None and not isinstance(trip_id, int):
        raise InvalidInput(fields={"trip_id": ["Must be an integer."]})
    verdict = tickets.verify_ticket(body["qr"], trip_id=trip_id)
    if verdict.ticket is not None and verdict.ticket.order.company_id not in companies:
        verdict = tickets.Verdict(False, "unknown_ticket", "No ticket of your company matches this code.")
    return jsonify(
        valid=verdict.valid,
        reason=verdict.reason,
        message=verdict.message,
        ticket=_ticket_json(verdict.ticket) if verdict.ticket is not None else None,
    )
