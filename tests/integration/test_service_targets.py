"""Target resolution of the salto_ks actions (service_targets.py): entities, devices and areas to
Salto locks, ``config_entry_id`` to a loaded entry, and several entries at once.

Every refusal is a translated ServiceValidationError and sends nothing to the cloud.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.const import DOMAIN
from custom_components.salto_ks.service_targets import ATTR_CONFIG_ENTRY_ID
from custom_components.salto_ks.services import (
    SERVICE_GET_EVENTS,
    SERVICE_GET_LOCKS,
    SERVICE_GET_STATUS,
    SERVICE_REFRESH_TOKEN,
    SERVICE_UNLOCK,
)
from simulator import Simulator

from .conftest import (
    ENTRY_SERVICES,
    TEN_KB,
    action_error,
    add_second_site,
    call_action,
    get_device,
    lock_entity_id,
)

LOCKED = "locked"
UNLOCKED = "unlocked"


async def test_unlock_several_targets_by_device_and_area(
    hass: HomeAssistant,
    *,
    area_registry: ar.AreaRegistry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """A device and an area reach the lock entities (other entities of the device are ignored)."""
    front, back, storage = lock_ids
    device = get_device(hass, init_integration.entry_id, front)
    assert device is not None
    area = area_registry.async_create("Hall")
    back_device = get_device(hass, init_integration.entry_id, back)
    assert back_device is not None
    device_registry.async_update_device(back_device.id, area_id=area.id)
    # An area holding only another integration's entity does not count as a target.
    other_area = area_registry.async_create("Store")
    other = entity_registry.async_get_or_create("sensor", "demo", "other-sensor")
    entity_registry.async_update_entity(other.entity_id, area_id=other_area.id)
    salto_sim.reset_counters()

    await call_action(hass, SERVICE_UNLOCK, {ATTR_DEVICE_ID: device.id, "area_id": area.id})
    assert salto_sim.counters.get("locking") == 2
    opened = [row.data["lock_id"] for row in salto_sim.state.entries[salto_sim.site_id][-2:]]
    assert sorted(opened) == sorted([front, back])
    for lock in (front, back):
        assert hass.states.get(lock_entity_id(hass, lock)).state == UNLOCKED
    assert hass.states.get(lock_entity_id(hass, storage)).state == LOCKED

    await action_error(hass, SERVICE_UNLOCK, {"area_id": other_area.id}, "no_target")


async def test_unlock_validation(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """Entities that are not Salto KS locks, and a disabled lock: no request is sent.

    (No target, and entities outside the lock domain, fail the schema: test_service_schemas.py.)
    """
    salto_sim.reset_counters()
    await action_error(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.not_there"}, "not_salto_lock")
    # A lock of another integration.
    other = entity_registry.async_get_or_create("lock", "demo", "other-lock")
    err = await action_error(
        hass,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: [lock_entity_id(hass, lock_id), other.entity_id]},
        "not_salto_lock",
    )
    assert other.entity_id in str(err)

    entity_id = lock_entity_id(hass, lock_id)
    entity_registry.async_update_entity(entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await action_error(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, "lock_not_available")
    assert salto_sim.counters.get("locking", 0) == 0


@pytest.mark.parametrize("service", ENTRY_SERVICES)
async def test_entry_validation(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    service: str,
) -> None:
    """Unknown entry, an entry of another integration, an unloaded entry: validation errors."""
    salto_sim.reset_counters()
    err = await action_error(hass, service, {ATTR_CONFIG_ENTRY_ID: "nope"}, "entry_not_found")
    assert "nope" in str(err)
    other = MockConfigEntry(domain="demo", title="Other integration")
    other.add_to_hass(hass)
    err = await action_error(
        hass, service, {ATTR_CONFIG_ENTRY_ID: other.entry_id}, "entry_wrong_integration"
    )
    assert "Other integration" in str(err)
    unloaded = MockConfigEntry(domain=DOMAIN, title="Never loaded", unique_id="x")
    unloaded.add_to_hass(hass)
    err = await action_error(
        hass, service, {ATTR_CONFIG_ENTRY_ID: unloaded.entry_id}, "entry_not_loaded"
    )
    assert "Never loaded" in str(err)
    assert sum(salto_sim.counters.values()) == 0


async def test_two_entries(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    lock_ids: list[str],
) -> None:
    """Two loaded sites: the entry must be chosen (or implied by lock targets)."""
    second, branch_lock = await add_second_site(hass, salto_sim, entry_data, entry_options)
    for service in ENTRY_SERVICES:
        await action_error(hass, service, {}, "entry_required")

    response = await call_action(hass, SERVICE_GET_LOCKS, {ATTR_CONFIG_ENTRY_ID: second.entry_id})
    assert [lock["id"] for lock in response["locks"]] == [branch_lock]
    response = await call_action(
        hass, SERVICE_GET_LOCKS, {ATTR_CONFIG_ENTRY_ID: init_integration.entry_id}
    )
    assert [lock["id"] for lock in response["locks"]] == lock_ids

    # Lock targets imply their entries; rows of both sites, newest first.
    salto_sim.add_entry(second.unique_id, lock_id=branch_lock, event_category="door_left_open")
    front = lock_entity_id(hass, lock_ids[0])
    branch = lock_entity_id(hass, branch_lock)
    response = await call_action(hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: [front, branch]})
    events = response["events"]
    assert events[0]["lock_id"] == branch_lock
    assert {event["lock_id"] for event in events} == {lock_ids[0], branch_lock}
    times = [dt_util.parse_datetime(event["utc_date_time"]) for event in events]
    assert times == sorted(times, reverse=True)

    response = await call_action(hass, SERVICE_GET_STATUS, {ATTR_ENTITY_ID: [front, branch]})
    assert {(row["lock_id"], row["config_entry_id"]) for row in response["locks"]} == {
        (lock_ids[0], init_integration.entry_id),
        (branch_lock, second.entry_id),
    }
    assert (
        next(row for row in response["locks"] if row["lock_id"] == branch_lock)["last_event"][
            "event_category"
        ]
        == "door_left_open"
    )

    # A lock of the other entry than the chosen one.
    err = await action_error(
        hass,
        SERVICE_GET_EVENTS,
        {ATTR_ENTITY_ID: branch, ATTR_CONFIG_ENTRY_ID: init_integration.entry_id},
        "target_not_in_entry",
    )
    assert branch in str(err)
    assert init_integration.title in str(err)

    # Tokens are per entry.
    salto_sim.reset_counters()
    await call_action(hass, SERVICE_REFRESH_TOKEN, {ATTR_CONFIG_ENTRY_ID: second.entry_id})
    assert salto_sim.counters.get("token") == 1


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("unlock", {ATTR_ENTITY_ID: "lock.unknown"}, "not_salto_lock"),
        ("unlock", {ATTR_ENTITY_ID: "lock.other_integration"}, "not_salto_lock"),
        ("get_status", {ATTR_ENTITY_ID: "lock.other_integration"}, "not_salto_lock"),
        ("get_sites", {"config_entry_id": "nope"}, "entry_not_found"),
        ("get_sites", {"config_entry_id": TEN_KB}, "entry_not_found"),
        ("get_sites", {"config_entry_id": 123}, "entry_not_found"),
        ("get_sites", {"config_entry_id": "other_domain"}, "entry_wrong_integration"),
        ("refresh_token", {"config_entry_id": "🔑\x00"}, "entry_not_found"),
    ],
    ids=repr,
)
async def test_actions_validation_errors(
    hass: HomeAssistant,
    *,
    entity_registry: er.EntityRegistry,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Unknown targets and entries: a translated ServiceValidationError; nothing is sent."""
    other_lock = entity_registry.async_get_or_create("lock", "demo", "other-lock")
    other_entry = MockConfigEntry(domain="demo", title="Other")
    other_entry.add_to_hass(hass)
    data = {
        name: (
            other_lock.entity_id
            if value == "lock.other_integration"
            else other_entry.entry_id
            if value == "other_domain"
            else value
        )
        for name, value in data.items()
    }
    salto_sim.reset_counters()
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, service, data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert str(err.value) != key  # translated
    assert sum(salto_sim.counters.values()) == 0
