"""Fake SMS gateways: Africa's Talking (``POST /version1/messaging``) and Twilio (``POST
/2010-04-01/Accounts/{sid}/Messages.json``).

Each checks credentials and fields the way the real gateway does and answers in its wire format, so the
project's SMS channel runs unchanged against ``.url``. Accepted messages are kept as :class:`SmsRecord`, one per
recipient. Tests read them with :attr:`~SmsGateway.messages` and :meth:`~SmsGateway.wait_for`, and break the
gateway with :meth:`~FakeServer.fail_next`, :meth:`~SmsGateway.outage`, ``reject_number`` and
:attr:`~SmsGateway.delay`.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from tests.fakes import FakeServer, Request, Response

if TYPE_CHECKING:
    from tests.fakes import _RequestHandler

__all__ = ["FakeAfricasTalking", "FakeTwilio", "SmsGateway", "SmsRecord"]

_E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class SmsRecord:
    """One message accepted for one number."""

    to: str
    text: str
    sender: str | None  # Africa's Talking ``from``; Twilio ``MessagingServiceSid`` or else ``From``
    message_id: str
    received_at: datetime


def _field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


class SmsGateway(FakeServer):
    """What both gateways share: the message store and the test controls. State is guarded by ``self.lock``."""

    def __init__(self) -> None:
        super().__init__()
        self._messages: list[SmsRecord] = []
        self._arrived = threading.Condition(self.lock)
        self._outage: int | None = None
        self._rejected: dict[str, tuple[int, str]] = {}
        self.delay = 0.0  # seconds to sleep before answering, to outlast a client's timeout

    # --- test controls --------------------------------------------------------------------------

    @property
    def messages(self) -> list[SmsRecord]:
        with self.lock:
            return list(self._messages)

    def messages_to(self, number: str) -> list[SmsRecord]:
        with self.lock:
            return [m for m in self._messages if m.to == number]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[SmsRecord]:
        """Block until at least ``count`` messages were accepted; TimeoutError if they do not arrive."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._messages) >= count, timeout=timeout):
                raise TimeoutError(f"{len(self._messages)} SMS within {timeout}s, expected {count}")
            return list(self._messages)

    def outage(self, status: int = 500) -> None:
        """Every API request answers ``status`` until :meth:`recover`."""
        with self.lock:
            self._outage = status

    def recover(self) -> None:
        with self.lock:
            self._outage = None

    @property
    def requests_seen(self) -> int:
        """API requests received, those that failed included."""
        return len(self.calls)

    def clear(self) -> None:
        """Forget messages, requests seen and every failure control."""
        with self.lock:
            self._messages.clear()
            self._rejected.clear()
            self._failures.clear()
            self._outage = None
            self.delay = 0.0
        self.reset_calls()

    # --- plumbing -------------------------------------------------------------------------------

    def _reject(self, number: str, code: int, text: str) -> None:
        with self.lock:
            self._rejected[number] = (code, text)

    def _rejection(self, number: str) -> tuple[int, str] | None:
        with self.lock:
            return self._rejected.get(number)

    def _store(self, to: str, text: str, sender: str | None, message_id: str) -> None:
        with self._arrived:
            self._messages.append(SmsRecord(to, text, sender, message_id, datetime.now(UTC)))
            self._arrived.notify_all()

    def _take_failure(self, path: str) -> int | None:
        with self.lock:
            if self._outage is not None:
                return self._outage
        return super()._take_failure(path)

    def _route(self, request: Request) -> Response:
        with self.lock:
            delay = self.delay
        if delay:
            time.sleep(delay)
        return super()._route(request)

    def _dispatch(self, handler: _RequestHandler) -> None:
        # The client may have stopped waiting (see ``delay``); the gateway has done its part.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super()._dispatch(handler)


# --- Africa's Talking -----------------------------------------------------------------------------


