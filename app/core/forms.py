"""Glue between WTForms and services: service field errors land on the form's fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_wtf import FlaskForm

from app.core import tx
from app.core.errors import DomainError, InvalidInput

T = TypeVar("T")


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
