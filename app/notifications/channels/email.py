"""Email over SMTP, or to the log when no SMTP server is configured (the embedded demo)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger(__name__)


def build(*, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="tms.rw")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def send(*, to: str, subject: str, text: str, html: str | None = None) -> str:
    """Send one message and return its Message-ID. SMTP errors propagate so the job retries."""
    message = build(to=to, subject=subject, text=text, html=html)
    config = current_app.config
    server = config["MAIL_SERVER"]
    if not server:
        log.warning("MAIL_SERVER not set; email to %s not sent:\nSubject: %s\n\n%s", to, subject, text)
        return message["Message-ID"]
    timeout = config["MAIL_TIMEOUT_SECONDS"]
    context = ssl.create_default_context()
    if config["MAIL_USE_SSL"]:
        client: smtplib.SMTP = smtplib.SMTP_SSL(server, config["MAIL_PORT"], timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server, config["MAIL_PORT"], timeout=timeout)
    with client:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            client.starttls(context=context)
        if config["MAIL_USERNAME"]:
            client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        client.send_message(message)
    return message["Message-ID"]
