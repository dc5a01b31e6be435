"""salto_ks.set_easy_office_mode and salto_ks.set_office_mode (office_mode_services.py) through Home
Assistant against the simulator: a schedule set, changed and cleared (what the cloud stores and what the manual
office mode switch shows after the roster poll), several locks at once, bad input refused before any request
(translated where the schema cannot check it), a non-admin Home Assistant user refused, the cloud's refusals (a
KS user who is no site admin, a permanent 400, a rate limit) translated, an OTP IQ needing no code for it; and the
target checks of salto_ks.set_office_mode."""

from __future__ import annotations

from typing import Any

import pytest
import voluptuous as vol
from homeassistant.auth.models import User
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
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


SERVICE = "set_easy_office_mode"
ENDPOINT = "easy_office_mode_schedule"
WEEKEND = ["saturday", "sunday"]


def _switch(hass: HomeAssistant, lock_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        SWITCH_DOMAIN, DOMAIN, f"{lock_id}_manual_office_mode"
    )
    assert entity_id is not None
    return entity_id


def _lock(hass: HomeAssistant, lock_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("lock", DOMAIN, lock_id)
    assert entity_id is not None
    return entity_id


def _attributes(hass: HomeAssistant, lock_id: str) -> dict[str, Any]:
    state = hass.states.get(_switch(hass, lock_id))
    assert state is not None
    return dict(state.attributes)


def _sent(sim: Simulator) -> int:
    return sim.counters.get(ENDPOINT, 0) + sim.counters.get(f"{ENDPOINT}_delete", 0)


@pytest.mark.usefixtures("no_error_logged")
async def test_set_change_and_clear(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """Set, change and clear one lock's schedule; the switch shows each right after the call."""
    lock_id = lock_ids[1]
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule is None
    assert _attributes(hass, lock_id)["easy_office_mode_days"] == []
    await call_action(
        hass,
        SERVICE,
        {
            ATTR_ENTITY_ID: _lock(hass, lock_id),
            "days": WEEKEND,
            "start_time": "09:30",
            "end_time": "17:00",
            "start_date": "2026-12-24",
            "end_date": "2027-01-06",
            "auto_start": True,
        },
    )
    stored = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    assert stored is not None
    assert [day for day in stored if stored[day] is True and day != "eom_auto_start"] == WEEKEND
    assert stored["eom_auto_start"] is True
    assert (stored["start_time"], stored["end_time"]) == ("09:30:00", "17:00:00")
    assert stored["start_date"] == "2026-12-24T00:00:00"
    assert stored["end_date"] == "2027-01-06T23:59:59"
    attributes = _attributes(hass, lock_id)
    assert attributes["easy_office_mode_days"] == WEEKEND
    assert attributes["easy_office_mode_start_time"] == "09:30:00"
    assert attributes["easy_office_mode_end_time"] == "17:00:00"
    assert attributes["easy_office_mode_start_date"] == "2026-12-24T00:00:00"
    assert attributes["easy_office_mode_end_date"] == "2027-01-06T23:59:59"
    assert attributes["easy_office_mode_auto_start"] is True
    # The switch is manual office mode: a schedule does not turn it on.
    assert hass.states.get(_switch(hass, lock_id)).state == "off"

    # Changed at once (no debounce cooldown): any hour, every day, until removed, no auto start.
    await call_action(
        hass, SERVICE, {ATTR_ENTITY_ID: _lock(hass, lock_id), "days": ["monday", "friday"]}
    )
    stored = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    assert stored is not None
    assert stored["start_time"] is None
    assert stored["end_date"] is None
    attributes = _attributes(hass, lock_id)
    assert attributes["easy_office_mode_days"] == ["monday", "friday"]
    assert attributes["easy_office_mode_start_time"] is None
    assert attributes["easy_office_mode_auto_start"] is False

    await call_action(hass, SERVICE, {ATTR_ENTITY_ID: _lock(hass, lock_id), "clear": True})
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule is None
    attributes = _attributes(hass, lock_id)
    assert attributes["easy_office_mode_days"] == []
    assert attributes["easy_office_mode_auto_start"] is None


async def test_several_locks_by_device(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """Device targets work like entities; every targeted lock gets the schedule."""
    registry = er.async_get(hass)
    devices = []
    for lock_id in lock_ids[:2]:
        entry = registry.async_get(_lock(hass, lock_id))
        assert entry is not None
        devices.append(entry.device_id)
    salto_sim.reset_counters()
    await call_action(hass, SERVICE, {"device_id": devices, "days": ["wednesday"]})
    assert salto_sim.counters[ENDPOINT] == 2
    for lock_id in lock_ids[:2]:
        assert _attributes(hass, lock_id)["easy_office_mode_days"] == ["wednesday"]
    assert salto_sim.state.locks[lock_ids[2]].easy_office_mode_schedule is None


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"days": WEEKEND, "start_time": "09:00"}, "schedule_times"),
        ({"days": WEEKEND, "end_time": "17:00"}, "schedule_times"),
        ({"days": WEEKEND, "start_time": "17:00", "end_time": "09:00"}, "schedule_times"),
        ({"days": WEEKEND, "start_time": "09:00", "end_time": "09:00"}, "schedule_times"),
        ({"days": WEEKEND, "start_date": "2027-01-02", "end_date": "2027-01-01"}, "schedule_dates"),
    ],
)
async def test_times_and_dates_that_make_no_schedule_are_unsent(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    lock_id: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Refused with a translated ServiceValidationError before any request."""
    before = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    salto_sim.reset_counters()
    await action_error(hass, SERVICE, {ATTR_ENTITY_ID: _lock(hass, lock_id), **data}, key)
    assert _sent(salto_sim) == 0
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule == before


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({}, "choose the days"),
        ({"days": []}, "choose the days"),
        ({"days": ["funday"]}, "days"),
        ({"clear": True, "days": WEEKEND}, "clear takes no schedule fields"),
        ({"days": WEEKEND, "start_time": "25:00", "end_time": "26:00"}, "time"),
        ({"days": WEEKEND, "start_date": "2027-02-30"}, "date"),
        ({"days": WEEKEND, "otp": "a1b2c"}, "otp"),
    ],
)
async def test_schema_refuses_bad_fields(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    lock_id: str,
    data: dict[str, Any],
    match: str,
) -> None:
    """What the schema can check it refuses itself (HA versions differ in the exception type)."""
    salto_sim.reset_counters()
    with pytest.raises((vol.Invalid, ServiceValidationError), match=match):
        await call_action(hass, SERVICE, {ATTR_ENTITY_ID: _lock(hass, lock_id), **data})
    assert _sent(salto_sim) == 0


async def test_targets_that_are_no_salto_lock(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.reset_counters()
    with pytest.raises((vol.Invalid, ServiceValidationError), match="Salto KS lock"):
        await call_action(hass, SERVICE, {"days": WEEKEND})
    hass.states.async_set("lock.front_gate", "locked")
    await action_error(
        hass, SERVICE, {ATTR_ENTITY_ID: "lock.front_gate", "days": WEEKEND}, "not_salto_lock"
    )
    assert _sent(salto_sim) == 0


async def test_non_admin_user_is_refused(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    lock_id: str,
    hass_read_only_user: User,
) -> None:
    """It decides when a door stands open: Home Assistant administrators only."""
    before = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    salto_sim.reset_counters()
    for data in ({"days": WEEKEND}, {"clear": True}):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                SERVICE,
                {ATTR_ENTITY_ID: _lock(hass, lock_id), **data},
                blocking=True,
                context=Context(user_id=hass_read_only_user.id),
            )
    assert _sent(salto_sim) == 0
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule == before


async def test_ks_user_without_admin_role(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """The cloud lets site admins only write schedules: translated, naming the lock."""
    salto_sim.set_user(caller_site_user_id(salto_sim), roles=["site_user"])
    before = salto_sim.state.locks[lock_id].easy_office_mode_schedule
    name = salto_sim.state.locks[lock_id].name
    for data in ({"days": WEEKEND}, {"clear": True}):
        err = await action_error(
            hass,
            SERVICE,
            {ATTR_ENTITY_ID: _lock(hass, lock_id), **data},
            "schedule_permission_denied",
            HomeAssistantError,
        )
        assert name in str(err)
    assert salto_sim.state.locks[lock_id].easy_office_mode_schedule == before


@pytest.mark.usefixtures("no_error_logged")
async def test_cloud_refusal_and_rate_limit(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    entity_id = _lock(hass, lock_id)
    salto_sim.inject_fault(ENDPOINT, "400", times=1)
    err = await action_error(
        hass,
        SERVICE,
        {ATTR_ENTITY_ID: entity_id, "days": WEEKEND},
        "schedule_invalid",
        HomeAssistantError,
    )
    assert err.translation_placeholders["code"] == "2210"
    # A 429 closes the entry's Retry-After gate: the next call is refused without a request.
    salto_sim.inject_fault(ENDPOINT, "429", times=1, retry_after=120)
    await action_error(
        hass,
        SERVICE,
        {ATTR_ENTITY_ID: entity_id, "days": WEEKEND},
        "rate_limited",
        HomeAssistantError,
    )
    salto_sim.reset_counters()
    await action_error(
        hass,
        SERVICE,
        {ATTR_ENTITY_ID: entity_id, "clear": True},
        "rate_limited",
        HomeAssistantError,
    )
    assert _sent(salto_sim) == 0


async def test_otp_iq_needs_no_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    *,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
    iq_id: str,
) -> None:
    """The schedule is the cloud's, not the IQ's: no OTP is asked for or checked, even while the IQ
    blocks codes and Home Assistant knows it (office mode on the same lock is refused then)."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, init_integration)
    entity_id = _lock(hass, lock_ids[1])
    await call_action(hass, SERVICE, {ATTR_ENTITY_ID: entity_id, "days": WEEKEND})
    assert _attributes(hass, lock_ids[1])["easy_office_mode_days"] == WEEKEND
    assert salto_sim.state.iqs[iq_id].otp_failures == 0
    salto_sim.state.iqs[iq_id].otp_blocked_until = salto_sim.now() + 20 * 60
    err = await action_error(
        hass,
        "set_office_mode",
        {ATTR_ENTITY_ID: entity_id, "enabled": True, "otp": "00000"},
        "otp_blocked",
        HomeAssistantError,
    )
    assert salto_sim.state.iqs[iq_id].name in str(err)
    await call_action(hass, SERVICE, {ATTR_ENTITY_ID: entity_id, "clear": True})
    assert salto_sim.state.locks[lock_ids[1]].easy_office_mode_schedule is None
    assert _attributes(hass, lock_ids[1])["easy_office_mode_days"] == []
