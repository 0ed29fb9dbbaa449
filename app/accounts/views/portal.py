"""Sign up, sign in and out, password reset, profile: the account pages of the portal."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
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
from app.accounts.queries import active_memberships, live_sessions
from app.accounts.rules import CONSOLE_ROLES, Role, SessionPolicy
from app.accounts.views import known_device, remember_device
from app.core import i18n
from app.core.edge import has_control
from app.core.errors import InvalidInput, RateLimited
from app.core.forms import status_of, submit
from app.core.htmx import render
from app.core.models import utcnow
from app.web.surface import public

blueprint = Blueprint("accounts", __name__)


def _policy() -> SessionPolicy:
    return SessionPolicy.from_config(current_app.config)


def _sign_in(user) -> None:
    """Start a brand-new session: nothing from the anonymous one carries over, and the cookie holds
    only the token of a new ``user_sessions`` row (the user loader looks it up on each request)."""
    _, token = services.start_session(
        user,
        user_agent=request.user_agent.string,
        address=request.remote_addr or "",
        now=utcnow(),
        policy=_policy(),
    )
    session.clear()
    login_user(user)
    session["_user_id"] = token  # Flask-Login's key: what its user loader is given back
    session.permanent = True


def _sign_out() -> None:
    logout_user()
    session.clear()


def _local(target: str | None) -> str | None:
    """``target`` if it is a path on this site on one line, never another site's address."""
    target = target or ""
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.netloc
        and "\\" not in target
        and not has_control(target)
    ):
        return target
    return None


def _landing(user) -> str:
    target = _local(request.args.get("next"))
    if target:
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
            email=form.email.data,
            password=form.password.data,
            ip=request.remote_addr or "",
            now=utcnow(),
            device=known_device(),
        ),
        catch=(services.LoginRefused, RateLimited),
    )
    if user is not None:
        _sign_in(user)
        return remember_device(redirect(_landing(user)), user)
    response = render("accounts/portal/login.html", "content", form=form, status=status_of(form))
    if isinstance(getattr(form, "failure", None), RateLimited):
        response.headers["Retry-After"] = str(form.failure.retry_after)
    return response


@blueprint.post("/logout")
def logout():
    services.end_session(g.signed_in.session, now=utcnow())
    _sign_out()
    return redirect(url_for("portal.home.index"), code=303)


@blueprint.route("/signup", methods=["GET", "POST"])
@public
def signup():
    """The same "check your email" answer whether or not the email has an account (the email
    itself says which): nobody learns here who has an account."""
    form = SignupForm()
    if not form.validate_on_submit():
        return render("accounts/portal/signup.html", "content", form=form, status=status_of(form))
    browser = secrets.token_urlsafe(16)
    services.request_signup(
        name=form.name.data,
        email=form.email.data,
        phone=form.phone.data,
        password=form.password.data,
        browser=browser,
        next_path=_local(request.args.get("next")),
        now=utcnow(),
        language=str(get_locale()),
    )
    session["signup_browser"] = browser  # the link opened in this browser confirms in one click
    return render("accounts/portal/signup_sent.html", "content", email=form.email.data)


@blueprint.route("/signup/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_signup(token: str):
    signup = services.signup_for_token(token)  # a forged, expired or used link answers before anything
    if request.method == "GET" and not services.opened_where_signed_up(signup, session.get("signup_browser")):
        return render("accounts/portal/signup_confirm.html", "content", signup=signup)
    target = signup.next_path or url_for("portal.home.index")
    user = services.confirm_signup(token=token, now=utcnow())
    _sign_in(user)
    flash(_("Welcome to TMS, %(name)s. Your account is ready.", name=user.name), "success")
    return remember_device(redirect(target, code=303), user)


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
    invited = services.is_invitation(token)  # new staff choose their first password here
    form = ResetPasswordForm()
    user = submit(form, lambda: services.reset_password(token=token, password=form.password.data, now=utcnow()))
    if user is not None:
        if invited:
            flash(_("Your password is set. Sign in with it to start."), "success")
        else:
            flash(_("Your password is changed. Sign in with the new one."), "success")
        # Opening the emailed link proved the mailbox is theirs: this browser is now a known device.
        return remember_device(redirect(url_for("portal.accounts.login"), code=303), user)
    return render("accounts/portal/reset.html", "content", form=form, invited=invited, status=status_of(form))


def _account_page(form: ProfileForm, choices: NotificationChoicesForm, status: int):
    return render(
        "accounts/portal/account.html",
        "content",
        form=form,
        choices=choices,
        password_form=ChangePasswordForm(formdata=None),
        sessions=live_sessions(g.signed_in, now=utcnow(), policy=_policy()),
        current_session=g.signed_in.session,
        status=status,
    )


@blueprint.route("/account", methods=["GET", "POST"])
def account():
    user = g.user
    form = ProfileForm(obj=user)
    if submit(
        form, lambda: services.update_profile(user, name=form.name.data, email=form.email.data, phone=form.phone.data)
    ):
        flash(_("Your profile is saved."), "success")
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
        flash(_("Your choices for trip messages are saved."), "success")
        return redirect(url_for("portal.accounts.account"), code=303)
    return _account_page(ProfileForm(formdata=None, obj=user), form, status_of(form))


@blueprint.route("/account/password", methods=["GET", "POST"])
def change_password():
    user = g.user
    form = ChangePasswordForm()
    if submit(
        form,
        lambda: services.change_password(
            user, current=form.current_password.data, new=form.password.data, keep=g.signed_in.session, now=utcnow()
        ),
    ):
        flash(_("Your password is changed. Other devices have been signed out."), "success")
        return redirect(url_for("portal.accounts.account"), code=303)
    return render("accounts/portal/password.html", "content", form=form, status=status_of(form))


@blueprint.post("/account/sessions/others")
def sign_out_elsewhere():
    services.end_sessions(g.user, now=utcnow(), keep=g.signed_in.session)
    flash(_("You are signed out on every other device. This one stays signed in."), "success")
    return redirect(url_for("portal.accounts.account"), code=303)


@blueprint.post("/account/sessions/all")
def sign_out_everywhere():
    services.end_sessions(g.user, now=utcnow())
    _sign_out()
    flash(_("You are signed out everywhere, on this device too."), "success")
    return redirect(url_for("portal.accounts.login"), code=303)


@blueprint.post("/language")
@public
def choose_language():
    """The language switcher: a cookie for everyone, and the account's own choice when signed in."""
    language = i18n.supported(request.form.get("language"))
    if language is None:
        raise InvalidInput(fields={"language": [_("Choose Ikinyarwanda, English or Français.")]})
    if current_user.is_authenticated:
        services.set_language(current_user, language)
    response = redirect(_local(request.form.get("next")) or url_for("portal.home.index"), code=303)
    response.set_cookie(
        i18n.LANGUAGE_COOKIE,
        language,
        max_age=i18n.LANGUAGE_COOKIE_DAYS * 86400,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
