"""Translations, icons, services.yaml and quality_scale.yaml agree with each other and with the code.

Pure file checks (JSON/YAML, and the integration's source parsed with ``ast``); no Home Assistant
instance is needed. Moved here from tests/integration/test_translations.py and extended.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

PACKAGE = Path(__file__).parents[1] / "custom_components" / "salto_ks"
TRANSLATIONS = PACKAGE / "translations"
LANGUAGES = ("en", "de", "nl", "es", "fr")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Callees that are exceptions taking translation_key (HomeAssistantError, ServiceValidationError,
# UpdateFailed, ConfigEntryAuthFailed, ConfigEntryNotReady, ...).
EXCEPTION_CALLEE = re.compile(r"(Error|Failed|NotReady|Exception)$")


def _load(language: str) -> dict[str, Any]:
    return json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _flatten(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{path}.")
        else:
            yield path, value


@cache
def _strings(language: str) -> dict[str, Any]:
    return dict(_flatten(_load(language)))


# --- the five languages -------------------------------------------------------------------------


def test_translation_files_exist() -> None:
    """Exactly the five shipped languages."""
    assert sorted(path.stem for path in TRANSLATIONS.glob("*.json")) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_as_english(language: str) -> None:
    """Every language has exactly the keys of en.json."""
    english = set(_strings("en"))
    keys = set(_strings(language))
    assert not english - keys, f"missing in {language}.json"
    assert not keys - english, f"not in en.json but in {language}.json"


@pytest.mark.parametrize("language", LANGUAGES)
def test_strings_are_clean(language: str) -> None:
    """Non-empty strings without surrounding spaces or HTML (hassfest's rules)."""
    for path, value in _strings(language).items():
        assert isinstance(value, str), path
        assert value.strip(), path
        assert value == value.strip(), path
        assert not re.search(r"<[a-z/][^>]*>", value), path
        assert "'{" not in value, path


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_placeholders_match_english(language: str) -> None:
    """Each string uses the same placeholders as its English original."""
    english = _strings("en")
    for path, value in _strings(language).items():
        expected = sorted(PLACEHOLDER.findall(english[path]))
        assert sorted(PLACEHOLDER.findall(value)) == expected, f"{language}: {path}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_data_descriptions_have_fields(language: str) -> None:
    """hassfest: every data_description key is also a data key."""
    data = _load(language)
    for section in ("config", "options"):
        for step_id, step in data[section]["step"].items():
            assert set(step.get("data_description", {})) <= set(step.get("data", {})), step_id


# --- what the code uses ---------------------------------------------------------------------------


def _modules() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(PACKAGE.glob("*.py"))
    }


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _translation_key(call: ast.Call) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == "translation_key"), None)


def _is_exception_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and (callee := _callee(node)) is not None
        and EXCEPTION_CALLEE.search(callee) is not None
        and _translation_key(node) is not None
    )


def _key_argument(call: ast.Call, helper: tuple[int, str, bool]) -> ast.expr | None:
    """The argument a call of a key helper passes as the translation key."""
    index, name, method = helper
    if method and isinstance(call.func, ast.Attribute):
        index -= 1  # self.helper(...): self is not in the call's arguments
    argument = next((kw.value for kw in call.keywords if kw.arg == name), None)
    if argument is None and 0 <= index < len(call.args):
        argument = call.args[index]
    return argument


def _key_helpers(modules: dict[str, ast.Module]) -> dict[str, tuple[int, str, bool]]:
    """Functions that pass one of their parameters as an exception's translation_key, directly or
    through another such function (``_raise`` -> ``translated_error`` -> ``HomeAssistantError``).

    name -> (parameter index, parameter name, is a method taking self).
    """
    helpers: dict[str, tuple[int, str, bool]] = {}
    changed = True
    while changed:
        changed = False
        for module in modules.values():
            for func in ast.walk(module):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if func.name in helpers:
                    continue
                params = [arg.arg for arg in func.args.posonlyargs + func.args.args]
                for node in ast.walk(func):
                    if not isinstance(node, ast.Call):
                        continue
                    if _is_exception_call(node):
                        key = _translation_key(node)
                    elif (helper := helpers.get(_callee(node) or "")) is not None:
                        key = _key_argument(node, helper)
                    else:
                        continue
                    if isinstance(key, ast.Name) and key.id in params:
                        helpers[func.name] = (
                            params.index(key.id),
                            key.id,
                            bool(params) and params[0] == "self",
                        )
                        changed = True
                        break
    return helpers


def _key_tables(module: ast.Module) -> set[str]:
    """The keys of the module-level tables of client error -> translation key (``*_KEYS``)."""
    keys: set[str] = set()
    for node in module.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if not isinstance(target, ast.Name) or not target.id.endswith("_KEYS"):
            continue
        if isinstance(node.value, ast.Dict):
            keys.update(
                value.value
                for value in node.value.values
                if isinstance(value, ast.Constant) and isinstance(value.value, str)
            )
    return keys


def raised_exception_keys() -> set[str]:
    """Every exception translation key the integration raises, found with ast.

    Direct ``SomeError(translation_key="…")`` calls, string constants passed to helpers that
    forward a parameter as ``translation_key`` (``_raise("…")``, ``validation_error("…")``, …), and
    the values of errors.py's tables of client error -> key (``COMMAND_KEYS``, ``READ_KEYS``).
    """
    modules = _modules()
    helpers = _key_helpers(modules)
    keys: set[str] = set()
    for module in modules.values():
        for node in ast.walk(module):
            if not isinstance(node, ast.Call):
                continue
            if _is_exception_call(node):
                key = _translation_key(node)
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    keys.add(key.value)
                continue
            if (helper := helpers.get(_callee(node) or "")) is None:
                continue
            argument = _key_argument(node, helper)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                keys.add(argument.value)
        keys |= _key_tables(module)
    return keys


