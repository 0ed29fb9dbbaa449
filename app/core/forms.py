"""Glue between WTForms and services: the base form every form derives from, and service field
errors landing on the form's fields."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, FloatField, IntegerField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, ValidationError

from app.core import tx
from app.core.edge import DAY_MAX, DAY_MIN, ID_MAX
from app.core.errors import DomainError, InvalidInput
from app.core.i18n import N_, N_plural

T = TypeVar("T")


# WTForms' own messages that our forms can show (a validator given no message of its own, a value
# of the wrong type), marked here so `make messages` puts them in our catalogues: WTForms ships no
# Kinyarwanda, so they are read from ours (Form.Meta.get_translations).
WTFORMS_MESSAGES = (
    N_("This field is required."),
    N_("Not a valid choice."),
    N_("Invalid Choice: could not coerce."),
    N_("Not a valid date value."),
    N_("Not a valid time value."),
    N_("Not a valid integer value."),
    N_("Not a valid float value."),
    N_("Not a valid decimal value."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_plural("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long."),
    N_plural("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters."),
    N_plural("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field."),
)


def choices(labels: dict) -> list[SelectChoice]:
    """A select's choices from a table of value → label whose labels may be lazy strings (WTForms
    reads a dict whose labels are not ``str`` as its deprecated optgroup form)."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class _Catalogue:
    """WTForms' translations interface over the request's own catalogue (Flask-Babel's)."""

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


def _one_line(form, field) -> None:
    if isinstance(field.data, str) and any(c in field.data for c in "\t\r\n"):
        raise ValidationError(_("Use one line of text."))


def _finite(form, field) -> None:
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError(_("Enter a number."))


def _known_day(form, field) -> None:
    if field.data is not None and not DAY_MIN <= field.data <= DAY_MAX:
        raise ValidationError(_("Choose a day between %(first)s and %(last)s.", first=DAY_MIN.year, last=DAY_MAX.year))


def _edge_validators(field) -> list:
    """What every field of its kind must satisfy, whatever its form says. (Control characters
    never get this far: ``core.edge`` refuses them for every form.)"""
    if isinstance(field, StringField) and not isinstance(field, TextAreaField):
        return [_one_line]
    if isinstance(field, IntegerField):
        return [NumberRange(-ID_MAX - 1, ID_MAX, _l("Enter a smaller number."))]
    if isinstance(field, FloatField | DecimalField):
        return [_finite]
    if isinstance(field, DateField):
        return [_known_day]
    return []


class Form(FlaskForm):
    """The base of every form: one-line text fields refuse line breaks, whole numbers fit an
    integer column, decimals are finite and days are ones we can compute with."""

    class Meta:
        def get_translations(self, form):
            return _Catalogue()

        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            extra = _edge_validators(field)
            if extra:
                field.validators = [*field.validators, *extra]  # a new list: the class's is shared
            return field


def submit(form: FlaskForm, action: Callable[[], T], *, catch: tuple[type[DomainError], ...] = ()) -> T | None:
    """Validate a posted form and run ``action``. Returns its result, or None when the form must
    be shown again: invalid fields, a service's field errors, or one of the ``catch`` errors
    (shown above the form). A refusal rolls back what the service changed before refusing, so
    the page shown again reads the stored rows."""
    if not form.validate_on_submit():
        return None
    try:
        return action()
    except InvalidInput as error:
        tx.rollback()
        for name, messages in error.fields.items():
            field = getattr(form, name, None)
            (field.errors if field is not None else form.form_errors).extend(messages)
        if not error.fields:
            form.form_errors.append(error.message)
    except catch as error:
        tx.rollback()
        form.form_errors.append(error.message)
        form.failure = error
    return None


def status_of(form: FlaskForm) -> int:
    """200 for a fresh form; the failure's status or 422 for one shown again with errors."""
    failure = getattr(form, "failure", None)
    if failure is not None:
        return failure.status
    return 422 if form.errors else 200
