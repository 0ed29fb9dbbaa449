"""Fleet rules with no database: statuses and their transitions, plates, seat layouts, weekdays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class TripStatus(StrEnum):
    SCHEDULED = "scheduled"
    BOARDING = "boarding"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.value])


STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "boarding": _l("Boarding"),
    "departed": _l("Departed"),
    "arrived": _l("Arrived"),
    "cancelled": _l("Cancelled"),
}
TRIP_STATUSES = tuple(TripStatus)

# The one table of what a trip may become next. Nothing else moves a trip's status.
TRANSITIONS: dict[TripStatus, frozenset[TripStatus]] = {
    TripStatus.SCHEDULED: frozenset({TripStatus.BOARDING, TripStatus.DEPARTED, TripStatus.CANCELLED}),
    TripStatus.BOARDING: frozenset({TripStatus.DEPARTED, TripStatus.CANCELLED}),
    TripStatus.DEPARTED: frozenset({TripStatus.ARRIVED}),
    TripStatus.ARRIVED: frozenset(),
    TripStatus.CANCELLED: frozenset(),
}

# How early a trip may move on, before its (possibly delayed) departure time: boarding opens two
# hours ahead, and a bus leaves at most half an hour early (passengers wait at the later stops at
# their times). Arrival follows departure in the table, so a trip cannot end hours ahead either.
EARLIEST_BEFORE_DEPARTURE: dict[TripStatus, timedelta] = {
    TripStatus.BOARDING: timedelta(hours=2),
    TripStatus.DEPARTED: timedelta(minutes=30),
}


def earliest(target: str, departs_at: datetime) -> datetime | None:
    """The first moment a trip leaving at ``departs_at`` may become ``target`` (None: any time)."""
    ahead = EARLIEST_BEFORE_DEPARTURE.get(TripStatus(target))
    return None if ahead is None else departs_at - ahead


# Once a bus has left, or the trip is over, nothing about it may be edited any more.
EDITABLE = frozenset({TripStatus.SCHEDULED, TripStatus.BOARDING})
# A trip that has ended carries no one any more: a retired QR key stops vouching for its tickets.
ENDED = frozenset({TripStatus.ARRIVED, TripStatus.CANCELLED})
# Seats can be sold while the trip has not left.
ON_SALE = EDITABLE


# What an operator can say a bus offers, shown with each trip in search results. VIP seats are not
# listed here: they come from the seat layout (``*`` seats), so they cannot be claimed without seats.
AMENITIES = {"toilet": _l("Toilet"), "wifi": _l("Wi-Fi"), "charging": _l("Phone charging")}


def can_transition(current: str, target: str) -> bool:
    return TripStatus(target) in TRANSITIONS[TripStatus(current)]


def transition_refusal(current: str, target: str) -> str:
    """The sentence a dispatcher reads when a move is not allowed."""
    current, target = TripStatus(current), TripStatus(target)
    if current == target:
        return _("The trip is already %(status)s.", status=_word(current))
    if not TRANSITIONS[current]:
        return _("The trip is %(status)s; its status can no longer change.", status=_word(current))
    allowed = _(" or ").join(_word(s) for s in sorted(TRANSITIONS[current]))
    return _(
        "A %(current)s trip can only become %(allowed)s, not %(target)s.",
        current=_word(current),
        allowed=allowed,
        target=_word(target),
    )


def not_editable_reason(status: str) -> str:
    return _("The trip is %(status)s and can no longer be changed.", status=_word(TripStatus(status)))


def _word(status: TripStatus) -> str:
    """A status inside a sentence: "departed", "yagiye", "parti"."""
    return status.label.lower()


BUS_STATUSES = ("active", "maintenance", "retired")
BUS_STATUS_LABELS = {"active": _l("Active"), "maintenance": _l("In maintenance"), "retired": _l("Retired")}
SEAT_CLASSES = ("standard", "vip")
SEAT_CLASS_LABELS = {"standard": _l("Standard"), "vip": _l("VIP")}

# Rwandan plates: two or three letters, three digits, one letter ("RAD 123A", "RAB123B");
# government, police and diplomatic series ("GR 123A", "RNP 123A", "IT 123 RW") are rare on buses.
PLATE = re.compile(r"^([A-Z]{2,3})\s*(\d{3})\s*([A-Z])$")


def normalize_plate(raw: str) -> str:
    """``"rad123a"`` → ``"RAD 123A"``; ValueError with a sentence when it is not a plate."""
    text = re.sub(r"[\s-]+", "", (raw or "").upper())
    match = PLATE.match(text)
    if not match:
        raise ValueError(_("Enter a plate such as RAD 123A."))
    letters, digits, suffix = match.groups()
    return f"{letters} {digits}{suffix}"


# --- Seat layouts ---------------------------------------------------------------------------
#
# A layout is written as text, one line per row from the front: cells separated by spaces, "_"
# for the aisle or an empty place, a seat's label otherwise, with "*" after VIP seats:
#
#     1A* 1B* _ 1C* 1D*
#     2A  2B  _ 2C  2D
#
# The editor keeps this text; the bus keeps one row per seat.

LABEL = re.compile(r"^[0-9A-Z]{1,5}$")
MAX_ROWS, MAX_COLUMNS = 30, 8


@dataclass(frozen=True)
class SeatSpec:
    label: str
    row: int
    column: int
    seat_class: str


class LayoutError(ValueError):
    pass


def parse_layout(text: str) -> list[SeatSpec]:
    seats: list[SeatSpec] = []
    seen: dict[str, int] = {}
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        raise LayoutError(_("Draw at least one row of seats."))
    if len(lines) > MAX_ROWS:
        raise LayoutError(_("A bus has at most %(most)s rows.", most=MAX_ROWS))
    for row, line in enumerate(lines, start=1):
        cells = line.split()
        if len(cells) > MAX_COLUMNS:
            raise LayoutError(
                _(
                    "Row %(row)s has %(count)s places; a bus row has at most %(most)s.",
                    row=row,
                    count=len(cells),
                    most=MAX_COLUMNS,
                )
            )
        for column, cell in enumerate(cells, start=1):
            if cell == "_":
                continue
            vip = cell.endswith("*")
            label = cell.rstrip("*").upper()
            if not LABEL.match(label):
                raise LayoutError(
                    _("Row %(row)s: “%(cell)s” is not a seat label (letters and digits, up to 5).", row=row, cell=cell)
                )
            if label in seen:
                if seen[label] == row:
                    raise LayoutError(_("Seat %(label)s appears twice in row %(row)d.", label=label, row=row))
                raise LayoutError(
                    _(
                        "Seat %(label)s appears twice (rows %(first)d and %(row)d).",
                        label=label,
                        first=seen[label],
                        row=row,
                    )
                )
            seen[label] = row
            seats.append(SeatSpec(label, row, column, "vip" if vip else "standard"))
    if not seats:
        raise LayoutError(_("The layout has no seats."))
    return seats


def layout_text(seats) -> str:
    """The editor's text for existing seats (anything with label, row, column, seat_class)."""
    if not seats:
        return ""
    rows = max(s.row for s in seats)
    columns = max(s.column for s in seats)
    grid = [["_"] * columns for _ in range(rows)]
    for seat in seats:
        grid[seat.row - 1][seat.column - 1] = seat.label + ("*" if seat.seat_class == "vip" else "")
    width = max(len(cell) for line in grid for cell in line)
    return "\n".join(" ".join(cell.ljust(width) for cell in line).rstrip() for line in grid)


