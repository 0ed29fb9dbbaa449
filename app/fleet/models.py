"""Routes with ordered stops and fares, buses with seat layouts, timetables and trips.

A trip keeps its own copy of the route's stops (``trip_stops``): seat-leg inventory is counted in
legs between a trip's stops, so a later edit of the route never shifts the legs of seats already
sold. Edits reach trips that have not sold anything yet (see ``fleet.services``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin
from app.extensions import db
from app.fleet.rules import BUS_STATUSES, SEAT_CLASSES, TRIP_STATUSES, TripStatus

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.companies.models import Company, Station


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Route(TimestampMixin, db.Model):
    __tablename__ = "routes"
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        CheckConstraint("vip_markup_percent BETWEEN 0 AND 500", name="vip_markup"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Default VIP fare = standard fare + this percentage, unless the fare matrix says otherwise.
    vip_markup_percent: Mapped[int] = mapped_column(SmallInteger, default=50)

    company: Mapped[Company] = relationship()
    stops: Mapped[list[RouteStop]] = relationship(
        back_populates="route", order_by="RouteStop.position", cascade="all, delete-orphan", lazy="selectin"
    )
    fares: Mapped[list[Fare]] = relationship(cascade="all, delete-orphan", back_populates="route")

    @property
    def duration_minutes(self) -> int:
        return self.stops[-1].minutes_from_start if self.stops else 0

    @property
    def label(self) -> str:
        return " → ".join(stop.station.name for stop in self.stops) if self.stops else self.name

    def __repr__(self) -> str:
        return f"<Route {self.id} {self.name}>"


class RouteStop(db.Model):
    __tablename__ = "route_stops"
    __table_args__ = (
        UniqueConstraint("route_id", "position"),
        UniqueConstraint("route_id", "station_id"),
        CheckConstraint("minutes_from_start >= 0", name="minutes"),
        CheckConstraint("km_from_start >= 0", name="km"),
        CheckConstraint("leg_fare >= 0", name="leg_fare"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)  # 0 = first stop
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    minutes_from_start: Mapped[int] = mapped_column(default=0)
    km_from_start: Mapped[float] = mapped_column(Float, default=0)
    # Standard fare of the leg that ends here (0 at the first stop); defaults add them up.
    leg_fare: Mapped[int] = mapped_column(default=0)

    route: Mapped[Route] = relationship(back_populates="stops")
    station: Mapped[Station] = relationship(lazy="joined")


class Fare(db.Model):
    """A fare set by hand for one pair of stations and one class; overrides the default."""

    __tablename__ = "fares"
    __table_args__ = (
        UniqueConstraint("route_id", "origin_station_id", "destination_station_id", "seat_class"),
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint(_one_of("seat_class", SEAT_CLASSES), name="seat_class"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), index=True)
    origin_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    destination_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    seat_class: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int]  # minor units of the company's currency

    route: Mapped[Route] = relationship(back_populates="fares")


class Bus(TimestampMixin, db.Model):
    __tablename__ = "buses"
    __table_args__ = (CheckConstraint(_one_of("status", BUS_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    plate: Mapped[str] = mapped_column(String(12), unique=True)  # normalised: "RAD 123A"
    model: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="active")
    # Keys of ``rules.AMENITIES`` the operator lists for this bus, in that order.
    amenities: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")

    company: Mapped[Company] = relationship()
    seats: Mapped[list[BusSeat]] = relationship(
        back_populates="bus", order_by="(BusSeat.row, BusSeat.column)", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def capacity(self) -> int:
        return len(self.seats)

    def seats_of_class(self, seat_class: str) -> int:
        return sum(1 for seat in self.seats if seat.seat_class == seat_class)

    def __repr__(self) -> str:
        return f"<Bus {self.plate}>"


class BusSeat(db.Model):
    __tablename__ = "bus_seats"
    __table_args__ = (
        UniqueConstraint("bus_id", "label"),
        UniqueConstraint("bus_id", "row", "column"),
        CheckConstraint(_one_of("seat_class", SEAT_CLASSES), name="seat_class"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bus_id: Mapped[int] = mapped_column(ForeignKey("buses.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(6))
    row: Mapped[int] = mapped_column(SmallInteger)  # 1-based, front to back
    column: Mapped[int] = mapped_column(SmallInteger)  # 1-based, left to right, aisle included
    seat_class: Mapped[str] = mapped_column(String(10), default="standard")

    bus: Mapped[Bus] = relationship(back_populates="seats")


class Timetable(TimestampMixin, db.Model):
    """A departure that repeats on some days of the week; trips are generated from it."""

    __tablename__ = "timetables"
    __table_args__ = (
        CheckConstraint("weekdays BETWEEN 1 AND 127", name="weekdays"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"))
    departure_time: Mapped[time] = mapped_column(Time)  # local time at the first stop
    weekdays: Mapped[int] = mapped_column(SmallInteger)  # bit 0 = Monday ... bit 6 = Sunday
    bus_id: Mapped[int | None] = mapped_column(ForeignKey("buses.id", ondelete="SET NULL"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    route: Mapped[Route] = relationship(lazy="joined")
    bus: Mapped[Bus | None] = relationship(lazy="joined")
    driver: Mapped[User | None] = relationship(lazy="joined")

    def runs_on(self, day: date) -> bool:
        return (
            self.is_active
            and self.valid_from <= day
            and (self.valid_to is None or day <= self.valid_to)
            and bool(self.weekdays & (1 << day.weekday()))
        )


class Trip(TimestampMixin, db.Model):
    __tablename__ = "trips"
    __table_args__ = (
        UniqueConstraint("timetable_id", "service_date"),  # generating twice adds nothing
        CheckConstraint(_one_of("status", TRIP_STATUSES), name="status"),
        CheckConstraint("arrives_at > departs_at", name="times"),
        Index("ix_trips_company_id_departs_at", "company_id", "departs_at"),
        Index("ix_trips_departs_at", "departs_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id"))
    timetable_id: Mapped[int | None] = mapped_column(ForeignKey("timetables.id", ondelete="SET NULL"))
    service_date: Mapped[date] = mapped_column(Date)  # local date of departure as planned
    scheduled_departs_at: Mapped[datetime]
    # Expected times: equal to the plan until a delay moves them. Overlap rules use these.
    departs_at: Mapped[datetime]
    arrives_at: Mapped[datetime]
    bus_id: Mapped[int | None] = mapped_column(ForeignKey("buses.id"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=TripStatus.SCHEDULED)
    delay_reason: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    boarding_at: Mapped[datetime | None]
    departed_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # The stop the bus is at (a position in ``stops``): boarding there is expected; the driver's
    # "Depart stop" moves it on. A scan for a passenger boarding elsewhere is warned "wrong stop".
    current_stop: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

    route: Mapped[Route] = relationship(lazy="joined")
    bus: Mapped[Bus | None] = relationship(lazy="joined")
    driver: Mapped[User | None] = relationship(lazy="joined")
    stops: Mapped[list[TripStop]] = relationship(
        back_populates="trip", order_by="TripStop.position", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def delay(self) -> timedelta:
        return self.departs_at - self.scheduled_departs_at

    @property
    def legs(self) -> int:
        return max(len(self.stops) - 1, 0)

    def time_at(self, position: int) -> datetime:
        """Expected time at stop ``position``."""
        return self.departs_at + timedelta(minutes=self.stops[position].minutes_from_start)

    def place_stops(self) -> None:
        """Give every stop its expected time from the current departure (after a copy or a delay)."""
        for stop in self.stops:
            stop.departs_at = self.departs_at + timedelta(minutes=stop.minutes_from_start)

    def __repr__(self) -> str:
        return f"<Trip {self.id} {self.status}>"


class TripStop(db.Model):
    __tablename__ = "trip_stops"
    __table_args__ = (
        CheckConstraint("minutes_from_start >= 0", name="minutes"),
        Index("ix_trip_stops_station_id_departs_at", "station_id", "departs_at"),
    )

    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    minutes_from_start: Mapped[int]
    km_from_start: Mapped[float] = mapped_column(Float, default=0)
    # When the bus is expected to leave this stop (UTC): the trip's departure plus the offset,
    # moved with every delay. Search reads it through (station, time).
    departs_at: Mapped[datetime]

    trip: Mapped[Trip] = relationship(back_populates="stops")
    station: Mapped[Station] = relationship(lazy="joined")
