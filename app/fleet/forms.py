"""Console forms for the network, buses, timetables and what a dispatcher does to a trip. Messages
are written for dispatchers. Choices are filled by the view from the company's own routes, buses and
drivers, so another company's id is simply "not a valid choice"."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import TimeField as _TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import Form, choices
from app.fleet.rules import BUS_STATUS_LABELS, SEAT_CLASS_LABELS, STATUS_LABELS, TRIP_STATUSES, WEEKDAY_NAMES

REQUIRED = _l("This field is required.")
CANCEL_REASON = _l("Say why the trip is cancelled; passengers will read it.")


def optional_id(value):
    """An id from a select or radio; blank means none. Garbage matches no choice."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class TimeField(_TimeField):
    """HH:MM as browsers send it (some add seconds)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%H:%M", "%H:%M:%S"], **kwargs)


def bus_choices(buses) -> list[SelectChoice]:
    def describe(bus) -> str:
        vip = bus.seats_of_class("vip")
        text = ngettext("%(plate)s · %(num)s seat", "%(plate)s · %(num)s seats", bus.capacity, plate=bus.plate)
        return text + (f" ({vip} {SEAT_CLASS_LABELS['vip']})" if vip else "")

    return [SelectChoice("", _("No bus yet"))] + [SelectChoice(str(bus.id), describe(bus)) for bus in buses]


def driver_choices(drivers) -> list[SelectChoice]:
    return [SelectChoice("", _("No driver yet"))] + [SelectChoice(str(d.id), d.name) for d in drivers]


def swap_choices(buses) -> list[SelectChoice]:
    return [SelectChoice(str(bus.id), bus.plate) for bus in buses]


class _Assignment:
    """Bus and driver selects, filled from the company's own fleet."""

    def fill(self, *, routes=None, buses=(), drivers=()):
        if routes is not None:
            self.route_id.choices = [SelectChoice(str(route.id), route.name) for route in routes]
        if hasattr(self, "bus_id"):
            self.bus_id.choices = bus_choices(buses)
        self.driver_id.choices = driver_choices(drivers)
        return self


class WeekdaysField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TimetableForm(_Assignment, Form):
    route_id = SelectField(_l("Route"), coerce=int, validators=[InputRequired(_l("Choose a route."))])
    departure_time = TimeField(
        _l("Departure (local time)"), validators=[InputRequired(_l("Enter the time, e.g. 07:30."))]
    )
    weekdays = WeekdaysField(
        _l("Days of the week"),
        coerce=int,
        choices=[SelectChoice(str(day), name) for day, name in enumerate(WEEKDAY_NAMES)],
    )
    bus_id = SelectField(_l("Bus"), coerce=optional_id, validators=[Optional()])
    driver_id = SelectField(_l("Driver"), coerce=optional_id, validators=[Optional()])
    valid_from = DateField(_l("Runs from"), validators=[InputRequired(_l("Choose the first day."))])
    valid_to = DateField(_l("Until (optional)"), validators=[Optional()])
    is_active = BooleanField(_l("Active: generate trips from this timetable"), default=True)

    def validate_weekdays(self, field) -> None:
        # Not DataRequired: its "required" flag would make a browser demand every checkbox.
        if not field.data:
            raise ValidationError(_("Pick at least one day of the week."))


class TripForm(_Assignment, Form):
    route_id = SelectField(_l("Route"), coerce=int, validators=[InputRequired(_l("Choose a route."))])
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose the date."))])
    departure = TimeField(_l("Departure (local time)"), validators=[InputRequired(_l("Enter the time, e.g. 07:30."))])
    bus_id = SelectField(_l("Bus"), coerce=optional_id, validators=[Optional()])
    driver_id = SelectField(_l("Driver"), coerce=optional_id, validators=[Optional()])


class AssignForm(_Assignment, Form):
    bus_id = SelectField(_l("Bus"), coerce=optional_id, validators=[Optional()])
    driver_id = SelectField(_l("Driver"), coerce=optional_id, validators=[Optional()])


