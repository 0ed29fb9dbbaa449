"""Company rules with no database.

How typed place names are compared: case, accents and punctuation do not count, words such as
"Bus Park" may be left out, and small misspellings are forgiven. An operator's brand colour, and
the colours that stay readable with it (WCAG 2.1 contrast)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
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


WHITE, DARK = "#ffffff", "#000000"  # one of the two reads at 4.58:1 or better on any colour
READABLE = 4.5  # WCAG AA for body text
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def parse_colour(text: str) -> str | None:
    """``#RGB``, ``#RRGGBB`` or the same without ``#``, as lower-case ``#rrggbb``; None otherwise."""
    match = _HEX.fullmatch(text.strip())
    if match is None:
        return None
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _mix(colour: str, other: str, share: float) -> str:
    """``colour`` with ``share`` (0 to 1) of ``other`` mixed in."""
    pairs = zip(rgb(colour), rgb(other), strict=True)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in pairs)


@dataclass(frozen=True)
class Palette:
    """An operator's colours for pages (the design system's ``--brand`` four) and for its mark.

    ``brand`` is the chosen colour itself, for the operator's band, banner edge and name pill,
    with ``contrast`` text on it (white or black, whichever reads better). ``text`` is the brand
    as buttons, links and current items use it: the colour itself when it reads at 4.5:1 on white
    and on ``tint``, else a darker shade that does (so white text on it reads too). ``strong``
    is its hover shade and ``tint`` a light wash of the brand."""

    brand: str
    contrast: str
    text: str
    strong: str
    tint: str


def palette(colour: str) -> Palette:
    on_brand = WHITE if contrast(colour, WHITE) >= contrast(colour, DARK) else DARK
    tint = _mix(colour, WHITE, 0.9)
    text, step = colour, 0.0
    while min(contrast(text, WHITE), contrast(text, tint)) < READABLE:
        step += 0.05
        text = _mix(colour, DARK, step)
    return Palette(brand=colour, contrast=on_brand, text=text, strong=_mix(text, DARK, 0.2), tint=tint)
