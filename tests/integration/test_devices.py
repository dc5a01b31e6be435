"""devices.py through Home Assistant: DeviceInfo of locks and IQs, the registry following the roster
(added, renamed, removed, a lock missing from one listing), and models of undocumented lock types."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.salto_ks.const import DEFAULT_STATUS_INTERVAL, DOMAIN
from simulator import Simulator

from .conftest import get_device, lock_entity_id, setup_entry, tick

INTERVAL = timedelta(seconds=DEFAULT_STATUS_INTERVAL)


async def test_devices_snapshot(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every device of the entry; registry ids are random, so the IQ link is its Salto id."""
    devices = dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    salto_ids = {
        device.id: next(value for domain, value in device.identifiers if domain == DOMAIN)
        for device in devices
    }
    serialized = [
        {
            "identifiers": sorted(list(identifier) for identifier in device.identifiers),
            "name": device.name,
            "name_by_user": device.name_by_user,
            "manufacturer": device.manufacturer,
            "model": device.model,
            "model_id": device.model_id,
            "hw_version": device.hw_version,
            "sw_version": device.sw_version,
            "serial_number": device.serial_number,
            "via_device": salto_ids.get(device.via_device_id) if device.via_device_id else None,
            "entry_type": device.entry_type,
            "disabled_by": device.disabled_by,
        }
        for device in devices
    ]
    assert sorted(serialized, key=lambda device: str(device["name"])) == snapshot


@pytest.mark.parametrize(
    ("lock_type", "model"),
    [
        ("smart_locker", "Smart locker"),
        ("xs4_one_escutcheon_pin", "Xs4 one escutcheon with keypad"),
        ("neo", "Neo"),
    ],
)
async def test_unknown_lock_type_gets_readable_model(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    lock_type: str,
    model: str,
) -> None:
    """A lock type Salto has not documented is spelled out, and kept raw as the model ID."""
    lock_id = salto_sim.add_lock(name="New hardware", lock_type=lock_type)
    await setup_entry(hass, mock_config_entry)
    device = get_device(hass, mock_config_entry.entry_id, lock_id)
    assert device is not None
    assert device.model == model
    assert device.model_id == lock_type


