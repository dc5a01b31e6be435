"""The dev tools' module layout: the order ``devtools/__init__.py`` documents is the import order.

Read from the source with ``ast`` (every import counts, also one inside a function), so a circle
cannot hide behind a deferred import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import devtools

ROOT = Path(devtools.__file__).parent


def _documented_order() -> list[str]:
    """The module names of the docstring's list, in order (``- ``a``, ``b``: job``)."""
    order: list[str] = []
    for line in (devtools.__doc__ or "").splitlines():
        if line.startswith("- ") and ":" in line:
            order += re.findall(r"``(\w+)``", line.split(":", 1)[0])
    return order


def _imports(path: Path) -> set[str]:
    """Top packages and devtools modules (as ``devtools.x``) that one module imports, anywhere."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top, _, rest = name.partition(".")
            found.add(f"devtools.{rest.split('.')[0]}" if top == "devtools" else top)
    return found


def test_every_module_is_documented_once() -> None:
    order = _documented_order()
    assert len(order) == len(set(order))
    assert sorted(order) == sorted(p.stem for p in ROOT.glob("*.py") if p.stem != "__init__")


def test_modules_import_only_modules_listed_before_them() -> None:
    order = _documented_order()
    for index, name in enumerate(order):
        imported = {i.removeprefix("devtools.") for i in _imports(ROOT / f"{name}.py")}
        inner = imported & set(order)
        assert inner <= set(order[:index]), f"{name} imports {sorted(inner - set(order[:index]))}"
        assert "homeassistant" not in imported, f"{name} imports Home Assistant"
