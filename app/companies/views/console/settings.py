"""Console page for company admins: sales, refund and boarding reminder settings."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.accounts.rules import Role
from app.companies import services
from app.companies.forms import SettingsForm
from app.companies.views.console import blueprint
from app.core import tx
from app.core.errors import InvalidInput
from app.core.htmx import render
from app.web.surface import requires_role


@blueprint.route("/settings", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def settings():
    company = g.access.company
    form = SettingsForm(obj=company)
    if request.method == "GET":
        form.fill_policy(company.refund_policy)
    status = 200
    if form.validate_on_submit():
        policy = form.policy()
        if not form.errors:
            try:
                services.update_settings(
                    g.user,
                    company,
                    hold_minutes=form.hold_minutes.data,
                    days_ahead=form.days_ahead.data,
                    refund_policy=policy,
                    payment_providers=form.payment_providers.data,
                    reminder_minutes=form.reminder_minutes.data,
                )
            except InvalidInput as error:
                tx.rollback()
                form.form_errors.extend(error.fields.pop("refund_policy", []))
                for name, messages in error.fields.items():
                    getattr(form, name).errors = [*getattr(form, name).errors, *messages]
            else:
                flash(_("Settings saved."), "success")
                return redirect(url_for(".settings"), 303)
    if request.method == "POST":
        status = 422
    return render("companies/console/settings.html", form=form, status=status)
