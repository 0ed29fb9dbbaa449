"""Self-tests of the SMS gateway fakes over real HTTP, so channel tests can trust what the fakes answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.fakes.sms import FakeAfricasTalking, FakeTwilio, SmsGateway

TIMEOUT = 5
SID = "AC" + "a" * 32
SERVICE = "MG" + "b" * 32


@pytest.fixture
def at() -> Iterator[FakeAfricasTalking]:
    with FakeAfricasTalking("sandbox", "at-key", sender_ids=("TMS",)) as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, "twilio-token") as fake:
        yield fake


def at_send(
    fake: FakeAfricasTalking, to: str = "+250788123456", message: str = "Muraho", **overrides: str | None
) -> requests.Response:
    form = {"username": "sandbox", "to": to, "message": message, "from": "TMS"}
    headers = {"apiKey": overrides.pop("api_key", "at-key"), "Accept": overrides.pop("accept", "application/json")}
    form.update(overrides)
    form = {k: v for k, v in form.items() if v is not None}
    headers = {k: v for k, v in headers.items() if v is not None}
    return requests.post(f"{fake.url}/version1/messaging", data=form, headers=headers, timeout=TIMEOUT)


def twilio_send(
    fake: FakeTwilio,
    to: str = "+250788123456",
    body: str = "Muraho",
    *,
    auth: tuple[str, str] = (SID, "twilio-token"),
    sid: str = SID,
    **overrides: str | None,
) -> requests.Response:
    form = {"To": to, "Body": body, "From": "+15005550006", **overrides}
    form = {k: v for k, v in form.items() if v is not None}
    url = f"{fake.url}/2010-04-01/Accounts/{sid}/Messages.json"
    return requests.post(url, data=form, auth=auth, timeout=TIMEOUT)


@pytest.fixture(params=["africastalking", "twilio"])
def gateway(request, at, twilio) -> tuple[SmsGateway, Callable[..., requests.Response]]:
    """Either fake with a function that sends one valid message to it."""
    if request.param == "africastalking":
        return at, lambda **kw: at_send(at, **kw)
    return twilio, lambda **kw: twilio_send(twilio, **kw)


# --- Africa's Talking -----------------------------------------------------------------------------


def test_at_accepts_a_message_and_answers_its_recipients(at):
    answer = at_send(at, message="Itike yawe: KGL-HYE 08:00")

    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/json"
    data = answer.json()["SMSMessageData"]
    assert data["Message"] == "Sent to 1/1 Total Cost: RWF 20.0000"
    [recipient] = data["Recipients"]
    assert recipient["number"] == "+250788123456"
    assert (recipient["statusCode"], recipient["status"]) == (101, "Success")
    assert recipient["cost"] == "RWF 20.0000"
    assert recipient["messageId"].startswith("ATXid_")
    [record] = at.messages
    assert (record.to, record.text, record.sender) == ("+250788123456", "Itike yawe: KGL-HYE 08:00", "TMS")
    assert record.message_id == recipient["messageId"]


def test_at_stores_one_record_per_number_and_refuses_numbers_not_in_e164(at):
    answer = at_send(at, to="+250788123456, 0788999000,+250722000111")

    data = answer.json()["SMSMessageData"]
    assert data["Message"] == "Sent to 2/3 Total Cost: RWF 40.0000"
    by_number = {r["number"]: r for r in data["Recipients"]}
    assert (by_number["0788999000"]["statusCode"], by_number["0788999000"]["status"]) == (403, "InvalidPhoneNumber")
    assert by_number["0788999000"]["messageId"] == "None"
    assert [m.to for m in at.messages] == ["+250788123456", "+250722000111"]
    assert [m.message_id for m in at.messages_to("+250722000111")] == [by_number["+250722000111"]["messageId"]]


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"api_key": "wrong"}, "The supplied authentication is invalid"),
        ({"username": "someone-else"}, "The supplied authentication is invalid"),
        ({"api_key": None}, "Request is missing required HTTP header apiKey."),
    ],
    ids=["wrong key", "wrong username", "no key"],
)
def test_at_refuses_wrong_credentials_with_401(at, overrides, text):
    answer = at_send(at, **overrides)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == text
    assert at.messages == []


@pytest.mark.parametrize("missing", ["to", "message"])
def test_at_requires_to_and_message(at, missing):
    answer = at_send(at, **{missing: None})

    assert answer.status_code == 400
    assert f"'{missing}'" in answer.text
    assert at.messages == []


def test_at_turns_down_an_unregistered_sender_id(at):
    answer = at_send(at, **{"from": "SPAMMER"})

    assert answer.json() == {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}
    assert at.messages == []


def test_at_reject_number_gives_the_per_recipient_failure(at):
    at.reject_number("+250788123456")
    at.reject_number("+250722000111", 405, "InsufficientBalance")

    answer = at_send(at, to="+250788123456,+250722000111")

    statuses = [(r["statusCode"], r["status"]) for r in answer.json()["SMSMessageData"]["Recipients"]]
    assert statuses == [(406, "UserInBlacklist"), (405, "InsufficientBalance")]
    assert at.messages == []


def test_at_answers_xml_unless_asked_for_json(at):
    answer = at_send(at, accept=None)

    assert answer.status_code == 201
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert "<Message>Sent to 1/1 Total Cost: RWF 20.0000</Message>" in answer.text
    assert "<statusCode>101</statusCode>" in answer.text


# --- Twilio ---------------------------------------------------------------------------------------


def test_twilio_accepts_a_message_from_a_number(twilio):
    answer = twilio_send(twilio, body="Itike yawe")

    assert answer.status_code == 201
    body = answer.json()
    assert body["sid"].startswith("SM") and len(body["sid"]) == 34
    assert (body["status"], body["to"], body["from"], body["body"]) == (
        "queued",
        "+250788123456",
        "+15005550006",
        "Itike yawe",
    )
    assert body["account_sid"] == SID
    [record] = twilio.messages
    assert (record.to, record.text, record.sender, record.message_id) == (
        "+250788123456",
        "Itike yawe",
        "+15005550006",
        body["sid"],
    )


def test_twilio_accepts_a_message_through_a_messaging_service(twilio):
    answer = twilio_send(twilio, From=None, MessagingServiceSid=SERVICE)

    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["messaging_service_sid"]) == ("accepted", SERVICE)
    assert twilio.messages[0].sender == SERVICE


@pytest.mark.parametrize(
    "kwargs",
    [{"auth": (SID, "wrong")}, {"auth": ("AC" + "c" * 32, "twilio-token")}, {"sid": "AC" + "c" * 32}],
    ids=["wrong token", "other account", "other account in path"],
)
def test_twilio_refuses_wrong_credentials_with_401(twilio, kwargs):
    answer = twilio_send(twilio, **kwargs)

    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert twilio.messages == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"To": None}, 21604),
        ({"Body": None}, 21602),
        ({"From": None}, 21603),
        ({"To": "0788123456"}, 21211),
        ({"Body": "x" * 1601}, 21617),
    ],
    ids=["no To", "no Body", "no sender", "To not E.164", "Body too long"],
)
def test_twilio_validates_fields(twilio, overrides, code):
    to = overrides.pop("To", "+250788123456")
    body = overrides.pop("Body", "Muraho")
    answer = twilio_send(twilio, to, body, **overrides)

    assert answer.status_code == 400
    assert (answer.json()["code"], answer.json()["status"]) == (code, 400)
    assert answer.json()["message"]
    assert twilio.messages == []


def test_twilio_reject_number_answers_the_twilio_error(twilio):
    twilio.reject_number("+250788123456")
    twilio.reject_number("+250722000111", 21614, "'To' number is not a valid mobile number")

    blacklisted = twilio_send(twilio, "+250788123456")
    landline = twilio_send(twilio, "+250722000111")

    assert (blacklisted.status_code, blacklisted.json()["code"]) == (400, 21610)
    assert (landline.status_code, landline.json()["code"]) == (400, 21614)
    assert twilio.messages == []


# --- shared controls ------------------------------------------------------------------------------


def test_outage_fails_every_request_until_recovered(gateway):
    fake, send = gateway
    fake.outage(503)

    answers = [send() for _ in range(3)]
    fake.recover()
    after = send()

    assert [a.status_code for a in answers] == [503, 503, 503]
    assert after.status_code == 201
    assert fake.requests_seen == 4
    assert len(fake.messages) == 1


def test_fail_next_fails_only_that_many_requests(gateway):
    fake, send = gateway
    fake.fail_next(2, status=429)

    statuses = [send().status_code for _ in range(3)]

    assert statuses == [429, 429, 201]
    assert fake.requests_seen == 3
    assert len(fake.messages) == 1


def test_twilio_outage_uses_twilio_error_shape(twilio):
    twilio.outage()

    answer = twilio_send(twilio)

    assert answer.status_code == 500
    assert (answer.json()["code"], answer.json()["status"]) == (20500, 500)


def test_wait_for_blocks_until_messages_arrive(gateway):
    fake, send = gateway
    threading.Timer(0.2, send).start()

    started = time.monotonic()
    arrived = fake.wait_for(1, timeout=TIMEOUT)

    assert len(arrived) == 1
    assert time.monotonic() - started >= 0.15
    with pytest.raises(TimeoutError):
        fake.wait_for(2, timeout=0.2)


def test_delay_outlasts_the_client_timeout_and_the_message_still_arrives(gateway):
    fake, send = gateway
    fake.delay = 0.5

    with pytest.raises(requests.Timeout):
        send_with_timeout(fake, 0.1)

    assert len(fake.wait_for(1, timeout=TIMEOUT)) == 1


def send_with_timeout(fake: SmsGateway, timeout: float) -> requests.Response:
    if isinstance(fake, FakeAfricasTalking):
        form = {"username": "sandbox", "to": "+250788123456", "message": "Muraho"}
        return requests.post(f"{fake.url}/version1/messaging", data=form, headers={"apiKey": "at-key"}, timeout=timeout)
    url = f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json"
    form = {"To": "+250788123456", "Body": "Muraho", "From": "+15005550006"}
    return requests.post(url, data=form, auth=(SID, "twilio-token"), timeout=timeout)


def test_clear_forgets_messages_and_failure_controls(gateway):
    fake, send = gateway
    send()
    fake.outage()
    fake.fail_next(1)
    fake.reject_number("+250788123456")
    fake.delay = 3

    fake.clear()
    answer = send()

    assert answer.status_code == 201
    assert answer.elapsed.total_seconds() < 1
    assert len(fake.messages) == 1
    assert fake.requests_seen == 1
