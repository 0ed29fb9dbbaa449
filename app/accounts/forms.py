"""Account forms. Field errors are written for people, not for developers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from app.accounts.rules import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, normalize_phone
from app.core.forms import Form

REQUIRED = _l("This field is required.")


def email_field(label: str | None = None) -> EmailField:
    return EmailField(
        label or _l("Email"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=254, message=_l("Email addresses are at most 254 characters.")),
            Email(_l("Enter an email address such as name@example.com."), check_deliverability=False),
        ],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
        render_kw={"autocomplete": "email"},
    )


def _new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(REQUIRED),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=PASSWORD_MAX_LENGTH,
                message=_l("Use %(min)s to %(max)s characters.", min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def _confirm_field(other: str) -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(REQUIRED), EqualTo(other, _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class PhoneField(TelField):
    """A phone number, normalised to E.164 when the form validates."""

    def pre_validate(self, form) -> None:
        if self.data:
            try:
                self.data = normalize_phone(self.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc


def name_field() -> StringField:
    return StringField(
        _l("Full name"),
        validators=[DataRequired(REQUIRED), Length(max=120, message=_l("Names are at most 120 characters."))],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        render_kw={"autocomplete": "name"},
    )


def phone_field() -> PhoneField:
    return PhoneField(
        _l("Mobile phone"),
        validators=[Optional()],
        description=_l("For tickets by SMS. Example: 0788 123 456"),
        render_kw={"autocomplete": "tel"},
    )


class LoginForm(Form):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX_LENGTH, message=_l("That password is too long."))],
        render_kw={"autocomplete": "current-password"},
    )


class SignupForm(Form):
    name = name_field()
    email = email_field()
    phone = phone_field()
    password = _new_password_field(_l("Password"))
    confirm = _confirm_field("password")


class ForgotPasswordForm(Form):
    email = email_field()


class ResetPasswordForm(Form):
    password = _new_password_field(_l("New password"))
    confirm = _confirm_field("password")


class ChangePasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password_field(_l("New password"))
    confirm = _confirm_field("password")


class ProfileForm(Form):
    name = name_field()
    email = email_field()
    phone = phone_field()


class NotificationChoicesForm(Form):
    """How a customer hears about their trips besides the portal's bell (no DataRequired: a
    required checkbox could not be left unticked)."""

    notify_sms = BooleanField(_l("Text me (SMS) about my trips"))
    notify_email = BooleanField(_l("Email me about my trips"))
