"""The SMS channel against loopback fakes of Africa's Talking and Twilio: what is sent, what comes back,
and which failures are worth retrying."""

from __future__ import annotations

import logging
import re
import socket
import time

import pytest

from app.notifications.channels import DeliveryFailed, sms
from tests.notifications.conftest import AT_SENDER_ID, TWILIO_FROM, TWILIO_SERVICE

PASSENGER = "+250788123456"
TICKET = "Itike yawe: Kigali - Huye, 08:00, intebe 2A. Kode: HX7K2"


@pytest.fixture(params=["africastalking", "twilio"])
def gateway(request):
    """Each gateway in turn, configured into the app."""
    return request.getfixturevalue("sms_gateway" if request.param == "africastalking" else "twilio_gateway")


def refused(to: str = PASSENGER, text: str = TICKET) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as failure:
        sms.send(to, text)
    return failure.value


# --- sending --------------------------------------------------------------------------------------


def test_africastalking_sends_from_the_sender_id_and_answers_the_message_id(sms_gateway):
    message_id = sms.send(PASSENGER, TICKET)

    [record] = sms_gateway.messages
    assert (record.to, record.text, record.sender) == (PASSENGER, TICKET, AT_SENDER_ID)
    assert message_id == record.message_id
    assert message_id.startswith("ATXid_")


def test_africastalking_without_a_sender_id_sends_from_the_gateway_default(sms_gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "AFRICASTALKING_SENDER_ID", None)

    sms.send(PASSENGER, TICKET)

    assert sms_gateway.messages[0].sender is None


def test_twilio_sends_through_the_messaging_service_and_answers_the_message_sid(twilio_gateway):
    message_id = sms.send(PASSENGER, TICKET)

    [record] = twilio_gateway.messages
    assert (record.to, record.text, record.sender) == (PASSENGER, TICKET, TWILIO_SERVICE)
    assert message_id == record.message_id
    assert re.fullmatch(r"SM[0-9a-f]{32}", message_id)


def test_twilio_without_a_messaging_service_sends_from_the_number(twilio_gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_MESSAGING_SERVICE_SID", None)

    sms.send(PASSENGER, TICKET)

    assert twilio_gateway.messages[0].sender == TWILIO_FROM


def test_text_outside_ascii_arrives_intact(gateway):
    text = "Murakaza neza! Café, €5, ŵ 🚌"

    sms.send(PASSENGER, text)

    assert [m.text for m in gateway.messages_to(PASSENGER)] == [text]


def test_the_log_provider_writes_the_message_with_a_masked_number_to_the_log(sms_gateway, app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "log")

    with caplog.at_level(logging.INFO, logger=sms.__name__):
        message_id = sms.send(PASSENGER, "Muraho")

    assert re.fullmatch(r"log-[0-9a-f]{32}", message_id)
    masked = PASSENGER[:5] + "*" * (len(PASSENGER) - 7) + PASSENGER[-2:]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.INFO, f"SMS to {masked}: Muraho")]
    assert sms_gateway.requests_seen == 0


def test_an_unknown_provider_is_a_configuration_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "carrier-pigeon")

    with pytest.raises(RuntimeError, match="SMS_PROVIDER is 'carrier-pigeon'"):
        sms.send(PASSENGER, "Muraho")


# --- temporary failures: retried ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [("AFRICASTALKING_API_KEY", "revoked"), ("AFRICASTALKING_USERNAME", "someone-else"), ("TWILIO_AUTH_TOKEN", "old")],
)
def test_refused_credentials_are_temporary(request, app, monkeypatch, setting, value):
    fake = request.getfixturevalue("sms_gateway" if setting.startswith("AFRICAS") else "twilio_gateway")
    monkeypatch.setitem(app.config, setting, value)

    failure = refused()

    assert failure.temporary
    assert "refused our credentials (401)" in str(failure)
    assert fake.messages == []


@pytest.mark.parametrize(
    ("provider", "missing", "named"),
    [
        ("sms_gateway", ["AFRICASTALKING_API_KEY"], "AFRICASTALKING_API_KEY"),
        (
            "sms_gateway",
            ["AFRICASTALKING_USERNAME", "AFRICASTALKING_API_KEY"],
            "AFRICASTALKING_USERNAME, AFRICASTALKING_API_KEY",
        ),
        ("twilio_gateway", ["TWILIO_AUTH_TOKEN"], "TWILIO_AUTH_TOKEN"),
        (
            "twilio_gateway",
            ["TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID"],
            "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM",
        ),
    ],
)
def test_missing_credentials_are_temporary_and_named(request, app, monkeypatch, provider, missing, named):
    fake = request.getfixturevalue(provider)
    for name in missing:
        monkeypatch.setitem(app.config, name, None)

    failure = refused()

    assert failure.temporary
    assert named in str(failure)
    assert fake.requests_seen == 0


