"""The three catalogues are complete: every string marked for translation in the templates and in
Python, extracted from the sources as they are now (Babel's extraction with the settings of
``make messages``, not the committed ``messages.pot``), has a translation in Kinyarwanda, English
and French. A string newly marked without its translations fails here, named."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.core.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app/translations"
# The keywords `make messages` passes to pybabel besides Babel's own (gettext, ngettext, _...).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_plural": (1, 2)}


def marked() -> dict[tuple[str, str | None], str]:
    """Every marked message as (msgid, context) → where it is marked."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


def missing(language: str, messages: dict[tuple[str, str | None], str]) -> list[str]:
    with (TRANSLATIONS / language / "LC_MESSAGES/messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    gaps = []
    for (msgid, context), where in sorted(messages.items(), key=lambda item: item[1]):
        entry = catalogue.get(msgid, context=context)
        texts = () if entry is None else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not texts or not all(texts):
            gaps.append(f"{where}: {msgid!r}")
    return gaps


def test_every_marked_string_has_a_translation_in_every_language():
    messages = marked()
    assert len(messages) > 100  # the extraction found the sources
    gaps = {language: missing(language, messages) for language in LANGUAGES}
    report = "\n".join(
        f"{language}: {len(found)} without a translation (make messages, then translate):\n  " + "\n  ".join(found)
        for language, found in gaps.items()
        if found
    )
    assert not report, report


def test_make_messages_gives_english_each_msgid(tmp_path):
    spec = importlib.util.spec_from_file_location("english_messages", ROOT / "scripts/english_messages.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    catalogue = tmp_path / "messages.po"
    catalogue.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Seat"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Bus %(plate)s"\nmsgstr "Old text"\n\n'
        'msgid "%(num)s seat"\nmsgid_plural "%(num)s seats"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
        'msgid "Kept"\nmsgstr "Kept as written"\n',
        encoding="utf-8",
    )
    assert script.fill(catalogue) == 3
    with catalogue.open("rb") as source:
        filled = read_po(source, locale="en")
    assert filled.get("Seat").string == "Seat"
    assert filled.get("Bus %(plate)s").string == "Bus %(plate)s" and not filled.get("Bus %(plate)s").fuzzy
    assert filled.get("%(num)s seat").string == ("%(num)s seat", "%(num)s seats")
    assert filled.get("Kept").string == "Kept as written"
