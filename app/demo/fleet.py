"""Demo fleet: each operator's lines in both directions, buses with real layouts, drivers,
timetables, 14 days of trips, today's earlier trips under way or arrived, and seats sold on the
coming departures. Loading twice changes nothing."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.accounts.models import Membership, User
from app.accounts.rules import Role
from app.booking.errors import SeatUnavailable
from app.booking.services import orders as booking
from app.companies.models import Company, Station
from app.extensions import db
from app.fleet import rules
from app.fleet.models import Bus, BusSeat, Route, RouteStop, Timetable, Trip
from app.fleet.queries import sold_count
from app.fleet.rules import TripStatus
from app.fleet.services.trips import generate_trips, local_datetime, today_for
from app.payments.models import Payment

# (station code, minutes from the first stop, km from the first stop, standard fare of the leg in RWF)
LINES = {
    "virunga-express": [
        [("kgl-nyabugogo", 0, 0, 0), ("musanze", 120, 93, 2500), ("rubavu", 185, 155, 1400)],
        [("kgl-nyabugogo", 0, 0, 0), ("muhanga", 60, 50, 1200), ("karongi", 170, 132, 1900)],
    ],
    "akagera-coaches": [
        [("kgl-remera", 0, 0, 0), ("rwamagana", 50, 45, 1000), ("kayonza", 75, 62, 500), ("nyagatare", 185, 160, 2000)],
        [("kgl-nyabugogo", 0, 0, 0), ("gicumbi", 75, 60, 1300), ("nyagatare", 210, 170, 2300)],
    ],
    "nyungwe-line": [
        [("kgl-nyabugogo", 0, 0, 0), ("muhanga", 60, 50, 1200), ("nyanza", 120, 100, 1100), ("huye", 160, 135, 900)],
        [
            ("kgl-nyabugogo", 0, 0, 0),
            ("muhanga", 60, 50, 1200),
            ("huye", 165, 135, 2000),
            ("nyamagabe", 200, 163, 700),
            ("rusizi", 360, 290, 3100),
        ],
    ],
}
PLATE_SERIES = {"virunga-express": ("RAC", "A"), "akagera-coaches": ("RAE", "B"), "nyungwe-line": ("RAF", "C")}
FLEET_SIZE = {"virunga-express": 11, "akagera-coaches": 10, "nyungwe-line": 13}
# (model, rows, seats left of the aisle, seats right, VIP rows, back bench)
MODELS = [
    ("Yutong ZK6122 coach", 12, 2, 2, 2, True),  # 49 seats, 8 VIP
    ("Toyota Coaster", 9, 2, 1, 0, True),  # 28 seats
    ("King Long XMQ6900", 10, 2, 2, 0, True),  # 41 seats
]
# What each model offers passengers (fleet.rules.AMENITIES); VIP seats come from the layout.
MODEL_AMENITIES = {
    "Yutong ZK6122 coach": ["toilet", "wifi", "charging"],
    "Toyota Coaster": ["charging"],
    "King Long XMQ6900": ["wifi", "charging"],
}
DRIVER_NAMES = [
    "Emmanuel Nsengiyumva", "Théogène Bizimana", "Innocent Habyarimana", "Jean Paul Mugabo",
    "Faustin Ndayisaba", "Alexis Twagirayezu", "Celestin Munyaneza", "Damascène Uwimana",
]  # fmt: skip
PASSENGER_NAMES = [
    "Aimable Nkurunziza", "Solange Mukeshimana", "Yvette Uwera", "Samuel Kwizera", "Josiane Umutoni",
    "Fabrice Iradukunda", "Chantal Mukandayisenga", "Kevin Ishimwe", "Divine Uwase", "Gilbert Hakizimana",
    "Esperance Nyiraneza", "Pacifique Irakoze", "Ange Kayitesi", "Thierry Mugisha", "Nadine Umuhoza",
]  # fmt: skip
# A bus per pattern: (direction, departure) pairs it drives each day.
PATTERNS = [
    [("out", time(6, 0)), ("back", time(15, 0))],
    [("back", time(6, 0)), ("out", time(15, 0))],
    [("out", time(10, 0))],
    [("back", time(10, 0))],
]


def _one(model, **key):
    return db.session.scalar(select(model).filter_by(**key))


def load(companies: dict[str, Company], now: datetime) -> None:
    stations = {s.code: s for s in db.session.scalars(select(Station))}
    password_hash = db.session.scalar(select(User.password_hash).where(User.email == "driver@virunga.rw"))
    for code, company in companies.items():
        company.days_ahead = 14
        routes = _routes(company, stations, LINES[code])
        buses = _buses(company, code)
        drivers = _drivers(company, code, password_hash)
        _timetables(company, routes, buses, drivers, today_for(company, now))
        db.session.flush()
        _trips(company, now)
        _sales(company, now, random.Random(code))  # noqa: S311  (demo data, not security)


def _routes(company: Company, stations: dict[str, Station], lines) -> list[tuple[Route, Route]]:
    pairs = []
    for line in lines:
        out = _route(company, stations, line)
        total_minutes, total_km = line[-1][1], line[-1][2]
        # Each stop carries the fare of the leg that arrives at it: coming back, that is the outward
        # leg between this stop and the next one.
        back_line = [
            (code, total_minutes - line[i][1], total_km - line[i][2], line[i + 1][3] if i + 1 < len(line) else 0)
            for i, (code, *_rest) in reversed(list(enumerate(line)))
        ]
        pairs.append((out, _route(company, stations, back_line)))
    return pairs


def _route(company: Company, stations: dict[str, Station], line) -> Route:
    name = f"{stations[line[0][0]].town.name} – {stations[line[-1][0]].town.name}"
    route = _one(Route, company_id=company.id, name=name)
    if route is not None:
        return route
    route = Route(company_id=company.id, name=name, vip_markup_percent=50)
    for position, (code, minutes, km, fare) in enumerate(line):
        route.stops.append(
            RouteStop(
                position=position,
                station_id=stations[code].id,
                minutes_from_start=minutes,
                km_from_start=km,
                leg_fare=fare,
            )
        )
    db.session.add(route)
    db.session.flush()
    return route


def _buses(company: Company, code: str) -> list[Bus]:
    letters, suffix = PLATE_SERIES[code]
    buses = []
    for n in range(FLEET_SIZE[code]):
        plate = f"{letters} {101 + n * 7:03d}{suffix}"
        bus = _one(Bus, plate=plate)
        if bus is None:
            model, rows, left, right, vip_rows, bench = MODELS[n % len(MODELS)]
            bus = Bus(company_id=company.id, plate=plate, model=model, status="maintenance" if n == 9 else "active")
            bus.seats = [
                BusSeat(label=s.label, row=s.row, column=s.column, seat_class=s.seat_class)
                for s in rules.parse_layout(rules.generate_layout(rows, left, right, vip_rows, bench))
            ]
            db.session.add(bus)
        if not bus.amenities:
            bus.amenities = MODEL_AMENITIES.get(bus.model or "", [])
        buses.append(bus)
    db.session.flush()
    return [bus for bus in buses if bus.status == "active"]


def _drivers(company: Company, code: str, password_hash: str) -> list[User]:
    domain = code.split("-")[0] + ".rw"
    drivers = []
    demo_driver = _one(User, email=f"driver@{domain}")
    if demo_driver is not None:
        drivers.append(demo_driver)
    for n, name in enumerate(DRIVER_NAMES[: 8 - len(drivers)], start=1):
        email = f"driver{n}@{domain}"
        user = _one(User, email=email) or User(
            email=email, name=name, phone=f"+25078820{company.id:02d}{n:02d}", password_hash=password_hash
        )
        db.session.add(user)
        db.session.flush()
        if _one(Membership, user_id=user.id, company_id=company.id) is None:
            db.session.add(Membership(user_id=user.id, company_id=company.id, role=Role.DRIVER.value))
        drivers.append(user)
    db.session.flush()
    return drivers


def _timetables(company: Company, routes, buses: list[Bus], drivers: list[User], today) -> None:
    slot = 0
    for out, back in routes:
        for pattern in PATTERNS:
            bus, driver = buses[slot % len(buses)], drivers[slot % len(drivers)]
            slot += 1
            for direction, departure in pattern:
                route = out if direction == "out" else back
                if _one(Timetable, route_id=route.id, departure_time=departure) is None:
                    db.session.add(
                        Timetable(
                            company_id=company.id,
                            route_id=route.id,
                            departure_time=departure,
                            weekdays=127,
                            bus_id=bus.id,
                            driver_id=driver.id,
                            valid_from=today,
                            is_active=True,
                        )
                    )


def _trips(company: Company, now: datetime) -> None:
    """Generate from the start of today, so today's earlier departures exist too, then move those
    already gone along the status table."""
    today = today_for(company, now)
    start_of_day = local_datetime(company, today, time(0, 0))
    generate_trips(company, today=today, days=company.days_ahead, now=start_of_day)
    for trip in db.session.scalars(
        select(Trip).where(Trip.company_id == company.id, Trip.departs_at < now + timedelta(minutes=30))
    ):
        if trip.status != TripStatus.SCHEDULED:
            continue
        if trip.arrives_at <= now:
            trip.status, trip.departed_at, trip.arrived_at = TripStatus.ARRIVED, trip.departs_at, trip.arrives_at
        elif trip.departs_at <= now:
            trip.status, trip.departed_at = TripStatus.DEPARTED, trip.departs_at
        elif trip.bus_id is not None:
            trip.status, trip.boarding_at = TripStatus.BOARDING, now
    db.session.flush()


def _sales(company: Company, now: datetime, rng: random.Random) -> None:
    """Seats sold on every departure from now until the end of tomorrow that has none yet."""
    horizon = local_datetime(company, today_for(company, now) + timedelta(days=2), time(0, 0))
    trips = db.session.scalars(
        select(Trip)
        .where(
            Trip.company_id == company.id,
            Trip.status.in_((TripStatus.SCHEDULED, TripStatus.BOARDING)),
            Trip.bus_id.is_not(None),
            Trip.departs_at < horizon,
        )
        .order_by(Trip.departs_at)
    ).all()
    sold = sold_count([t.id for t in trips])
    for trip in trips:
        if sold.get(trip.id):
            continue
        labels = [seat.label for seat in trip.bus.seats]
        rng.shuffle(labels)
        wanted = max(1, int(len(labels) * rng.uniform(0.15, 0.6)))
        while wanted > 0 and labels:
            size = min(rng.choice((1, 2, 2, 3, 4)), wanted, len(labels))
            seats, labels = labels[:size], labels[size:]
            origin = rng.randrange(0, len(trip.stops) - 1)
            destination = rng.randrange(origin + 1, len(trip.stops)) if rng.random() < 0.3 else len(trip.stops) - 1
            origin = 0 if destination == len(trip.stops) - 1 and rng.random() < 0.7 else origin
            passengers = [
                booking.Passenger(rng.choice(PASSENGER_NAMES), f"+2507{rng.choice('238')}{rng.randrange(10**7):07d}")
                for _ in seats
            ]
            channel = rng.choice(("web", "web", "pos"))
            try:
                with db.session.begin_nested():
                    order = booking.book_seats(
                        None,
                        trip.id,
                        seats=seats,
                        origin=origin,
                        destination=destination,
                        passengers=passengers,
                        channel=channel,
                        paid=True,
                        now=now,
                    )
                    db.session.add(_paid_with(order, "cash" if channel == "pos" else "sandbox", now))
            except SeatUnavailable:
                pass
            wanted -= size


def _paid_with(order, provider: str, now) -> Payment:
    """The payment record of a demo sale, so the money pages have something to show."""
    return Payment(
        reference=str(uuid.uuid4()),
        order_id=order.id,
        company_id=order.company_id,
        provider=provider,
        status="succeeded",
        amount=order.total,
        currency=order.currency,
        provider_amount=str(order.total),
        provider_currency=order.currency,
        settled_at=now,
    )


FELLOW_TRAVELLERS = (
    ("Claudine Mukamana", "+250788200011"),
    ("Eric Nshuti", "+250788200012"),
    ("Diane Ingabire", "+250788200013"),
    ("Patrick Habimana", "+250788200014"),
)


def passenger_booking(user: User, driver: User, company: Company, now: datetime) -> None:
    """The demo passenger's own trip: a paid ticket on the demo driver's next trip, added for the
    demo about twenty minutes from now (or after the driver's trips today), so that whenever the
    demo is loaded the driver can start it on /driver and the passenger can follow the bus on the
    ticket page; the tickets page, the bell and the messages have something to show too. Once per
    demo database."""
    from app.booking.models import Order

    if db.session.scalar(select(Order.id).where(Order.user_id == user.id).limit(1)) is not None:
        return
    trip = _driver_next_trip(driver, company, now)
    if trip is None:
        return
    order = booking.reserve(
        user,
        trip.id,
        seats=[trip.bus.seats[0].label],
        origin=0,
        destination=len(trip.stops) - 1,
        passengers=[booking.Passenger(user.name, user.phone)],
        now=now,
    )
    db.session.add(_paid_with(order, "sandbox", now))
    booking.mark_paid(order, now=now)
    # Fellow travellers sold at the counter, so the driver's manifest and Scan tickets have people
    # to board (their codes are on the console's manifest).
    booking.book_seats(
        None,
        trip.id,
        seats=[seat.label for seat in trip.bus.seats[1 : 1 + len(FELLOW_TRAVELLERS)]],
        origin=0,
        destination=len(trip.stops) - 1,
        passengers=[booking.Passenger(name, phone) for name, phone in FELLOW_TRAVELLERS],
        channel="console",
        paid=True,
        now=now,
    )


def _driver_next_trip(driver: User, company: Company, now: datetime) -> Trip | None:
    """A one-off trip on the company's first route, at the first time from twenty minutes on when
    the driver and one of the buses are both free."""
    from app.fleet.errors import AssignmentConflict
    from app.fleet.services.trips import create_trip

    route = db.session.scalar(select(Route).where(Route.company_id == company.id).order_by(Route.id).limit(1))
    buses = db.session.scalars(select(Bus).where(Bus.company_id == company.id).order_by(Bus.id)).all()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=20)
    for hours in range(0, 24):
        departs_at = start + timedelta(hours=hours)
        for bus in buses:
            try:
                with db.session.begin_nested():
                    return create_trip(
                        None, company, route=route, departs_at=departs_at, bus=bus, driver_id=driver.id, now=now
                    )
            except AssignmentConflict as conflict:
                if "already driving" in conflict.message:
                    break  # the driver is busy then: try an hour later
    return None
