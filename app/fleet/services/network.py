"""Routes (ordered stops with times, distances and leg fares) and the fare matrix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.companies.models import Company, Station
from app.core.errors import InvalidInput
from app.extensions import db
from app.fleet import queries
from app.fleet.errors import RouteInUse
from app.fleet.models import Fare, Route, RouteStop
from app.fleet.rules import SEAT_CLASSES
from app.fleet.services.trips import refresh_unsold_trips

MAX_STOPS = 20


@dataclass(frozen=True)
class StopInput:
    station_id: int | None
    minutes_from_start: int | None
    km_from_start: float | None
    leg_fare: int | None


def _route_snapshot(route: Route) -> dict:
    return {
        "name": route.name,
        "is_active": route.is_active,
        "vip_markup_percent": route.vip_markup_percent,
        "stops": [
            f"{s.station.name} +{s.minutes_from_start}min {s.km_from_start:g}km {s.leg_fare}" for s in route.stops
        ],
    }


def _validate_stops(stops: list[StopInput]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(stops) < 2:
        errors["stops"] = [_("A route needs at least two stops.")]
    if len(stops) > MAX_STOPS:
        errors["stops"] = [_("A route has at most %(most)s stops.", most=MAX_STOPS)]
    station_ids = [s.station_id for s in stops]
    known = set(db.session.scalars(select(Station.id).where(Station.id.in_([i for i in station_ids if i]))))
    previous_minutes, previous_km = -1, -1.0
    for index, stop in enumerate(stops):
        problems = []
        if stop.station_id is None or stop.station_id not in known:
            problems.append(_("Choose a station from the list."))
        elif station_ids.index(stop.station_id) != index:
            problems.append(_("This station is already on the route."))
        minutes = 0 if index == 0 else stop.minutes_from_start
        km = 0.0 if index == 0 else stop.km_from_start
        if minutes is None or minutes < 0 or minutes > 48 * 60:
            problems.append(_("Minutes from the first stop: 0 to 2880."))
        elif minutes <= previous_minutes:
            problems.append(_("Each stop comes later than the one before."))
        if km is None or km < 0 or km > 3000:
            problems.append(_("Kilometres from the first stop: 0 to 3000."))
        elif km < previous_km:
            problems.append(_("Distances grow along the route."))
        if index > 0 and (stop.leg_fare is None or stop.leg_fare < 0 or stop.leg_fare > 10_000_000):
            problems.append(_("The fare for this leg is a whole amount, 0 or more."))
        if problems:
            errors[f"stops-{index}"] = problems
        previous_minutes = minutes if minutes is not None else previous_minutes
        previous_km = km if km is not None else previous_km
    return errors


def save_route(
    actor,
    company: Company,
    route: Route | None,
    *,
    name: str,
    vip_markup_percent: int,
    is_active: bool,
    stops: list[StopInput],
    now: datetime,
) -> Route:
    """Create or edit a route. Coming trips without sales follow the new stops; a route whose
    coming trips have sold seats keeps every stop those tickets may use."""
    errors = _validate_stops(stops)
    if errors:
        raise InvalidInput(fields=errors)
    same_name = select(Route.id).where(Route.company_id == company.id, Route.name == name)
    duplicate = db.session.scalar(same_name.where(Route.id != route.id) if route else same_name)
    if duplicate:
        raise InvalidInput(fields={"name": [_("Another route already has this name.")]})

    created = route is None
    before = None if created else _route_snapshot(route)
    if created:
        route = Route(company_id=company.id)
        db.session.add(route)
    else:
        kept = {s.station_id for s in stops}
        removed = [s.station.name for s in route.stops if s.station_id not in kept]
        if removed and queries.trips_with_sales(route):
            raise RouteInUse(
                _(
                    "Coming trips on this route have sold seats, so %(stops)s cannot be removed. "
                    "Cancel or finish those trips first, or create a new route.",
                    stops=", ".join(removed),
                )
            )
    route.name = name
    route.vip_markup_percent = vip_markup_percent
    route.is_active = is_active
    route.stops.clear()
    db.session.flush()  # old stops gone before new positions take their place
    for position, stop in enumerate(stops):
        route.stops.append(
            RouteStop(
                position=position,
                station_id=stop.station_id,
                minutes_from_start=0 if position == 0 else stop.minutes_from_start,
                km_from_start=0 if position == 0 else stop.km_from_start,
                leg_fare=0 if position == 0 else stop.leg_fare,
            )
        )
    db.session.flush()
    db.session.refresh(route, ["stops"])
    if not created:
        refresh_unsold_trips(route, now=now)
    record(
        actor,
        "route.created" if created else "route.updated",
        route,
        f"Route {route.name}",
        company_id=company.id,
        before=before,
        after=_route_snapshot(route),
    )
    return route


# --- Fares ----------------------------------------------------------------------------------


def default_fare(route: Route, origin: int, destination: int, seat_class: str) -> int:
    """Sum of the standard leg fares between two stop positions, plus the VIP markup."""
    legs = [stop.leg_fare for stop in route.stops]
    return fare_from_legs(legs, route.vip_markup_percent, origin, destination, seat_class)


def fare_from_legs(leg_fares: list[int], vip_markup_percent: int, origin: int, destination: int, seat_class: str):
    standard = sum(leg_fares[origin + 1 : destination + 1])
    if seat_class == "vip":
        return standard + (standard * vip_markup_percent + 50) // 100
    return standard


def pair_fares(route_ids: set[int], origin_station: int, destination_station: int) -> dict[int, dict[str, int]]:
    """Route → class → price between two stations, for many routes at once, as ``fare_matrix``
    would give for that pair; routes that do not serve the pair in that order are left out. Reads
    plain columns in three queries, whatever the number of routes."""
    if not route_ids:
        return {}
    legs: dict[int, list[tuple[int, int]]] = {}
    for route_id, station_id, leg_fare in db.session.execute(
        select(RouteStop.route_id, RouteStop.station_id, RouteStop.leg_fare)
        .where(RouteStop.route_id.in_(route_ids))
        .order_by(RouteStop.route_id, RouteStop.position)
    ):
        legs.setdefault(route_id, []).append((station_id, leg_fare))
    markups = dict(db.session.execute(select(Route.id, Route.vip_markup_percent).where(Route.id.in_(route_ids))).all())
    overrides = {
        (route_id, seat_class): amount
        for route_id, seat_class, amount in db.session.execute(
            select(Fare.route_id, Fare.seat_class, Fare.amount).where(
                Fare.route_id.in_(route_ids),
                Fare.origin_station_id == origin_station,
                Fare.destination_station_id == destination_station,
            )
        )
    }
    prices = {}
    for route_id, stops in legs.items():
        stations = [station for station, _ in stops]
        if origin_station not in stations or destination_station not in stations:
            continue
        i, j = stations.index(origin_station), stations.index(destination_station)
        if i >= j:
            continue
        prices[route_id] = {
            seat_class: overrides.get(
                (route_id, seat_class),
                fare_from_legs([fare for _, fare in stops], markups[route_id], i, j, seat_class),
            )
            for seat_class in SEAT_CLASSES
        }
    return prices


def fare_matrix(route: Route) -> dict[tuple[int, int, str], tuple[int, bool]]:
    """(origin station, destination station, class) → (amount, set by hand?) for every pair
    of stops in route order."""
    overrides = {(f.origin_station_id, f.destination_station_id, f.seat_class): f.amount for f in route.fares}
    matrix = {}
    stops = route.stops
    for i, origin in enumerate(stops):
        for j in range(i + 1, len(stops)):
            destination = stops[j]
            for seat_class in SEAT_CLASSES:
                key = (origin.station_id, destination.station_id, seat_class)
                if key in overrides:
                    matrix[key] = (overrides[key], True)
                else:
                    matrix[key] = (default_fare(route, i, j, seat_class), False)
    return matrix


def fare_for(route: Route, origin_station_id: int, destination_station_id: int, seat_class: str) -> int:
    """The price the server charges; never taken from the client."""
    key = (origin_station_id, destination_station_id, seat_class)
    try:
        return fare_matrix(route)[key][0]
    except KeyError:
        raise InvalidInput(_("This route does not go from that stop to that one.")) from None


def set_fares(actor, route: Route, amounts: dict[tuple[int, int, str], int | None]) -> Route:
    """Save the matrix: an amount overrides the default; None goes back to the default."""
    matrix = fare_matrix(route)
    errors: dict[str, list[str]] = {}
    for key, amount in amounts.items():
        if key not in matrix:
            errors[f"fare-{key[0]}-{key[1]}-{key[2]}"] = [_("This route does not serve that pair of stops.")]
        elif amount is not None and not (0 <= amount <= 10_000_000):
            errors[f"fare-{key[0]}-{key[1]}-{key[2]}"] = [_("Enter a whole amount, 0 or more.")]
    if errors:
        raise InvalidInput(fields=errors)
    before = {f"{k[0]}-{k[1]}-{k[2]}": v[0] for k, v in matrix.items()}
    existing = {(f.origin_station_id, f.destination_station_id, f.seat_class): f for f in route.fares}
    for key, amount in amounts.items():
        fare = existing.get(key)
        if amount is None or amount == matrix[key][0] and not matrix[key][1]:
            if fare is not None and amount is None:
                route.fares.remove(fare)
            continue
        if fare is None:
            route.fares.append(
                Fare(origin_station_id=key[0], destination_station_id=key[1], seat_class=key[2], amount=amount)
            )
        else:
            fare.amount = amount
    db.session.flush()
    db.session.refresh(route, ["fares"])
    after = {f"{k[0]}-{k[1]}-{k[2]}": v[0] for k, v in fare_matrix(route).items()}
    record(
        actor,
        "route.fares_updated",
        route,
        f"Fares of {route.name}",
        company_id=route.company_id,
        before=before,
        after=after,
    )
    return route
