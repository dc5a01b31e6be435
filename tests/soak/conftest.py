"""Soak fixtures: the full soak (``scripts/soak``) runs only when ``SALTO_SOAK=1``."""

from __future__ import annotations

import os

import pytest

ENABLED = os.environ.get("SALTO_SOAK") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the full soak unless SALTO_SOAK=1 (scripts/soak sets it); the short one always runs."""
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="full soak: run scripts/soak (or set SALTO_SOAK=1)")
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/salto_ks."""
