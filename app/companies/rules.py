"""An operator's brand colour, and the colours that stay readable with it (WCAG 2.1 contrast)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
