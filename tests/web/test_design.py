"""The design system as people meet it: every layout links the icon, the manifest and the styles,
says its language, offers the three languages, and staff can read the styleguide."""

from __future__ import annotations

import re

import pytest

from app.core import i18n
from tests import factories

LANDINGS = {
    "customer": "/",
    "admin": "/console/",
    "dispatcher": "/console/",
    "driver": "/driver/",
    "super_admin": "/admin/",
}


def test_the_favicon_is_served_where_browsers_look_for_it(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an icon file, not a page
        assert response.cache_control.max_age >= 86400


def test_the_manifest_names_the_app_and_its_icons(client):
    response = client.get("/manifest.webmanifest", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["short_name"] == "TMS" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200, icon["src"]


@pytest.mark.parametrize("role", sorted(LANDINGS))
def test_every_layout_links_the_icon_manifest_and_theme_colour(client, login_as, role):
    login_as(role)
    page = client.get(LANDINGS[role]).get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'href="/favicon.ico"' in page and "img/favicon.svg" in page
    assert '<meta name="theme-color"' in page
    assert "css/tokens.css" in page and "css/components.css" in page
    assert 'style="' not in page  # the CSP refuses inline styles


def test_the_page_says_its_language_and_the_switcher_marks_it(client):
    english = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english

    client.submit("/language", {"language": "rw", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="rw">' in page
    switcher = re.search(r'<form method="post" action="/language".*?</form>', page, re.S).group(0)
    for code, name in i18n.LANGUAGES.items():
        assert f'value="{code}" lang="{code}"' in switcher and name in switcher
    assert re.search(r'value="rw" lang="rw" aria-current="true"', switcher)
    assert switcher.count('aria-current="true"') == 1
    assert 'name="next" value="/"' in switcher


def test_the_switcher_brings_a_person_back_to_the_page_they_were_on(client):
    page = client.get("/search?origin=Huye").get_data(as_text=True)
    assert 'name="next" value="/search?origin=Huye"' in page


def test_the_console_groups_its_sections_and_marks_the_current_one(client, login_as):
    login_as("dispatcher")
    page = client.get("/console/trips").get_data(as_text=True)
    assert '<nav class="sidebar" aria-label="Main">' in page
    for area in ("Today", "Planning", "Company"):
        assert f'<p class="sidebar-area">{area}</p>' in page
    assert '<a href="/console/trips" aria-current="page">Trips</a>' in page
    assert page.count('aria-current="page"') == 1
    assert ">Staff<" not in page  # admins only
    assert 'aria-controls="shell-menu"' in page  # the Menu button for phones


@pytest.mark.parametrize(("role", "url"), [("admin", "/console/styleguide"), ("super_admin", "/admin/styleguide")])
def test_staff_see_every_component_on_the_styleguide(client, login_as, role, url):
    login_as(role)
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for component in (
        'class="button"',
        'class="button secondary"',
        'class="button danger"',
        'class="field',
        'class="card',
        'class="table stack"',
        'data-label="Route"',
        'class="badge success"',
        'class="alert warning"',
        'class="toast toast-error"',
        'class="tabs"',
        'class="empty"',
        'class="stat',
        '<dialog id="styleguide-confirm"',
        "--brand",
    ):
        assert component in page, component


def test_a_field_shows_its_error_tied_to_the_control(client, login_as):
    login_as("admin")
    response = client.submit("/console/styleguide", {"name": "", "seat_class": "standard", "payment": "momo"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="name-error" class="field-error">Enter the passenger(&#39;|\')s name.</p>', page)
    control = re.search(r"<input[^>]*id=\"name\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in control and 'aria-describedby="name-error"' in control
    assert "Please correct the fields marked below." in page
    hint = re.search(r"<input[^>]*id=\"phone\"[^>]*>", page).group(0)
    assert 'aria-describedby="phone-hint"' in hint


def test_the_styleguide_is_for_staff_only(client, login_as):
    login_as("customer")
    assert client.get("/console/styleguide").status_code == 403
    assert client.get("/admin/styleguide").status_code == 403


def test_an_error_page_uses_the_design_and_the_language(client):
    factories.user()  # a database with someone in it, as in real life
    response = client.get("/no-such-page", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page and "error-page" in page
