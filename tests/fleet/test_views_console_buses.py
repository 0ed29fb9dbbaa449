"""Console pages for buses: plate, status and the seat layout editor with its seat map."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.fleet.models import Bus
from tests import factories

LAYOUT = "1A* 1B* _ 1C* 1D*\n2A 2B _ 2C 2D\n3A 3B 3E 3C 3D"


@pytest.fixture
def company(login_as):
    return login_as("admin").memberships[0].company


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def bus_form(**values) -> dict:
    return {"plate": "rad 123a", "model": "Yutong ZK6120", "status": "active", "layout": LAYOUT, **values}


def stored(plate: str) -> Bus | None:
    db.session.expire_all()
    return db.session.scalar(select(Bus).where(Bus.plate == plate))


def test_a_new_bus_page_offers_a_standard_layout_and_its_seat_map(client, company):
    page = text(client.get("/console/buses/new"))
    assert "1A" in page and 'aria-label="Seat 12D"' in page and "Generate a standard layout" in page


def test_a_bus_is_saved_with_its_seats_and_shown_as_a_seat_map(client, company):
    response = client.submit("/console/buses/new", bus_form())
    assert response.status_code == 303
    bus = stored("RAD 123A")  # the plate is written the standard way
    assert bus.company_id == company.id and bus.capacity == 13 and bus.seats_of_class("vip") == 4
    assert {s.label for s in bus.seats} >= {"1A", "2D", "3E"}

    page = text(client.get(response.headers["Location"]))
    assert 'aria-label="Seat 1A, VIP"' in page and 'aria-label="Seat 3E"' in page
    listing = text(client.get("/console/buses"))
    assert "RAD 123A" in listing and "Yutong ZK6120" in listing
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "bus.created"))
    assert entry.after["seats"] == 13


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"plate": "hello"}, "plate", "Enter a plate such as RAD 123A."),
        ({"plate": ""}, "plate", "This field is required."),
        ({"layout": "1A 1B _ 1A 1C"}, "layout", "Seat 1A appears twice in row 1."),
        ({"layout": "1A 1B\n2A 1B"}, "layout", "Seat 1B appears twice (rows 1 and 2)."),
        ({"layout": "1A 1B _ 1C 1D 1E 1F 1G 1H"}, "layout", "a bus row has at most 8"),
        ({"layout": "_ _ _"}, "layout", "The layout has no seats."),
        ({"layout": "1A? 1B"}, "layout", "is not a seat label"),
        ({"status": "sold"}, "status", "Not a valid choice."),
    ],
)
def test_bad_input_gets_field_errors_and_saves_nothing(client, company, values, field, message):
    response = client.submit("/console/buses/new", bus_form(plate=values.pop("plate", "RAE 777B"), **values))
    assert response.status_code == 422
    page = text(response)
    assert message in page and 'aria-invalid="true"' in page
    assert db.session.scalar(select(Bus).where(Bus.company_id == company.id)) is None


def test_a_plate_is_registered_once_across_all_operators(client, company):
    factories.bus(factories.company(), plate="RAD 123A")
    response = client.submit("/console/buses/new", bus_form(plate="RAD-123A"))
    assert response.status_code == 422
    assert "RAD 123A is already registered." in text(response)


def test_the_layout_preview_and_generator_answer_fragments(client, company):
    preview = text(client.htmx("post", "/console/buses/layout-preview", data={"layout": "1A 1B _ 1C"}))
    assert 'aria-label="Seat 1C"' in preview and "<html" not in preview
    broken = text(client.htmx("post", "/console/buses/layout-preview", data={"layout": "1A 1A"}))
    assert "Seat 1A appears twice" in broken

    generated = client.htmx(
        "post",
        "/console/buses/layout-generate",
        data={"rows": "10", "left": "2", "right": "1", "vip_rows": "2", "back_row_full": "y"},
    )
    body = text(generated)
    assert generated.status_code == 200
    assert "1A* 1B* _ 1C*" in body and 'aria-label="Seat 10D"' in body  # the back bench fills the aisle
    too_many = client.htmx("post", "/console/buses/layout-generate", data={"rows": "99", "left": "2", "right": "2"})
    assert too_many.status_code == 422 and "Number must be between 1 and 30." in text(too_many)


def test_editing_keeps_seats_and_records_before_and_after(client, company):
    bus = factories.bus(company, plate="RAD 123A", rows=2)
    response = client.submit(f"/console/buses/{bus.id}", bus_form(plate="RAD 123A", status="maintenance"))
    assert response.status_code == 303
    bus = stored("RAD 123A")
    assert bus.status == "maintenance" and bus.capacity == 13
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "bus.updated"))
    assert entry.before["seats"] == 8 and entry.after["seats"] == 13 and entry.after["status"] == "maintenance"


def test_a_layout_cannot_drop_or_reclass_a_seat_sold_on_a_coming_trip(client, company):
    bus = factories.bus(company, plate="RAD 123A", rows=3)
    trip = factories.trip(bus_=bus, departs_at=datetime.now(UTC) + timedelta(days=1))
    factories.order(trip, ["3D"])

    dropped = client.submit(f"/console/buses/{bus.id}", bus_form(plate="RAD 123A", layout="1A 1B _ 1C 1D"))
    assert dropped.status_code == 409
    assert "Passengers on coming trips hold seats 3D" in text(dropped)
    reclassed = client.submit(f"/console/buses/{bus.id}", bus_form(plate="RAD 123A", layout="3A 3B _ 3C 3D*"))
    assert reclassed.status_code == 409
    assert stored("RAD 123A").capacity == 12

    moved = client.submit(f"/console/buses/{bus.id}", bus_form(plate="RAD 123A", layout="3D 3C _ 3B 3A\n2A"))
    assert moved.status_code == 303  # seats may move; the sold one is still there


def test_buses_filter_by_status(client, company):
    factories.bus(company, plate="RAA 001A")
    factories.bus(company, plate="RAA 002A", status="maintenance")
    page = text(client.get("/console/buses?status=maintenance"))
    assert "RAA 002A" in page and "RAA 001A" not in page


def test_another_companys_bus_is_not_found(client, company):
    theirs = factories.bus(factories.company())
    assert client.get(f"/console/buses/{theirs.id}").status_code == 404
    assert client.submit(f"/console/buses/{theirs.id}", bus_form()).status_code == 404
