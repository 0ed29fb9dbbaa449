"""Guests' own pages: the magic link to a guest's order (``/t/<token>``: its tickets with their
QR codes, PDF, live map and cancellation), "lost your link?", and claiming guest tickets into an
account.

The token in the path is the permission, checked on every request (:func:`guests.open_link`);
nothing here reads the session, so the link works in any browser until it ends.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, refresh

from app.booking import documents, qr
from app.booking.errors import LinkEnded
from app.booking.forms import ClaimCodeForm, LostLinkForm
from app.booking.models import Ticket
from app.booking.services import guests
from app.booking.views.portal import cancel_page, pdf_response, ticket_page
from app.core import tx
from app.core.errors import InvalidInput, NotFound, RateLimited
from app.core.htmx import render
from app.core.models import utcnow
from app.core.security import Counter
from app.web.surface import public

blueprint = Blueprint("guests", __name__)


def _link(token: str):
    """The guest link's order; its pages speak the language the booking was made in, unless this
    browser chose another with the switcher."""
    link = guests.open_link(token, now=utcnow())
    g.language_hint = link.order.language
    refresh()
    return link


def _ticket_of(link, code: str) -> Ticket:
    ticket = next((t for t in link.order.tickets if t.code == code and t.status in ("paid", "cancelled")), None)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    return ticket


def _urls(token: str, code: str) -> dict:
    return {
        "ticket": url_for(".ticket", token=token, code=code),
        "pdf": url_for(".ticket_pdf", token=token, code=code),
        "ics": url_for(".ticket_ics", token=token, code=code),
        "cancel": url_for(".cancel", token=token, code=code),
        "order": url_for(".order", token=token),
    }


@blueprint.errorhandler(LinkEnded)
def ended(error: LinkEnded):
    tx.rollback()
    return render_template("booking/portal/guest_link_ended.html", message=_(error.message)), 410


@blueprint.get("/t/<token>")
@public  # a guest's magic link: the signed token is the permission, and it ends
def order(token: str):
    link = _link(token)
    order = link.order
    issued = [t for t in order.tickets if t.status in ("paid", "cancelled")]
    return render(
        "booking/portal/guest_order.html",
        order=order,
        tickets=issued,
        token=token,
        qr_codes={t.code: qr.svg(qr.text_for(t)) for t in issued if t.status == "paid"},
        expires_at=link.expires_at,
    )


@blueprint.get("/t/<token>/<code>")
@public  # a guest's magic link
def ticket(token: str, code: str):
    from app.tracking.views.portal import live_section

    ticket = _ticket_of(_link(token), code)
    return ticket_page(ticket, urls=_urls(token, code), tracking=live_section(ticket, utcnow(), guest_token=token))


@blueprint.route("/t/<token>/<code>/cancel", methods=["GET", "POST"])
@public  # a guest's magic link
def cancel(token: str, code: str):
    ticket = _ticket_of(_link(token), code)
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    return cancel_page(ticket, urls=_urls(token, code), confirmed=confirmed)


@blueprint.get("/t/<token>/<code>/ticket.pdf")
@public  # a guest's magic link
def ticket_pdf(token: str, code: str):
    return pdf_response(_ticket_of(_link(token), code))


@blueprint.get("/t/<token>/<code>/calendar.ics")
@public  # a guest's magic link
def ticket_ics(token: str, code: str):
    ticket = _ticket_of(_link(token), code)
    return Response(
        documents.ticket_ics(ticket, url=url_for(".ticket", token=token, code=code, _external=True)),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="trip-{ticket.code}.ics"'},
    )


@blueprint.post("/t/<token>/revoke")
@public  # a guest's magic link: whoever holds it may end it
def revoke(token: str):
    link = _link(token)
    guests.revoke_links(link.order, now=utcnow())
    flash(_("The link no longer works, in any browser. Ask for a new one here when you need it."), "success")
    return redirect(url_for(".lost"), 303)


@blueprint.post("/t/<token>/resend")
@public  # a guest's magic link
def resend(token: str):
    link = _link(token)
    try:
        guests.send_new_link(link.order, now=utcnow())
    except RateLimited as error:
        tx.rollback()
        flash(error.message, "error")
        return redirect(url_for(".order", token=token), 303)
    flash(_("We sent a new link by SMS. This one no longer works."), "success")
    return redirect(url_for(".lost"), 303)


@blueprint.route("/tickets/lost", methods=["GET", "POST"])
@public  # "lost your link?": answers the same whether or not the booking exists
def lost():
    form = LostLinkForm()
    status = 200
    if form.validate_on_submit():
        per_address = Counter("guest-lost", 10, 3600)
        address = request.remote_addr or ""
        wait = per_address.exceeded(address)
        if wait:
            form.form_errors.append(_("Too many tries from this network. Try again in an hour."))
            status = 429
        else:
            per_address.hit(address)
            order = guests.find_guest_order(form.code.data, form.phone.data)
            try:
                if order is not None:
                    guests.send_new_link(order, now=utcnow())
            except RateLimited as error:
                tx.rollback()
                form.form_errors.append(error.message)
                status = error.status
            else:
                flash(_("If a booking has this code and number, a new link is on its way by SMS."), "success")
                return redirect(url_for(".lost"), 303)
    elif form.is_submitted():
        status = 422
    return render("booking/portal/guest_lost.html", form=form, status=status)


# --- Claiming guest tickets into the account -----------------------------------------------


@blueprint.route("/tickets/claim", methods=["GET", "POST"])
def claim():
    """Guest bookings made with the account's phone number join the account once a code texted to
    that phone comes back here (once per number: a proven number claims later ones at a click)."""
    form = ClaimCodeForm()
    status = 200
    verified = g.user.phone_verified_at is not None
    by_proven_number = verified and request.method == "POST" and request.form.get("verified") == "yes"
    if by_proven_number or form.validate_on_submit():
        try:
            if by_proven_number:
                claimed = guests.claim(g.user, now=utcnow())
            else:
                claimed = guests.claim_with_code(g.user, form.code.data, now=utcnow())
        except InvalidInput as error:
            tx.rollback()
            form.code.errors.extend(error.fields.get("code", [error.message]))
            status = 422
        else:
            tickets = sum(len([t for t in o.tickets if t.status in ("paid", "cancelled")]) for o in claimed)
            flash(
                ngettext("%(num)d ticket added to your account.", "%(num)d tickets added to your account.", tickets),
                "success",
            )
            return redirect(url_for("portal.booking.my_tickets"), 303)
    elif form.is_submitted():
        status = 422
    return render(
        "booking/portal/claim.html",
        form=form,
        orders=guests.claimable(g.user),
        phone=g.user.phone,
        verified=verified,
        status=status,
    )


@blueprint.post("/tickets/claim/code")
def claim_code():
    try:
        guests.request_claim_code(g.user)
    except (RateLimited, InvalidInput) as error:
        tx.rollback()
        flash(error.message, "error")
    else:
        flash(_("We sent a code by SMS to your phone. Type it below."), "success")
    return redirect(url_for(".claim"), 303)
