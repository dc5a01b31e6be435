"""Helpers of the API client tests that are not fixtures: the record's example payloads, test values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from custom_components.salto_ks.api import SaltoKSClient
from simulator import Simulator

FIXTURES = Path(__file__).parent / "fixtures"
# A password inside a URL: no error message may repeat it.
URL_PASSWORD = "pw-in-url-5e4d"


def load(name: str) -> dict[str, Any]:
    """One of the record's example payloads."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


async def first_lock_id(sim: Simulator, client: SaltoKSClient) -> str:
    """The id of the first lock of the simulator's site."""
    return (await client.get_locks(sim.site_id))[0].id
