"""Languages: which one a request gets, and dates, times and money in each."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import force_locale

from app.core import i18n
from app.extensions import db
from tests import factories


def test_a_visitor_gets_the_switchers_choice_else_the_browsers_else_english(app, client):
    with app.test_request_context(headers={"Accept-Language": "fr-RW,fr;q=0.9,en;q=0.5"}):
        assert i18n.select_language() == "fr"
    with app.test_request_context(headers={"Accept-Language": "de,sw;q=0.5"}):
        assert i18n.select_language() == "en"
    with app.test_request_context(headers={"Accept-Language": "fr", "Cookie": f"{i18n.LANGUAGE_COOKIE}=rw"}):
        assert i18n.select_language() == "rw"


def test_the_switcher_remembers_a_visitors_choice_and_an_accounts(client):
    response = client.submit("/language", {"language": "rw", "next": "/search"})
    assert response.status_code == 303 and response.headers["Location"] == "/search"
    assert f"{i18n.LANGUAGE_COOKIE}=rw" in response.headers["Set-Cookie"]

    user = factories.user()
    client.login(user.email)
    client.submit("/language", {"language": "fr"})
    assert db.session.get(type(user), user.id).language == "fr"
    assert client.submit("/language", {"language": "de"}).status_code == 422


def test_an_accounts_language_wins_over_the_browser(app):
    user = factories.user()
    user.language = "rw"
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from flask_login import login_user

        login_user(user)
        assert i18n.select_language() == "rw"


def test_times_are_kigali_24_hour_in_every_language_and_money_is_grouped_the_languages_way(app):
    moment = datetime(2026, 12, 5, 13, 30, tzinfo=UTC)  # 15:30 in Kigali
    with app.test_request_context():
        shown = {}
        for language in i18n.LANGUAGES:
            with force_locale(language):
                shown[language] = (i18n.local_time(moment, "%a %d %b %H:%M"), i18n.money(5850))
    assert shown["en"] == ("Sat 05 Dec 15:30", "5,850 RWF")
    assert shown["fr"][0].endswith("05 déc. 15:30") and shown["fr"][1] == "5\u202f850 RWF"
    assert shown["rw"][0].endswith("15:30") and shown["rw"][1] == "5.850 RWF"
    assert all("PM" not in text and "AM" not in text for text, _ in shown.values())


def test_strftime_formats_become_cldr_patterns_with_their_words_quoted():
    assert i18n.cldr_pattern("%A %d %B at %H:%M") == "EEEE dd MMMM' at 'HH:mm"
    assert i18n.cldr_pattern("%H:%M") == "HH:mm"