class StatusForm(Form):
    # Every status is a valid choice: the status table in fleet.rules says which moves are allowed,
    # and the service explains a refusal in words.
    status = SelectField(
        _l("New status"), choices=[SelectChoice(s.value, STATUS_LABELS[s.value]) for s in TRIP_STATUSES]
    )


class DelayForm(Form):
    day = DateField(_l("New departure date"), validators=[InputRequired(_l("Choose the date."))])
    new_departure = TimeField(_l("New departure time"), validators=[InputRequired(_l("Enter the time, e.g. 09:15."))])
    reason = StringField(
        _l("Reason (passengers see it)"),
        id="delay-reason",
        validators=[
            DataRequired(_l("Say why the trip is late.")),
            Length(max=200, message=_l("Keep it under 200 characters.")),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


class CancelForm(Form):
    reason = TextAreaField(
        _l("Why is the trip cancelled? (passengers see it)"),
        id="cancel-reason",
        validators=[DataRequired(CANCEL_REASON), Length(max=500, message=_l("Keep it under 500 characters."))],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


class SwapForm(Form):
    bus_id = RadioField(
        _l("Replacement bus"),
        coerce=optional_id,
        validate_choice=False,
        validators=[InputRequired(_l("Choose the replacement bus."))],
    )

    def validate_bus_id(self, field) -> None:
        if field.data not in {optional_id(choice.value) for choice in field.choices}:
            raise ValidationError(_("Choose one of the buses listed."))


class BusForm(Form):
    plate = StringField(
        _l("Plate"),
        validators=[DataRequired(REQUIRED), Length(max=20, message=_l("Plates are short, such as RAD 123A."))],
        render_kw={"autocapitalize": "characters", "placeholder": "RAD 123A"},
    )
    model = StringField(_l("Make and model"), validators=[Optional(), Length(max=80)])
    status = SelectField(_l("Status"), choices=choices(BUS_STATUS_LABELS))
    layout = TextAreaField(
        _l("Seat layout"),
        validators=[DataRequired(_l("Draw the seats, or generate a layout below.")), Length(max=4000)],
        description=_l(
            "One line per row from the front; “_” is the aisle or an empty place; add * after a VIP seat. "
            "Example: 1A* 1B* _ 1C* 1D*"
        ),
        render_kw={"rows": 14, "spellcheck": "false"},
    )


class TrackerForm(Form):
    device_id = StringField(
        _l("Device id"),
        validators=[DataRequired(REQUIRED), Length(max=64, message=_l("Device ids have at most 64 characters."))],
        description=_l("As set in the tracker, or Traccar Client's “Device identifier”."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    label = StringField(
        _l("Label"),
        validators=[Optional(), Length(max=80)],
        description=_l("Optional, such as “Dashboard unit” or “Spare phone”."),
    )


class LayoutGeneratorForm(Form):
    class Meta:
        csrf = False  # only computes text for the editor; saves nothing

    rows = IntegerField(_l("Rows"), default=12, validators=[InputRequired(), NumberRange(1, 30)])
    left = IntegerField(_l("Seats left of the aisle"), default=2, validators=[InputRequired(), NumberRange(0, 4)])
    right = IntegerField(_l("Seats right of the aisle"), default=2, validators=[InputRequired(), NumberRange(0, 4)])
    vip_rows = IntegerField(_l("VIP rows at the front"), default=0, validators=[InputRequired(), NumberRange(0, 30)])
    back_row_full = BooleanField(_l("Full back bench"), default=True)


class RouteForm(Form):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(REQUIRED), Length(max=120, message=_l("At most 120 characters."))],
        render_kw={"placeholder": "Kigali – Huye"},
    )
    vip_markup_percent = IntegerField(
        _l("VIP markup (%)"),
        default=50,
        validators=[InputRequired(_l("Enter a percentage.")), NumberRange(0, 500, _l("Between 0 and 500."))],
        description=_l("Default VIP fare = standard fare + this percentage."),
    )
    is_active = BooleanField(_l("On sale"), default=True)
