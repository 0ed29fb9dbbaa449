"""Files a passenger takes away: the ticket as a PDF with its QR code, and a calendar entry."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC

from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF

from app.booking import qr
from app.booking.models import Ticket
from app.companies.rules import Palette, palette, parse_colour, rgb
from app.core.i18n import local_time, money

LAYOUTS = ("a4", "phone")
PLATFORM_COLOUR = "#0b6e4f"  # the platform's green, for operators without a brand colour
INK, MUTED, LINE = (29, 36, 48), (91, 101, 116), (217, 222, 229)


def _pdf_text(text: str) -> str:
    """The PDF's core fonts speak Windows-1252: French and Kinyarwanda fit; anything else is "?"."""
    text = text.replace("→", "-").replace("×", "x")
    return text.encode("windows-1252", "replace").decode("windows-1252")


@dataclass(frozen=True)
class _Facts:
    """What a ticket says, in the current language."""

    operator: str
    colours: Palette
    logo: bytes | None
    origin: str
    origin_city: str
    destination: str
    destination_city: str
    departs: str
    arrives: str
    day: str
    rows: list[tuple[str, str]]
    terms: list[str]
    qr: bytes | None
    cancelled: bool
    code: str


def _facts(ticket: Ticket) -> _Facts:
    trip = ticket.trip
    company = trip.route.company
    departs, arrives = trip.time_at(ticket.origin_position), trip.time_at(ticket.destination_position)
    seat_class = _("VIP") if ticket.seat_class == "vip" else _("Standard")
    rows = [
        (_("Passenger"), ticket.passenger_name),
        (_("Seat"), ticket.seat_label),
        (_("Class"), seat_class),
        (_("Bus"), trip.bus.plate if trip.bus else _("announced before boarding")),
        (_("Order"), ticket.order.code),
        (_("Ticket"), ticket.code),
        (_("Price"), money(ticket.price, ticket.currency)),
    ]
    terms = [_("Show the QR code when you board. Each ticket boards once; keep the code to yourself.")]
    for hours, percent in sorted(ticket.refund_policy or [], key=lambda tier: -tier[0]):
        terms.append(
            _(
                "Cancel at least %(hours)d hours before departure: %(percent)d%% of the price is refunded.",
                hours=hours,
                percent=percent,
            )
        )
    terms.append(_("Cancelling later refunds nothing.") if ticket.refund_policy else _("Cancelling refunds nothing."))
    terms.append(
        _(
            "Cancel, or follow your bus live, on %(url)s",
            url=f"{current_app.config['BASE_URL']}/tickets/{ticket.code}",
        )
    )
    terms.append(_("Times are Kigali time, 24-hour clock."))
    return _Facts(
        operator=company.name,
        colours=palette(parse_colour(company.brand_colour or "") or PLATFORM_COLOUR),
        logo=company.logo_png,
        origin=ticket.origin.name,
        origin_city=ticket.origin.city,
        destination=ticket.destination.name,
        destination_city=ticket.destination.city,
        departs=local_time(departs, "%H:%M"),
        arrives=local_time(arrives, "%H:%M"),
        day=local_time(departs, "%A %d %B %Y"),
        rows=rows,
        terms=terms,
        qr=qr.png(qr.text_for(ticket), scale=10) if ticket.status == "paid" else None,
        cancelled=ticket.status == "cancelled",
        code=ticket.code,
    )


def ticket_pdf(ticket: Ticket, *, layout: str = "a4") -> bytes:
    """The ticket as a PDF: ``a4`` to print, ``phone`` (a narrow page) to show from a screen."""
    facts = _facts(ticket)
    created = ticket.trip.time_at(ticket.origin_position).astimezone(UTC)  # same ticket, same bytes
    if layout == "a4":
        return bytes(_document("A4", facts, created, _a4).output())
    # One page as long as the ticket: drawn once on a long page to measure it, then for real.
    height = _phone(_document((PHONE_WIDTH, 400), facts, created, None), facts) + 6
    return bytes(_document((PHONE_WIDTH, height), facts, created, _phone).output())


