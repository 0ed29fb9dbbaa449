"""Rules for the suite itself, checked on its source.

- No test module reads the clock while it is collected. A "now" computed at import is minutes old
  by the time a late test runs (a loaded machine took 11 minutes once, and a "ten minutes in the
  future" fix was in the past by then). Module constants, decorator arguments such as
  ``@pytest.mark.parametrize`` lists and default argument values are evaluated at import; a test
  takes the ``now`` fixture or reads the clock inside itself.
- Every security finding silenced with ``# noqa: S...`` says why, after the codes.
"""

from __future__ import annotations

import ast
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# datetime.now(), date.today(), datetime.utcnow(), time.time(), time.monotonic(), ...
CLOCK_METHODS = {"now", "utcnow", "today", "monotonic", "monotonic_ns", "perf_counter", "time_ns"}
# The app's own clock readers, wherever they are imported from.
CLOCK_FUNCTIONS = {"utcnow", "today_for"}


def module_name(path: Path, base: Path) -> str:
    name = ".".join(path.relative_to(base).with_suffix("").parts)
    return name.removesuffix(".__init__")


class Suite:
    """The test modules' syntax trees, and which of their functions read the clock, directly or
    through other functions of the suite."""

    def __init__(self, base: Path = ROOT):
        self.trees = {
            module_name(path, base): ast.parse(path.read_text(), str(path)) for path in (base / "tests").rglob("*.py")
        }
        self.names = {module: self._names(tree) for module, tree in self.trees.items()}
        functions = {
            (module, node.name): node
            for module, tree in self.trees.items()
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self.clocks: set[tuple[str, str]] = set()
        grew = True
        while grew:
            grew = False
            for (module, name), node in functions.items():
                if (module, name) not in self.clocks and any(self.reads_clock(module, n) for n in ast.walk(node)):
                    self.clocks.add((module, name))
                    grew = True

    def _names(self, tree: ast.Module) -> dict[str, tuple[str, str | None]]:
        """Top-level name → ("module", dotted name) or ("function", (module, name))."""
        names: dict[str, tuple] = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names[node.name] = ("function", None)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    kind = ("module", dotted) if dotted in self.trees else ("function", (node.module, alias.name))
                    names[alias.asname or alias.name] = kind
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = ("module", alias.asname and alias.name)
        return names

    def reads_clock(self, module: str, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in CLOCK_METHODS or (func.attr == "time" and getattr(func.value, "id", None) == "time"):
                return True
            bound = self.names[module].get(getattr(func.value, "id", ""))
            return bound is not None and bound[0] == "module" and (bound[1], func.attr) in self.clocks
        if isinstance(func, ast.Name):
            if func.id in CLOCK_FUNCTIONS:
                return True
            kind, origin = self.names[module].get(func.id, (None, None))
            return kind == "function" and (origin or (module, func.id)) in self.clocks
        return False


def evaluated_at_import(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """What Python runs when the module is imported: statements, class bodies, decorators and
    default values, but not the bodies of functions and lambdas."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from node.decorator_list
            yield from node.args.defaults
            yield from (default for default in node.args.kw_defaults if default is not None)
        elif isinstance(node, ast.ClassDef):
            yield from node.decorator_list
            yield from node.bases
            yield from evaluated_at_import(node.body)
        else:
            yield node


def walk_outside_functions(node: ast.AST) -> Iterator[ast.AST]:
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        yield current
        pending.extend(ast.iter_child_nodes(current))


def clock_reads_at_import(suite: Suite) -> list[str]:
    found = []
    for module, tree in sorted(suite.trees.items()):
        for top in evaluated_at_import(tree.body):
            for node in walk_outside_functions(top):
                if suite.reads_clock(module, node):
                    found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_test_module_reads_the_clock_when_it_is_collected():
    assert clock_reads_at_import(Suite()) == []


def test_the_clock_check_finds_direct_indirect_and_decorator_reads(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helpers.py").write_text(
        "from datetime import UTC, datetime\n\ndef stamp():\n    return int(datetime.now(UTC).timestamp())\n"
    )
    (tmp_path / "tests" / "test_late.py").write_text(
        "import time\n"
        "import pytest\n"
        "from app.core.models import utcnow\n"
        "from tests import helpers\n"
        "from tests.helpers import stamp\n"
        "STARTED = time.time()\n"
        "def fields(**values):\n    return {'timestamp': stamp(), **values}\n"
        "@pytest.mark.parametrize('sent', [fields(lat=1), {'at': helpers.stamp() + 600}, lambda: utcnow()])\n"
        "def test_late(sent, at=utcnow()):\n    assert stamp()\n"
    )
    found = clock_reads_at_import(Suite(tmp_path))
    lines = sorted(int(entry.split(":")[1]) for entry in found)
    assert lines == [6, 9, 9, 10], found  # time.time(), fields(...), helpers.stamp() + 600, the default


# --- Silenced security findings say why ------------------------------------------------------------

NOQA = re.compile(r"#\s*noqa:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)(?P<reason>.*)$")
SKIPPED_DIRS = {".venv", "node_modules", ".git", "instance", "__pycache__"}


def python_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*.py"):
        if not SKIPPED_DIRS & set(path.relative_to(root).parts):
            yield path


def unexplained_security_noqa(root: Path) -> list[str]:
    found = []
    for path in python_files(root):
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                match = token.type == tokenize.COMMENT and NOQA.search(token.string)
                if not match:
                    continue
                codes = [code.strip() for code in match["codes"].split(",")]
                if any(re.fullmatch(r"S[0-9]+", code) for code in codes) and len(match["reason"].strip(" ()-—:")) < 3:
                    found.append(f"{path.relative_to(root)}:{token.start[0]}: {token.string}")
    return found


def test_every_silenced_security_finding_says_why():
    assert unexplained_security_noqa(ROOT) == []


def test_the_noqa_check_tells_a_reason_from_none(tmp_path):
    (tmp_path / "module.py").write_text(
        "A = 1  # noqa: S105\n"
        "B = 2  # noqa: E501, S311\n"
        "C = 3  # noqa: S310  (our own server on loopback)\n"
        "D = 4  # noqa: F401\n"
        "E = 5  # noqa: SIM115\n"
    )
    assert [entry.split(":")[1] for entry in unexplained_security_noqa(tmp_path)] == ["1", "2"]
