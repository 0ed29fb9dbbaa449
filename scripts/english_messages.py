"""English is the language the messages are written in, so its catalogue says each one as written:
every message without an English text (new, or marked fuzzy by an update) gets its msgid, and
English is complete by construction. Run by ``make messages`` after ``pybabel update``."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "app/translations/en/LC_MESSAGES/messages.po"


def fill(path: Path) -> int:
    with path.open("rb") as source:
        catalogue = read_po(source)
    filled = 0
    for message in catalogue:
        if not message.id:
            continue
        written = tuple(message.string) if message.pluralizable else (message.string,)
        if message.fuzzy or not all(written):
            message.string = tuple(message.id) if message.pluralizable else message.id
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as target:
        write_po(target, catalogue)
    return filled


if __name__ == "__main__":
    print(f"{fill(Path(sys.argv[1]) if len(sys.argv) > 1 else CATALOGUE)} English messages filled from their msgid")
