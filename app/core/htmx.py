"""One URL, page or fragment: render a whole page, or one block of it for htmx requests."""

from __future__ import annotations

from flask import Response, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """htmx swaps a part of the page, except for boosted links and history restores."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, block: str | None = None, *, status: int = 200, **context) -> Response:
    """The whole page, or only ``block`` when htmx asked for a fragment."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return Response(body, status=status)


def toast(message: str, *, level: str = "info", status: int = 200) -> Response:
    """A notice appended to the page's toast region, wherever the request meant to swap."""
    body = render_template("macros/_toast.html", message=message, level=level)
    return Response(body, status=status, headers={"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"})
