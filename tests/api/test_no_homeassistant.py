"""The API package must stay free of Home Assistant so it could ship on its own."""

from __future__ import annotations

import ast
from pathlib import Path

API_DIR = Path(__file__).parents[2] / "custom_components" / "salto_ks" / "api"
FORBIDDEN = ("homeassistant", "custom_components.salto_ks.", "simulator")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_api_package_has_sources() -> None:
    files = sorted(p.name for p in API_DIR.glob("*.py"))
    assert {"__init__.py", "client.py", "auth.py", "models.py", "exceptions.py"} <= set(files)
    assert (API_DIR / "py.typed").is_file()


def test_no_homeassistant_import() -> None:
    offenders = [
        f"{path.name}: {name}"
        for path in sorted(API_DIR.rglob("*.py"))
        for name in _imports(path)
        if name == "homeassistant" or name.startswith(FORBIDDEN)
    ]
    assert offenders == []
