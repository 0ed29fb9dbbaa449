"""The real gettext catalogues for tests that render in Kinyarwanda, English and French: each
``messages.mo`` is compiled again from its ``messages.po`` when older (``make test`` compiles them
too; a bare ``pytest`` after editing a catalogue would otherwise read the stale one)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.core.i18n import LANGUAGES
from app.extensions import babel

TRANSLATIONS = Path(__file__).resolve().parent.parent / "app/translations"


def compiled() -> None:
    stale = False
    for language in LANGUAGES:
        po = TRANSLATIONS / language / "LC_MESSAGES/messages.po"
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=language)
        with mo.open("wb") as target:
            write_mo(target, catalogue)
        stale = True
    if stale:
        babel.domain_instance.cache.clear()  # Flask-Babel keeps each language's catalogue once read
