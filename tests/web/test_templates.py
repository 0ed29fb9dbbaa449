"""Template conventions that a full-page render cannot catch.

htmx asks for one block of a page (``app.core.htmx.render``), and a block rendered alone sees
neither the template's top-level imports nor those of an enclosing block; an included partial may
be included from such a block. So every block and every partial imports the macros it calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import nodes

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def own_nodes(node: nodes.Node):
    """Descendants of ``node`` that belong to it, not to a nested block."""
    for child in node.iter_child_nodes():
        yield child
        if not isinstance(child, nodes.Block):
            yield from own_nodes(child)


def imported_names(among) -> set[str]:
    names = set()
    for node in among:
        if isinstance(node, nodes.FromImport):
            names |= {alias if isinstance(alias, str) else alias[1] for alias in node.names}
        elif isinstance(node, nodes.Import):
            names.add(node.target)
    return names


def pages():
    return sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))


def macro_names(app) -> set[str]:
    names = set()
    for path in (TEMPLATES / "macros").glob("*.html"):
        tree = app.jinja_env.parse(path.read_text())
        names |= {macro.name for macro in tree.find_all(nodes.Macro)}
    return names


@pytest.mark.parametrize("name", pages())
def test_every_block_and_include_imports_the_macros_it_calls(app, name):
    tree = app.jinja_env.parse((TEMPLATES / name).read_text(), name=name)
    macros = macro_names(app) | imported_names(tree.find_all((nodes.FromImport, nodes.Import)))
    scopes = [("the template", tree)] if not name.startswith("macros/") else []
    scopes += [(f"block {block.name}", block) for block in tree.find_all(nodes.Block)]
    for scope, node in scopes:
        mine = list(own_nodes(node))
        defined = {n.name for n in mine if isinstance(n, nodes.Macro)}
        used = {n.name for n in mine if isinstance(n, nodes.Name) and n.ctx == "load"} & macros
        missing = used - imported_names(mine) - defined
        assert not missing, f"{scope} of {name} calls {sorted(missing)} without importing them there"


def test_a_form_fragment_with_errors_renders(client):
    response = client.htmx("post", "/login", data={"email": "nobody@example.rw", "password": "wrong-password-1"})
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "That email and password do not match an account." in body
