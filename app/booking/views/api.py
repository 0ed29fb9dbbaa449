"""The booking journey over JSON: stations, trip search, seat maps, holds, orders, tickets, and
ticket verification and boarding for company staff. Every message is a model below (``core.schema``)."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, url_for
from flask_babel import gettext as _
from pydantic import AwareDatetime, Field, WithJsonSchema

from app.accounts.queries import active_memberships
from app.booking import qr, queries
from app.booking.models import Hold, Order, Ticket
from app.booking.rules import (
    HOLD_STATUSES,
    MAX_SEATS_PER_ORDER,
    ORDER_STATUSES,
    SCAN_RESULTS,
    TICKET_STATUSES,
    search_problems,
)
from app.booking.services import boarding, holds, inventory, orders, tickets
from app.companies.models import Station
from app.companies.queries import Place, find_place, place_problem, search_stations
from app.core.errors import Forbidden, InvalidInput, NotFound
from app.core.models import utcnow
from app.core.schema import Amount, Day, Id, Model, QueryModel, Timestamp, one_of, operation, text
from app.extensions import db
from app.fleet.models import Trip
from app.fleet.rules import AMENITIES, SEAT_CLASSES

blueprint = Blueprint("booking", __name__)

Seats = Annotated[
    list[text(6)], Field(min_length=1, max_length=MAX_SEATS_PER_ORDER, description='Labels such as "12A", each once')
]


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


# --- Stations and search -----------------------------------------------------------------------


class StationQuery(QueryModel):
    q: text(80, min_length=0) = ""
    """Part of a name or town"""


class StationOut(Model):
    id: Id
    name: str
    town: str
    """The town passengers search by (GET /trips/search?from=Kigali finds all its stations)"""
    city: str
    """The same as town (kept for older clients)"""
    latitude: float
    longitude: float


class StationList(Model):
    stations: list[StationOut]


@blueprint.get("/stations")
@operation(query=StationQuery, answers={200: StationList})
def stations(query: StationQuery):
    """Search stations by name or town"""
    found = search_stations(query.q.strip(), limit=20)
    return StationList(
        stations=[
            StationOut(
                id=s.id, name=s.name, town=s.town.name, city=s.town.name, latitude=s.latitude, longitude=s.longitude
            )
            for s in found
        ]
    )


class SearchQuery(QueryModel):
    origin: text(160) = Field(alias="from")
    """Where from: a town ("Kigali", also its other names such as "Butare" for Huye; every station
    in it), a station's name, or a station id from GET /stations. Case, accents and small
    misspellings do not matter; an unknown place is a 422 that names close matches."""
    destination: text(160) = Field(alias="to")
    """Where to, as `from`"""
    day: Day | None = Field(None, alias="date")
    """YYYY-MM-DD in Africa/Kigali; today when left out"""
    sort: Literal["time", "price"] = "time"
    operator: Id | None = None
    """Only this company's trips"""
    time_of_day: Literal["morning", "afternoon", "evening"] | None = None


class Stop(Model):
    station_id: Id
    name: str
    town: str


class Departure(Stop):
    departs_at: Timestamp


class Arrival(Stop):
    arrives_at: Timestamp


class Offer(Model):
    trip_id: Id
    operator: str
    route: str
    origin: Departure = Field(alias="from")
    """Where the passenger boards: for a town, the trip's first station in it"""
    destination: Arrival = Field(alias="to")
    """Where they get off: for a town, the trip's first station in it"""
    duration_minutes: int
    seats_free: int
    price: dict[Literal[SEAT_CLASSES], Amount]
    """By seat class: standard, and vip when the bus has VIP seats"""
    currency: str
    amenities: list[Literal[tuple(AMENITIES)]]
    """What the operator lists for the bus"""


class PlaceOut(Model):
    name: str
    town: str
    station_ids: list[Id]
    """The stations searched: every one of a town's, or the one named"""


class OperatorOut(Model):
    id: Id
    name: str


class SearchAnswer(Model):
    day: Day = Field(alias="date")
    origin: PlaceOut = Field(alias="from")
    destination: PlaceOut = Field(alias="to")
    operators: list[OperatorOut]
    """The operators with a route serving this pair (for the `operator` filter)"""
    trips: list[Offer]


