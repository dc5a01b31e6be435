"""What a Home Assistant config dir holds before Home Assistant first starts in it."""

from __future__ import annotations

import json
from pathlib import Path

from devtools.common import COMPONENT_DIR, DOMAIN, LOOPBACK, DevToolsError

# Integrations the core_config onboarding step (POST /api/onboarding/core_config) starts config flows
# for. Offline and with --skip-pip, met, radio_browser and google_translate log ERROR tracebacks
# (requirements not installed, services on the internet); none belongs in a development instance.
ONBOARDING_DOMAINS = frozenset({"google_translate", "met", "radio_browser", "shopping_list"})
# Home Assistant's onboarding store (.storage/onboarding), as it writes it itself. configuration.yaml
# already sets everything the core_config step confirms (location, units, time zone, currency), so
# a new config dir starts with that step done and it is never posted.
ONBOARDING_STORE_VERSION = 4
SKIPPED_ONBOARDING_STEPS = ("core_config",)


def link_component(config_dir: Path) -> Path:
    """Make ``CONFIG/custom_components/salto_ks`` a symlink to the repository's component."""
    target_dir = config_dir / "custom_components"
    target_dir.mkdir(parents=True, exist_ok=True)
    link = target_dir / DOMAIN
    if link.is_symlink() and link.resolve() == COMPONENT_DIR.resolve():
        return link
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise DevToolsError(f"{link} exists and is not a symlink; move it away")
    link.symlink_to(COMPONENT_DIR.resolve(), target_is_directory=True)
    return link


def skip_onboarding_integrations(config_dir: Path) -> None:
    """Before Home Assistant first starts in ``config_dir``: mark the core_config step done.

    Onboarding then asks only for the owner, analytics and the frontend's login, and no config flow
    of ONBOARDING_DOMAINS ever starts. A config dir that already has an onboarding store is left alone.
    """
    store = config_dir / ".storage" / "onboarding"
    if store.exists():
        return
    store.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "version": ONBOARDING_STORE_VERSION,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": list(SKIPPED_ONBOARDING_STEPS)},
    }
    store.write_text(json.dumps(content, indent=2), encoding="utf-8")


def write_test_config(config_dir: Path, *, port: int, extra: str = "") -> None:
    """A lean configuration.yaml for a throwaway Home Assistant on 127.0.0.1:``port``.

    Home Assistant always sets up its default integrations (frontend among them); this adds
    nothing more than the config API and debug logging for the integration.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        "homeassistant:\n"
        "  name: Salto KS e2e\n"
        "  time_zone: UTC\n"
        "  unit_system: metric\n"
        "  country: NL\n"
        "  currency: EUR\n"
        "  latitude: 52.37\n"
        "  longitude: 4.89\n"
        "  elevation: 0\n"
        "http:\n"
        f"  server_host: {LOOPBACK}\n"
        f"  server_port: {port}\n"
        "config:\n"
        "logger:\n"
        "  default: warning\n"
        "  logs:\n"
        "    custom_components.salto_ks: debug\n"
        "    homeassistant.setup: info\n"
        "    homeassistant.bootstrap: info\n"
        "    homeassistant.config_entries: info\n" + extra,
        encoding="utf-8",
    )