def _text(status: int, message: str) -> Response:
    """Africa's Talking refuses whole requests with a plain-text body."""
    return Response(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _at_xml(payload: dict[str, Any]) -> str:
    """The XML Africa's Talking answers when the client does not ask for JSON."""
    data = payload["SMSMessageData"]
    recipients = "".join(
        "<Recipient>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in r.items()) + "</Recipient>"
        for r in data["Recipients"]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><AfricasTalkingResponse><SMSMessageData>'
        f"<Message>{escape(data['Message'])}</Message><Recipients>{recipients}</Recipients>"
        "</SMSMessageData></AfricasTalkingResponse>"
    )


class FakeAfricasTalking(SmsGateway):
    """Africa's Talking bulk SMS on loopback.

    Authenticates with the ``apiKey`` header and the ``username`` form field. ``sender_ids`` are the sender ids
    registered to the account (None: any ``from`` is accepted); another one is turned down as the real gateway
    does, with ``"InvalidSenderId"`` and no recipients. Each accepted recipient costs RWF 20.
    """

    def __init__(self, username: str, api_key: str, *, sender_ids: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.username = username
        self.api_key = api_key
        self.sender_ids = sender_ids
        self.add_route("POST", r"/version1/messaging", self._send)

    def reject_number(self, number: str, status_code: int = 406, status: str = "UserInBlacklist") -> None:
        """That number gets this per-recipient failure (default: blacklisted, permanent)."""
        self._reject(number, status_code, status)

    def outage_body(self, status: int) -> Any:
        return "Service Unavailable" if status == 503 else "Internal Server Error"

    def _send(self, request: Request) -> Response:
        api_key = request.header("apiKey")
        if not api_key:
            return _text(401, "Request is missing required HTTP header apiKey.")
        form = request.form()
        if api_key != self.api_key or _field(form, "username") != self.username:
            return _text(401, "The supplied authentication is invalid")
        to, text, sender = _field(form, "to"), _field(form, "message"), _field(form, "from") or None
        for name, value in (("to", to), ("message", text)):
            if not value:
                return _text(400, f"Request is missing required form field '{name}'")
        if sender is not None and self.sender_ids is not None and sender not in self.sender_ids:
            return self._answer(request, "InvalidSenderId", [])
        recipients = []
        for number in filter(None, (n.strip() for n in to.split(","))):
            rejection = (403, "InvalidPhoneNumber") if not _E164.fullmatch(number) else self._rejection(number)
            if rejection is not None:
                code, status = rejection
                recipients.append(
                    {"cost": "0", "messageId": "None", "number": number, "status": status, "statusCode": code}
                )
                continue
            message_id = f"ATXid_{secrets.token_hex(16)}"
            self._store(number, text, sender, message_id)
            recipients.append(
                {
                    "cost": "RWF 20.0000",
                    "messageId": message_id,
                    "number": number,
                    "status": "Success",
                    "statusCode": 101,
                }
            )
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        return self._answer(request, f"Sent to {sent}/{len(recipients)} Total Cost: RWF {20 * sent:.4f}", recipients)

    @staticmethod
    def _answer(request: Request, message: str, recipients: list[dict[str, Any]]) -> Response:
        payload = {"SMSMessageData": {"Message": message, "Recipients": recipients}}
        if "application/json" in (request.header("Accept") or ""):
            return Response.json(201, payload)
        return Response(201, _at_xml(payload).encode(), {"Content-Type": "application/xml; charset=utf-8"})


# --- Twilio ---------------------------------------------------------------------------------------


def _twilio_error(status: int, code: int, message: str) -> Response:
    return Response.json(
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
    )


class FakeTwilio(SmsGateway):
    """Twilio Programmable Messaging on loopback: HTTP Basic with the account sid and auth token, the same sid in
    the path. A message needs ``To``, ``Body`` and ``MessagingServiceSid`` or ``From``."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.add_route("POST", r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json", self._create)

    def reject_number(
        self, number: str, code: int = 21610, message: str = "Attempt to send to unsubscribed recipient"
    ) -> None:
        """Messages to that number answer 400 with this Twilio error (default: unsubscribed, permanent)."""
        self._reject(number, code, message)

    def outage_body(self, status: int) -> Any:
        codes = {429: (20429, "Too Many Requests"), 503: (20503, "Service Unavailable")}
        code, message = codes.get(status, (20500, "An internal server error has occurred"))
        return {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def _create(self, request: Request, sid: str) -> Response:
        if sid != self.account_sid or request.basic_auth() != (self.account_sid, self.auth_token):
            return _twilio_error(401, 20003, "Authenticate")
        form = request.form()
        to, body = _field(form, "To"), _field(form, "Body")
        service, from_ = _field(form, "MessagingServiceSid") or None, _field(form, "From") or None
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _twilio_error(400, 21602, "Message body is required.")
        if not (service or from_):
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if len(body) > 1600:
            return _twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if not _E164.fullmatch(to):
            return _twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        rejection = self._rejection(to)
        if rejection is not None:
            return _twilio_error(400, *rejection)
        message_sid = f"SM{secrets.token_hex(16)}"
        self._store(to, body, service or from_, message_sid)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        uri = f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}"
        return Response.json(
            201,
            {
                "account_sid": sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": from_,
                "messaging_service_sid": service,
                "num_media": "0",
                "price": None,
                "price_unit": "USD",
                "sid": message_sid,
                # A Messaging Service picks the sender itself, so its messages start "accepted".
                "status": "accepted" if service and not from_ else "queued",
                "subresource_uris": {"media": f"{uri}/Media.json"},
                "to": to,
                "uri": f"{uri}.json",
            },
        )
