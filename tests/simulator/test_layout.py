"""The simulator's module layout: the world apart from the server, imports one way, no circle.

Read from the source with ``ast`` (every import counts: module level, ``if TYPE_CHECKING``, inside a
function), so a circle cannot hide behind a deferred import.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "simulator"
ROOT = Path(__file__).parents[2] / PACKAGE
# State and domain verbs; they import neither aiohttp nor a server module.
WORLD = frozenset(
    {
        "faults",
        "guests",
        "models",
        "monitor",
        "oidc",
        "otp",
        "ratelimit",
        "scenarios",
        "state",
        "stream",
        "tenant",
        "tokens",
        "world",
    }
)


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in ROOT.glob("*.py")}


def _imports(tree: ast.Module, modules: set[str]) -> set[str]:
    """What one module imports, anywhere in it: simulator modules by name, others by top package."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                found.add((rest.split(".")[0] or "__init__") if top == PACKAGE else top)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            top, _, rest = module.partition(".")
            if node.level == 0 and top != PACKAGE:
                found.add(top)
                continue
            inner = top if node.level else rest.split(".")[0]
            if inner:
                found.add(inner)
            else:  # ``from . import x``: x is a module of the package or a name in __init__
                found.update(a.name if a.name in modules else "__init__" for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    trees = _modules()
    names = set(trees)
    return {name: _imports(tree, names) & names for name, tree in trees.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first module repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            if (found := visit(target)) is not None:
                return found
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if (found := visit(start)) is not None:
            return found
    return None


def test_cycle_finder_sees_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_imports_are_read_in_every_form() -> None:
    source = """
from . import app
from .world import World
import simulator.state
from simulator import Simulator
if TYPE_CHECKING:
    from aiohttp import web
def later():
    import json
"""
    found = _imports(ast.parse(source), {"app", "world", "state"})
    assert found == {"app", "world", "state", "__init__", "aiohttp", "json"}


def test_no_import_circle() -> None:
    assert _cycle(_graph()) is None


def test_no_import_inside_a_function() -> None:
    """A deferred import is how a circle hides; none is needed."""
    deferred = [
        f"{name}:{node.lineno}"
        for name, tree in _modules().items()
        for func in ast.walk(tree)
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(func)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert deferred == []


def test_world_imports_only_the_world() -> None:
    """Imports go one way: server -> world. The world has no HTTP in it."""
    trees = _modules()
    assert set(trees) >= WORLD, "WORLD names a module that does not exist"
    wrong = {
        name: sorted(
            target
            for target in _imports(trees[name], set(trees))
            if target == "aiohttp" or (target in trees and target not in WORLD)
        )
        for name in WORLD
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}
