"""Account emails, sent by workers."""

from __future__ import annotations

from flask import current_app, render_template

from app.accounts.models import User
from app.core.jobs import job
from app.extensions import db
from app.notifications.channels import email


@job
def send_password_reset_email(user_id: int) -> None:
    from app.accounts.services import make_reset_token

    user = db.session.get(User, user_id)
    if user is None or not user.is_enabled:
        return
    link = f"{current_app.config['BASE_URL']}/password/reset/{make_reset_token(user)}"
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
    context = {"user": user, "link": link, "minutes": minutes}
    email.send(
        to=user.email,
        subject="Reset your TMS password",
        text=render_template("emails/password_reset.txt", **context),
        html=render_template("emails/password_reset.html", **context),
    )


@job
def send_staff_invitation_email(user_id: int, company_id: int, *, new_account: bool = True) -> None:
    """New people choose a password through the link; people who already have an account just sign in."""
    from app.accounts.services import make_reset_token
    from app.companies.models import Company

    user, company = db.session.get(User, user_id), db.session.get(Company, company_id)
    if user is None or company is None or not user.is_enabled:
        return
    base = current_app.config["BASE_URL"]
    link = f"{base}/password/reset/{make_reset_token(user, invitation=True)}" if new_account else f"{base}/login"
    context = {"user": user, "company": company, "link": link, "new_account": new_account}
    email.send(
        to=user.email,
        subject=f"You are invited to {company.name} on TMS",
        text=render_template("emails/staff_invitation.txt", **context),
        html=render_template("emails/staff_invitation.html", **context),
    )
