"""An operator's brand: the logo and colour an admin sets in the console, served safely."""

from __future__ import annotations

import html
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.audit.models import AuditEntry
from app.companies.models import Company
from app.companies.rules import READABLE, contrast, palette, parse_colour
from app.extensions import db


def png(width: int = 200, height: int = 80, colour=(200, 30, 40, 255), fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if fmt != "JPEG" else "RGB", (width, height), colour[: 4 if fmt != "JPEG" else 3]).save(
        out, format=fmt
    )
    return out.getvalue()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(login_as):
    return login_as("admin", name="Aline Uwase")


@pytest.fixture
def company(admin):
    return admin.memberships[0].company


def upload(client, *, colour: str = "", logo: bytes | None = None, name: str = "logo.png", **extra):
    """POST the form as a browser does (encoded in memory: the test client's own encoder leaves a
    temporary file open for bodies over 500 kB)."""
    data = {"csrf_token": client.csrf_token(), "brand_colour": colour, **extra}
    if logo is not None:
        data["logo"] = FileStorage(io.BytesIO(logo), filename=name)
    boundary, body = encode_multipart(data)
    return client.post("/console/settings/brand", data=body, content_type=f"multipart/form-data; boundary={boundary}")


# --- Colours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [("#0B6E4F", "#0b6e4f"), ("0b6e4f", "#0b6e4f"), ("#FC0", "#ffcc00"), (" #123abc ", "#123abc")],
)
def test_colours_are_read_in_the_usual_spellings(given, stored):
    assert parse_colour(given) == stored


@pytest.mark.parametrize("given", ["green", "#12345", "#1234567", "#ggg000", "rgb(1,2,3)", "#0b6e4f;}"])
def test_anything_else_is_not_a_colour(given):
    assert parse_colour(given) is None


@pytest.mark.parametrize("colour", ["#ffcc00", "#0b6e4f", "#ffffff", "#000000", "#777777", "#e8f4ff", "#ff0000"])
def test_every_colour_gets_readable_text_on_it_and_a_readable_shade_on_white(colour):
    colours = palette(colour)
    assert contrast(colours.brand, colours.contrast) >= READABLE
    assert contrast(colours.text, "#ffffff") >= READABLE


def test_a_dark_colour_keeps_white_text_and_itself_as_text():
    assert palette("#0b6e4f").contrast == "#ffffff" and palette("#0b6e4f").text == "#0b6e4f"
    yellow = palette("#ffcc00")  # too light for white text: black on it, a darker yellow as text
    assert yellow.contrast == "#000000" and yellow.text != "#ffcc00"


# --- The console page ------------------------------------------------------------------------


def test_an_admin_uploads_a_logo_and_picks_a_colour(client, company):
    response = upload(client, colour="#C0392B", logo=png(1200, 400))
    assert response.status_code == 303
    db.session.refresh(company)
    assert company.brand_colour == "#c0392b" and company.logo_version
    stored = Image.open(io.BytesIO(company.logo_png))
    assert stored.format == "PNG" and stored.size == (512, 171)  # re-encoded, no larger than 512 a side
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "company.brand_updated"))
    assert entry.after == {"brand_colour": "#c0392b", "logo_version": company.logo_version}

    page = text(client.get(response.headers["Location"]))
    assert "Brand saved" in page and "Colour #C0392B, with white text on it." in page
    css = re.search(r'href="(/brand/[^"]+\.css)"', page).group(1)
    logo = re.search(r'src="(/brand/[^"]+\.png)"', page).group(1)
    assert f'class="surface-console brand-{company.code}"' in page  # the whole console takes the colour

    sheet = client.get(css)
    assert sheet.mimetype == "text/css" and f".brand-{company.code}{{--brand:#c0392b;" in sheet.get_data(as_text=True)
    image = client.get(logo)
    assert image.mimetype == "image/png" and image.data == company.logo_png
    for served in (sheet, image):
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert "immutable" in served.headers["Cache-Control"] and "max-age=31536000" in served.headers["Cache-Control"]
        assert "private" in served.headers["Cache-Control"]  # it carries the session cookie: no shared cache


