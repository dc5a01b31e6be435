"""The optional unlock PIN: options flow, lock code_format and checks, salto_ks.unlock code, diagnostics."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_LOCK, SERVICE_OPEN, SERVICE_UNLOCK
from homeassistant.const import ATTR_CODE, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.salto_ks import pin as pin_module
from custom_components.salto_ks.const import (
    CONF_CLEAR_PIN,
    CONF_PIN_HASH,
    CONF_UNLOCK_PIN,
    DOMAIN,
    PIN_CODE_FORMAT,
)
from simulator import Simulator

from .conftest import lock_entity_id, setup_entry, site_entry

PIN = "80417362"
OTHER_PIN = "5190"
FULLWIDTH_1234 = "\uff11\uff12\uff13\uff14"
ARABIC_1234 = "\u0661\u0662\u0663\u0664"


@pytest.fixture
def pin_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    """Default options plus a stored PIN hash."""
    return {**entry_options, CONF_PIN_HASH: pin_module.hash_pin(PIN)}


async def _lock_call(
    hass: HomeAssistant, service: str, entity_id: str, code: str | None = None
) -> None:
    data: dict[str, Any] = {ATTR_ENTITY_ID: entity_id}
    if code is not None:
        data[ATTR_CODE] = code
    await hass.services.async_call(LOCK_DOMAIN, service, data, blocking=True)


@pytest.fixture
async def pin_entry(
    hass: HomeAssistant,
    salto_sim: Simulator,
    entry_data: dict[str, Any],
    pin_options: dict[str, Any],
) -> MockConfigEntry:
    """A loaded entry whose options hold the PIN's hash."""
    return await setup_entry(hass, site_entry(salto_sim.site_id, entry_data, pin_options))


# --- pin.py -----------------------------------------------------------------------------------------


def test_hash_and_verify() -> None:
    """Salted (two hashes differ), only ASCII digits 4-12, damaged stored values never raise."""
    first, second = pin_module.hash_pin(PIN), pin_module.hash_pin(PIN)
    assert first != second
    assert PIN not in first
    assert pin_module.verify_pin(first, PIN)
    assert pin_module.verify_pin(second, PIN)
    for wrong in (OTHER_PIN, PIN + "0", PIN[:-1], "", None, f" {PIN}", f"{PIN}\n"):
        assert not pin_module.verify_pin(first, wrong)
    for invalid in (
        "123",
        "1" * 13,
        "12a4",
        ARABIC_1234,
        FULLWIDTH_1234,
        "12 34",
        "-1234",
        "1234\x00",
    ):
        assert not pin_module.is_valid_pin(invalid)
        with pytest.raises(ValueError, match="4 to 12"):
            pin_module.hash_pin(invalid)
    for damaged in ("", "garbage", "pbkdf2_sha256$x$00$00", "md5$1000$00$00", "a$b$c$d$e"):
        assert not pin_module.verify_pin(damaged, PIN)
    algorithm, iterations, salt, digest = first.split("$")
    assert not pin_module.verify_pin(f"{algorithm}$0${salt}${digest}", PIN)
    assert not pin_module.verify_pin(f"{algorithm}${iterations}$zz${digest}", PIN)


# --- lock entity ------------------------------------------------------------------------------------