def _place(typed: str, name: str, errors: dict) -> Place | None:
    """The place a client meant: a station id, or a town's or station's name."""
    typed = typed.strip()
    if typed.isdigit():
        station = db.session.get(Station, int(typed)) if len(typed) <= 9 else None
        if station is None or not station.is_enabled:
            errors[name] = [_("Unknown station id %(id)s: give one from GET /api/v1/stations, or a town.", id=typed)]
            return None
        return Place(station.name, station.town.name, (station.id,), False)
    place, suggestions = find_place(typed)
    if place is None:
        errors[name] = [place_problem(typed, suggestions)]
    return place


def _place_out(place: Place) -> PlaceOut:
    return PlaceOut(name=place.name, town=place.town, station_ids=list(place.station_ids))


@blueprint.get("/trips/search")
@operation(query=SearchQuery, answers={200: SearchAnswer})
def search(query: SearchQuery):
    """Trips passing `from` before `to` on a date (Africa/Kigali); towns or stations"""
    errors: dict[str, list[str]] = {}
    origin, destination = _place(query.origin, "from", errors), _place(query.destination, "to", errors)
    today = utcnow().astimezone(_zone()).date()
    day = query.day or today
    if origin and destination:
        for name, problem in search_problems(origin.station_ids, destination.station_ids, day, today).items():
            errors.setdefault({"destination": "to"}.get(name, name), []).append(problem)
    if errors:
        raise InvalidInput(fields=errors)
    offers = queries.search(
        origin.station_ids,
        destination.station_ids,
        day,
        zone=_zone(),
        now=utcnow(),
        company_id=query.operator,
        time_of_day=query.time_of_day,
        sort=query.sort,
    )
    operators = queries.operators_serving(origin.station_ids, destination.station_ids)
    return SearchAnswer(
        day=day,
        origin=_place_out(origin),
        destination=_place_out(destination),
        operators=[OperatorOut(id=c.id, name=c.name) for c in operators],
        trips=[
            Offer(
                trip_id=o.trip_id,
                operator=o.operator,
                route=o.route,
                origin=Departure(
                    station_id=o.origin.id, name=o.origin.name, town=o.origin.town.name, departs_at=o.departs_at
                ),
                destination=Arrival(
                    station_id=o.destination.id,
                    name=o.destination.name,
                    town=o.destination.town.name,
                    arrives_at=o.arrives_at,
                ),
                duration_minutes=o.minutes,
                seats_free=o.seats_free,
                price={"standard": o.price, **({"vip": o.vip_price} if o.vip_price else {})},
                currency=o.currency,
                amenities=list(o.amenities),
            )
            for o in offers
        ],
    )


# --- Seat maps and holds -----------------------------------------------------------------------


def _trip(trip_id: int) -> Trip:
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        raise NotFound("No such trip.")
    return trip


def _positions(stations: list[int], origin_station: int | None, destination_station: int | None) -> tuple[int, int]:
    """Stop positions on a trip calling at ``stations`` of the passenger's two stations: the whole
    trip when they are left out."""
    by_station = {station: position for position, station in enumerate(stations)}
    origin = by_station.get(origin_station) if origin_station else 0
    destination = by_station.get(destination_station) if destination_station else len(stations) - 1
    if origin is None or destination is None or origin >= destination:
        raise InvalidInput(fields={"to": ["This trip does not go from that stop to that one."]})
    return origin, destination


def _stations_of(trip_id: int) -> list[int]:
    stations = queries.trip_stations(trip_id)
    if not stations:
        raise NotFound("No such trip.")
    return stations


class LegQuery(QueryModel):
    origin: Id | None = Field(None, alias="from")
    """Origin station id; the trip's first stop when left out"""
    destination: Id | None = Field(None, alias="to")
    """Destination station id; the trip's last stop when left out"""


class Seat(Model):
    label: str
    row: int
    column: int
    seat_class: Literal[SEAT_CLASSES] = Field(alias="class")
    state: Literal["free", "taken", "held", "mine"]


class SeatMap(Model):
    trip_id: Id
    bus: str | None
    """The bus's plate"""
    prices: dict[str, Amount]
    """Price by seat class between the two stops"""
    currency: str
    seats: list[Seat]


@blueprint.get("/trips/<int:trip_id>/seats")
@operation(query=LegQuery, answers={200: SeatMap})
def seats(trip_id: int, query: LegQuery):
    """Seat map for a leg range: free, taken, held, or mine"""
    trip = _trip(trip_id)
    origin, destination = _positions([stop.station_id for stop in trip.stops], query.origin, query.destination)
    states = inventory.seat_states(trip, origin, destination, now=utcnow(), viewer_id=g.user.id)
    return SeatMap(
        trip_id=trip.id,
        bus=trip.bus.plate if trip.bus else None,
        prices=queries.prices_for(trip, origin, destination),
        currency=trip.route.company.currency,
        seats=[
            Seat(
                label=seat.label,
                row=seat.row,
                column=seat.column,
                seat_class=seat.seat_class,
                state=states.get(seat.label, "free"),
            )
            for seat in (trip.bus.seats if trip.bus else [])
        ],
    )


