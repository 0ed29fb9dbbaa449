"""Files a passenger takes away: the ticket as a PDF with its QR code, and a calendar entry."""

from __future__ import annotations

import io
from datetime import UTC
from zoneinfo import ZoneInfo

from flask import current_app
from fpdf import FPDF

from app.booking import qr
from app.booking.models import Ticket


def _local(moment):
    return moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))


def ticket_pdf(ticket: Ticket) -> bytes:
    trip = ticket.trip
    departs, arrives = trip.time_at(ticket.origin_position), trip.time_at(ticket.destination_position)
    pdf = FPDF(format=(148, 210))  # A5, in millimetres
    pdf.set_creation_date(departs.astimezone(UTC))  # same ticket, same bytes
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, f"{trip.route.company.name} - bus ticket", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    lines = [
        f"Ticket {ticket.code}" + ("  (CANCELLED)" if ticket.status == "cancelled" else ""),
        f"Passenger: {ticket.passenger_name}",
        f"From: {ticket.origin.name}  {_local(departs):%a %d %b %Y, %H:%M}",
        f"To: {ticket.destination.name}  about {_local(arrives):%H:%M}",
        f"Seat {ticket.seat_label} ({'VIP' if ticket.seat_class == 'vip' else 'Standard'})"
        + (f" - bus {trip.bus.plate}" if trip.bus else ""),
        f"Price: {ticket.price:,} {ticket.currency}",
    ]
    for line in lines:
        pdf.cell(0, 8, line.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT")
    if ticket.status == "paid":
        pdf.image(io.BytesIO(qr.png(qr.text_for(ticket), scale=10)), x=34, y=pdf.get_y() + 6, w=80)
    return bytes(pdf.output())


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
