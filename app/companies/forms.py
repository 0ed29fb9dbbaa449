"""Console forms for stations, staff and company settings."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, FloatField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.forms import REQUIRED, email_field, name_field, phone_field
from app.accounts.rules import ROLE_LABELS, Role
from app.companies.services import STAFF_ROLES
from app.core.forms import Form, choices
from app.payments.rules import ONLINE_PROVIDERS, PROVIDER_LABELS

ROLE_CHOICES = {role.value: ROLE_LABELS[role.value] for role in STAFF_ROLES}


class StationForm(Form):
    name = StringField(
        _l("Station name"),
        validators=[DataRequired(REQUIRED), Length(max=120)],
        render_kw={"placeholder": "Nyabugogo Bus Park"},
    )
    city = StringField(_l("Town or city"), validators=[DataRequired(REQUIRED), Length(max=80)])
    latitude = FloatField(
        _l("Latitude"),
        validators=[InputRequired(_l("Enter the latitude, such as -1.9393."))],
        description=_l("Decimal degrees; negative south of the equator."),
    )
    longitude = FloatField(_l("Longitude"), validators=[InputRequired(_l("Enter the longitude, such as 30.0447."))])


class InviteForm(Form):
    name = name_field()
    email = email_field()
    phone = phone_field()
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES), default=Role.DRIVER.value)


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES))


class SettingsForm(Form):
    hold_minutes = IntegerField(
        _l("Seat hold (minutes)"),
        validators=[InputRequired(REQUIRED), NumberRange(2, 60)],
        description=_l("How long a passenger keeps seats while paying."),
    )
    days_ahead = IntegerField(_l("Plan trips ahead (days)"), validators=[InputRequired(REQUIRED), NumberRange(1, 90)])
    reminder_minutes = IntegerField(
        _l("Boarding reminder (minutes before departure, 0 = off)"),
        validators=[InputRequired(REQUIRED), NumberRange(0, 1440)],
        description=_l("Passengers are reminded (SMS, email, portal) this long before the trip departs."),
    )
    hours_1 = IntegerField(_l("At least … hours before departure"), validators=[Optional(), NumberRange(0, 720)])
    percent_1 = IntegerField(_l("… refund %"), validators=[Optional(), NumberRange(0, 100)])
    hours_2 = IntegerField(_l("At least … hours before departure"), validators=[Optional(), NumberRange(0, 720)])
    percent_2 = IntegerField(_l("… refund %"), validators=[Optional(), NumberRange(0, 100)])
    hours_3 = IntegerField(_l("At least … hours before departure"), validators=[Optional(), NumberRange(0, 720)])
    percent_3 = IntegerField(_l("… refund %"), validators=[Optional(), NumberRange(0, 100)])
    hours_4 = IntegerField(_l("At least … hours before departure"), validators=[Optional(), NumberRange(0, 720)])
    percent_4 = IntegerField(_l("… refund %"), validators=[Optional(), NumberRange(0, 100)])

    payment_providers = SelectMultipleField(
        _l("Passengers may pay online with"),
        choices=choices({name: PROVIDER_LABELS[name] for name in ONLINE_PROVIDERS}),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Only methods this platform has set up are offered. Cash is taken at your counters."),
    )

    TIERS = 4

    def tier_fields(self):
        return [(getattr(self, f"hours_{n}"), getattr(self, f"percent_{n}")) for n in range(1, self.TIERS + 1)]

    def fill_policy(self, policy: list) -> None:
        for (hours, percent), tier in zip(self.tier_fields(), policy, strict=False):
            hours.data, percent.data = tier

    def policy(self) -> list[list[int]]:
        tiers = []
        for hours, percent in self.tier_fields():
            if hours.data is None and percent.data is None:
                continue
            if hours.data is None or percent.data is None:
                (hours if hours.data is None else percent).errors.append(_("Fill both parts of this tier, or neither."))
                continue
            tiers.append([hours.data, percent.data])
        return tiers


class BrandForm(Form):
    brand_colour = StringField(
        _l("Brand colour"),
        validators=[Optional(), Length(max=7)],
        description=_l("As #RRGGBB, such as #0B6E4F. Leave empty for the platform's green."),
        render_kw={"placeholder": "#0B6E4F", "autocomplete": "off", "spellcheck": "false"},
    )
    logo = FileField(
        _l("Logo"),
        description=_l(
            "PNG, JPEG or WebP, up to 1 MB, 32 to 4000 pixels a side. A wide logo on a clear background works best."
        ),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    remove_logo = BooleanField(_l("Remove the logo"))