class HoldRequest(Model):
    trip_id: Id
    origin: Id | None = Field(None, alias="from")
    """Origin station id; the trip's first stop when left out"""
    destination: Id | None = Field(None, alias="to")
    """Destination station id; the trip's last stop when left out"""
    seats: Seats


class HoldOut(Model):
    code: str
    trip_id: Id
    seats: list[str]
    from_position: int
    to_position: int
    status: Literal[HOLD_STATUSES]
    expires_at: Timestamp
    seconds_left: int


class HoldAnswer(Model):
    hold: HoldOut


def _hold_out(hold: Hold) -> HoldOut:
    return HoldOut(
        code=hold.code,
        trip_id=hold.trip_id,
        seats=hold.seats,
        from_position=hold.origin_position,
        to_position=hold.destination_position,
        status=hold.status,
        expires_at=hold.expires_at,
        seconds_left=holds.seconds_left(hold, utcnow()),
    )


@blueprint.post("/holds")
@operation(body=HoldRequest, answers={201: HoldAnswer}, errors=(404, 409, 429))
def create_hold(body: HoldRequest):
    """Hold 1-6 seats for a few minutes (all or none)"""
    origin, destination = _positions(_stations_of(body.trip_id), body.origin, body.destination)
    hold = holds.create_hold(
        g.user, body.trip_id, seats=body.seats, origin=origin, destination=destination, now=utcnow()
    )
    return HoldAnswer(hold=_hold_out(hold)), 201


@blueprint.delete("/holds/<code>")
@operation(answers={200: HoldAnswer})
def release_hold(code: str):
    """Give up a hold; the seats are free at once"""
    return HoldAnswer(hold=_hold_out(holds.release_hold(g.user, code, now=utcnow())))


# --- Orders and tickets --------------------------------------------------------------------------


class Passenger(Model):
    name: text(120)
    phone: text(32, min_length=0) | None = None
    """For the SMS ticket; the buyer's when left out"""


Passengers = Annotated[list[Passenger], Field(min_length=1, max_length=MAX_SEATS_PER_ORDER, description="One per seat")]


class CheckoutRequest(Model):
    """Check out a hold."""

    hold: text(40)
    """A hold's code (POST /holds)"""
    passengers: Passengers


class BookingRequest(Model):
    """Book seats in one call."""

    trip_id: Id
    origin: Id | None = Field(None, alias="from")
    """Origin station id; the trip's first stop when left out"""
    destination: Id | None = Field(None, alias="to")
    """Destination station id; the trip's last stop when left out"""
    seats: Seats
    passengers: Passengers


def _order_kind(raw) -> str:
    return "booking" if isinstance(raw, dict) and "hold" not in raw and "trip_id" in raw else "checkout"


OrderRequest = one_of(_order_kind, checkout=CheckoutRequest, booking=BookingRequest)


class TicketOut(Model):
    code: str
    status: Literal[TICKET_STATUSES]
    trip_id: Id
    seat: str
    seat_class: Literal[SEAT_CLASSES] = Field(alias="class")
    passenger: str
    origin: str = Field(alias="from")
    destination: str = Field(alias="to")
    departs_at: Timestamp
    price: Amount
    refund_amount: Amount | None
    qr: str | None
    """The signed QR text, once paid"""
    url: str


class OrderOut(Model):
    code: str
    status: Literal[ORDER_STATUSES]
    total: Amount
    currency: str
    expires_at: Timestamp | None
    tickets: list[TicketOut]


class OrderAnswer(Model):
    order: OrderOut


class TicketList(Model):
    tickets: list[TicketOut]


def _order_out(order: Order) -> OrderOut:
    return OrderOut(
        code=order.code,
        status=order.status,
        total=order.total,
        currency=order.currency,
        expires_at=order.expires_at,
        tickets=[_ticket_out(t) for t in order.tickets],
    )


def _ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        code=ticket.code,
        status=ticket.status,
        trip_id=ticket.trip_id,
        seat=ticket.seat_label,
        seat_class=ticket.seat_class,
        passenger=ticket.passenger_name,
        origin=ticket.origin.name,
        destination=ticket.destination.name,
        departs_at=ticket.trip.time_at(ticket.origin_position),
        price=ticket.price,
        refund_amount=ticket.refund_amount,
        qr=qr.text_for(ticket) if ticket.status == "paid" else None,
        url=url_for("portal.booking.ticket", code=ticket.code, _external=True),
    )


