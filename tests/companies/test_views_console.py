"""Console pages for shared stations, staff and the company's money settings."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from app.accounts.models import Membership, User
from app.audit.models import AuditEntry
from app.companies.models import Company, Station
from app.companies.services import update_settings
from app.core.errors import InvalidInput
from app.extensions import db
from tests import factories


@pytest.fixture
def admin(login_as):
    return login_as("admin", name="Aline Uwase")


@pytest.fixture
def company(admin):
    return admin.memberships[0].company


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def audit(action: str) -> AuditEntry | None:
    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == action))


# --- Stations --------------------------------------------------------------------------------


def test_stations_are_searched_by_name_or_town_as_a_fragment(client, company):
    factories.station(name="Nyabugogo", city="Kigali")
    factories.station(name="Huye Park", city="Huye")
    page = text(client.get("/console/stations?q=huye"))
    assert "Huye Park" in page and "Nyabugogo" not in page and "<html" in page

    fragment = text(client.get("/console/stations?q=kiga", headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<div id="station-results">') and "Nyabugogo" in fragment
    nothing = text(client.get("/console/stations?q=zzz"))
    assert "No station matches “zzz”" in nothing


def test_a_missing_station_is_added_for_every_operator(client, company, login_as):
    response = client.submit(
        "/console/stations/new", {"name": "Nyanza Park", "city": "Nyanza", "latitude": "-2.35", "longitude": "29.74"}
    )
    assert response.status_code == 303
    station = db.session.scalar(select(Station).where(Station.name == "Nyanza Park"))
    assert station.added_by_company_id == company.id
    assert audit("station.created").company_id == company.id

    login_as("dispatcher")  # someone of another operator sees it too
    assert "Nyanza Park" in text(client.get("/console/stations?q=nyanza"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"latitude": "2.35"}, "Latitude in Rwanda is between -3.0 and -0.9"),
        ({"longitude": "-29.74"}, "Longitude in Rwanda is between 28.8 and 31.0."),
        ({"latitude": "south"}, "Not a valid float value."),
        ({"name": ""}, "This field is required."),
        ({"name": "huye park", "city": "HUYE"}, "Huye Park in Huye already exists; every operator shares it."),
    ],
)
def test_bad_or_duplicate_stations_are_field_errors(client, company, values, message):
    factories.station(name="Huye Park", city="Huye")
    before = db.session.scalar(select(db.func.count(Station.id)))
    form = {"name": "Nyanza Park", "city": "Nyanza", "latitude": "-2.35", "longitude": "29.74", **values}
    response = client.submit("/console/stations/new", form)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(db.func.count(Station.id))) == before


# --- Staff -----------------------------------------------------------------------------------


def test_an_invited_driver_gets_an_email_to_choose_a_password_and_signs_in(client, company, mailbox):
    response = client.submit(
        "/console/staff/invite",
        {"name": "Jean Mugabo", "email": "jean@example.rw", "phone": "0788 123 456", "role": "driver"},
    )
    assert response.status_code == 303
    assert "Jean Mugabo" in text(client.get("/console/staff"))
    assert audit("staff.invited").after == {"email": "jean@example.rw", "role": "driver"}

    message = mailbox.wait_for("jean@example.rw")
    assert message["Subject"] == f"You are invited to {company.name} on TMS"
    path = mailbox.link_in(message).removeprefix("http://tms.test")
    client.submit("/logout")
    assert "Choose your password" in text(client.get(path))
    chosen = client.submit(path, {"password": "bus-driver-pass", "confirm": "bus-driver-pass"})
    assert chosen.status_code == 303
    welcome = text(client.get(chosen.headers["Location"]))
    assert "Your password is set. Sign in with it to start." in welcome
    assert "Your password is changed" not in welcome  # they never had one
    signed_in = client.submit("/login", {"email": "jean@example.rw", "password": "bus-driver-pass"})
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/driver/")


def test_someone_with_an_account_is_invited_to_sign_in_and_keeps_their_password(client, company, mailbox):
    existing = factories.user(email="claire@example.rw", name="Claire Ingabire")
    response = client.submit(
        "/console/staff/invite", {"name": "Claire", "email": "claire@example.rw", "phone": "", "role": "agent"}
    )
    assert response.status_code == 303
    message = mailbox.wait_for("claire@example.rw")
    assert mailbox.link_in(message) == "http://tms.test/login"
    assert "password you already use" in mailbox.text_of(message)
    db.session.expire_all()
    assert [m.role for m in db.session.get(User, existing.id).memberships] == ["agent"]
    client.submit("/logout")
    assert client.submit("/login", {"email": "claire@example.rw", "password": factories.PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"email": "not-an-email"}, "Enter an email address such as name@example.com."),
        ({"name": ""}, "This field is required."),
        ({"role": "owner"}, "Not a valid choice."),
        ({"email": "aline@example.rw"}, "aline@example.rw is already on your staff."),
    ],
)
def test_bad_invitations_are_field_errors_and_send_nothing(client, admin, company, mailbox, values, message):
    admin.email = "aline@example.rw"
    db.session.flush()
    form = {"name": "Jean Mugabo", "email": "jean@example.rw", "phone": "", "role": "driver", **values}
    response = client.submit("/console/staff/invite", form)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(User).where(User.email == "jean@example.rw")) is None
    assert mailbox.messages == []


def test_role_changes_are_audited_with_before_and_after(client, company):
    member = factories.member("driver", of=company, name="Jean Mugabo")
    membership = member.memberships[0]
    response = client.submit(f"/console/staff/{membership.id}/role", {"role": "dispatcher"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).role == "dispatcher"
    entry = audit("staff.role_changed")
    assert entry.before == {"role": "driver"} and entry.after == {"role": "dispatcher"}
    assert "Jean Mugabo" in entry.summary

    bad = client.submit(f"/console/staff/{membership.id}/role", {"role": "super_admin"})
    assert bad.status_code == 422


def test_admins_cannot_demote_or_deactivate_themselves(client, admin):
    own = admin.memberships[0]
    demoted = client.submit(f"/console/staff/{own.id}/role", {"role": "driver"})
    assert demoted.status_code == 409 and "You cannot change your own role" in text(demoted)
    gone = client.submit(f"/console/staff/{own.id}/active")
    assert gone.status_code == 409
    db.session.expire_all()
    assert db.session.get(Membership, own.id).is_enabled and db.session.get(Membership, own.id).role == "admin"


def test_a_deactivated_dispatcher_loses_the_console_at_once(app, client, company):
    dispatcher = factories.member("dispatcher", of=company)
    their_browser = app.test_client()
    their_browser.login(dispatcher.email)
    assert their_browser.get("/console/").status_code == 200

    response = client.submit(f"/console/staff/{dispatcher.memberships[0].id}/active")
    assert response.status_code == 303
    assert audit("staff.deactivated").after == {"is_enabled": False}
    assert their_browser.get("/console/").location.startswith("/login")  # signed out, not just refused

    their_browser.login(dispatcher.email)
    assert their_browser.get("/console/").status_code == 403  # a passenger now
    client.submit(f"/console/staff/{dispatcher.memberships[0].id}/active")
    assert their_browser.get("/console/").status_code == 200


# --- Settings --------------------------------------------------------------------------------


def settings_form(**values) -> dict:
    tiers = {"hours_1": "24", "percent_1": "90", "hours_2": "2", "percent_2": "50", "hours_3": "", "percent_3": ""}
    base = {"hold_minutes": "10", "days_ahead": "14", "reminder_minutes": "60"}
    return {**base, **tiers, "hours_4": "", "percent_4": "", **values}


def test_settings_are_saved_and_audited(client, company):
    response = client.submit("/console/settings", settings_form(hold_minutes="15", hours_3="0", percent_3="0"))
    assert response.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Company, company.id)
    assert saved.hold_minutes == 15 and saved.refund_policy == [[24, 90], [2, 50], [0, 0]]
    assert audit("company.settings_updated").after["hold_minutes"] == 15
    page = text(client.get("/console/settings"))
    assert 'value="15"' in page and 'value="90"' in page


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hold_minutes": "0"}, "Number must be between 2 and 60."),
        ({"days_ahead": "many"}, "Not a valid integer value."),
        ({"percent_2": "120"}, "Number must be between 0 and 100."),
        ({"percent_2": ""}, "Fill both parts of this tier, or neither."),
        ({"percent_2": "95"}, "Cancelling later cannot refund more than cancelling earlier."),
        ({"hours_2": "24"}, "Each tier needs its own number of hours."),
    ],
)
def test_bad_settings_are_field_errors_and_change_nothing(client, company, values, message):
    before = (company.hold_minutes, company.days_ahead, company.refund_policy)
    response = client.submit("/console/settings", settings_form(**values))
    assert response.status_code == 422
    assert message in text(response)
    db.session.expire_all()
    saved = db.session.get(Company, company.id)
    assert (saved.hold_minutes, saved.days_ahead, saved.refund_policy) == before


def test_the_boarding_reminder_lead_is_saved_and_audited(client, company):
    page = text(client.get("/console/settings"))
    assert "Boarding reminder (minutes before departure, 0 = off)" in page and 'value="60"' in page
    response = client.submit("/console/settings", settings_form(reminder_minutes="90"))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company.id).reminder_minutes == 90
    entry = audit("company.settings_updated")
    assert (entry.before["reminder_minutes"], entry.after["reminder_minutes"]) == (60, 90)

    assert client.submit("/console/settings", settings_form(reminder_minutes="0")).status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company.id).reminder_minutes == 0  # reminders off


@pytest.mark.parametrize(
    ("value", "message"),
    [("-5", "Number must be between 0 and 1440."), ("5000", "Number must be between 0 and 1440."), ("", "required")],
)
def test_a_reminder_lead_out_of_range_is_a_field_error(client, company, value, message):
    response = client.submit("/console/settings", settings_form(reminder_minutes=value))
    assert response.status_code == 422
    page = text(response)
    assert 'id="reminder_minutes-error"' in page and message in page
    db.session.expire_all()
    assert db.session.get(Company, company.id).reminder_minutes == 60


def test_the_service_refuses_a_reminder_lead_beyond_a_day(admin, company):
    with pytest.raises(InvalidInput) as refused:
        update_settings(admin, company, hold_minutes=10, days_ahead=14, refund_policy=[], reminder_minutes=1441)
    assert list(refused.value.fields) == ["reminder_minutes"]