async def test_empty_lock_type_has_no_model(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A lock without a lock type gets no made-up model."""
    lock_id = salto_sim.add_lock(name="Plain door", lock_type="")
    await setup_entry(hass, mock_config_entry)
    device = get_device(hass, mock_config_entry.entry_id, lock_id)
    assert device is not None
    assert device.name == "Plain door"
    assert device.model is None


async def test_iq_revision_leaves_sw_version(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """An IQ device registered by an earlier version, with the revision as firmware, loses that copy."""
    iq = salto_sim.state.iqs_of(salto_sim.site_id)[0]
    mock_config_entry.add_to_hass(hass)
    device_registry.async_get_or_create(
        config_entry_id=mock_config_entry.entry_id,
        identifiers={(DOMAIN, iq.id)},
        hw_version=iq.revision,
        sw_version=iq.revision,
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    device = get_device(hass, mock_config_entry.entry_id, iq.id)
    assert device is not None
    assert device.hw_version == iq.revision
    assert device.sw_version is None


async def test_lock_added_and_removed(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A new lock gets its device and entities without a reload; a removed one leaves."""
    entry = init_integration
    before = len(er.async_entries_for_config_entry(entity_registry, entry.entry_id))

    new_id = salto_sim.add_lock(name="Back door", battery_level="good")
    await tick(hass, freezer, INTERVAL)
    device = get_device(hass, entry.entry_id, new_id)
    assert device is not None
    assert device.name == "Back door"
    assert hass.states.get(lock_entity_id(hass, new_id)).state == "locked"
    assert hass.states.get(lock_entity_id(hass, new_id, "battery")).state == "60"
    per_lock = len(er.async_entries_for_device(entity_registry, device.id))
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == (
        before + per_lock
    )

    gone_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    gone_device = get_device(hass, entry.entry_id, gone_id)
    assert gone_device is not None
    gone_entities = [
        e.entity_id for e in er.async_entries_for_device(entity_registry, gone_device.id)
    ]
    states: dict[str, str] = {}

    @callback
    def _record(event: Event) -> None:
        if event.data["entity_id"] in gone_entities and event.data["new_state"] is not None:
            states[event.data["entity_id"]] = event.data["new_state"].state

    hass.bus.async_listen(EVENT_STATE_CHANGED, _record)
    salto_sim.remove_lock(gone_id)
    await tick(hass, freezer, INTERVAL)
    # Unavailable first; the device stays until a second poll confirms the lock is gone.
    assert states
    assert set(states.values()) == {STATE_UNAVAILABLE}
    assert get_device(hass, entry.entry_id, gone_id) is not None
    await tick(hass, freezer, INTERVAL)
    assert get_device(hass, entry.entry_id, gone_id) is None
    for entity_id in gone_entities:
        assert entity_registry.async_get(entity_id) is None
        assert hass.states.get(entity_id) is None
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == before


async def test_iq_added_and_removed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A new IQ (with a lock on it) appears with its lock below it; a removed IQ leaves."""
    entry = init_integration
    iq_id = salto_sim.add_iq(name="IQ annex")
    lock_id = salto_sim.add_lock(name="Annex door", iq_id=iq_id)
    await tick(hass, freezer, INTERVAL)
    iq_device = get_device(hass, entry.entry_id, iq_id)
    assert iq_device is not None
    lock_device = get_device(hass, entry.entry_id, lock_id)
    assert lock_device is not None
    assert lock_device.via_device_id == iq_device.id

    salto_sim.remove_lock(lock_id)
    salto_sim.remove_iq(iq_id)
    await tick(hass, freezer, INTERVAL)
    assert get_device(hass, entry.entry_id, iq_id) is not None
    await tick(hass, freezer, INTERVAL)
    assert get_device(hass, entry.entry_id, iq_id) is None
    assert get_device(hass, entry.entry_id, lock_id) is None


async def test_lock_missing_from_one_listing_keeps_its_device(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lock left out of one listing only turns unavailable; the user's names and area survive."""
    entry = init_integration
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    device = get_device(hass, entry.entry_id, lock_id)
    assert device is not None
    device_registry.async_update_device(device.id, name_by_user="Porch", area_id="porch")
    entity_id = lock_entity_id(hass, lock_id)
    entity_registry.async_update_entity(entity_id, name="Porch lock")
    entities = len(er.async_entries_for_config_entry(entity_registry, entry.entry_id))

    # A partial listing: the lock is still in Salto KS, the answer just left it out.
    left_out = salto_sim.state.locks.pop(lock_id)
    await tick(hass, freezer, INTERVAL)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    salto_sim.state.locks[lock_id] = left_out
    await tick(hass, freezer, INTERVAL)

    device = get_device(hass, entry.entry_id, lock_id)
    assert device is not None
    assert device.name_by_user == "Porch"
    assert device.area_id == "porch"
    assert entity_registry.async_get(entity_id).name == "Porch lock"
    assert hass.states.get(entity_id).state == "locked"
    # The entities were kept, not added a second time.
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == entities
    assert "does not generate unique IDs" not in caplog.text


async def test_empty_listing_removes_nothing(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An empty locks listing after a full one is a glitch: one warning, every device kept.

    Only when the site stays empty are the devices removed, after two more polls.
    """
    entry = init_integration
    devices = len(dr.async_entries_for_config_entry(device_registry, entry.entry_id))
    entities = len(er.async_entries_for_config_entry(entity_registry, entry.entry_id))
    lock_ids = [lock.id for lock in salto_sim.state.locks_of(salto_sim.site_id)]
    listed = dict(salto_sim.state.locks)

    salto_sim.state.locks.clear()
    await tick(hass, freezer, INTERVAL)
    await tick(hass, freezer, INTERVAL)
    assert len(dr.async_entries_for_config_entry(device_registry, entry.entry_id)) == devices
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == entities
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "listed no locks" in r.message
    ]
    assert len(warnings) == 1
    assert entry.title in warnings[0].message

    # Back after the glitch: the same entities are available again.
    salto_sim.state.locks.update(listed)
    await tick(hass, freezer, INTERVAL)
    for lock_id in lock_ids:
        assert get_device(hass, entry.entry_id, lock_id) is not None
        assert hass.states.get(lock_entity_id(hass, lock_id)).state == "locked"
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == entities

    # A site that really lost its locks: the glitch poll counts for nothing, the next two remove.
    salto_sim.state.locks.clear()
    await tick(hass, freezer, INTERVAL)
    await tick(hass, freezer, INTERVAL)
    assert all(get_device(hass, entry.entry_id, lock_id) for lock_id in lock_ids)
    await tick(hass, freezer, INTERVAL)
    for lock_id in lock_ids:
        assert get_device(hass, entry.entry_id, lock_id) is None
    iq_id = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    assert get_device(hass, entry.entry_id, iq_id) is not None


async def test_device_follows_renames(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A lock or IQ renamed in Salto KS is renamed in the device registry at the next poll."""
    entry = init_integration
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    iq_id = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    salto_sim.set_lock(lock_id, name="Main entrance")
    salto_sim.set_iq(iq_id, revision="2.1")
    await tick(hass, freezer, INTERVAL)
    lock_device = get_device(hass, entry.entry_id, lock_id)
    assert lock_device is not None
    assert lock_device.name == "Main entrance"
    iq_device = get_device(hass, entry.entry_id, iq_id)
    assert iq_device is not None
    assert iq_device.hw_version == "2.1"
    assert iq_device.sw_version is None
    assert lock_device.via_device_id == iq_device.id
