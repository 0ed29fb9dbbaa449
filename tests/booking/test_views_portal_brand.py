"""The operator's brand on the passenger's pages: search results, seat map, checkout, tickets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.booking.models import Ticket
from app.extensions import db
from tests import factories
from tests.booking.test_views_portal import line, pay, search_url, seat_url, text  # noqa: F401  (line: a fixture)
from tests.companies.test_brand import png


@pytest.fixture
def branded(line):  # noqa: F811  (the imported fixture)
    company = line.route.company
    company.brand_colour, company.logo_png, company.logo_version = "#c0392b", png(), "abc123def456"
    db.session.flush()
    return line


STYLESHEET = re.compile(r'<link rel="stylesheet" href="/brand/([^/]+)/[0-9a-f]{12}\.css">')


def test_search_results_show_each_operators_logo_and_colour(client, branded):
    plain = factories.company(name="Plain Coaches")
    route = factories.route(plain, stops=2, name="Kigali – Huye direct")
    route.stops[0].station, route.stops[1].station = branded.stops[0].station, branded.stops[2].station
    factories.trip(route, bus_=factories.bus(plain, rows=3), departs_at=branded.departs_at)
    db.session.flush()
    company = branded.route.company
    page = text(client.get(search_url(branded), headers={"HX-Request": "true"}))  # the results, swapped in
    assert STYLESHEET.findall(page) == [company.code]  # once, inside the fragment itself
    assert f'<span class="operator-mark branded brand-{company.code}">' in page
    assert f'src="/brand/{company.code}/logo-abc123def456.png"' in page
    assert '<span class="operator-mark"><span class="operator-name">Plain Coaches</span></span>' in page


def test_the_seat_map_checkout_and_ticket_take_the_operators_brand(client, login_as, branded):
    company = branded.route.company
    seats = text(client.get(seat_url(branded)))
    assert f'class="surface-portal brand-{company.code}"' in seats and STYLESHEET.search(seats)
    assert f'<div class="operator-banner branded"><img class="operator-logo" src="/brand/{company.code}/' in seats

    login_as("customer")
    pay(client, branded, seats=("3A",))
    code = db.session.scalar(select(Ticket.code))
    for page in (text(client.get(f"/tickets/{code}")), text(client.get("/tickets"))):
        assert STYLESHEET.search(page) and f"/brand/{company.code}/logo-abc123def456.png" in page


def test_an_operator_without_a_brand_keeps_the_platforms_look(client, line):  # noqa: F811
    page = text(client.get(seat_url(line)))
    assert 'class="surface-portal"' in page and "/brand/" not in page
    assert '<div class="operator-banner"><span class="operator-name">Volcano Express</span></div>' in page
