"""The designed PDF ticket: A4 to print, a narrow page for a phone, in the passenger's language."""

from __future__ import annotations

import io

import pytest
from babel.dates import format_datetime
from pypdf import PdfReader
from sqlalchemy import select

from app.booking.models import Order, Ticket
from app.booking.services import tickets
from app.extensions import db
from tests import qrcodes
from tests.booking.test_views_portal import line, pay  # noqa: F401  (line: a fixture)
from tests.companies.test_brand import png

MM = 72 / 25.4  # PDF points in a millimetre


def read(response) -> tuple[object, str, list[str]]:
    """The page, its text on one line, and the text of every QR code among its images."""
    assert response.mimetype == "application/pdf"
    page = PdfReader(io.BytesIO(response.data)).pages[0]
    codes = [code for image in page.images for code in qrcodes.read_all(image.image)]
    return page, " ".join(page.extract_text().split()), codes


@pytest.fixture
def ticket(client, login_as, line):  # noqa: F811  (the imported fixture)
    company = line.route.company
    company.brand_colour, company.logo_png, company.logo_version = "#1d4ed8", png(300, 100), "0123456789ab"
    login_as("customer", name="Aline Uwase")
    pay(client, line, seats=("3A",))
    return db.session.scalar(select(Ticket))


@pytest.mark.parametrize(("layout", "width_mm"), [(None, 210), ("a4", 210), ("phone", 90)])
def test_the_ticket_says_everything_a_passenger_and_a_conductor_need(client, ticket, layout, width_mm):
    url = f"/tickets/{ticket.code}/ticket.pdf" + (f"?layout={layout}" if layout else "")
    response = client.get(url)
    page, text, codes = read(response)
    assert round(float(page.mediabox.width) / MM) == width_mm
    if width_mm == 210:
        assert round(float(page.mediabox.height) / MM) == 297
    else:  # one page as long as the ticket, taller than wide
        assert float(page.mediabox.height) > 2 * float(page.mediabox.width)
        assert response.headers["Content-Disposition"] == f'attachment; filename="ticket-{ticket.code}-phone.pdf"'
    order = db.session.scalar(select(Order))
    # Kigali → Muhanga → Huye, an hour a leg, leaving at 09:00; seat 3A is standard: 2 legs × 2,000.
    for shown in (
        "Volcano Express",
        f"Bus ticket {ticket.code}",
        "Nyabugogo",
        "Huye",
        "Departs 09:00",
        "Arrives about 11:00",
        "Passenger 3A",  # the name given at checkout
        "3A",
        "Standard",
        order.code,
        "4,000 RWF",
        "Show this code when you board.",
        "Cancel at least 24 hours before departure: 90% of the price is refunded.",
        "Cancel at least 2 hours before departure: 50% of the price is refunded.",
        "Cancelling later refunds nothing.",
        f"/tickets/{ticket.code}",
        "Times are Kigali time, 24-hour clock.",
    ):
        assert shown in text, shown
    assert len(page.images) == 2  # the operator's logo and the QR code
    assert len(codes) == 1 and tickets.verify_ticket(codes[0]).ticket.code == ticket.code


def test_the_date_is_written_in_the_passengers_language(client, ticket):
    db.session.scalar(select(Ticket)).order.user.language = "fr"
    db.session.flush()
    departs = ticket.trip.time_at(ticket.origin_position)
    expected = format_datetime(departs, "EEEE dd MMMM y", tzinfo=departs.tzinfo, locale="fr")
    _, text, _ = read(client.get(f"/tickets/{ticket.code}/ticket.pdf"))
    assert expected.split()[0] in text and expected.split()[2] in text  # « samedi 06 décembre 2026 »


def test_a_cancelled_ticket_has_no_qr_code_and_says_so(client, ticket):
    assert client.submit(f"/tickets/{ticket.code}/cancel", {"confirm": "yes"}).status_code == 303
    for layout in ("a4", "phone"):
        page, text, codes = read(client.get(f"/tickets/{ticket.code}/ticket.pdf?layout={layout}"))
        assert "CANCELLED" in text and codes == [] and len(page.images) == 1  # the logo only


def test_an_unknown_layout_gets_the_printable_one(client, ticket):
    page, _, codes = read(client.get(f"/tickets/{ticket.code}/ticket.pdf?layout=poster"))
    assert round(float(page.mediabox.width) / MM) == 210 and len(codes) == 1