def test_an_outage_is_temporary_and_sending_works_again_after_it(gateway):
    gateway.outage(500)

    failure = refused()
    gateway.recover()
    message_id = sms.send(PASSENGER, TICKET)

    assert failure.temporary
    assert "answered 500" in str(failure)
    assert [m.message_id for m in gateway.messages] == [message_id]


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_temporary(gateway, status):
    gateway.fail_next(1, status=status)

    failure = refused()

    assert failure.temporary
    assert f"answered {status}" in str(failure)
    assert gateway.messages == []


def test_a_gateway_slower_than_the_timeout_is_temporary(gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_TIMEOUT_SECONDS", 1)
    gateway.delay = 2

    started = time.monotonic()
    failure = refused()
    elapsed = time.monotonic() - started

    assert failure.temporary
    assert "Timeout" in str(failure)
    assert elapsed < 1.9
    # The gateway still sends it: a retry may duplicate the SMS, which beats losing a ticket.
    assert len(gateway.wait_for(1, timeout=5)) == 1


def test_an_unreachable_gateway_is_temporary(gateway, app, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    setting = "TWILIO_BASE_URL" if app.config["SMS_PROVIDER"] == "twilio" else "AFRICASTALKING_BASE_URL"
    monkeypatch.setitem(app.config, setting, closed)

    failure = refused()

    assert failure.temporary
    assert "ConnectionError" in str(failure)


def test_africastalking_unknown_sender_id_is_temporary(sms_gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "AFRICASTALKING_SENDER_ID", "NOT-MINE")

    failure = refused()

    assert failure.temporary
    assert "InvalidSenderId" in str(failure)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (401, "RiskHold"),
        (405, "InsufficientBalance"),
        (407, "CouldNotRoute"),
        (409, "DoNotDisturbRejection"),
        (502, "RejectedByGateway"),
    ],
)
def test_africastalking_recipient_failures_that_may_pass_later_are_temporary(sms_gateway, code, status):
    sms_gateway.reject_number(PASSENGER, code, status)

    failure = refused()

    assert failure.temporary
    assert f"{code} {status}" in str(failure)


# --- permanent failures: recorded, not retried ----------------------------------------------------


def test_a_number_not_in_e164_is_permanent(gateway):
    failure = refused(to="0788123456")

    assert not failure.temporary
    assert gateway.messages == []


@pytest.mark.parametrize(
    ("code", "status"), [(403, "InvalidPhoneNumber"), (404, "UnsupportedNumberType"), (406, "UserInBlacklist")]
)
def test_africastalking_numbers_that_can_never_receive_are_permanent(sms_gateway, code, status):
    sms_gateway.reject_number(PASSENGER, code, status)

    failure = refused()

    assert not failure.temporary
    assert f"{code} {status}" in str(failure)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (21610, "Attempt to send to unsubscribed recipient"),
        (21614, "'To' number is not a valid mobile number"),
        (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    ],
)
def test_twilio_refusals_are_permanent_with_the_code_and_message(twilio_gateway, code, message):
    twilio_gateway.reject_number(PASSENGER, code, message)

    failure = refused()

    assert not failure.temporary
    assert f"{code} {message}" in str(failure)


# --- segments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("é@£" + "a" * 157, 1),  # accented letters of the GSM alphabet stay GSM-7
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two places
        ("€" * 80 + "a", 2),
        ("[" + "a" * 158, 1),
        ("a" * 152 + "{", 1),  # 154 places fit one SMS
        ("a" * 152 + "{" + "a" * 152, 3),  # 306 places, but the escape pair never splits: 152 | 2 + 151 | 1
        ("ŵ" * 70, 1),  # outside GSM-7: UCS-2
        ("ŵ" * 71, 2),
        ("ŵ" + "a" * 69, 1),
        ("ŵ" + "a" * 70, 2),
        ("ŵ" * 134, 2),
        ("ŵ" * 135, 3),
        ("🚌" * 35, 1),  # an emoji takes two UTF-16 units
        ("🚌" * 35 + "a", 2),
    ],
)
def test_segments(text, parts):
    assert sms.segments(text) == parts
