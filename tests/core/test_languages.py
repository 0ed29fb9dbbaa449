"""What a person reads, from Python, in their language: field errors (ours and WTForms' own),
flash messages and a service's refusal; and the JSON API in English whatever the client asks."""

from __future__ import annotations

import html

import pytest
from werkzeug.datastructures import MultiDict

from app.core import i18n
from app.fleet.forms import LayoutGeneratorForm
from tests import catalogues, factories


@pytest.fixture(scope="module", autouse=True)
def _catalogues(app):
    with app.app_context():
        catalogues.compiled()


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_field_errors_are_in_the_visitors_language_wtforms_own_too(app):
    data = MultiDict({"rows": "99", "left": "", "right": "2", "vip_rows": "0"})
    # Each request its own app context, as in a server: Flask-Babel keeps the language on ``g``.
    with app.app_context(), app.test_request_context(headers={"Cookie": f"{i18n.LANGUAGE_COOKIE}=rw"}):
        form = LayoutGeneratorForm(formdata=data)
        assert not form.validate()
        assert form.rows.errors == ["Umubare ugomba kuba hagati ya 1 na 30."]  # WTForms' NumberRange
        assert form.left.errors == ["Iki gice kigomba kuzuzwa."]  # WTForms' InputRequired
        assert str(form.rows.label.text) == "Imirongo"
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "fr"}):
        form = LayoutGeneratorForm(formdata=data)
        form.validate()
        assert form.rows.errors == ["Le nombre doit être entre 1 et 30."]


def test_a_signup_form_answers_in_french(client):
    form = {"name": "Claire", "email": "claire@example.rw", "password": "a-long-password", "confirm": "another-one"}
    response = client.submit("/signup", form, headers={"Accept-Language": "fr-RW,fr;q=0.9"})
    assert response.status_code == 422
    assert "Les deux mots de passe sont différents." in page(response)


def test_a_refusal_reads_in_the_accounts_language_on_a_page_and_in_english_from_the_api(client):
    user = factories.user(language="rw")
    client.login(user.email)
    assert "Iyo tike ntibonetse." in page(client.get("/tickets/NOSUCH99"))

    token = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
    answer = client.get(
        "/api/v1/orders/NOSUCH99",
        headers={"Authorization": f"Bearer {token.get_json()['access_token']}", "Accept-Language": "rw,fr;q=0.8"},
    )
    assert answer.status_code == 404
    assert answer.get_json()["error"]["message"] == "No such order."


def test_the_api_is_english_whatever_the_client_asks(app):
    with app.app_context(), app.test_request_context("/api/v1/trips/search", headers={"Accept-Language": "fr"}):
        assert i18n.select_language() == "en"
    with app.app_context(), app.test_request_context("/search", headers={"Accept-Language": "fr"}):
        assert i18n.select_language() == "fr"


def test_a_flash_message_is_in_the_accounts_language(client):
    user = factories.user(language="fr")
    client.login(user.email)
    response = client.submit("/account/sessions/others", {})
    assert "Vous êtes déconnecté de tous les autres appareils" in page(client.get(response.headers["Location"]))
