"""SMS through Africa's Talking or Twilio, or to the log when SMS_PROVIDER is "log" (the embedded
demo). :func:`send` answers the gateway's message id or raises :class:`DeliveryFailed`;
:func:`segments` says how many parts a text is sent (and billed) as."""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Callable

import requests
from flask import current_app

from app.notifications.channels import DeliveryFailed

log = logging.getLogger(__name__)

_session = requests.Session()

# Africa's Talking answers one status per recipient: 100 Processed, 101 Sent, 102 Queued are accepted;
# these say the number can never receive (InvalidPhoneNumber, UnsupportedNumberType, UserInBlacklist).
# Every other code (RiskHold, InsufficientBalance, CouldNotRoute, gateway errors...) may pass later.
_AT_ACCEPTED = frozenset({100, 101, 102})
_AT_UNREACHABLE = frozenset({403, 404, 406})

# Twilio codes for a 'To' that can never receive: invalid number, unsubscribed, not a mobile number.
_TWILIO_UNREACHABLE = frozenset({21211, 21610, 21614})


def send(to: str, text: str) -> str:
    """Send ``text`` to the E.164 number ``to``; answer the gateway's message id."""
    provider = current_app.config["SMS_PROVIDER"]
    adapter = _ADAPTERS.get(provider)
    if adapter is None:
        raise RuntimeError(f"SMS_PROVIDER is {provider!r}; expected one of: {', '.join(sorted(_ADAPTERS))}")
    return adapter(to, text)


def provider_name() -> str:
    return current_app.config["SMS_PROVIDER"]


# --- adapters -----------------------------------------------------------------------------------


def _log(to: str, text: str) -> str:
    if current_app.config["LOG_MESSAGE_BODIES"]:
        log.info("SMS to %s: %s", to, text)
    else:
        log.warning("SMS_PROVIDER is log (MESSAGES_LOG_ONLY); SMS to %s not sent (%d characters)", to, len(text))
    return f"log-{uuid.uuid4().hex}"


def _africastalking(to: str, text: str) -> str:
    config = current_app.config
    _require("africastalking", "AFRICASTALKING_USERNAME", "AFRICASTALKING_API_KEY")
    form = {"username": config["AFRICASTALKING_USERNAME"], "to": to, "message": text}
    if config["AFRICASTALKING_SENDER_ID"]:
        form["from"] = config["AFRICASTALKING_SENDER_ID"]
    response = _post(
        "Africa's Talking",
        f"{config['AFRICASTALKING_BASE_URL'].rstrip('/')}/version1/messaging",
        data=form,
        headers={"apiKey": config["AFRICASTALKING_API_KEY"], "Accept": "application/json"},
    )
    if response.status_code not in (200, 201):
        raise DeliveryFailed(
            f"Africa's Talking refused the message ({response.status_code}): {_excerpt(response)}", temporary=False
        )
    data = _json_of(response).get("SMSMessageData")
    if not isinstance(data, dict):
        raise DeliveryFailed(f"Africa's Talking answered without SMSMessageData: {_excerpt(response)}", temporary=True)
    recipients = [r for r in data.get("Recipients") or [] if isinstance(r, dict)]
    if not recipients:
        # The whole request was turned down, e.g. "InvalidSenderId": a setting ops can correct.
        raise DeliveryFailed(f"Africa's Talking sent to nobody: {data.get('Message')}", temporary=True)
    recipient = next((r for r in recipients if r.get("number") == to), recipients[0])
    try:
        code = int(recipient.get("statusCode"))
    except (TypeError, ValueError):
        code = None
    if code in _AT_ACCEPTED and recipient.get("messageId"):
        return str(recipient["messageId"])
    raise DeliveryFailed(
        f"Africa's Talking did not accept {to}: {code} {recipient.get('status')}",
        temporary=code not in _AT_UNREACHABLE,
    )


