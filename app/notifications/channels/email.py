"""Email over SMTP, or to the log when no SMTP server is configured (the embedded demo)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from app.notifications.channels import DeliveryFailed

log = logging.getLogger(__name__)


def build(*, to: str, subject: str, text: str, html: str | None = None, attachments=()) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="tms.rw")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, mime, content in attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def provider_name() -> str:
    """``smtp``, or ``log`` when no server is configured and messages are only written to the log."""
    return "smtp" if current_app.config["MAIL_SERVER"] else "log"


def send(*, to: str, subject: str, text: str, html: str | None = None, attachments=()) -> str:
    """Send one message and return its Message-ID, or raise :class:`DeliveryFailed`: refused
    recipients are permanent; an unreachable server, a dropped connection or a 4xx reply are
    temporary (SMTP's own meaning of 4xx)."""
    message = build(to=to, subject=subject, text=text, html=html, attachments=attachments)
    config = current_app.config
    server = config["MAIL_SERVER"]
    if not server:
        if config["LOG_MESSAGE_BODIES"]:
            log.warning("MAIL_SERVER not set; email to %s not sent:\nSubject: %s\n\n%s", to, subject, text)
        else:
            log.warning("MAIL_SERVER not set (MESSAGES_LOG_ONLY); email to %s not sent (%d characters)", to, len(text))
        return message["Message-ID"]
    try:
        _deliver(message, config)
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise DeliveryFailed(f"{to} refused: {code} {_text(reply)}", temporary=400 <= code < 500) from error
    except smtplib.SMTPResponseException as error:
        temporary = 400 <= error.smtp_code < 500
        raise DeliveryFailed(f"SMTP {error.smtp_code} {_text(error.smtp_error)}", temporary=temporary) from error
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"SMTP server {server}: {error.__class__.__name__}: {error}", temporary=True) from error
    return message["Message-ID"]


def _deliver(message: EmailMessage, config) -> None:
    timeout = config["MAIL_TIMEOUT_SECONDS"]
    context = ssl.create_default_context()
    server, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    if config["MAIL_USE_SSL"]:
        client: smtplib.SMTP = smtplib.SMTP_SSL(server, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server, port, timeout=timeout)
    with client:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            client.starttls(context=context)
        if config["MAIL_USERNAME"]:
            client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        client.send_message(message)


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