async def test_no_pin_no_code_format(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """Without a PIN the lock has no code_format and opens without a code (a code is ignored)."""
    entity_id = lock_entity_id(hass, lock_ids[0])
    assert hass.states.get(entity_id).attributes.get("code_format") is None
    await _lock_call(hass, SERVICE_UNLOCK, entity_id)
    await _lock_call(hass, SERVICE_OPEN, entity_id, code="anything")
    assert salto_sim.counters["locking"] == 2


@pytest.mark.parametrize("service", [SERVICE_UNLOCK, SERVICE_OPEN, SERVICE_LOCK])
async def test_lock_services_need_the_pin(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    pin_entry: MockConfigEntry,
    lock_ids: list[str],
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    """Missing or malformed code: HA refuses it (code_format); wrong PIN: wrong_pin; right PIN works."""
    caplog.set_level(logging.DEBUG)
    entity_id = lock_entity_id(hass, lock_ids[0])
    assert hass.states.get(entity_id).attributes["code_format"] == PIN_CODE_FORMAT
    salto_sim.reset_counters()

    for code in (None, "", "12", "abcd", "1" * 13):
        with pytest.raises(ServiceValidationError) as err:
            await _lock_call(hass, service, entity_id, code)
        assert err.value.translation_domain == LOCK_DOMAIN  # HA's own check of code_format
    for code in (OTHER_PIN, PIN[:-1] + "0"):
        with pytest.raises(ServiceValidationError) as err:
            await _lock_call(hass, service, entity_id, code)
        assert err.value.translation_domain == DOMAIN
        assert err.value.translation_key == "wrong_pin"
        assert err.value.translation_placeholders == {
            "name": hass.states.get(entity_id).attributes["friendly_name"]
        }
    assert salto_sim.counters.get("locking", 0) == 0
    refusals = [r for r in caplog.records if "wrong or missing unlock PIN" in r.getMessage()]
    assert len(refusals) == 2
    assert all(r.levelno == logging.WARNING and entity_id in r.getMessage() for r in refusals)
    assert PIN not in caplog.text
    assert OTHER_PIN not in caplog.text

    await _lock_call(hass, service, entity_id, PIN)
    assert salto_sim.counters["locking"] == 1


async def test_entity_default_code_is_used(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    salto_sim: Simulator,
    pin_entry: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """HA's per-entity default code (the user's choice) is checked like a typed code."""
    entity_id = lock_entity_id(hass, lock_ids[0])
    entity_registry.async_update_entity_options(entity_id, LOCK_DOMAIN, {"default_code": PIN})
    await hass.async_block_till_done()
    await _lock_call(hass, SERVICE_UNLOCK, entity_id)
    assert salto_sim.counters["locking"] == 1
    entity_registry.async_update_entity_options(entity_id, LOCK_DOMAIN, {"default_code": OTHER_PIN})
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, entity_id)
    assert err.value.translation_key == "wrong_pin"
    assert salto_sim.counters["locking"] == 1


# --- salto_ks.unlock --------------------------------------------------------------------------------


async def test_unlock_action_code(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    pin_entry: MockConfigEntry,
    lock_ids: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """salto_ks.unlock: no or wrong code opens none of the targets; the PIN opens all of them."""
    targets = [lock_entity_id(hass, lock_id) for lock_id in lock_ids[:2]]
    salto_sim.reset_counters()
    for extra in ({}, {"code": OTHER_PIN}, {"code": "x" * 64}, {"code": f" {PIN}"}):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "unlock", {ATTR_ENTITY_ID: targets, **extra}, blocking=True
            )
        assert err.value.translation_key == "wrong_pin"
    assert salto_sim.counters.get("locking", 0) == 0
    await hass.services.async_call(
        DOMAIN, "unlock", {ATTR_ENTITY_ID: targets, "code": PIN, "seconds": 3}, blocking=True
    )
    assert salto_sim.counters["locking"] == 2
    assert PIN not in caplog.text


async def test_unlock_action_code_too_long_is_invalid(
    hass: HomeAssistant, pin_entry: MockConfigEntry, lock_ids: list[str]
) -> None:
    """A code longer than 64 characters fails the schema (vol.Invalid), not the handler."""
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "unlock",
            {ATTR_ENTITY_ID: lock_entity_id(hass, lock_ids[0]), "code": "1" * 65},
            blocking=True,
        )


# --- options flow -----------------------------------------------------------------------------------


def _fields(result: Any) -> set[str]:
    return {str(key) for key in result["data_schema"].schema}


def _suggested(result: Any) -> dict[str, Any]:
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


async def _options(
    hass: HomeAssistant, entry: MockConfigEntry, changes: dict[str, Any]
) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    base = {k: v for k, v in entry.options.items() if k != CONF_PIN_HASH}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, **changes}
    )
    await hass.async_block_till_done()
    return result  # type: ignore[no-any-return]