def _twilio(to: str, text: str) -> str:
    config = current_app.config
    _require("twilio", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    sid = config["TWILIO_ACCOUNT_SID"]
    form = {"To": to, "Body": text}
    if config["TWILIO_MESSAGING_SERVICE_SID"]:
        form["MessagingServiceSid"] = config["TWILIO_MESSAGING_SERVICE_SID"]
    elif config["TWILIO_FROM"]:
        form["From"] = config["TWILIO_FROM"]
    else:
        raise DeliveryFailed(
            "SMS_PROVIDER is twilio but TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM is not set", temporary=True
        )
    response = _post(
        "Twilio",
        f"{config['TWILIO_BASE_URL'].rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json",
        data=form,
        auth=(sid, config["TWILIO_AUTH_TOKEN"]),
        headers={"Accept": "application/json"},
    )
    body = _json_of(response)
    if response.status_code in (200, 201):
        if not body.get("sid"):
            raise DeliveryFailed(f"Twilio answered without a message sid: {_excerpt(response)}", temporary=True)
        return str(body["sid"])
    code, message = body.get("code"), body.get("message") or _excerpt(response)
    if code in _TWILIO_UNREACHABLE:
        raise DeliveryFailed(f"Twilio cannot deliver to {to}: {code} {message}", temporary=False)
    raise DeliveryFailed(f"Twilio refused the message ({response.status_code}): {code} {message}", temporary=False)


_ADAPTERS: dict[str, Callable[[str, str], str]] = {
    "log": _log,
    "africastalking": _africastalking,
    "twilio": _twilio,
}


# --- HTTP -----------------------------------------------------------------------------------------


def _require(provider: str, *names: str) -> None:
    missing = [name for name in names if not current_app.config.get(name)]
    if missing:
        raise DeliveryFailed(f"SMS_PROVIDER is {provider} but {', '.join(missing)} not set", temporary=True)


def _post(gateway: str, url: str, **kwargs) -> requests.Response:
    """POST once; network trouble, 5xx, 429 and refused credentials (401/403, which ops can fix) are
    temporary. Other answers go back to the adapter to read."""
    try:
        response = _session.post(url, timeout=current_app.config["SMS_TIMEOUT_SECONDS"], **kwargs)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{gateway}: {error.__class__.__name__} ({error})", temporary=True) from error
    status = response.status_code
    if status >= 500 or status == 429:
        raise DeliveryFailed(f"{gateway} answered {status}: {_excerpt(response)}", temporary=True)
    if status in (401, 403):
        raise DeliveryFailed(f"{gateway} refused our credentials ({status}): {_excerpt(response)}", temporary=True)
    return response


def _json_of(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _excerpt(response: requests.Response) -> str:
    return response.text[:200].strip()


# --- segments -------------------------------------------------------------------------------------

# GSM 03.38: the basic character set (one septet each) and the extension table (escape + one septet).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def segments(text: str) -> int:
    """How many SMS parts ``text`` takes: GSM-7 (extension characters count twice) fits 160 in one
    part, 153 per part when split; anything else goes as UCS-2, 70 in one part, 67 per part, counted
    in UTF-16 units (an emoji takes two). A part never splits an escape pair or a surrogate pair."""
    if _is_gsm(text):
        units = [2 if c in _GSM_EXTENSION else 1 for c in text]
        single, per_part = 160, 153
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, per_part = 70, 67
    if sum(units) <= single:
        return 1 if units else 0
    parts, used = 1, 0
    for unit in units:
        if used + unit > per_part:
            parts, used = parts + 1, 0
        used += unit
    return parts


# Characters a translation or a locale's formats bring in that the GSM alphabet writes another way:
# French groups digits with a narrow no-break space ("5 850 RWF"), typography brings curly quotes.
_GSM_LOOKALIKES = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2192": "->",
        "\u0153": "oe",
        "\u0152": "OE",
    }
)


_GUILLEMETS = re.compile(r"«\s*|\s*»")


def to_gsm(text: str) -> str:
    """``text`` in the GSM alphabet when it can be written so (accents the alphabet lacks dropped:
    "arrêt" → "arret", "août" → "aout"), so a message goes as one 160-character part instead of
    70-character UCS-2 parts; ``text`` unchanged when it holds letters with no such form."""
    if _is_gsm(text):
        return text
    written = []
    for char in _GUILLEMETS.sub('"', text).translate(_GSM_LOOKALIKES):
        if char in _GSM_BASIC or char in _GSM_EXTENSION:
            written.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if not base or not _is_gsm(base):
            return text
        written.append(base)
    return "".join(written)


def _is_gsm(text: str) -> bool:
    return all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text)
