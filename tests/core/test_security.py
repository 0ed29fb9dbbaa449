"""The Content-Security-Policy: this site, and the map's tile host for images, nothing wider."""

from __future__ import annotations

from app.core.security import content_security_policy


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split("; "))}


def test_pages_connect_only_to_this_site_and_take_images_only_from_it_and_the_tile_host(client, app):
    policy = directives(client.get("/").headers["Content-Security-Policy"])
    assert policy["connect-src"] == ["'self'", "ws://tms.test"]  # BASE_URL is http://tms.test here
    assert policy["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert not any(value in ("https:", "http:", "ws:", "wss:", "*") for values in policy.values() for value in values)


def test_the_policy_follows_the_sites_scheme_and_the_configured_tiles():
    policy = directives(
        content_security_policy("https://tickets.example.rw", "https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    )
    assert policy["connect-src"] == ["'self'", "wss://tickets.example.rw"]
    assert policy["img-src"] == ["'self'", "data:", "https://*.tiles.example.org"]
    assert directives(content_security_policy("http://127.0.0.1:8000", "/no-tiles/{z}/{x}/{y}.png"))["img-src"] == [
        "'self'",
        "data:",
    ]
