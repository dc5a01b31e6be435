"""Typed one-time codes through Home Assistant against the simulator: the lock's code_format behind an
OTP IQ, the IQ's "remote opening needs a one-time code" sensor, lock.unlock / lock.open / lock.lock and
salto_ks.unlock with a good, a wrong, an expired and a blocked code, the unlock PIN followed by the
code, and that no code reaches a log line, a state, diagnostics or an exception."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_LOCK, SERVICE_OPEN, SERVICE_UNLOCK
from homeassistant.const import ATTR_CODE, ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.salto_ks import pin as pin_module
from custom_components.salto_ks.const import CONF_PIN_HASH, DOMAIN, OTP_DOCS_URL, PIN_CODE_FORMAT
from custom_components.salto_ks.lock import OTP_CODE_FORMAT, PIN_OTP_CODE_FORMAT
from simulator import Simulator

from .conftest import async_refresh_roster, call_action, lock_entity_id, setup_entry, site_entry

PIN = "80417362"


def _wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return "00000" if code.lower() != "00000" else "11111"


async def _lock_call(
    hass: HomeAssistant, service: str, entity_id: str, code: str | None = None
) -> None:
    data: dict[str, Any] = {ATTR_ENTITY_ID: entity_id}
    if code is not None:
        data[ATTR_CODE] = code
    await hass.services.async_call(LOCK_DOMAIN, service, data, blocking=True)


def _iq_sensor(hass: HomeAssistant, iq_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{iq_id}_otp_required"
    )
    assert entity_id is not None
    return entity_id


@pytest.fixture
async def otp_lock(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> str:
    """The first lock's entity, its IQ asking for a one-time code (roster polled)."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, init_integration)
    return lock_entity_id(hass, lock_id)


async def test_iq_device_shows_the_otp_need(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> None:
    """Before any command: the IQ's diagnostic sensor and the lock's code_format say a code is needed."""
    sensor = _iq_sensor(hass, iq_id)
    entity_id = lock_entity_id(hass, lock_id)
    assert hass.states.get(sensor).state == STATE_OFF
    assert "code_format" not in hass.states.get(entity_id).attributes
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, init_integration)
    assert hass.states.get(sensor).state == STATE_ON
    assert hass.states.get(entity_id).attributes["code_format"] == OTP_CODE_FORMAT
    entry = er.async_get(hass).async_get(sensor)
    assert entry is not None
    assert entry.entity_category == "diagnostic"


@pytest.mark.parametrize("service", [SERVICE_UNLOCK, SERVICE_OPEN])
async def test_good_code_opens(
    hass: HomeAssistant, salto_sim: Simulator, *, otp_lock: str, iq_id: str, service: str
) -> None:
    salto_sim.reset_counters()
    await _lock_call(hass, service, otp_lock, salto_sim.valid_otp(iq_id))
    assert salto_sim.counters["locking"] == 1
    assert salto_sim.entries()[-1]["event_category"] == "lock_opened"
    assert hass.states.get(otp_lock).state in {"unlocked", "open"}


async def test_code_is_case_insensitive_and_reusable(
    hass: HomeAssistant, salto_sim: Simulator, otp_lock: str, iq_id: str
) -> None:
    """Salto: one code works for several operations within its 3 minutes."""
    code = salto_sim.valid_otp(iq_id)
    await _lock_call(hass, SERVICE_UNLOCK, otp_lock, code.upper())
    await _lock_call(hass, SERVICE_UNLOCK, otp_lock, code)
    assert [row["event_category"] for row in salto_sim.entries()[-2:]] == ["lock_opened"] * 2


async def test_lock_sends_the_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    otp_lock: str,
    lock_id: str,
    iq_id: str,
) -> None:
    """lock.lock behind an OTP IQ: without a code the message is about locking, with one it locks."""
    salto_sim.set_lock(lock_id, locked_state="office_mode")
    await async_refresh_roster(hass, init_integration)
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_LOCK, otp_lock)
    assert err.value.translation_key == "otp_required_lock"
    assert "locking" in str(err.value)
    assert "opening" not in str(err.value)
    await _lock_call(hass, SERVICE_LOCK, otp_lock, salto_sim.valid_otp(iq_id))
    assert salto_sim.state.locks[lock_id].locked_state == "locked"
    assert hass.states.get(otp_lock).state == "locked"


async def test_missing_code_names_the_iq(
    hass: HomeAssistant, salto_sim: Simulator, otp_lock: str, iq_id: str
) -> None:
    """No code typed and none computed: the cloud's refusal, naming the IQ and what to do."""
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock)
    assert err.value.translation_key == "otp_required"
    assert err.value.translation_placeholders["iq"] == salto_sim.state.iqs[iq_id].name
    assert salto_sim.state.iqs[iq_id].name in str(err.value)
    assert OTP_DOCS_URL in str(err.value)
    assert salto_sim.counters["locking"] == 1


