"""Manual office mode through Home Assistant against the simulator: the switch per lock (on an IQ
without and with OTP, with a computed code, the missing user right, the unlock PIN, an offline lock),
the easy office mode schedule in its attributes, and the salto_ks.set_office_mode action (PIN, OTP)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_CODE,
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks import pin as pin_module
from custom_components.salto_ks.api.otp import compute_otp
from custom_components.salto_ks.const import CONF_PIN_HASH, DOMAIN
from custom_components.salto_ks.otp import async_store_activation
from simulator import Simulator

from .conftest import (
    async_refresh_roster,
    call_action,
    caller_site_user_id,
    lock_entity_id,
    setup_entry,
    site_entry,
)

PIN = "80417362"


def switch_id(hass: HomeAssistant, lock_id: str) -> str:
    """The manual office mode switch of a lock."""
    entity_id = er.async_get(hass).async_get_entity_id(
        SWITCH_DOMAIN, DOMAIN, f"{lock_id}_manual_office_mode"
    )
    assert entity_id is not None
    return entity_id


async def _switch(hass: HomeAssistant, service: str, entity_id: str) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


def _wrong(code: str) -> str:
    return "00000" if code.lower() != "00000" else "11111"


async def test_switch_on_and_off(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """One switch per lock; on starts office mode in the cloud, off locks; the binary sensor follows."""
    switches = [switch_id(hass, lock_id) for lock_id in lock_ids]
    assert len(set(switches)) == len(lock_ids)
    lock_id = lock_ids[1]
    entity_id = switch_id(hass, lock_id)
    assert hass.states.get(entity_id).state == STATE_OFF
    await _switch(hass, SERVICE_TURN_ON, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "office_mode"
    assert hass.states.get(entity_id).state == STATE_ON
    assert hass.states.get(lock_entity_id(hass, lock_id, "office_mode")).state == STATE_ON
    assert salto_sim.entries()[-1]["event_category"] == "office_mode"
    await _switch(hass, SERVICE_TURN_OFF, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "locked"
    assert hass.states.get(entity_id).state == STATE_OFF
    assert hass.states.get(lock_entity_id(hass, lock_id)).state == "locked"


async def test_switch_shows_office_mode_started_elsewhere(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """Office mode started at the door or by the schedule shows too; none/uncertain is unknown."""
    entity_id = switch_id(hass, lock_id)
    salto_sim.office_mode(lock_id, start=True, easy=True)
    await async_refresh_roster(hass, init_integration)
    assert hass.states.get(entity_id).state == STATE_ON
    salto_sim.set_lock(lock_id, locked_state="uncertain")
    await async_refresh_roster(hass, init_integration)
    assert hass.states.get(entity_id).state == "unknown"


async def test_easy_office_mode_schedule_in_attributes(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    front, back = lock_ids[0], lock_ids[1]
    assert salto_sim.state.locks[front].easy_office_mode_schedule is not None
    attributes = hass.states.get(switch_id(hass, front)).attributes
    assert attributes["easy_office_mode_days"] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    assert attributes["easy_office_mode_start_time"] == "08:00:00"
    assert attributes["easy_office_mode_end_time"] == "18:00:59"
    assert attributes["easy_office_mode_auto_start"] is True
    assert attributes["easy_office_mode_end_date"] is None
    plain = hass.states.get(switch_id(hass, back)).attributes
    assert plain["easy_office_mode_days"] == []
    assert plain["easy_office_mode_start_time"] is None


async def test_otp_iq_without_a_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> None:
    """Behind an OTP IQ with no computed code: the error names the IQ and the action to use."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, init_integration)
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, switch_id(hass, lock_id))
    assert err.value.translation_key == "otp_required_office_mode"
    assert salto_sim.state.iqs[iq_id].name in str(err.value)
    assert "salto_ks.set_office_mode" in str(err.value)
    assert "office mode" in str(err.value)
    assert salto_sim.counters["locking"] == 1
    assert salto_sim.state.locks[lock_id].locked_state == "locked"


async def test_otp_iq_with_a_computed_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> None:
    """With the entry's user activated on the IQ, the switch sends the computed code itself."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, init_integration)
    client = init_integration.runtime_data.client
    site = salto_sim.site_id
    secret = await client.get_iq_secret(site, iq_id)
    await client.send_iq_pin_email(site, iq_id)
    pin = str(salto_sim.pin_mails(iq_id)[-1]["pin"])
    await client.activate_iq(site, iq_id, compute_otp(secret, pin, salto_sim.clock()))
    async_store_activation(hass, init_integration, iq_id, secret, pin)
    entity_id = switch_id(hass, lock_id)
    await _switch(hass, SERVICE_TURN_ON, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "office_mode"
    await _switch(hass, SERVICE_TURN_OFF, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "locked"


async def test_missing_right(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    salto_sim.set_user(caller_site_user_id(salto_sim), toggle_manual_office_mode=False)
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, switch_id(hass, lock_id))
    assert err.value.translation_key == "office_mode_permission_denied"
    assert "toggle manual office mode" in str(err.value)
    assert salto_sim.state.locks[lock_id].locked_state == "locked"
    # The same refusal through the action.
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass,
            "set_office_mode",
            {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), "enabled": True},
        )
    assert err.value.translation_key == "office_mode_permission_denied"


async def test_offline_lock_sends_nothing(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    salto_sim.set_lock(lock_id, online=False)
    await async_refresh_roster(hass, init_integration)
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, switch_id(hass, lock_id))
    assert err.value.translation_key == "lock_offline"
    assert salto_sim.counters.get("locking", 0) == 0


async def test_action_with_typed_otp(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> None:
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, init_integration)
    lock = lock_entity_id(hass, lock_id)
    good = salto_sim.valid_otp(iq_id)
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass, "set_office_mode", {ATTR_ENTITY_ID: lock, "enabled": True, "otp": _wrong(good)}
        )
    assert err.value.translation_key == "otp_invalid"
    assert _wrong(good) not in str(err.value)
    await call_action(hass, "set_office_mode", {ATTR_ENTITY_ID: lock, "enabled": True, "otp": good})
    assert salto_sim.state.locks[lock_id].locked_state == "office_mode"
    assert hass.states.get(switch_id(hass, lock_id)).state == STATE_ON
    await call_action(
        hass, "set_office_mode", {ATTR_ENTITY_ID: lock, "enabled": False, "otp": good}
    )
    assert salto_sim.state.locks[lock_id].locked_state == "locked"


async def test_unlock_pin_guards_office_mode(
    hass: HomeAssistant,
    salto_sim: Simulator,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    lock_id: str,
) -> None:
    """With the unlock PIN the switch refuses (it cannot ask for it); the action takes it as code."""
    options = {**entry_options, CONF_PIN_HASH: pin_module.hash_pin(PIN)}
    await setup_entry(hass, site_entry(salto_sim.site_id, entry_data, options))
    salto_sim.reset_counters()
    for service in (SERVICE_TURN_ON, SERVICE_TURN_OFF):
        with pytest.raises(ServiceValidationError) as err:
            await _switch(hass, service, switch_id(hass, lock_id))
        assert err.value.translation_key == "office_mode_needs_pin"
    lock = lock_entity_id(hass, lock_id)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "set_office_mode", {ATTR_ENTITY_ID: lock, "enabled": True})
    assert err.value.translation_key == "wrong_pin"
    assert salto_sim.counters.get("locking", 0) == 0
    await call_action(
        hass, "set_office_mode", {ATTR_ENTITY_ID: lock, "enabled": True, ATTR_CODE: PIN}
    )
    assert salto_sim.state.locks[lock_id].locked_state == "office_mode"
