"""The edge checks themselves: which ids, days, page numbers and texts pass, how deep JSON may
nest, and that every route and every form goes through them."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date

import pytest
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound

import app as app_package
from app.core import edge
from app.core.forms import Form


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("2147483647", 2147483647), ("2147483648", None), ("0", None), ("-1", None), ("²", None), ("١", None)],
)
def test_a_query_id_is_a_row_id_or_nothing(text, expected):
    assert edge.parse(edge.db_id, text) == expected


def test_page_numbers_and_days_stay_in_range():
    assert edge.parse(edge.page_number, "10000") == 10000 and edge.parse(edge.page_number, "10001") is None
    assert edge.parse(edge.day, "2099-12-31") == date(2099, 12, 31)
    assert edge.parse(edge.day, "9999-12-31") is None and edge.parse(edge.day, "tomorrow") is None


def test_control_characters_are_found_and_line_breaks_allowed_only_where_asked():
    assert not edge.has_control("Nyabugogo Bus Park — Kigali")
    for text in ("a\x00", "\x1b", "\x7f", "\x85", "\ud800", "a\tb"):
        assert edge.has_control(text), repr(text)
    assert not edge.has_control("line one\r\nline two\tend", lines=True)
    assert edge.has_control("line\x00", lines=True)


def test_json_nests_at_most_32_deep():
    nested: list = []
    for _ in range(31):
        nested = [nested]
    assert edge.loads("[" * 32 + "]" * 32) == nested
    with pytest.raises(edge.BodyTooDeep):
        edge.loads("[" * 33 + "]" * 33)
    with pytest.raises(edge.BodyTooDeep):
        edge.loads('{"a":' * 100_000 + "1" + "}" * 100_000)  # deeper than Python's own recursion limit
    with pytest.raises(ValueError):
        edge.loads("{not json")


def test_every_id_in_a_path_is_a_row_id(app):
    urls = app.url_map.bind("tms.test")
    assert urls.match("/trips/2147483647")[1] == {"trip_id": 2147483647}
    for path in ("/trips/2147483648", "/trips/0", "/trips/00000000001", "/live/a%00b".replace("%00", "\x00")):
        with pytest.raises(NotFound):
            urls.match(path)
    assert app.url_map.converters["int"] is edge.IdConverter
    assert app.url_map.converters["default"] is app.url_map.converters["string"] is edge.TextConverter


def test_every_form_derives_from_the_base_form():
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("app.") and cls is not Form]
    assert ours and all(issubclass(cls, Form) for cls in ours), [c for c in ours if not issubclass(c, Form)]