@blueprint.post("/orders")
@operation(body=OrderRequest, answers={201: OrderAnswer}, errors=(404, 409, 410, 429))
def create_order(body: CheckoutRequest | BookingRequest):
    """Check out a hold, or book seats in one call; prices come from the fare table

    Either `hold` (a hold's code) or `trip_id` with `seats` (and `from`/`to` station ids, the whole
    trip if left out). One passenger per seat. A one-call order keeps its seats for the company's
    hold time and counts against the same limits as a hold.
    """
    people = [orders.Passenger(p.name, p.phone or None) for p in body.passengers]
    now = utcnow()
    if isinstance(body, CheckoutRequest):
        return OrderAnswer(order=_order_out(orders.checkout(g.user, body.hold, people, channel="api", now=now))), 201
    origin, destination = _positions(_stations_of(body.trip_id), body.origin, body.destination)
    order = orders.reserve(
        g.user, body.trip_id, seats=body.seats, origin=origin, destination=destination, passengers=people, now=now
    )
    return OrderAnswer(order=_order_out(order)), 201


@blueprint.get("/orders/<code>")
@operation(answers={200: OrderAnswer})
def get_order(code: str):
    """One of my orders with its tickets"""
    return OrderAnswer(order=_order_out(queries.order_for_user(g.user, code)))


@blueprint.get("/tickets")
@operation(answers={200: TicketList})
def my_tickets():
    """My tickets"""
    return TicketList(tickets=[_ticket_out(t) for t in queries.tickets_of(g.user.id)])


class VerifyRequest(Model):
    qr: text(400)
    """The text read from the ticket's QR code"""
    trip_id: Id | None = None
    """The trip being boarded: a ticket for another trip is refused"""


class VerifyAnswer(Model):
    valid: bool
    reason: Literal[
        "valid",
        "malformed",
        "forged",
        "unknown_key",
        "retired_key",
        "unknown_ticket",
        "cancelled",
        "unpaid",
        "wrong_trip",
    ]
    message: str
    ticket: TicketOut | None


@blueprint.post("/tickets/verify")
@operation(body=VerifyRequest, answers={200: VerifyAnswer}, errors=(403,))
def verify(body: VerifyRequest):
    """For company staff: is this QR text a ticket to travel?

    Answers 200 either way, with the reason.
    """
    companies = {m.company_id for m in active_memberships(g.user)}
    if not companies:
        raise Forbidden("Only company staff verify tickets.")
    verdict = tickets.verify_ticket(body.qr, trip_id=body.trip_id)
    if verdict.ticket is not None and verdict.ticket.order.company_id not in companies:
        verdict = tickets.Verdict(False, "unknown_ticket", "No ticket of your company matches this code.")
    return VerifyAnswer(
        valid=verdict.valid,
        reason=verdict.reason,
        message=verdict.message,
        ticket=_ticket_out(verdict.ticket) if verdict.ticket is not None else None,
    )


# --- Boarding ------------------------------------------------------------------------------------

Device = Annotated[text(64), Field(description="This scanner's name: the next scanner of a boarded ticket is told it")]
StopPosition = Annotated[int, Field(ge=0, le=255, description="A stop's position on the trip, 0 for the first")]
# The phone's clock as ISO 8601 text with its offset (JSON has no time type).
Instant = Annotated[AwareDatetime, Field(strict=False), WithJsonSchema({"type": "string", "format": "date-time"})]


class BoardingRequest(Model):
    """Give the QR text or the typed code."""

    qr: text(400) | None = None
    """The text read from the ticket's QR code"""
    code: text(12) | None = None
    """The ticket's short code, typed when the QR cannot be read"""
    device: Device
    stop: StopPosition | None = None
    """Where the bus is; the trip's current stop when left out"""
    scan_id: text(36) | None = None
    """The scanner's own id for this scan: sent again, it answers the same and boards nothing"""


class OfflineScan(Model):
    scan_id: text(36)
    """The scanner's own id for this scan: sent again, it answers the same and boards nothing"""
    qr: text(400) | None = None
    code: text(12) | None = None
    stop: StopPosition | None = None
    scanned_at: Instant
    """When the phone scanned it (a time ahead of the server's counts as now)"""
    result_on_device: Literal[SCAN_RESULTS] | None = None
    """What the phone showed; boarded when left out"""


