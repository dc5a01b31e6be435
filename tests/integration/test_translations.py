"""Every translation key the integration core uses exists in translations/en.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from custom_components.salto_ks.binary_sensor import IQ_BINARY_SENSORS, LOCK_BINARY_SENSORS
from custom_components.salto_ks.coordinator import ROSTER_ISSUES
from custom_components.salto_ks.sensor import IQ_SENSORS, LOCK_SENSORS

PACKAGE = Path(__file__).parents[2] / "custom_components" / "salto_ks"
# Modules that raise translated errors (the platforms only name entities).
CORE_MODULES = ("__init__", "coordinator", "entity", "lock")
STRINGS = json.loads((PACKAGE / "translations" / "en.json").read_text(encoding="utf-8"))

_RAISED = re.compile(r'(?:translation_key="|_raise\("|_raise_update_failed\(\s*")([a-z_]+)"')


def _raised_keys() -> set[str]:
    keys: set[str] = {"rate_limited"}
    for module in CORE_MODULES:
        keys |= set(_RAISED.findall((PACKAGE / f"{module}.py").read_text(encoding="utf-8")))
    return keys


def test_exception_keys_exist() -> None:
    """Each exception key raised by the core has a message."""
    keys = _raised_keys()
    assert {"lock_offline", "iq_offline", "otp_required", "cannot_connect"} <= keys
    missing = keys - set(STRINGS["exceptions"])
    assert not missing


def test_entity_and_issue_keys_exist() -> None:
    """Entity names, icons and repair issues are translated."""
    for platform, descriptions in (
        ("sensor", (*LOCK_SENSORS, *IQ_SENSORS)),
        ("binary_sensor", (*LOCK_BINARY_SENSORS, *IQ_BINARY_SENSORS)),
    ):
        for description in descriptions:
            if description.translation_key is not None:
                assert description.translation_key in STRINGS["entity"][platform]
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
    for platform, entities in icons["entity"].items():
        assert set(entities) <= set(STRINGS["entity"][platform])
    for issue in ROSTER_ISSUES:
        assert {"title", "description"} <= set(STRINGS["issues"][issue])


def test_quality_scale_lists_every_rule() -> None:
    """54 rules (bronze 20, silver 10, gold 21, platinum 3); an exemption always says why."""
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    assert len(rules) == 54
    for rule, value in rules.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "todo", "exempt"}, rule
        if status == "exempt":
            assert value["comment"], rule
