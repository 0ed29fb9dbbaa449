"""Console page for company admins: sales, refund and boarding reminder settings."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.accounts.rules import Role
from app.companies import services
from app.companies.forms import BrandForm, SettingsForm
from app.companies.queries import brand_of
from app.companies.views.console import blueprint
from app.core import tx
from app.core.errors import InvalidInput
from app.core.forms import status_of, submit
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


@blueprint.route("/settings/brand", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def brand():
    company = g.access.company
    form = BrandForm(data={"brand_colour": (company.brand_colour or "").upper()} if request.method == "GET" else None)
    upload = form.logo.data
    saved = submit(
        form,
        lambda: services.update_brand(
            g.user,
            company,
            colour=form.brand_colour.data,
            logo=upload.read(services.LOGO_MAX_BYTES + 1) if upload else None,
            remove_logo=form.remove_logo.data,
        ),
    )
    if saved is not None:
        flash(_("Brand saved: your pages and tickets show it now."), "success")
        return redirect(url_for(".brand"), 303)
    return render("companies/console/brand.html", form=form, brand=brand_of(company), status=status_of(form))
