"""Helpers of the API client tests that are not fixtures: the record's example payloads, test values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
# A password inside a URL: no error message may repeat it.
URL_PASSWORD = "pw-in-url-5e4d"


def load(name: str) -> dict[str, Any]:
    """One of the record's example payloads."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data
