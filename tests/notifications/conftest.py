"""SMS gateways as loopback fakes speaking their real wire formats, wired into the app's settings for
the length of a test."""

from __future__ import annotations

import pytest

from tests.fakes.sms import FakeAfricasTalking, FakeTwilio

AT_USERNAME = "tms-sandbox"
AT_API_KEY = "at-test-key"
AT_SENDER_ID = "TMS"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-test-token"
TWILIO_FROM = "+15005550006"
TWILIO_SERVICE = "MG" + "fedcba9876543210" * 2


@pytest.fixture(scope="session")
def africastalking_server():
    with FakeAfricasTalking(AT_USERNAME, AT_API_KEY, sender_ids=(AT_SENDER_ID,)) as server:
        yield server


@pytest.fixture(scope="session")
def twilio_server():
    with FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as server:
        yield server


@pytest.fixture
def sms_gateway(app, africastalking_server, monkeypatch) -> FakeAfricasTalking:
    """The Africa's Talking fake, emptied, and the app sending SMS through it with sender id TMS."""
    africastalking_server.clear()
    for name, value in {
        "SMS_PROVIDER": "africastalking",
        "SMS_TIMEOUT_SECONDS": 5,
        "AFRICASTALKING_BASE_URL": africastalking_server.url,
        "AFRICASTALKING_USERNAME": AT_USERNAME,
        "AFRICASTALKING_API_KEY": AT_API_KEY,
        "AFRICASTALKING_SENDER_ID": AT_SENDER_ID,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return africastalking_server


@pytest.fixture
def twilio_gateway(app, twilio_server, monkeypatch) -> FakeTwilio:
    """The Twilio fake, emptied, and the app sending SMS through it with a Messaging Service (and a
    From number, used when the service is unset)."""
    twilio_server.clear()
    for name, value in {
        "SMS_PROVIDER": "twilio",
        "SMS_TIMEOUT_SECONDS": 5,
        "TWILIO_BASE_URL": twilio_server.url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": TWILIO_FROM,
        "TWILIO_MESSAGING_SERVICE_SID": TWILIO_SERVICE,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return twilio_server


@pytest.fixture
def messaging(sms_gateway, mailbox) -> tuple[FakeAfricasTalking, object]:
    """SMS through the Africa's Talking fake and email to the loopback SMTP server, both emptied."""
    return sms_gateway, mailbox
