"""Messages in the recipient's language: Kinyarwanda, English or French, through the real
catalogues, with times written that language's way (24-hour, Kigali time), and every SMS still
one GSM-7 part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale

from app.accounts import services as accounts
from app.core import i18n, tx
from app.notifications import messages
from app.notifications.channels import sms
from tests import catalogues, factories
from tests.notifications.records import paid_order
from tests.notifications.test_delivery import EXTRA, TICKETS, TRIP

BOARDS_AT = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # Tue 01 Dec 06:30 in Kigali


@pytest.fixture(scope="module", autouse=True)
def _catalogues(app):
    with app.app_context():
        catalogues.compiled()


def context(kind: str, count: int, language: str) -> dict:
    tickets = [{**t, "boards_at": BOARDS_AT.isoformat()} for t in TICKETS[:count]]
    for ticket in tickets:
        del ticket["boards"]
    return {**TRIP, **EXTRA[kind], "tickets": tickets, "timezone": "Africa/Kigali", "language": language}


def written(language: str, moment: datetime = BOARDS_AT) -> str:
    with force_locale(language):
        return i18n.local_time(moment, messages.TIME_FORMAT)


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("kind", list(EXTRA))
@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_every_trip_sms_fits_one_gsm_part_in_every_language(app, language, kind, count):
    with app.test_request_context():
        text = messages.render(kind, "sms", context(kind, count, language)).text
        english = messages.render(kind, "sms", context(kind, count, "en")).text
        when = sms.to_gsm(written(language))
    assert sms.segments(text) == 1, f"{len(text)} characters: {text}"
    assert all(c in sms._GSM_BASIC or c in sms._GSM_EXTENSION for c in text), text
    assert "{" not in text and "%(" not in text
    if kind != "payment_failed":  # the only one without the time
        assert when in text  # "Tue 01 Dec 06:30", "mar. 01 dec. 06:30", "Kab. 01 Uku. 06:30"
    if language != "en":
        assert text != english, f"no {language} translation: {text}"


@pytest.mark.parametrize(
    ("kind", "variant"),
    [("payment_failed", {"seats_kept": False}), ("boarding_reminder", {"plate": None}), ("bus_changed", {"moved": []})],
)
@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_the_other_wordings_of_an_sms_fit_one_part_too(app, language, kind, variant):
    with app.test_request_context():
        text = messages.render(kind, "sms", {**context(kind, 3, language), **variant}).text
    assert sms.segments(text) == 1 and sms.to_gsm(text) == text, f"{len(text)} characters: {text}"


@pytest.mark.parametrize("language", ["rw", "fr"])
def test_every_email_and_portal_text_is_in_the_recipients_language(app, language):
    with app.test_request_context():
        for kind in EXTRA:
            values = context(kind, 1, language)
            if kind == "ticket_issued":
                values["tickets"] = []
            email = messages.render(kind, "email", values)
            english = messages.render(kind, "email", {**values, "language": "en"})
            assert email.subject != english.subject and email.text != english.text, kind
            assert f'<html lang="{language}">' in email.html
            assert (
                messages.render(kind, "inbox", values).text != messages.render(kind, "inbox", english_of(values)).text
            )


def test_a_failure_reason_we_wrote_is_in_the_recipients_language_a_providers_as_given(app):
    with app.test_request_context():
        ours = messages.render(
            "payment_failed", "email", {**context("payment_failed", 1, "fr"), "reason": "Declined in the sandbox."}
        )
        theirs = messages.render(
            "payment_failed", "email", {**context("payment_failed", 1, "fr"), "reason": "<b>PAYER_LIMIT</b>"}
        )
    assert "Motif indiqué : Refusé dans la sandbox." in ours.text
    assert "Motif indiqué : <b>PAYER_LIMIT</b>" in theirs.text and "&lt;b&gt;PAYER_LIMIT&lt;/b&gt;" in theirs.html


def english_of(values: dict) -> dict:
    return {**values, "language": "en"}


def test_a_buyer_hears_in_their_language_and_so_does_the_friend_they_booked_for(now, messaging):
    gateway, mailbox = messaging
    company = factories.company(name="Volcano Express")
    trip = factories.trip(
        factories.route(company),
        bus_=factories.bus(company, plate="RAB 100A", rows=10),
        departs_at=now + timedelta(hours=5),
    )
    buyer = factories.user(name="Aline Uwase", email="aline@example.rw", phone="+250788100001", language="rw")
    order = paid_order(trip, buyer, ["1A", "1B"], [None, "+250788100002"])
    tx.commit()

    codes = {t.seat_label: t.code for t in order.tickets}
    (own,) = gateway.messages_to("+250788100001")
    (friend,) = gateway.messages_to("+250788100002")
    assert own.text.startswith(f"Volcano Express: itike {codes['1A']}, intebe 1A")
    assert friend.text.startswith(f"Volcano Express: itike {codes['1B']}, intebe 1B")
    assert sms.to_gsm(written("rw", trip.departs_at)) in own.text
    email = mailbox.wait_for("aline@example.rw", timeout=5)
    assert email["Subject"].startswith("Amatike yanyu 2:")
    assert "Muraho Aline" in mailbox.text_of(email)

    french = factories.user(email="claire@example.rw", phone="+250788100003", language="fr")
    paid_order(trip, french, ["2A"])
    tx.commit()
    (text,) = [m.text for m in gateway.messages_to("+250788100003")]
    assert text.startswith("Volcano Express : billet") and "siège 2A" in text


def test_a_password_reset_is_written_in_the_accounts_language(mailbox):
    user = factories.user(email="reset-rw@example.rw", name="Eric Niyonzima", language="rw")
    accounts.request_password_reset(email=user.email)
    tx.commit()
    email = mailbox.wait_for("reset-rw@example.rw", timeout=5)
    assert email["Subject"] == "Muhindure ijambo ry'ibanga rya TMS"
    assert "Muraho Eric" in mailbox.text_of(email)


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Réservez à nouveau : 5\u202f850 RWF", "Réservez à nouveau : 5 850 RWF"),  # é and à are GSM-7
        ("mer. 05 août, arrêt, reçu", "mer. 05 aout, arret, recu"),
        ("l’heure – « bientôt »", 'l\'heure - "bientot"'),
        ("Murakaza neza", "Murakaza neza"),
    ],
)
def test_sms_text_is_written_in_gsm_letters_where_it_can_be(text, gsm):
    assert sms.to_gsm(text) == gsm


def test_sms_text_with_letters_gsm_cannot_write_is_left_whole():
    assert sms.to_gsm("Ticket for 张伟, arrêt") == "Ticket for 张伟, arrêt"