def generate_layout(rows: int, left: int, right: int, vip_rows: int = 0, back_row_full: bool = False) -> str:
    """A standard coach: ``left`` seats, the aisle, ``right`` seats per row, labelled 1A, 1B...;
    the first ``vip_rows`` rows VIP; optionally a back bench that fills the aisle."""
    if not (1 <= rows <= MAX_ROWS) or left < 0 or right < 0 or not (1 <= left + right <= MAX_COLUMNS - 1):
        raise LayoutError(_("Choose 1 to 30 rows and 1 to 7 seats per row."))
    letters = "ABCDEFGH"
    lines = []
    for row in range(1, rows + 1):
        vip = "*" if row <= vip_rows else ""
        bench = back_row_full and row == rows
        count = left + right + (1 if bench else 0)
        labels = [f"{row}{letters[i]}{vip}" for i in range(count)]
        cells = labels if bench else [*labels[:left], "_", *labels[left:]]
        lines.append(" ".join(cells))
    return "\n".join(lines)


# --- Weekdays -------------------------------------------------------------------------------

WEEKDAY_NAMES = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def weekdays_mask(days) -> int:
    return sum(1 << int(day) for day in days)


def weekdays_label(mask: int) -> str:
    if mask == 127:
        return _("Every day")
    if mask == 31:
        return _("Mon–Fri")
    return ", ".join(str(name) for i, name in enumerate(WEEKDAY_NAMES) if mask & (1 << i))
