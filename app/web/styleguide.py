"""The styleguide: every component of the design system with a note on when to use it, for the
staff who build and check pages (``/console/styleguide`` and ``/admin/styleguide``)."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.core.forms import Form, status_of
from app.core.htmx import render

blueprint = Blueprint("design", __name__)


class SpecimenForm(Form):
    """The field macro's specimens; sending the form empty shows their errors. Nothing is saved."""

    name = StringField(_l("Passenger name"), validators=[InputRequired(_l("Enter the passenger's name."))])
    phone = StringField(_l("Mobile phone"), description=_l("We send the ticket to this number by SMS."))
    seat_class = SelectField(
        _l("Seat class"), choices=[SelectChoice("standard", _l("Standard")), SelectChoice("vip", _l("VIP"))]
    )
    payment = RadioField(
        _l("Pay with"),
        choices=[SelectChoice("momo", _l("MTN Mobile Money")), SelectChoice("cash", _l("Cash at the station"))],
        default="momo",
    )
    notes = TextAreaField(_l("Notes for the driver"))
    terms = BooleanField(_l("I accept the operator's terms"), validators=[InputRequired(_l("Accept the terms."))])


@blueprint.route("/styleguide", methods=["GET", "POST"])
def styleguide():
    form = SpecimenForm()
    confirmed = request.method == "POST" and "confirmed" in request.form  # the dialog's specimen
    valid = not confirmed and form.validate_on_submit()
    layout = "layouts/admin.html" if request.blueprint.startswith("admin") else "layouts/console.html"
    status = 200 if confirmed else status_of(form)
    context = {"form": form, "valid": valid, "confirmed": confirmed, "layout": layout}
    return render("design/styleguide.html", status=status, **context)