def test_raised_exception_keys_exist() -> None:
    """Every translation key the code raises has a message in en.json (so in every language)."""
    keys = raised_exception_keys()
    # The parser sees direct raises, the lock's/services' helpers and the coordinator's.
    assert {
        "invalid_auth",  # ConfigEntryAuthFailed(translation_key=...)
        "rate_limited",  # UpdateFailed(translation_key=...)
        "lock_offline",  # self._raise(...) in lock.py, through translated_error(...)
        "cannot_connect",  # translated_error(...) in errors.py
        "no_target",  # validation_error(...) in service_targets.py
        "action_not_permitted",  # READ_KEYS in errors.py
        "otp_required",  # COMMAND_KEYS in errors.py
    } <= keys
    exceptions = _load("en")["exceptions"]
    assert not keys - set(exceptions), "raised but not translated"
    for key, value in exceptions.items():
        assert set(value) == {"message"}, key


def _module_constants(module: ast.Module) -> dict[str, Any]:
    constants: dict[str, Any] = {}
    for node in module.body:
        target = value = None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        if target is None or value is None:
            continue
        if isinstance(value, ast.Constant):
            constants[target] = value.value
        elif isinstance(value, ast.Tuple):
            constants[target] = tuple(
                constants.get(elt.id) if isinstance(elt, ast.Name) else getattr(elt, "value", None)
                for elt in value.elts
            )
    return constants


def _entity_keys(modules: dict[str, ast.Module]) -> set[tuple[str, str]]:
    """(platform, translation_key) of entity descriptions and ``_attr_translation_key``s."""
    keys: set[tuple[str, str]] = set()
    for platform in ("binary_sensor", "sensor", "event", "lock"):
        if platform not in modules:
            continue
        for node in ast.walk(modules[platform]):
            value: ast.expr | None = None
            if isinstance(node, ast.Call) and (_callee(node) or "").endswith("EntityDescription"):
                value = _translation_key(node)
            elif isinstance(node, ast.Call) and _callee(node) == "named" and node.args:
                # binary_sensor.named(key, ...): the key is the translation key
                value = node.args[0]
            elif (
                isinstance(node, ast.Assign | ast.AnnAssign)
                and isinstance(
                    target := (node.targets[0] if isinstance(node, ast.Assign) else node.target),
                    ast.Name,
                )
                and target.id == "_attr_translation_key"
            ):
                value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                keys.add((platform, value.value))
    return keys


def test_entity_and_issue_keys_exist() -> None:
    """Entity names and repair issues used by the code are translated; icons name known entities."""
    strings = _load("en")
    modules = _modules()
    entity_keys = _entity_keys(modules)
    assert ("binary_sensor", "left_open") in entity_keys
    assert ("sensor", "signal_strength") in entity_keys
    for platform, key in entity_keys:
        assert key in strings["entity"][platform], f"{platform}.{key}"
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
    for platform, entities in icons["entity"].items():
        assert set(entities) <= set(strings["entity"][platform]), platform
    roster_issues = _module_constants(modules["issues"])["ROSTER_ISSUES"]
    budget_issues = _module_constants(modules["entity_budget"])["BUDGET_ISSUES"]
    assert roster_issues
    assert budget_issues == ("entity_budget", "entity_limit")
    for issue in (*roster_issues, *budget_issues):
        assert {"title", "description"} <= set(strings["issues"][issue]), issue


# --- actions --------------------------------------------------------------------------------------


def test_services_yaml_matches_translations_and_icons() -> None:
    """Each action and each field of services.yaml has a name and description, and an icon."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    strings = _load("en")["services"]
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))["services"]
    assert set(services) == set(strings) == set(icons)
    # services.py registers the actions, some from their own modules (*_services.py).
    registered = {
        value
        for module, tree in _modules().items()
        if module == "services" or module.endswith("_services")
        for name, value in _module_constants(tree).items()
        if name.startswith("SERVICE_")
    }
    assert registered == set(services)
    for service, description in services.items():
        assert {"name", "description"} <= set(strings[service]), service
        assert icons[service]["service"].startswith("mdi:"), service
        fields = description.get("fields", {})
        assert set(fields) == set(strings[service].get("fields", {})), service
        for field_name in fields:
            assert set(strings[service]["fields"][field_name]) == {"name", "description"}
            config_entry = fields[field_name]["selector"].get("config_entry")
            if config_entry is not None:
                assert config_entry == {"integration": "salto_ks"}
        if "target" in description:
            assert description["target"] == {
                "entity": {"integration": "salto_ks", "domain": "lock"}
            }
    # The physical open time is the lock's own setting: the duration's description says so.
    assert "lock" in strings["unlock"]["fields"]["seconds"]["description"].lower()


# --- quality scale --------------------------------------------------------------------------------


def test_quality_scale_lists_every_rule() -> None:
    """54 rules (bronze 20, silver 10, gold 21, platinum 3); an exemption always says why."""
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    assert len(rules) == 54
    for rule, value in rules.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "todo", "exempt"}, rule
        if status == "exempt":
            assert value["comment"], rule
    for rule in ("action-setup", "action-exceptions"):
        status = rules[rule] if isinstance(rules[rule], str) else rules[rule]["status"]
        assert status == "done", rule
