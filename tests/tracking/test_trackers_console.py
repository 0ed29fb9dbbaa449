"""Company admins register trackers to their buses on the bus's console page, see when each last
reported and its battery, and remove them; device ids are unique across the platform."""

from __future__ import annotations

import html
import threading

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.core import tx
from app.core.errors import InvalidInput
from app.extensions import db
from app.fleet.models import Bus
from app.tracking import trackers
from app.tracking.models import Tracker
from tests import factories
from tests.tracking.conftest import KIGALI


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def bus(admin):
    return factories.bus(admin.memberships[0].company, plate="RAB 321C")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def trackers_of(bus) -> list[Tracker]:
    return list(db.session.scalars(select(Tracker).where(Tracker.bus_id == bus.id)))


def test_an_admin_registers_a_tracker_and_sees_it_on_the_bus_page(client, bus, admin):
    response = client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": " 862462030000001 ", "label": "Dash"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/buses/{bus.id}#bus-trackers")
    (tracker,) = trackers_of(bus)
    assert (tracker.device_id, tracker.label, tracker.company_id) == ("862462030000001", "Dash", bus.company_id)
    page = text(client.get(f"/console/buses/{bus.id}"))
    assert "Tracker 862462030000001 now reports for RAB 321C." in page
    assert 'id="bus-trackers"' in page and "Never" in page and "http://tms.test/osmand" in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tracker.registered"))
    assert entry.company_id == bus.company_id and entry.actor_id == admin.id
    assert entry.after == {"device_id": "862462030000001", "label": "Dash", "bus_id": bus.id, "plate": "RAB 321C"}


def test_htmx_swaps_only_the_trackers_section(client, bus):
    response = client.htmx("post", f"/console/buses/{bus.id}/trackers", data={"device_id": "phone-7"})
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<section id="bus-trackers"')
    assert "Tracker phone-7 now reports for RAB 321C." in body and "<html" not in body


def test_the_page_shows_when_a_tracker_last_reported_and_its_battery(client, bus):
    client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": "862462030000002"})
    report = client.get(
        "/osmand", query_string={"id": "862462030000002", "lat": KIGALI[0], "lon": KIGALI[1], "batt": 64}
    )
    assert report.status_code == 200
    page = text(client.get(f"/console/buses/{bus.id}"))
    assert "64 %" in page and "Never" not in page


def test_a_device_id_taken_by_another_company_is_refused_without_saying_whose(client, bus):
    elsewhere = factories.company(name="Volcano Express")
    factories_bus = factories.bus(elsewhere, plate="RAF 999Z")
    db.session.add(Tracker(company_id=elsewhere.id, bus_id=factories_bus.id, device_id="862462030000003"))
    db.session.flush()
    response = client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": "862462030000003"})
    assert response.status_code == 422
    page = text(response)
    assert "This device id is already registered." in page and 'aria-invalid="true"' in page
    assert "Volcano Express" not in page and "RAF 999Z" not in page
    assert trackers_of(bus) == []
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tracker.registered")) is None


def test_a_device_id_is_registered_once_even_within_the_company(client, bus):
    client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": "unit-1"})
    other_bus = factories.bus(bus.company, plate="RAB 322C")
    response = client.htmx("post", f"/console/buses/{other_bus.id}/trackers", data={"device_id": "unit-1"})
    assert response.status_code == 422 and "already registered" in text(response)
    assert trackers_of(other_bus) == []


@pytest.mark.parametrize(
    ("device_id", "message"),
    [
        ("", "This field is required."),
        ("my phone", "Use 1 to 64 letters, digits and . _ - : @"),
        ("x" * 65, "Device ids have at most 64 characters."),
    ],
)
def test_bad_device_ids_get_a_field_error(client, bus, device_id, message):
    response = client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": device_id})
    assert response.status_code == 422
    assert message in text(response)
    assert trackers_of(bus) == []


def test_removing_a_tracker_is_audited_and_its_reports_are_refused(client, bus):
    client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": "unit-2", "label": "Old unit"})
    tracker_id = trackers_of(bus)[0].id
    response = client.submit(f"/console/buses/{bus.id}/trackers/{tracker_id}/remove")
    assert response.status_code == 303
    assert trackers_of(bus) == []
    assert "Tracker unit-2 removed from RAB 321C." in text(client.get(response.headers["Location"]))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tracker.removed"))
    assert entry.before["device_id"] == "unit-2" and entry.object_id == tracker_id
    report = client.get("/osmand", query_string={"id": "unit-2", "lat": KIGALI[0], "lon": KIGALI[1]})
    assert report.status_code == 400 and "Unknown device" in report.get_json()["error"]["message"]


def test_another_companys_bus_or_tracker_is_not_found(client, bus):
    other = factories.company()
    their_bus = factories.bus(other)
    theirs = Tracker(company_id=other.id, bus_id=their_bus.id, device_id="their-unit")
    db.session.add(theirs)
    db.session.flush()
    assert client.submit(f"/console/buses/{their_bus.id}/trackers", {"device_id": "sneaky"}).status_code == 404
    assert client.submit(f"/console/buses/{their_bus.id}/trackers/{theirs.id}/remove").status_code == 404
    # Their tracker through my own bus's address is no better.
    assert client.submit(f"/console/buses/{bus.id}/trackers/{theirs.id}/remove").status_code == 404
    assert db.session.get(Tracker, theirs.id) is not None
    assert db.session.scalar(select(Tracker).where(Tracker.device_id == "sneaky")) is None


def test_dispatchers_see_trackers_but_cannot_change_them(client, login_as):
    dispatcher = login_as("dispatcher")
    bus = factories.bus(dispatcher.memberships[0].company)
    db.session.add(Tracker(company_id=bus.company_id, bus_id=bus.id, device_id="unit-3", battery=80))
    db.session.flush()
    page = text(client.get(f"/console/buses/{bus.id}"))
    assert "unit-3" in page and "80 %" in page
    assert "Register a tracker" not in page and "Remove" not in page
    assert client.submit(f"/console/buses/{bus.id}/trackers", {"device_id": "unit-4"}).status_code == 403
    (tracker,) = trackers_of(bus)
    assert client.submit(f"/console/buses/{bus.id}/trackers/{tracker.id}/remove").status_code == 403
    assert [t.device_id for t in trackers_of(bus)] == ["unit-3"]


@pytest.mark.own_transactions
def test_one_device_registered_twice_at_the_same_moment_gets_one_tracker(committed):
    company = factories.company()
    admin = factories.member("admin", of=company)
    bus_ids = [factories.bus(company).id, factories.bus(company).id]
    tx.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(bus_id: int) -> None:
        with committed.app_context():
            actor, bus = db.session.get(User, admin.id), db.session.get(Bus, bus_id)
            barrier.wait()
            try:
                trackers.register(actor, bus, device_id="race-unit", label=None)
                tx.commit()
                outcomes.append("registered")
            except InvalidInput as refused:
                tx.rollback()
                outcomes.append(refused.fields["device_id"][0])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(bus_id,)) for bus_id in bus_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == sorted(["registered", trackers.TAKEN])
    assert db.session.scalar(select(db.func.count()).select_from(Tracker)) == 1
