"""How typed place names are compared, with no database: case, accents and punctuation do not
count, words such as "Bus Park" may be left out, and small misspellings are forgiven."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

# Words that name the kind of place rather than the place: "Nyabugogo" finds Nyabugogo Bus Park.
GENERIC_WORDS = frozenset({"bus", "park", "station", "terminal", "stand", "gare", "routiere", "parking", "taxi"})
# A misspelling is forgiven when it is at least this similar (0..1, difflib's ratio) to one name
# and clearly closer to it than to any other place: "kigari" is 0.83 of "kigali".
MATCH_AT = 0.8
CLEAR_LEAD = 0.05
# Names at least this similar are offered as "did you mean"; the From and To lists, shown while
# typing, offer those a little closer.
SUGGEST_AT = 0.6
OFFER_AT = 0.7


def fold(text: str) -> str:
    """``text`` as it is compared: lower case, no accents, words separated by one space."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", plain.lower()).strip()


def slug(text: str, default: str = "place") -> str:
    return fold(text).replace(" ", "-")[:30] or default


def spellings(name: str) -> set[str]:
    """The folded forms of a station's name a person may type: whole, and without generic words."""
    whole = fold(name)
    short = " ".join(word for word in whole.split() if word not in GENERIC_WORDS)
    return {whole, short} - {""}


def similarity(typed: str, name: str) -> float:
    """How close a folded typed text is to a folded name, 0..1; a name that starts with what was
    typed (three letters or more) counts as a match."""
    if typed == name:
        return 1.0
    if len(typed) >= 3 and name.startswith(typed):
        return 0.95
    return SequenceMatcher(None, typed, name).ratio()
