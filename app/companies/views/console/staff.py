"""Console pages for company admins: staff (invite, change role, deactivate)."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _

from app.accounts.models import Membership
from app.accounts.rules import Role
from app.companies import queries, services
from app.companies.forms import ROLE_CHOICES, InviteForm, RoleForm
from app.companies.views.console import blueprint
from app.core.errors import InvalidInput
from app.core.forms import status_of, submit
from app.core.htmx import render
from app.core.models import utcnow
from app.fleet.queries import company_object_or_404
from app.web.surface import requires_role


@blueprint.get("/staff")
@requires_role(Role.ADMIN)
def staff_list():
    return render("companies/console/staff.html", members=queries.members_of(g.access.company), roles=ROLE_CHOICES)


@blueprint.route("/staff/invite", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def staff_invite():
    form = InviteForm()
    membership = submit(
        form,
        lambda: services.invite_staff(
            g.user,
            g.access.company,
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data,
            role=form.role.data,
        ),
    )
    if membership is not None:
        flash(
            _(
                "%(name)s is invited; we emailed %(email)s a link to sign in.",
                name=membership.user.name,
                email=membership.user.email,
            ),
            "success",
        )
        return redirect(url_for(".staff_list"), 303)
    return render("companies/console/staff_invite.html", form=form, status=status_of(form))


@blueprint.post("/staff/<int:membership_id>/role")
@requires_role(Role.ADMIN)
def staff_edit(membership_id: int):
    membership = company_object_or_404(Membership, g.access.company, membership_id)
    form = RoleForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Choose one of the roles."), fields={"role": form.role.errors})
    services.change_role(g.user, membership, form.role.data)
    flash(_("%(name)s is now %(role)s.", name=membership.user.name, role=membership.role_label), "success")
    return redirect(url_for(".staff_list"), 303)


@blueprint.post("/staff/<int:membership_id>/active")
@requires_role(Role.ADMIN)
def staff_toggle(membership_id: int):
    membership = company_object_or_404(Membership, g.access.company, membership_id)
    services.set_active(g.user, membership, not membership.is_enabled, now=utcnow())
    name = membership.user.name
    flash(
        _("%(name)s is reactivated.", name=name) if membership.is_enabled else _("%(name)s is deactivated.", name=name),
        "success",
    )
    return redirect(url_for(".staff_list"), 303)
