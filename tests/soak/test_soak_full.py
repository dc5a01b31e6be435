"""The full soak (``scripts/soak``): skipped unless ``SALTO_SOAK=1``.

Knobs: ``SALTO_SOAK_ROWS`` (5000), ``SALTO_SOAK_LOCKS`` (20), ``SALTO_SOAK_SEED`` (1); the report
goes to ``SALTO_SOAK_OUT`` as JSON, for ``scripts/soak_report.py``. The test itself asserts nothing
about the targets: the report says which hold (and ``scripts/soak`` exits non-zero when one is
missed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from .engine import Soak, SoakConfig


@pytest.mark.soak
async def test_soak_full(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    socket_enabled: None,
) -> None:
    """Run the soak with the environment's knobs and write its report."""
    config = SoakConfig(
        rows=int(os.environ.get("SALTO_SOAK_ROWS", "5000")),
        locks=int(os.environ.get("SALTO_SOAK_LOCKS", "20")),
        seed=int(os.environ.get("SALTO_SOAK_SEED", "1")),
    )
    report = await Soak(hass, freezer, hass_storage, config).run()
    out = Path(os.environ.get("SALTO_SOAK_OUT", ".soak-results.json"))
    await hass.async_add_executor_job(out.write_text, json.dumps(report, indent=2) + "\n")
