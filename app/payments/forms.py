"""The passenger's payment form: one key per checkout attempt, so a double click pays once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.core.forms import Form


class PayForm(Form):
    provider = RadioField(_l("Pay with"), validators=[InputRequired(_l("Choose how to pay."))])
    phone = StringField(_l("MTN Mobile Money number"), validators=[Optional(), Length(max=32)])
    idempotency_key = HiddenField()


class SandboxForm(Form):
    decision = HiddenField()
