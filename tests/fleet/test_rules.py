"""Status table, plates and seat layouts: the rules a dispatcher meets every day."""

from __future__ import annotations

import pytest

from app.fleet import rules
from app.fleet.rules import TripStatus

ALLOWED = {
    ("scheduled", "boarding"),
    ("scheduled", "departed"),
    ("scheduled", "cancelled"),
    ("boarding", "departed"),
    ("boarding", "cancelled"),
    ("departed", "arrived"),
}


@pytest.mark.parametrize("current", list(TripStatus))
@pytest.mark.parametrize("target", list(TripStatus))
def test_transition_table(current, target):
    assert rules.can_transition(current, target) == ((current.value, target.value) in ALLOWED)
    if (current.value, target.value) not in ALLOWED:
        message = rules.transition_refusal(current, target)
        assert current.value in message


def test_finished_trips_say_they_can_no_longer_change():
    assert rules.transition_refusal("arrived", "boarding") == "The trip is arrived; its status can no longer change."
    assert "only become arrived" in rules.transition_refusal("departed", "boarding")


@pytest.mark.parametrize(
    ("raw", "plate"), [("rad123a", "RAD 123A"), (" RAB 456 b ", "RAB 456B"), ("RL-001-C", "RL 001C")]
)
def test_plates_are_normalised(raw, plate):
    assert rules.normalize_plate(raw) == plate


@pytest.mark.parametrize("raw", ["", "123", "RADD 123A", "RAD 12A", "RAD 1234A", "RAD123"])
def test_bad_plates_are_refused(raw):
    with pytest.raises(ValueError, match="RAD 123A"):
        rules.normalize_plate(raw)


def test_layout_round_trip_keeps_aisle_and_vip():
    text = "1A* 1B* _ 1C*\n2A  2B  _ 2C\n3A 3B 3C 3D"
    seats = rules.parse_layout(text)
    assert [s.label for s in seats[:3]] == ["1A", "1B", "1C"]
    assert seats[2].column == 4 and seats[2].seat_class == "vip"
    assert seats[3].seat_class == "standard"
    assert rules.parse_layout(rules.layout_text(seats)) == seats


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one row"),
        ("1A 1B\n2A 1A", "1A appears twice"),
        ("1A 1b", None),  # lower case is accepted and upper-cased
        ("1A $$", "not a seat label"),
        ("_ _", "no seats"),
        ("1A 1B 1C 1D 1E 1F 1G 1H 1I", "at most 8"),
    ],
)
def test_layout_errors_name_the_problem(text, message):
    if message is None:
        assert [s.label for s in rules.parse_layout(text)] == ["1A", "1B"]
        return
    with pytest.raises(rules.LayoutError, match=message):
        rules.parse_layout(text)


def test_generated_coach_layout():
    seats = rules.parse_layout(rules.generate_layout(12, 2, 2, vip_rows=2, back_row_full=True))
    assert len(seats) == 11 * 4 + 5
    assert sum(s.seat_class == "vip" for s in seats) == 8
    assert {s.label for s in seats if s.row == 12} == {"12A", "12B", "12C", "12D", "12E"}


def test_weekday_labels():
    assert rules.weekdays_label(127) == "Every day"
    assert rules.weekdays_label(31) == "Mon–Fri"
    assert rules.weekdays_label(rules.weekdays_mask([5, 6])) == "Sat, Sun"
