"""Every surface denies by default: anonymous visitors and wrong roles are refused."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests import factories

# The only endpoints an anonymous visitor may reach. Adding one is a security decision:
# it must be added here too.
ANONYMOUS = {
    "static",
    "health.healthz",
    "health.readyz",
    "portal.home.index",
    "portal.home.favicon",  # browsers ask for /favicon.ico on every surface
    "portal.home.manifest",  # the web app manifest, fetched without cookies
    "portal.accounts.login",
    "portal.accounts.signup",
    "portal.accounts.confirm_signup",  # the emailed link: its signed token is the permission
    "portal.accounts.forgot_password",
    "portal.accounts.reset_password",
    "portal.accounts.choose_language",  # the language switcher, for visitors too
    "portal.booking.search",
    "portal.booking.trip_seats",
    "portal.notifications.bell",  # polled by open pages: a signed-out one gets an empty answer
    "portal.companies.logo",  # an operator's logo, shown on search results and tickets
    "portal.companies.stylesheet",  # an operator's brand colour, likewise
    "portal.tracking.watch",  # a passenger's share link: the token is the permission, and it ends
    "api.accounts.token",
    "api.openapi.openapi",
    "api.payments.paypal_webhook",  # verified by PayPal's signature
    "api.payments.momo_callback",  # only triggers a status lookup with our own credentials
    "ws.tracking.watch",  # a trip's live positions: a share link or a ticket, checked before the handshake
    "api.tracking.osmand_report",  # trackers: the registered device id names the bus (also at /osmand)
    "api.tracking.vehicle_positions",  # a company's GTFS-Realtime feed, public like an agency's
    "portal.booking.guest_hold",  # booking without an account: limited per client address
    # A guest's magic link: the signed token is the permission, and it ends.
    "portal.guests.order",
    "portal.guests.ticket",
    "portal.guests.ticket_pdf",
    "portal.guests.ticket_ics",
    "portal.guests.cancel",
    "portal.guests.revoke",
    "portal.guests.resend",
    "portal.guests.lost",  # "lost your link?": answers the same whether or not the booking exists
}
# A buyer's pages that a guest reaches too (``web.surface.guests_welcome``): the browser's guest
# key is the permission, and only that guest's holds, orders and payments load (test_ownership.py);
# a visitor without one is sent to sign in like anywhere else (below).
GUESTS_WELCOME = {
    "portal.booking.checkout",
    "portal.booking.release",
    "portal.booking.order",
    "portal.booking.open_tickets",
    "portal.payments.pay",
    "portal.payments.start",
    "portal.payments.status",
    "portal.payments.poll",
    "portal.payments.sandbox",
    "portal.payments.paypal_return",
    "portal.payments.paypal_cancel",
}
ANONYMOUS |= GUESTS_WELCOME

SURFACE_ROLES = {
    "portal": {"customer", "super_admin", "admin", "dispatcher", "driver", "agent"},
    "console": {"admin", "dispatcher"},
    "admin": {"super_admin"},
    "driver": {"driver"},
    "pos": {"agent"},
    "api": {"customer", "super_admin", "admin", "dispatcher", "driver", "agent"},
    "ws": {"customer", "super_admin", "admin", "dispatcher", "driver", "agent"},
}
# A websocket upgrade, which the /ws rules alone match (tests/tracking/test_sockets.py opens them).
UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket"}


def concrete_url(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "id" in m.group(1) else "x", rule.rule)


def guarded_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ANONYMOUS - GUESTS_WELCOME:
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        yield rule, method


def test_every_surface_is_guarded_or_listed(app):
    surfaces = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()} - {"static", "health"}
    assert surfaces == set(SURFACE_ROLES)
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        assert (rule.endpoint in ANONYMOUS) == getattr(view, "is_public", rule.endpoint == "static"), rule.endpoint
        assert (rule.endpoint in GUESTS_WELCOME) == getattr(view, "guests_welcome", False), rule.endpoint


def test_anonymous_visitors_are_refused_everywhere_else(app, client):
    checked = 0
    for rule, method in guarded_rules(app):
        url = concrete_url(rule)
        if rule.endpoint.startswith("api."):
            response = client.open(url, method=method, json={} if method != "GET" else None)
            assert response.status_code == 401, url
            assert response.json["error"]["code"] == "not_authenticated"
        elif rule.websocket:
            response = client.open(url, method=method, headers=UPGRADE)
            assert response.status_code == 401, url
        else:
            response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
            assert response.status_code == 302, url
            assert response.location.startswith("/login?next="), url
        checked += 1
    assert checked >= 8


def test_anonymous_htmx_request_is_told_where_to_log_in(client):
    response = client.htmx("get", "/console/")
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/console/"


@pytest.mark.parametrize("role", factories.ROLES)
def test_each_surface_refuses_roles_it_does_not_serve(app, client, login_as, role):
    login_as(role)
    for rule, method in guarded_rules(app):
        surface = rule.endpoint.split(".")[0]
        if surface in {"api", "portal", "ws"} or method != "GET":
            continue
        response = client.get(concrete_url(rule))
        view = app.view_functions[rule.endpoint]
        admitted = role in SURFACE_ROLES[surface] and role in getattr(view, "required_roles", {role})
        if not admitted:
            assert response.status_code == 403, (role, rule.rule)
        elif rule.arguments:  # object pages: id 1 is nobody's here (tests/web/test_tenant_isolation.py)
            assert response.status_code == 404, (role, rule.rule)
        else:
            assert response.status_code == 200, (role, rule.rule)


def test_api_refuses_a_session_cookie_without_a_bearer_token(client, login_as):
    login_as("admin")
    response = client.get("/api/v1/me")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("customer", "/"),
        ("super_admin", "/admin/"),
        ("admin", "/console/"),
        ("dispatcher", "/console/"),
        ("driver", "/driver/"),
        ("agent", "/pos/"),
    ],
)
def test_login_lands_each_role_on_its_surface(client, role, landing):
    user = factories.user_with_role(role)
    response = client.submit("/login", {"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response.location == landing
    assert client.get(landing).status_code == 200


def test_a_signed_in_user_visiting_login_goes_to_their_surface(client, login_as):
    login_as("driver")
    response = client.get("/login")
    assert response.status_code == 302
    assert response.location == "/driver/"


def test_a_suspended_company_closes_its_console(client, login_as):
    user = login_as("admin")
    user.memberships[0].company.status = "suspended"
    db.session.flush()
    assert client.get("/console/").status_code == 403


def test_console_shows_only_the_members_own_company(client):
    mine = factories.company(name="Virunga Test")
    other = factories.company(name="Akagera Test")
    factories.member("driver", of=other, name="Someone Else")
    manager = factories.member("admin", of=mine, name="My Manager")
    client.login(manager.email)
    page = client.get("/console/").get_data(as_text=True)
    assert "Virunga Test" in page and "My Manager" in page
    assert "Akagera Test" not in page and "Someone Else" not in page