class BatchRequest(Model):
    device: Device
    scans: Annotated[list[OfflineScan], Field(min_length=1, max_length=500)]


class ScanTicket(Model):
    code: str
    name: str
    seat: str
    seat_class: Literal[SEAT_CLASSES] = Field(alias="class")
    origin: str = Field(alias="from")
    destination: str = Field(alias="to")


class OtherTrip(Model):
    id: Id
    day: Day = Field(alias="date")
    departs_at: Timestamp
    route: str
    plate: str | None


class ScanOut(Model):
    scan_id: str | None
    result: Literal[(*SCAN_RESULTS, "undone")]
    warning: Literal["wrong_stop"] | None
    """The passenger boards at another stop than the bus is at"""
    message: str
    """One sentence for the scanner's screen"""
    ticket: ScanTicket | None
    """Never for another company's ticket, a forgery or unreadable text"""
    boarded_at: Timestamp | None
    """The boarding (for already_boarded: the first one)"""
    boarded_device: str | None
    other_trip: OtherTrip | None
    """wrong_trip: the trip the ticket is for, when it is the same company's"""
    offline: bool
    duplicate: bool
    """A second phone boarded this ticket with no signal after the first"""


class BatchAnswer(Model):
    answers: list[ScanOut]
    """One per scan sent, in the same order"""


class PackStop(Model):
    position: int
    name: str
    town: str


class PackTrip(OtherTrip):
    current_stop: int
    stops: list[PackStop]


class PackTicket(Model):
    code: str
    seat: str
    seat_class: Literal[SEAT_CLASSES] = Field(alias="class")
    origin: int = Field(alias="from")
    """Stop position where the passenger boards"""
    destination: int = Field(alias="to")
    name: str
    status: Literal["paid"]
    boarded_at: Timestamp | None
    boarded_device: str | None


class OfflinePack(Model):
    trip: PackTrip
    keys: dict[str, str]
    """Key id → this trip's own verification key, base64url without padding"""
    tickets: list[PackTicket]
    revoked: list[str]
    """Codes of this trip's cancelled, expired and no-show tickets"""
    issued_at: Timestamp
    valid_until: Timestamp


class UndoQuery(QueryModel):
    device: text(64) = "api"


def _scan_out(answer: boarding.ScanAnswer) -> ScanOut:
    return ScanOut.model_validate(answer.as_json(), strict=False)


@blueprint.post("/trips/<int:trip_id>/boardings")
@operation(body=BoardingRequest, answers={200: ScanOut}, errors=(403, 404))
def board(trip_id: int, body: BoardingRequest):
    """Scan a ticket at the door: boards it once, or says why not

    For the trip's driver and its company's admins, dispatchers and station agents (a partner's
    scanner signs in as one of them). Answers 200 whatever the result; a ticket of another company
    is `wrong_trip` with nothing about it.
    """
    fields = body.model_dump(include={"qr", "code", "device", "stop", "scan_id"})
    return _scan_out(boarding.scan(g.user, trip_id, **fields, now=utcnow()))


@blueprint.post("/trips/<int:trip_id>/boardings/batch")
@operation(body=BatchRequest, answers={200: BatchAnswer}, errors=(403, 404))
def board_offline(trip_id: int, body: BatchRequest):
    """Upload the scans a phone made with no signal; one answer each

    Idempotent by `scan_id`. When two phones boarded a ticket, the earlier scan keeps it and the
    later one is flagged `duplicate` on the trip's report.
    """
    scans = [scan.model_dump() for scan in body.scans]
    answers = boarding.upload(g.user, trip_id, scans, device=body.device, now=utcnow())
    return BatchAnswer(answers=[_scan_out(answer) for answer in answers])


@blueprint.get("/trips/<int:trip_id>/offline-pack")
@operation(answers={200: OfflinePack}, errors=(403, 404))
def offline_pack(trip_id: int):
    """What a scanner keeps to board this trip with no signal

    Its tickets, the revoked codes and the trip's own keys (never the signing key). For the trip's
    driver and its company's admins and dispatchers only (not its agents).
    """
    return OfflinePack.model_validate(boarding.offline_pack(g.user, trip_id, now=utcnow()), strict=False)


@blueprint.delete("/trips/<int:trip_id>/boardings/<code>")
@operation(query=UndoQuery, answers={200: ScanOut}, errors=(403, 404, 409))
def undo_boarding(trip_id: int, code: str, query: UndoQuery):
    """Undo a mistaken boarding, within 2 minutes of it"""
    return _scan_out(boarding.undo(g.user, trip_id, code, device=query.device, now=utcnow()))
