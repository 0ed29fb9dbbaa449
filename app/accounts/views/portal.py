"""Sign up, sign in and out, password reset, profile: the account pages of the portal."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.accounts import services
from app.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NotificationChoicesForm,
    ProfileForm,
    ResetPasswordForm,
    SignupForm,
)
from app.accounts.queries import active_memberships
from app.accounts.rules import CONSOLE_ROLES, Role
from app.core.edge import has_control
from app.core.errors import RateLimited
from app.core.forms import status_of, submit
from app.core.htmx import render
from app.core.models import utcnow
from app.web.surface import public

blueprint = Blueprint("accounts", __name__)


def _sign_in(user) -> None:
    """Start a brand-new session: nothing from the anonymous one carries over."""
    session.clear()
    login_user(user)
    session["sid"] = secrets.token_urlsafe(16)
    session.permanent = True


def _landing(user) -> str:
    target = request.args.get("next", "")  # a path on this site, on one line; else the role's landing page
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and not has_control(target):
        return target
    if user.is_super_admin:
        return url_for("admin.companies.index")
    roles = {m.role for m in active_memberships(user)}
    if roles & CONSOLE_ROLES:
        return url_for("console.companies.dashboard")
    if Role.DRIVER in roles:
        return url_for("driver.home.index")
    if Role.AGENT in roles:
        return url_for("pos.home.index")
    return url_for("portal.home.index")


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_landing(current_user))
    form = LoginForm()
    user = submit(
        form,
        lambda: services.authenticate(
            email=form.email.data, password=form.password.data, ip=request.remote_addr or "", now=utcnow()
        ),
        catch=(services.LoginRefused, RateLimited),
    )
    if user is not None:
        _sign_in(user)
        return redirect(_landing(user))
    response = render("accounts/portal/login.html", "content", form=form, status=status_of(form))
    if isinstance(getattr(form, "failure", None), RateLimited):
        response.headers["Retry-After"] = str(form.failure.retry_after)
    return response


@blueprint.post("/logout")
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("portal.home.index"), code=303)


@blueprint.route("/signup", methods=["GET", "POST"])
@public
def signup():
    form = SignupForm()
    user = submit(
        form,
        lambda: services.register_customer(
            name=form.name.data, email=form.email.data, phone=form.phone.data, password=form.password.data, now=utcnow()
        ),
    )
    if user is not None:
        _sign_in(user)
        flash(f"Welcome to TMS, {user.name}.", "success")
        return redirect(url_for("portal.home.index"))
    return render("accounts/portal/signup.html", "content", form=form, status=status_of(form))


@blueprint.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(email=form.email.data)
        return render("accounts/portal/forgot_sent.html", "content", email=form.email.data)
    return render("accounts/portal/forgot.html", "content", form=form, status=status_of(form))


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    services.user_for_reset_token(token)  # a spent or expired link answers before the form
    form = ResetPasswordForm()
    if submit(form, lambda: services.reset_password(token=token, password=form.password.data)):
        flash("Your password is changed. Sign in with the new one.", "success")
        return redirect(url_for("portal.accounts.login"), code=303)
    return render("accounts/portal/reset.html", "content", form=form, status=status_of(form))


def _account_page(form: ProfileForm, choices: NotificationChoicesForm, status: int):
    return render(
        "accounts/portal/account.html",
        "content",
        form=form,
        choices=choices,
        password_form=ChangePasswordForm(formdata=None),
        status=status,
    )


@blueprint.route("/account", methods=["GET", "POST"])
def account():
    user = g.user
    form = ProfileForm(obj=user)
    if submit(
        form, lambda: services.update_profile(user, name=form.name.data, email=form.email.data, phone=form.phone.data)
    ):
        flash("Your profile is saved.", "success")
        return redirect(url_for("portal.accounts.account"), code=303)
    return _account_page(form, NotificationChoicesForm(formdata=None, obj=user), status_of(form))


@blueprint.post("/account/notifications")
def notification_choices():
    user = g.user
    form = NotificationChoicesForm()
    if submit(
        form,
        lambda: services.update_notification_choices(user, sms=form.notify_sms.data, email=form.notify_email.data),
    ):
        flash("Your choices for trip messages are saved.", "success")
        return redirect(url_for("portal.accounts.account"), code=303)
    return _account_page(ProfileForm(formdata=None, obj=user), form, status_of(form))


@blueprint.route("/account/password", methods=["GET", "POST"])
def change_password():
    user = g.user
    form = ChangePasswordForm()
    if submit(form, lambda: services.change_password(user, current=form.current_password.data, new=form.password.data)):
        _sign_in(user)  # the epoch moved on: keep this session, end the others
        flash("Your password is changed. Other devices have been signed out.", "success")
        return redirect(url_for("portal.accounts.account"), code=303)
    return render("accounts/portal/password.html", "content", form=form, status=status_of(form))
