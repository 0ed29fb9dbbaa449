"""Validation at the edge, once, for every surface: what no request may carry into the app.

PostgreSQL refuses NUL in text and integers beyond a column's range, and Python's ``json`` raises
``RecursionError`` on input nested a thousand deep. Each of those used to surface as a 500 deep
inside a view. Here they are refused before any view runs:

- **Paths.** ``<int:...>`` is our :class:`IdConverter` (1 to 2^31-1, the range of an ``integer``
  primary key) and plain ``<name>`` segments are :class:`TextConverter` (no control characters).
  A segment either refuses matches no route: 404, an object that cannot exist.
- **Query strings and form fields.** :func:`check_request` answers 400 when a name or value holds
  a control character (tab, CR and LF are allowed in form fields, where a multi-line text box may
  send them; single-line form fields refuse them in ``core.forms.Form``). Numbers and dates read
  from a query go through :func:`db_id`, :func:`page_number` or :func:`day`, which turn anything
  out of range into "not given".
- **JSON bodies.** :class:`JSONProvider` refuses documents nested deeper than ``JSON_MAX_DEPTH``
  (400) for every ``request.get_json()``; the API's schema layer (``core.schema``) refuses control
  characters and out-of-range numbers inside them.
"""

from __future__ import annotations

import json
import re
from datetime import date

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from app.core.errors import DomainError

ID_MAX = 2**31 - 1  # PostgreSQL ``integer``: every primary key we put in a URL or a query
JSON_MAX_DEPTH = 32  # our richest message (an OsmAnd report) is 4 deep
DAY_MIN, DAY_MAX = date(2000, 1, 1), date(2099, 12, 31)  # a day we can add a week to, and mean it
PAGE_MAX = 10_000

# C0 controls, DEL and C1 controls; lone surrogates cannot be stored as UTF-8 either.
CONTROL_CLASS = r"\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(rf"[{CONTROL_CLASS}\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Query parameters read by a view that falls back to a default when they are unusable.
LENIENT_ARGS = frozenset({"next"})  # accounts: an unsafe return address lands on the home page


class BadCharacters(DomainError):
    status = 400
    code = "bad_request"
    message = _l("The address or the form holds control characters, which we cannot accept.")


class BodyTooDeep(DomainError):
    """Not a ValueError, so even ``get_json(silent=True)`` lets it through to the error table."""

    status = 400
    code = "bad_request"
    message = f"The JSON body is nested more than {JSON_MAX_DEPTH} levels deep."


def has_control(text: str, *, lines: bool = False) -> bool:
    """Whether ``text`` holds a control character (``lines``: tab, CR and LF allowed)."""
    return (_CONTROL_BUT_LINES if lines else _CONTROL).search(text) is not None


# --- Paths ------------------------------------------------------------------------------------


class IdConverter(IntegerConverter):
    """``<int:...>``: a row id, 1 to ``ID_MAX``. Anything else matches no route (404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = ID_MAX, signed=False):
        super().__init__(map, fixed_digits, min, max, signed=False)


class TextConverter(UnicodeConverter):
    """``<name>``: one path segment without control characters."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = None, length: int | None = None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", rf"[^/{CONTROL_CLASS}]", 1)

    def to_python(self, value: str) -> str:
        if has_control(value):  # lone surrogates, which the regex's class does not name
            raise ValidationError()
        return value


# --- Query strings ----------------------------------------------------------------------------


def db_id(text: str) -> int:
    """``type=`` for ``request.args.get``: a row id, else ValueError (so the default is used)."""
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 10 and 1 <= int(text) <= ID_MAX):
        raise ValueError(text)
    return int(text)


def page_number(text: str) -> int:
    """``type=`` for a page number, 1 to ``PAGE_MAX``."""
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 5 and 1 <= int(text) <= PAGE_MAX):
        raise ValueError(text)
    return int(text)


def day(text: str) -> date:
    """``type=`` for a ``YYYY-MM-DD`` day between ``DAY_MIN`` and ``DAY_MAX``."""
    value = date.fromisoformat(text)
    if not DAY_MIN <= value <= DAY_MAX:
        raise ValueError(text)
    return value


def parse(kind, text: str, default=None):
    """``kind(text)`` (one of the ``type=`` readers above), or ``default`` when it refuses."""
    try:
        return kind(text)
    except ValueError:
        return default


def check_request() -> None:
    """Refuse control characters in the query string's and the form's names and values."""
    for name, value in request.args.items(multi=True):
        if has_control(name) or (name not in LENIENT_ARGS and has_control(value)):
            raise BadCharacters()
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, value in request.form.items(multi=True):
            if has_control(name) or has_control(value, lines=True):
                raise BadCharacters()


# --- JSON -------------------------------------------------------------------------------------


def _deeper_than(value, limit: int) -> bool:
    """Whether a parsed document nests containers more than ``limit`` deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads(data: str | bytes, **kwargs):
    """``json.loads`` that refuses documents nested deeper than ``JSON_MAX_DEPTH`` (BodyTooDeep);
    ValueError for anything that is not JSON."""
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise BodyTooDeep() from None
    if _deeper_than(value, JSON_MAX_DEPTH):
        raise BodyTooDeep()
    return value


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies through :func:`loads`."""

    def loads(self, s: str | bytes, **kwargs):
        return loads(s, **kwargs)


def init_app(app: Flask) -> None:
    """Before any blueprint registers a route: the converters are bound when rules are added."""
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter)
    app.json = JSONProvider(app)
    app.before_request(check_request)
