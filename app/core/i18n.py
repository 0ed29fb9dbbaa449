"""Languages: Kinyarwanda, English and French, with Flask-Babel and gettext catalogues in
``app/translations/`` (``make messages`` extracts and updates them, ``make translations`` compiles
them; both run on their own in ``make run`` and ``make test``).

A request's language is the signed-in account's choice, else the language switcher's cookie, else
the best match of the browser's ``Accept-Language``, else English. Dates, times and money are
formatted for that language, always in 24-hour Kigali time (``DISPLAY_TIMEZONE``). Messages to
people who are not the one asking (SMS, email) are rendered in the recipient's language with
:func:`language_of` and Flask-Babel's ``force_locale``.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_login import current_user

from app.extensions import babel

# The order people see in the switcher; the first is the country's own.
LANGUAGES = {"rw": "Ikinyarwanda", "en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "tms_lang"
LANGUAGE_COOKIE_DAYS = 365

# strftime directives still used by templates, and their CLDR pattern letters: the same output in
# English, the local names and order in the other languages.
_STRFTIME = {
    "%a": "EEE",
    "%A": "EEEE",
    "%d": "dd",
    "%e": "d",
    "%b": "MMM",
    "%B": "MMMM",
    "%m": "MM",
    "%Y": "y",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
}
_DIRECTIVE = re.compile(r"%[a-zA-Z]")


def supported(code: str | None) -> str | None:
    """``code`` if it is one of our languages (``rw-RW`` counts as ``rw``), else None."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def select_language() -> str:
    """Flask-Babel's locale selector: the account, then the switcher, then the language a guest link's
    booking was made in (``g.language_hint``), then the browser. The JSON
    API (devices, partners, trackers) always gets English: its error bodies are read by programs
    and by the developers who write them, whatever the Accept-Language of the library they use."""
    if not has_request_context() or _is_api():
        return DEFAULT_LANGUAGE
    if current_user and current_user.is_authenticated and supported(getattr(current_user, "language", None)):
        return current_user.language
    chosen = supported(request.cookies.get(LANGUAGE_COOKIE)) or supported(g.get("language_hint"))
    if chosen:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def _is_api() -> bool:
    return request.path.startswith("/api/") or request.blueprints[-1:] == ["api"]


def language_of(person) -> str:
    """The language to write to ``person`` (a user, a guest contact, anything with ``language``)."""
    return supported(getattr(person, "language", None)) or DEFAULT_LANGUAGE


def translated(text: str | None) -> str | None:
    """Text kept as written, in the current language when it is one of ours (marked with ``N_``);
    anything else (a provider's own words) as it is. Plain text, so templates still escape it."""
    return get_translations().gettext(text) if text else text


def N_(message: str) -> str:
    """gettext's name for "extract for translation, translate where it is shown": for text kept as
    written (a payment's failure reason on record) and shown later with ``_(text)``."""
    return message


def N_plural(singular: str, plural: str) -> str:
    """``N_`` for a message with a plural (``make messages`` passes the keyword to pybabel)."""
    return singular


def cldr_pattern(strftime: str) -> str:
    """A strftime format as a CLDR date pattern, the text between directives quoted."""
    parts, last = [], 0
    for match in _DIRECTIVE.finditer(strftime):
        parts.append(_quoted(strftime[last : match.start()]))
        parts.append(_STRFTIME.get(match.group(), ""))
        last = match.end()
    parts.append(_quoted(strftime[last:]))
    return "".join(parts)


def _quoted(text: str) -> str:
    if not text:
        return ""
    if not any(c.isalpha() or c == "'" for c in text):
        return text
    return "'" + text.replace("'", "''") + "'"


def local_time(value: datetime | None, fmt: str = "%d %b %Y %H:%M", *, zone: str | None = None) -> str:
    """``value`` in Kigali time (or ``zone``), 24-hour, in the current language."""
    if not value:
        return ""
    tz = ZoneInfo(zone or current_app.config["DISPLAY_TIMEZONE"])
    return format_datetime(value.astimezone(tz), cldr_pattern(fmt), tzinfo=tz, locale=str(get_locale()))


def money(amount: int, currency: str = "RWF") -> str:
    """An amount in minor units, grouped the language's way: "5,850 RWF", "5 850 RWF" (RWF has no
    minor unit; the currencies we carry have none or two)."""
    locale = str(get_locale())
    if currency in ("RWF", "UGX", "BIF"):
        return f"{format_decimal(amount, locale=locale)} {currency}"
    return f"{format_decimal(amount / 100, format='#,##0.00', locale=locale)} {currency}"


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_timezone=app.config["DISPLAY_TIMEZONE"],
        locale_selector=select_language,
    )
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["translated"] = translated
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language


def current_language() -> str:
    """The request's language code, for ``<html lang>`` and the switcher's current choice."""
    return supported(str(get_locale())) or DEFAULT_LANGUAGE