def test_a_new_colour_gets_a_new_stylesheet_address(client, company):
    upload(client, colour="#0b6e4f")
    old = re.search(r'href="(/brand/[^"]+\.css)"', text(client.get("/console/settings/brand"))).group(1)
    upload(client, colour="#1d4ed8")
    new = re.search(r'href="(/brand/[^"]+\.css)"', text(client.get("/console/settings/brand"))).group(1)
    assert new != old
    stale = client.get(old)  # a page cached before the change still gets the current colour, briefly
    assert "--operator:#1d4ed8" in stale.get_data(as_text=True) and "max-age=300" in stale.headers["Cache-Control"]


def test_a_browser_with_the_logo_gets_not_modified(client, company):
    upload(client, logo=png())
    db.session.refresh(company)
    url = f"/brand/{company.code}/logo-{company.logo_version}.png"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_an_old_logo_address_gets_the_new_logo_for_a_few_minutes_only(client, company):
    upload(client, logo=png())
    db.session.refresh(company)
    old = company.logo_version
    upload(client, logo=png(colour=(0, 0, 255, 255)))
    db.session.refresh(company)
    response = client.get(f"/brand/{company.code}/logo-{old}.png")
    assert response.data == company.logo_png and "max-age=300" in response.headers["Cache-Control"]


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_logos_are_stored_as_png(client, company, fmt):
    assert upload(client, logo=png(fmt=fmt), name=f"logo.{fmt.lower()}").status_code == 303
    db.session.refresh(company)
    assert Image.open(io.BytesIO(company.logo_png)).format == "PNG"


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("logo", "name", "message"),
    [
        (SVG, "logo.svg", "SVG logos are not accepted (they can carry scripts)"),
        (b"<svg onload=alert(1)>", "logo.png", "SVG logos are not accepted"),
        (b"GIF89a" + b"\0" * 100, "logo.gif", "This file is not a PNG, JPEG or WebP image we can read."),
        (b"%PDF-1.4 not an image", "logo.png", "This file is not a PNG, JPEG or WebP image we can read."),
        (png()[:60], "logo.png", "This file is not a PNG, JPEG or WebP image we can read."),  # cut short
        (png(20, 20), "logo.png", "The logo is 20 × 20 pixels; it must be 32 to 4000 pixels a side."),
        (png(4100, 40), "logo.png", "The logo is 4100 × 40 pixels; it must be 32 to 4000 pixels a side."),
        (b"\x89PNG" + b"\0" * (1024 * 1024), "logo.png", "The logo is larger than 1 MB"),
    ],
)
def test_what_is_not_a_usable_image_is_a_field_error_and_nothing_changes(client, company, logo, name, message):
    upload(client, colour="#0b6e4f", logo=png())
    db.session.refresh(company)
    before = (company.brand_colour, company.logo_version)
    response = upload(client, colour="#ff0000", logo=logo, name=name)
    assert response.status_code == 422
    page = text(response)
    assert message in page and 'aria-invalid="true"' in page
    db.session.refresh(company)
    assert (company.brand_colour, company.logo_version) == before


def test_a_bad_colour_is_a_field_error(client, company):
    response = upload(client, colour="red;}")
    assert response.status_code == 422 and "Enter a colour as #RRGGBB" in text(response)
    assert db.session.get(Company, company.id).brand_colour is None


def test_the_logo_can_be_removed_and_the_colour_cleared(client, company):
    upload(client, colour="#0b6e4f", logo=png())
    db.session.refresh(company)
    version = company.logo_version
    css = re.search(r'href="(/brand/[^"]+\.css)"', text(client.get("/console/settings/brand"))).group(1)
    assert upload(client, colour="", remove_logo="y").status_code == 303
    db.session.refresh(company)
    assert company.brand_colour is None and company.logo_png is None
    assert client.get(f"/brand/{company.code}/logo-{version}.png").status_code == 404
    assert client.get(css).status_code == 404
    assert "No brand yet" in text(client.get("/console/settings/brand"))


def test_only_admins_set_the_brand(client, login_as):
    login_as("dispatcher")
    assert client.get("/console/settings/brand").status_code == 403
