"""The easy office mode schedule action (salto_ks.set_easy_office_mode) through Home Assistant against
the simulator: set and clear, the schema's and the action's refusals before any request, the cloud's
refusals, several locks, a rate limit; and the target checks of salto_ks.set_office_mode."""

from __future__ import annotations

from typing import Any

import pytest
import voluptuous as vol
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.const import DOMAIN
from simulator import Simulator

from .conftest import (
    action_error,
    async_refresh_roster,
    call_action,
    caller_site_user_id,
    lock_entity_id,
)

SCHEDULE: dict[str, Any] = {
    "days": ["monday", "wednesday"],
    "auto_start": True,
    "start_time": "09:00:00",
    "end_time": "17:30:00",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
}


def _switch_attributes(hass: HomeAssistant, lock_id: str) -> dict[str, Any]:
    entity_id = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{lock_id}_manual_office_mode"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return dict(state.attributes)


async def test_set_and_clear_a_schedule(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """The schedule reaches the cloud as Salto documents it, and the roster poll after it shows it."""
    lock_id = lock_ids[1]  # a lock without a schedule
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule is None
    lock = lock_entity_id(hass, lock_id)
    await call_action(hass, "set_easy_office_mode", {ATTR_ENTITY_ID: lock, **SCHEDULE})
    stored = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    assert stored is not None
    assert [day for day in ("monday", "tuesday", "wednesday") if stored[day]] == [
        "monday",
        "wednesday",
    ]
    assert stored["eom_auto_start"] is True
    assert (stored["start_time"], stored["end_time"]) == ("09:00:00", "17:30:00")
    assert stored["start_date"].startswith("2026-01-01")
    assert stored["end_date"].startswith("2026-12-31")
    await hass.async_block_till_done()
    attributes = _switch_attributes(hass, lock_id)
    assert attributes["easy_office_mode_days"] == ["monday", "wednesday"]
    assert attributes["easy_office_mode_start_time"] == "09:00:00"

    # The form's default auto_start false goes with clear.
    await call_action(
        hass, "set_easy_office_mode", {ATTR_ENTITY_ID: lock, "clear": True, "auto_start": False}
    )
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule is None
    await async_refresh_roster(hass, init_integration)
    assert _switch_attributes(hass, lock_id)["easy_office_mode_days"] == []


@pytest.mark.parametrize(
    "fields",
    [
        {"clear": True, "days": ["monday"]},  # clear takes no schedule
        {"clear": True, "auto_start": True},
        {"auto_start": True},  # no days and no clear
        {},  # a target alone
    ],
)
async def test_schema_refuses_half_a_schedule(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    fields: dict[str, Any],
) -> None:
    salto_sim.reset_counters()
    with pytest.raises(vol.Invalid):
        await call_action(
            hass, "set_easy_office_mode", {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), **fields}
        )
    assert salto_sim.counters.get("easy_office_mode_schedule", 0) == 0


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"start_time": "09:00:00"}, "schedule_times"),
        ({"start_time": "17:00:00", "end_time": "09:00:00"}, "schedule_times"),
        ({"start_time": "09:00:00", "end_time": "09:00:00"}, "schedule_times"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-31"}, "schedule_dates"),
    ],
)
async def test_times_and_dates_that_make_no_schedule(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    fields: dict[str, Any],
    key: str,
) -> None:
    """Refused with a translated error before any request."""
    before = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    salto_sim.reset_counters()
    data = {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), "days": ["friday"], **fields}
    await action_error(hass, "set_easy_office_mode", data, key)
    assert salto_sim.counters.get("easy_office_mode_schedule", 0) == 0
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule == before


async def test_only_a_site_admin_may_change_it(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    before = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    salto_sim.set_user(caller_site_user_id(salto_sim), roles=["site_user"])
    err = await action_error(
        hass,
        "set_easy_office_mode",
        {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), "days": ["monday"]},
        "schedule_permission_denied",
        HomeAssistantError,
    )
    assert salto_sim.state.locks[lock_id].name in str(err)
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule == before


async def test_a_refused_schedule_names_the_lock_and_the_code(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    salto_sim.inject_fault("easy_office_mode_schedule", "400", times=1)
    err = await action_error(
        hass,
        "set_easy_office_mode",
        {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), "days": ["monday"]},
        "schedule_invalid",
        HomeAssistantError,
    )
    assert err.translation_placeholders is not None
    assert err.translation_placeholders["code"] == "2210"


async def test_every_lock_is_tried_and_the_first_failure_raised(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    first, second = lock_ids[0], lock_ids[1]
    targets = [lock_entity_id(hass, first), lock_entity_id(hass, second)]
    salto_sim.remove_lock(first)  # gone from the cloud, not yet from the roster
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass, "set_easy_office_mode", {ATTR_ENTITY_ID: targets, "days": ["sunday"]}
        )
    assert err.value.translation_key == "lock_not_found"
    # The second lock got its schedule although the first failed.
    stored = salto_sim.state.locks[second].easy_office_mode_schedule
    assert stored is not None
    assert stored["sunday"] is True


async def test_a_rate_limit_sends_nothing_until_it_passes(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    data = {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), "days": ["monday"]}
    salto_sim.inject_fault("easy_office_mode_schedule", "429", times=1, retry_after=120)
    await action_error(hass, "set_easy_office_mode", data, "rate_limited", HomeAssistantError)
    salto_sim.reset_counters()
    await action_error(hass, "set_easy_office_mode", data, "rate_limited", HomeAssistantError)
    assert salto_sim.counters.get("easy_office_mode_schedule", 0) == 0


async def test_set_office_mode_needs_a_target(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(vol.Invalid):
        await call_action(hass, "set_office_mode", {"enabled": True})


async def test_set_office_mode_on_a_disabled_lock_entity(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """A lock entity in the registry but not set up (disabled) cannot take the command."""
    registry = er.async_get(hass)
    lock = lock_entity_id(hass, lock_id)
    registry.async_update_entity(lock, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    salto_sim.reset_counters()
    err = await action_error(
        hass, "set_office_mode", {ATTR_ENTITY_ID: lock, "enabled": True}, "lock_not_available"
    )
    assert isinstance(err, ServiceValidationError)
    assert salto_sim.counters.get("locking", 0) == 0


@pytest.mark.parametrize("otp", ["zzzzz", "12345678", 12345])
async def test_set_office_mode_refuses_a_malformed_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    otp: Any,
) -> None:
    """The schema refuses it without repeating it, and nothing is sent."""
    salto_sim.reset_counters()
    with pytest.raises(vol.Invalid) as err:
        await call_action(
            hass,
            "set_office_mode",
            {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), "enabled": True, "otp": otp},
        )
    assert str(otp) not in str(err.value)
    assert salto_sim.counters.get("locking", 0) == 0
