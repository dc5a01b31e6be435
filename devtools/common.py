"""What every dev tool shares: where the repository is, the development login, the error type."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPONENT_DIR = REPO / "custom_components" / "salto_ks"
DOMAIN = "salto_ks"

# The documented development login (scripts/develop, scripts/screenshot, tests/e2e).
DEV_NAME = "Developer"
DEV_USER = "dev"
DEV_PASSWORD = "dev-dev-dev"  # noqa: S105 - a documented local development login

LOOPBACK = "127.0.0.1"


class DevToolsError(Exception):
    """Something in the harness went wrong (process died, timeout, unexpected answer)."""
