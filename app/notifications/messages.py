"""Messages are Jinja templates, one pair per kind, ready for translation (``{% trans %}``):

- ``notifications/<kind>.txt`` holds the blocks ``subject``, ``sms``, ``inbox`` and ``text`` (the
  plain-text email); SMS and portal texts are folded onto one line, and kept to one SMS where they can;
- ``notifications/<kind>.html`` is the HTML email.

A record's ``context`` is what the event knew (frozen when it happened), with the recipient's
``language`` and the times as UTC instants (``departs_at``, each ticket's ``boards_at``) with the
company's ``timezone``: a message is rendered in its recipient's language, times written that
language's way (24-hour, Kigali time). What must not be stored (password-reset and sign-up links) or
is heavy (ticket PDFs) is made here, at sending time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import force_locale

from app.core.i18n import DEFAULT_LANGUAGE, local_time, supported
from app.extensions import db
from app.notifications.channels import DeliveryFailed, sms

# How a trip's times read in a message: "Sat 05 Dec 15:30", "sam. 05 déc. 15:30", "Gnd. 05 Uku. 15:30".
TIME_FORMAT = "%a %d %b %H:%M"


@dataclass
class Rendered:
    subject: str
    text: str
    html: str | None = None
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (file name, MIME type, bytes)
    secrets: list[str] = field(default_factory=list)  # made at sending (a guest's link, a code): never stored

    @property
    def stored_text(self) -> str:
        """The text as the delivery record keeps it: what was made at sending masked."""
        text = self.text
        for secret in self.secrets:
            text = text.replace(secret, "…")
        return text


def render(kind: str, channel: str, context: dict) -> Rendered:
    """The message in its recipient's language (``context["language"]``, English when unset).
    SMS texts are kept to the GSM alphabet where they can be (see :func:`sms.to_gsm`)."""
    with force_locale(supported(context.get("language")) or DEFAULT_LANGUAGE):
        rendered = _render(kind, channel, _with_local_times(context))
    if channel == "sms":
        rendered.text = sms.to_gsm(rendered.text)
    return rendered


def _render(kind: str, channel: str, context: dict) -> Rendered:
    env = current_app.jinja_env
    values = {"base_url": current_app.config["BASE_URL"], **context, **_about_tickets(context.get("tickets"))}
    attachments: list[tuple[str, str, bytes]] = []
    secrets: list[str] = []
    if channel == "email":
        values.update(_made_at_sending(kind, context, attachments))
    if channel in ("sms", "email"):
        values.update(_private(kind, context, secrets))
    template = env.get_template(f"notifications/{kind}.txt")
    subject = _fold(_block(template, "subject", values))
    if channel in ("sms", "inbox"):
        return Rendered(subject, _fold(_block(template, channel, values)), secrets=secrets)
    html = env.get_template(f"notifications/{kind}.html").render(values)
    return Rendered(subject, _block(template, "text", values), html, attachments, secrets)


def _private(kind: str, context: dict, secrets: list[str]) -> dict:
    """What only the recipient may know, made now: a guest's magic link to their order, a code to
    prove a phone. Named in ``secrets`` so the delivery record keeps the text without them."""
    if context.get("guest_order_id"):
        from app.booking.models import Order
        from app.booking.services.guests import issue_link
        from app.core.models import utcnow

        order = db.session.get(Order, context["guest_order_id"])
        if order is None:
            raise DeliveryFailed("the order is gone", temporary=False)
        token = issue_link(order, now=utcnow())
        secrets.append(token)
        return {"link": f"/t/{token}"}
    if kind == "claim_code":
        from app.booking.services.guests import make_claim_code

        code = make_claim_code(context["user_id"], context["phone"])
        secrets.append(code)
        return {"code": code}
    return {}


def _with_local_times(context: dict) -> dict:
    """``departs`` and each ticket's ``boards`` written in the current language from their UTC
    instants (records made before instants were kept carry the text already)."""
    zone = context.get("timezone")

    def written(values: dict, name: str) -> dict:
        instant = values.get(f"{name}_at")
        if not instant:
            return values
        return {**values, name: local_time(datetime.fromisoformat(instant), TIME_FORMAT, zone=zone)}

    context = written(context, "departs")
    if context.get("tickets"):
        context = {**context, "tickets": [written(ticket, "boards") for ticket in context["tickets"]]}
    return context


def _about_tickets(tickets: list[dict] | None) -> dict:
    """Short forms for one line: "Kigali-Musanze", "12, 14", "K7Q2M9"; the first ticket's boarding
    stop and time stand for the group (one address holds tickets of one order or one trip)."""
    if not tickets:
        return {}
    first = tickets[0]
    return {
        "count": len(tickets),
        "journey": f"{first['origin']}-{first['destination']}",
        "origin": first["origin"],
        "destination": first["destination"],
        "boards": first["boards"],
        "seats": ", ".join(t["seat"] for t in tickets),
        "codes": ", ".join(t["code"] for t in tickets),
    }


def _block(template, name: str, values: dict) -> str:
    return "".join(template.blocks[name](template.new_context(values))).strip()


def _fold(text: str) -> str:
    return " ".join(text.split())


def _made_at_sending(kind: str, context: dict, attachments: list) -> dict:
    from app.accounts.models import User

    if kind in ("password_reset", "staff_invitation"):
        from app.accounts.services import make_reset_token

        user = db.session.get(User, context["user_id"])
        if user is None or not user.is_enabled:
            raise DeliveryFailed("the account was closed before the email went out", temporary=False)
        base = current_app.config["BASE_URL"]
        if kind == "password_reset":
            minutes = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
            return {"link": f"{base}/password/reset/{make_reset_token(user)}", "minutes": minutes}
        if context.get("new_account"):
            return {"link": f"{base}/password/reset/{make_reset_token(user, invitation=True)}"}
        return {"link": f"{base}/login"}
    if kind == "signup_confirmation":
        from app.accounts.models import SignupRequest
        from app.accounts.services import make_signup_token

        signup = db.session.get(SignupRequest, context["signup_id"])
        if signup is None:
            raise DeliveryFailed("the sign-up was confirmed or expired before the email went out", temporary=False)
        hours = current_app.config["SIGNUP_LINK_MAX_AGE_SECONDS"] // 3600
        return {"link": f"{current_app.config['BASE_URL']}/signup/confirm/{make_signup_token(signup)}", "hours": hours}
    if kind == "signup_existing":
        base = current_app.config["BASE_URL"]
        return {"login_link": f"{base}/login", "reset_link": f"{base}/password/forgot"}
    if kind == "ticket_issued":
        from app.booking.documents import ticket_pdf
        from app.booking.models import Ticket

        for ticket in context["tickets"]:
            found = db.session.get(Ticket, ticket["id"])
            if found is not None and found.status == "paid":
                attachments.append((f"ticket-{found.code}.pdf", "application/pdf", ticket_pdf(found)))
    return {}
