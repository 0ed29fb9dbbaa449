"""Logging: one format for every process, and no personal data or secrets in the lines.

Every record passes :class:`Redactor` on its way out: email addresses and phone numbers are masked
(``p***@tms.rw``, ``+2507******90``), and, where ``LOG_REDACT_TOKENS`` is on (production), so are
tokens in addresses (a path segment of 20 or more token characters, such as a password-reset or
share link, and ``token=``/``share=`` query values). Message bodies are not logged in production
at all (the channels log their size instead); the embedded demo logs them so its reset links can
be followed.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b")
PHONE = re.compile(r"\+(\d{4})\d{3,9}(\d{2})\b")
TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_.~-]{20,}")
TOKEN_QUERY = re.compile(r"\b(token|share|key|code)=[^&\s\"']+", re.IGNORECASE)


def mask(text: str, *, tokens: bool = True) -> str:
    """``text`` with its email addresses and phone numbers masked, and (``tokens``) its tokens."""
    text = EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = PHONE.sub(lambda m: f"+{m.group(1)}{'*' * (len(m.group(0)) - 7)}{m.group(2)}", text)
    if tokens:
        text = TOKEN_SEGMENT.sub("[token]", text)
        text = TOKEN_QUERY.sub(lambda m: f"{m.group(1)}=[token]", text)
    return text


class Redactor(logging.Filter):
    """Rewrites each record's message (and traceback) before any handler formats it."""

    def __init__(self, *, tokens: bool):
        super().__init__()
        self.tokens = tokens

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage(), tokens=self.tokens)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, tokens=self.tokens)
        return True


def configure(*, redact_tokens: bool) -> None:
    """Log INFO and above to stderr, every line through the redactor (idempotent)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        for existing in [f for f in handler.filters if isinstance(f, Redactor)]:
            handler.removeFilter(existing)
        handler.addFilter(Redactor(tokens=redact_tokens))