async def test_code_of_the_wrong_shape_is_refused_by_home_assistant(
    hass: HomeAssistant, salto_sim: Simulator, otp_lock: str
) -> None:
    salto_sim.reset_counters()
    for code in ("1234", "abcdefg", "zzzzz", "12 45"):
        with pytest.raises(ServiceValidationError) as err:
            await _lock_call(hass, SERVICE_UNLOCK, otp_lock, code)
        assert err.value.translation_domain == LOCK_DOMAIN
    assert salto_sim.counters.get("locking", 0) == 0


async def test_wrong_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    otp_lock: str,
    iq_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = _wrong(salto_sim.valid_otp(iq_id))
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, wrong)
    assert err.value.translation_key == "otp_invalid"
    assert salto_sim.state.iqs[iq_id].name in str(err.value)
    assert "3 minutes" in str(err.value)
    assert wrong not in str(err.value)
    assert wrong not in caplog.text
    assert salto_sim.entries()[-1]["event_category"] != "lock_opened" or (
        salto_sim.entries()[-1]["access_by"] != "remote"
    )


async def test_expired_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    otp_lock: str,
    iq_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A code from the app is refused once its 3 minutes are over."""
    code = salto_sim.valid_otp(iq_id)
    freezer.tick(timedelta(minutes=4))
    if salto_sim.valid_otp(iq_id).lower() == code.lower():
        pytest.fail("the simulator's code did not change after 4 minutes")
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, code)
    assert err.value.translation_key == "otp_invalid"


async def test_blocked_says_until_when(
    hass: HomeAssistant, salto_sim: Simulator, otp_lock: str, iq_id: str
) -> None:
    wrong = _wrong(salto_sim.valid_otp(iq_id))
    keys: list[str | None] = []
    for _ in range(12):
        with pytest.raises(HomeAssistantError) as err:
            await _lock_call(hass, SERVICE_UNLOCK, otp_lock, wrong)
        keys.append(err.value.translation_key)
        if err.value.translation_key == "otp_blocked":
            break
    assert keys[0] == "otp_invalid"
    assert keys[-1] == "otp_blocked"
    # Blocked: even the right code is refused, and the message says until when.
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, salto_sim.valid_otp(iq_id))
    assert err.value.translation_key == "otp_blocked"
    until = err.value.translation_placeholders["until"]
    assert until in str(err.value)
    assert "20 minutes" in str(err.value)
    assert salto_sim.state.iqs[iq_id].name in str(err.value)


async def test_a_blocked_iq_is_refused_locally_until_the_block_ends(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    otp_lock: str,
    lock_ids: list[str],
    iq_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Home Assistant remembers the block: every command on the IQ's locks (opening, locking, office
    mode; entity, switch or action; typed code or none) is refused unsent, naming the IQ and the
    time it ends, until it does."""
    freezer.move_to("2026-08-25T07:25:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    iq_name = salto_sim.state.iqs[iq_id].name
    salto_sim.state.iqs[iq_id].otp_blocked_until = salto_sim.now() + 20 * 60
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, salto_sim.valid_otp(iq_id))
    assert err.value.translation_key == "otp_blocked"
    assert err.value.translation_placeholders["until"] == "07:45"
    assert salto_sim.counters["locking"] == 1

    freezer.tick(timedelta(minutes=5))
    other = lock_entity_id(hass, lock_ids[1])  # another lock behind the same IQ
    office_switch = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{lock_ids[0]}_manual_office_mode"
    )
    assert office_switch is not None
    good = salto_sim.valid_otp(iq_id)
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: _lock_call(hass, SERVICE_UNLOCK, otp_lock, good),
        lambda: _lock_call(hass, SERVICE_OPEN, other, good),
        lambda: _lock_call(hass, SERVICE_LOCK, otp_lock),
        lambda: call_action(hass, "unlock", {ATTR_ENTITY_ID: other, "otp": good}),
        lambda: call_action(hass, "set_office_mode", {ATTR_ENTITY_ID: otp_lock, "enabled": True}),
        lambda: hass.services.async_call(
            "switch", "turn_on", {ATTR_ENTITY_ID: office_switch}, blocking=True
        ),
    ]
    for call in calls:
        with pytest.raises(HomeAssistantError) as err:
            await call()
        assert err.value.translation_key == "otp_blocked"
        assert iq_name in str(err.value)
        assert "07:45" in str(err.value)
    assert salto_sim.counters["locking"] == 1

    # The block ends: commands go out again.
    freezer.move_to("2026-08-25T07:45:01+00:00")
    await _lock_call(hass, SERVICE_UNLOCK, otp_lock, salto_sim.valid_otp(iq_id))
    assert salto_sim.counters["locking"] == 2
    assert salto_sim.entries()[-1]["access_by"] == "remote"