async def test_options_set_keep_replace_clear_pin(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """Set stores a hash only; empty keeps it; a new PIN replaces it; the clear box removes it."""
    entry = init_integration
    entity_id = lock_entity_id(hass, lock_ids[0])
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert CONF_UNLOCK_PIN in _fields(result)
    assert CONF_CLEAR_PIN not in _fields(result)  # nothing to clear yet
    hass.config_entries.options.async_abort(result["flow_id"])

    result = await _options(hass, entry, {CONF_UNLOCK_PIN: f" {PIN} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = entry.options[CONF_PIN_HASH]
    assert PIN not in str(dict(entry.options))
    assert CONF_UNLOCK_PIN not in entry.options
    assert CONF_CLEAR_PIN not in entry.options
    assert pin_module.verify_pin(stored, PIN)
    assert hass.states.get(entity_id).attributes["code_format"] == PIN_CODE_FORMAT

    # The form offers the clear box now, and never shows the PIN or its hash.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert CONF_CLEAR_PIN in _fields(result)
    assert CONF_UNLOCK_PIN not in _suggested(result)
    assert stored not in str(_suggested(result))
    hass.config_entries.options.async_abort(result["flow_id"])

    # Saved with the PIN field empty (or absent): the PIN stays.
    result = await _options(hass, entry, {CONF_UNLOCK_PIN: ""})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_PIN_HASH] == stored
    result = await _options(hass, entry, {})
    assert entry.options[CONF_PIN_HASH] == stored

    # A new PIN replaces the old one.
    result = await _options(hass, entry, {CONF_UNLOCK_PIN: OTHER_PIN})
    assert pin_module.verify_pin(entry.options[CONF_PIN_HASH], OTHER_PIN)
    assert not pin_module.verify_pin(entry.options[CONF_PIN_HASH], PIN)
    with pytest.raises(ServiceValidationError):
        await _lock_call(hass, SERVICE_UNLOCK, entity_id, PIN)
    await _lock_call(hass, SERVICE_UNLOCK, entity_id, OTHER_PIN)

    # New PIN and the clear box together: an error, nothing changes.
    before = dict(entry.options)
    result = await _options(hass, entry, {CONF_UNLOCK_PIN: PIN, CONF_CLEAR_PIN: True})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CLEAR_PIN: "pin_and_clear"}
    assert CONF_UNLOCK_PIN not in _suggested(result)
    assert dict(entry.options) == before

    # The clear box removes it: no code_format, doors open without a code.
    result = await _options(hass, entry, {CONF_CLEAR_PIN: True})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PIN_HASH not in entry.options
    assert hass.states.get(entity_id).attributes.get("code_format") is None
    await _lock_call(hass, SERVICE_UNLOCK, entity_id)


@pytest.mark.parametrize(
    "pin",
    [
        "123",
        "1234567890123",
        "12a4",
        "12 34",
        ARABIC_1234,
        FULLWIDTH_1234,
        "12\x0034",
        "🔑🔑🔑🔑",
        "+1234",
        "x" * 10_000,
    ],
    ids=["short", "long", "letter", "space", "arabic", "fullwidth", "nul", "emoji", "plus", "10k"],
)
async def test_options_invalid_pin(
    hass: HomeAssistant, pin_entry: MockConfigEntry, pin: str
) -> None:
    """Anything but 4-12 ASCII digits is a field error; the stored PIN stays; the input is not echoed."""
    before = dict(pin_entry.options)
    result = await _options(hass, pin_entry, {CONF_UNLOCK_PIN: pin})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_UNLOCK_PIN: "invalid_pin"}
    assert CONF_UNLOCK_PIN not in _suggested(result)
    assert dict(pin_entry.options) == before


async def test_options_pin_wrong_type(hass: HomeAssistant, pin_entry: MockConfigEntry) -> None:
    """A PIN that is not text (e.g. a number from the API) fails the selector; nothing changes."""
    before = dict(pin_entry.options)
    result = await hass.config_entries.options.async_init(pin_entry.entry_id)
    base = {k: v for k, v in before.items() if k != CONF_PIN_HASH}
    for value in (1234, ["1234"], {"pin": "1234"}):
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(
                result["flow_id"], {**base, CONF_UNLOCK_PIN: value}
            )
    assert dict(pin_entry.options) == before


# --- diagnostics ------------------------------------------------------------------------------------


async def test_diagnostics_hide_the_pin(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, pin_entry: MockConfigEntry
) -> None:
    """Neither the PIN nor its hash (nor its salt) appears in the diagnostics."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, pin_entry)
    stored = pin_entry.options[CONF_PIN_HASH]
    text = str(diagnostics)
    assert diagnostics["entry"]["options"][CONF_PIN_HASH] == "**REDACTED**"
    assert PIN not in text
    for part in stored.split("$")[2:]:
        assert part not in text