PHONE_WIDTH = 90  # millimetres: a phone's screen shows the page's whole width, legibly


def _document(size, facts: _Facts, created, draw) -> FPDF:
    pdf = FPDF(format=size)  # millimetres
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(created)
    pdf.set_title(_pdf_text(_("Bus ticket %(code)s", code=facts.code)))
    pdf.set_author(_pdf_text(facts.operator))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    if draw is not None:
        draw(pdf, facts)
    return pdf


def _write(pdf: FPDF, x: float, y: float, w: float, text: str, size: float, *, bold=False, colour=INK, align="L"):
    """Text in a box ``w`` wide at (x, y), wrapped; returns the y below it."""
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.set_text_color(*colour)
    pdf.set_xy(x, y)
    pdf.multi_cell(w, size * 0.45, _pdf_text(text), align=align, new_x="LMARGIN", new_y="NEXT")
    return pdf.get_y()


def _band(pdf: FPDF, facts: _Facts, *, height: float, margin: float, title_size: float) -> None:
    """The operator's band across the top: its logo on a white tile, its name and the ticket code."""
    pdf.set_fill_color(*rgb(facts.colours.brand))
    pdf.rect(0, 0, pdf.w, height, style="F")
    on_band = rgb(facts.colours.contrast)
    x = margin
    if facts.logo:
        tile_h = height - 2 * margin * 0.6
        tile_w = tile_h * 2.2
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, margin * 0.6, tile_w, tile_h, style="F", round_corners=True, corner_radius=2)
        pad = tile_h * 0.1
        pdf.image(
            io.BytesIO(facts.logo),
            x=x + pad,
            y=margin * 0.6 + pad,
            w=tile_w - 2 * pad,
            h=tile_h - 2 * pad,
            keep_aspect_ratio=True,
        )
        x += tile_w + margin * 0.6
    width = pdf.w - x - margin
    below = _write(pdf, x, height * 0.22, width, facts.operator, title_size, bold=True, colour=on_band)
    _write(pdf, x, below + 1, width, _("Bus ticket %(code)s", code=facts.code), title_size * 0.6, colour=on_band)


def _stamp(pdf: FPDF, x: float, y: float, w: float, size: float) -> None:
    pdf.set_draw_color(180, 35, 24)
    pdf.set_line_width(0.8)
    pdf.rect(x, y, w, size * 0.9, style="D", round_corners=True, corner_radius=2)
    _write(pdf, x, y + size * 0.2, w, _("CANCELLED"), size, bold=True, colour=(180, 35, 24), align="C")


def _rows(pdf: FPDF, facts: _Facts, x: float, y: float, w: float, *, label: float, value: float) -> float:
    for name, shown in facts.rows:
        y = _write(pdf, x, y, w, name, label, colour=MUTED)
        y = _write(pdf, x, y + 0.5, w, shown, value, bold=True) + 2
    return y


def _terms(pdf: FPDF, facts: _Facts, x: float, y: float, w: float, *, size: float) -> float:
    y = _write(pdf, x, y, w, _("Terms"), size * 1.2, bold=True)
    for line in facts.terms:
        y = _write(pdf, x, y + 1, w, "- " + line, size, colour=MUTED)
    return y


