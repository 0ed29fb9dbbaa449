"""Template conventions that a full-page render cannot catch.

htmx asks for one block of a page (``app.core.htmx.render``), and a block rendered alone sees
neither the template's top-level imports nor those of an enclosing block. So every block imports
the macros it calls itself.
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


@pytest.mark.parametrize("name", pages())
def test_every_block_imports_the_macros_it_calls(app, name):
    tree = app.jinja_env.parse((TEMPLATES / name).read_text(), name=name)
    macros = imported_names(tree.find_all((nodes.FromImport, nodes.Import)))
    for block in tree.find_all(nodes.Block):
        mine = list(own_nodes(block))
        used = {n.name for n in mine if isinstance(n, nodes.Name) and n.ctx == "load"} & macros
        missing = used - imported_names(mine)
        assert not missing, f"block {block.name} of {name} calls {sorted(missing)} without importing them in the block"


def test_a_form_fragment_with_errors_renders(client):
    response = client.htmx("post", "/login", data={"email": "nobody@example.rw", "password": "wrong-password-1"})
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "That email and password do not match an account." in body