async def test_a_reload_forgets_the_block(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    otp_lock: str,
    iq_id: str,
) -> None:
    """The memory lives with the loaded entry: after a reload the next command asks the cloud."""
    salto_sim.state.iqs[iq_id].otp_blocked_until = salto_sim.now() + 20 * 60
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError):
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, salto_sim.valid_otp(iq_id))
    with pytest.raises(HomeAssistantError):
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, salto_sim.valid_otp(iq_id))
    assert salto_sim.counters["locking"] == 1
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, otp_lock, salto_sim.valid_otp(iq_id))
    assert err.value.translation_key == "otp_blocked"
    assert salto_sim.counters["locking"] == 2


async def test_salto_ks_unlock_takes_otp(
    hass: HomeAssistant, salto_sim: Simulator, otp_lock: str, iq_id: str
) -> None:
    await call_action(hass, "unlock", {ATTR_ENTITY_ID: otp_lock, "otp": salto_sim.valid_otp(iq_id)})
    assert salto_sim.entries()[-1]["access_by"] == "remote"
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass, "unlock", {ATTR_ENTITY_ID: otp_lock, "otp": _wrong(salto_sim.valid_otp(iq_id))}
        )
    assert err.value.translation_key == "otp_invalid"
    # The schema refuses a code of the wrong shape (HA versions differ in the exception type).
    with pytest.raises((vol.Invalid, ServiceValidationError), match="one-time code"):
        await call_action(hass, "unlock", {ATTR_ENTITY_ID: otp_lock, "otp": "not-a-code"})


async def test_pin_then_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    lock_id: str,
    iq_id: str,
) -> None:
    """With the unlock PIN behind an OTP IQ the code is the PIN followed by the OTP."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    options = {**entry_options, CONF_PIN_HASH: pin_module.hash_pin(PIN)}
    await setup_entry(hass, site_entry(salto_sim.site_id, entry_data, options))
    entity_id = lock_entity_id(hass, lock_id)
    assert hass.states.get(entity_id).attributes["code_format"] == PIN_OTP_CODE_FORMAT
    salto_sim.reset_counters()
    # The PIN alone passes the PIN check and sends no code (the cloud asks for one).
    with pytest.raises(HomeAssistantError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, entity_id, PIN)
    assert err.value.translation_key == "otp_required"
    # A wrong PIN with a good code: refused before any request.
    with pytest.raises(ServiceValidationError) as err:
        await _lock_call(hass, SERVICE_UNLOCK, entity_id, "5190" + salto_sim.valid_otp(iq_id))
    assert err.value.translation_key == "wrong_pin"
    assert salto_sim.counters["locking"] == 1
    await _lock_call(hass, SERVICE_UNLOCK, entity_id, PIN + salto_sim.valid_otp(iq_id))
    assert salto_sim.counters["locking"] == 2
    assert salto_sim.entries()[-1]["access_by"] == "remote"
    # Without the OTP IQ the code is the PIN alone again.
    salto_sim.set_iq(iq_id, otp_enabled=False)
    await async_refresh_roster(hass, hass.config_entries.async_entries(DOMAIN)[0])
    assert hass.states.get(entity_id).attributes["code_format"] == PIN_CODE_FORMAT


async def test_no_code_anywhere(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    otp_lock: str,
    iq_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Typed codes (good and wrong) reach no log line, state, attribute, diagnostics or exception."""
    caplog.set_level(logging.DEBUG)
    good = salto_sim.valid_otp(iq_id)
    wrong = _wrong(good)
    texts: list[str] = []
    await _lock_call(hass, SERVICE_UNLOCK, otp_lock, good)
    for service in (SERVICE_UNLOCK, SERVICE_LOCK):
        with pytest.raises(HomeAssistantError) as err:
            await _lock_call(hass, service, otp_lock, wrong)
        cause: BaseException | None = err.value
        while cause is not None:
            texts += [str(cause), repr(cause), repr(vars(cause))]
            cause = cause.__cause__
    states = [repr(state.as_dict()) for state in hass.states.async_all()]
    diagnostics = repr(await get_diagnostics_for_config_entry(hass, hass_client, init_integration))
    for code in (good, wrong):
        assert code not in caplog.text
        assert not [text for text in texts if code in text]
        assert not [state for state in states if code in state]
        assert code not in diagnostics
