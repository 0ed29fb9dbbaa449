"""Portal forms for searching and buying. Messages are written for passengers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, EmailField, FieldList, FormField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.accounts.forms import REQUIRED
from app.core.forms import Form, choices


class SearchForm(Form):
    """Read from the query string, so a search is a shareable URL."""

    class Meta:
        csrf = False

    origin = StringField(_l("From"), validators=[InputRequired(_l("Where do you leave from?")), Length(max=160)])
    destination = StringField(_l("To"), validators=[InputRequired(_l("Where are you going?")), Length(max=160)])
    date = DateField(_l("Date"), validators=[Optional()])
    sort = SelectField(
        _l("Sort by"), choices=choices({"time": _l("Departure time"), "price": _l("Price")}), default="time"
    )
    operator = SelectField(_l("Operator"), validators=[Optional()], validate_choice=False)
    time_of_day = SelectField(
        _l("Time of day"),
        choices=choices(
            {
                "": _l("Any time"),
                "morning": _l("Morning (before 12:00)"),
                "afternoon": _l("Afternoon"),
                "evening": _l("Evening"),
            }
        ),
        default="",
        validators=[Optional()],
    )


class PassengerForm(Form):
    class Meta:
        csrf = False  # a part of CheckoutForm, which carries the token

    name = StringField(_l("Passenger name"), validators=[InputRequired(REQUIRED), Length(min=2, max=120)])
    phone = StringField(_l("Phone (for the SMS ticket)"), validators=[Optional(), Length(max=32)])


class CheckoutForm(Form):
    passengers = FieldList(FormField(PassengerForm), min_entries=1, max_entries=6)
    # The total the page showed, only to say so when the fares changed before the order was placed;
    # the order is always priced by the server.
    shown_total = HiddenField()


class GuestCheckoutForm(CheckoutForm):
    """Booking without an account: who gets the tickets (by SMS, and by email if given)."""

    contact_name = StringField(_l("Your name"), validators=[InputRequired(REQUIRED), Length(min=2, max=120)])
    contact_phone = StringField(
        _l("Mobile number (the tickets come by SMS)"), validators=[InputRequired(REQUIRED), Length(max=32)]
    )
    contact_email = EmailField(_l("Email (optional)"), validators=[Optional(), Length(max=254)])


class LostLinkForm(Form):
    code = StringField(_l("Order code"), validators=[InputRequired(REQUIRED), Length(max=12)])
    phone = StringField(_l("Mobile number used for the booking"), validators=[InputRequired(REQUIRED), Length(max=32)])


class ClaimCodeForm(Form):
    code = StringField(_l("Code from the SMS"), validators=[InputRequired(REQUIRED), Length(max=12)])