def _a4(pdf: FPDF, facts: _Facts) -> None:
    """Printed: the route across the page, the facts beside a QR code 80 mm wide, the terms below."""
    margin, half = 15, (pdf.w - 30) / 2
    _band(pdf, facts, height=32, margin=margin, title_size=20)
    departs = _("Departs %(time)s", time=facts.departs)
    arrives = _("Arrives about %(time)s", time=facts.arrives)
    for x, label, station, city, at in (
        (margin, _("From"), facts.origin, facts.origin_city, departs),
        (margin + half, _("To"), facts.destination, facts.destination_city, arrives),
    ):
        y = _write(pdf, x, 42, half - 4, label.upper(), 9, bold=True, colour=MUTED)
        y = _write(pdf, x, y + 1, half - 4, station, 20, bold=True)
        y = _write(pdf, x, y, half - 4, city, 11, colour=MUTED)
        _write(pdf, x, y + 2, half - 4, at, 16, bold=True, colour=rgb(facts.colours.text))
    _write(pdf, margin, 88, pdf.w - 2 * margin, facts.day, 14, bold=True)
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.3)
    pdf.line(margin, 98, pdf.w - margin, 98)
    bottom = _rows(pdf, facts, margin, 104, 85, label=9, value=14)
    if facts.qr:
        pdf.image(io.BytesIO(facts.qr), x=pdf.w - margin - 85, y=102, w=85)
        _write(pdf, pdf.w - margin - 85, 189, 85, _("Show this code when you board."), 11, align="C")
    elif facts.cancelled:
        _stamp(pdf, pdf.w - margin - 85, 130, 85, 24)
    pdf.line(margin, max(bottom, 198) + 2, pdf.w - margin, max(bottom, 198) + 2)
    _terms(pdf, facts, margin, max(bottom, 198) + 8, pdf.w - 2 * margin, size=10)
    sold_by = _("Sold by %(operator)s through TMS.", operator=facts.operator)
    _write(pdf, margin, pdf.h - 12, pdf.w - 2 * margin, sold_by, 8, colour=MUTED)


def _phone(pdf: FPDF, facts: _Facts) -> float:
    """On a screen: one narrow column, the QR code as wide as the page near the top. Returns
    where the ticket ends."""
    margin = 6
    width = pdf.w - 2 * margin
    _band(pdf, facts, height=24, margin=margin, title_size=13)
    y = _write(pdf, margin, 28, width, facts.day, 11, bold=True)
    for label, station, at in (
        (_("From"), facts.origin, _("Departs %(time)s", time=facts.departs)),
        (_("To"), facts.destination, _("Arrives about %(time)s", time=facts.arrives)),
    ):
        y = _write(pdf, margin, y + 2, width, f"{label.upper()}  {station}", 12, bold=True)
        y = _write(pdf, margin, y + 0.5, width, at, 12, bold=True, colour=rgb(facts.colours.text))
    if facts.qr:
        side = width
        pdf.image(io.BytesIO(facts.qr), x=margin, y=y + 2, w=side)
        y = _write(pdf, margin, y + side + 2, width, _("Show this code when you board."), 9, align="C")
    elif facts.cancelled:
        _stamp(pdf, margin, y + 4, width, 16)
        y += 22
    y += 3
    for pair in range(0, len(facts.rows), 2):  # two facts a line
        bottoms = [y]
        for (name, shown), x in zip(facts.rows[pair : pair + 2], (margin, margin + width / 2), strict=False):
            below = _write(pdf, x, y, width / 2 - 2, name, 7, colour=MUTED)
            bottoms.append(_write(pdf, x, below + 0.5, width / 2 - 2, shown, 11, bold=True))
        y = max(bottoms) + 2
    return _terms(pdf, facts, margin, y + 2, width, size=7)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ticket_ics(ticket: Ticket, *, url: str) -> str:
    trip = ticket.trip
    departs, arrives = trip.time_at(ticket.origin_position), trip.time_at(ticket.destination_position)
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//TMS//Bus tickets//EN",
        "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT",
        f"UID:ticket-{ticket.code}@tms",
        f"DTSTAMP:{ticket.created_at.astimezone(UTC):{stamp}}",
        f"DTSTART:{departs.astimezone(UTC):{stamp}}",
        f"DTEND:{arrives.astimezone(UTC):{stamp}}",
        f"SUMMARY:{_ics_text(f'Bus {ticket.origin.name} → {ticket.destination.name}, seat {ticket.seat_label}')}",
        f"LOCATION:{_ics_text(ticket.origin.name + ', ' + ticket.origin.city)}",
        f"DESCRIPTION:{_ics_text(f'{trip.route.company.name} ticket {ticket.code}. {url}')}",
        f"URL:{url}",
        "BEGIN:VALARM",
        "TRIGGER:-PT1H",
        "ACTION:DISPLAY",
        "DESCRIPTION:Your bus leaves in one hour",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > 75:
            out.append(current.decode())
            current = b" "
        current += encoded
    out.append(current.decode())
    return "\r\n".join(out)
