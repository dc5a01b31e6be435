"""Binary sensors: lock online, door left open, intrusion, privacy mode, office mode; IQ online."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.salto_ks.const import DOMAIN
from simulator import Simulator

from .conftest import async_refresh_roster, lock_entity_id, snapshot_platform


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the binary_sensor platform."""
    return [Platform.BINARY_SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_binary_sensors_snapshot(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Registry entries and states of every binary sensor."""
    await snapshot_platform(hass, entity_registry, snapshot, setup_integration.entry_id)


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("online", "online"),
        ("left_open_alarm", "left_open"),
        ("intrusion_alarm", "intrusion"),
        ("privacy_mode", "privacy_mode"),
    ],
)
async def test_lock_flags(
    hass: HomeAssistant,
    salto_sim: Simulator,
    setup_integration: MockConfigEntry,
    field: str,
    key: str,
) -> None:
    """Each lock flag follows the roster; a missing (null) value is unknown."""
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    entity_id = lock_entity_id(hass, lock_id, key)
    initial = hass.states.get(entity_id).state
    flipped = STATE_OFF if initial == STATE_ON else STATE_ON

    salto_sim.set_lock(lock_id, **{field: flipped == STATE_ON})
    await async_refresh_roster(hass, setup_integration)
    assert hass.states.get(entity_id).state == flipped

    salto_sim.set_lock(lock_id, **{field: None})
    await async_refresh_roster(hass, setup_integration)
    assert hass.states.get(entity_id).state == STATE_UNKNOWN


async def test_iq_online(
    hass: HomeAssistant, salto_sim: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The IQ's connectivity follows the IQ listing."""
    iq_id = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    entity_id = er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{iq_id}_online")
    assert entity_id is not None
    assert hass.states.get(entity_id).state == STATE_ON
    salto_sim.set_iq(iq_id, online=False)
    await async_refresh_roster(hass, setup_integration)
    assert hass.states.get(entity_id).state == STATE_OFF
    # The lock stays available while its IQ is offline.
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    assert hass.states.get(lock_entity_id(hass, lock_id, "online")).state == STATE_ON


@pytest.mark.parametrize(
    ("locked_state", "expected"),
    [
        ("office_mode", STATE_ON),
        ("locked", STATE_OFF),
        ("unlocked", STATE_OFF),
        ("uncertain", STATE_UNKNOWN),
    ],
)
async def test_office_mode(
    hass: HomeAssistant,
    salto_sim: Simulator,
    setup_integration: MockConfigEntry,
    locked_state: str,
    expected: str,
) -> None:
    """Office mode is its own binary sensor."""
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    salto_sim.set_lock(lock_id, locked_state=locked_state)
    await async_refresh_roster(hass, setup_integration)
    assert hass.states.get(lock_entity_id(hass, lock_id, "office_mode")).state == expected


async def test_devices_listed_later_get_their_binary_sensors(
    hass: HomeAssistant, salto_sim: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A lock and an IQ the roster lists after setup get every binary sensor, fed like the others."""
    iq_id = salto_sim.add_iq(name="IQ annex", online=False)
    lock_id = salto_sim.add_lock(name="Annex door", iq_id=iq_id, privacy_mode=True)
    await async_refresh_roster(hass, setup_integration)
    iq_online = er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{iq_id}_online")
    assert iq_online is not None
    assert hass.states.get(iq_online).state == STATE_OFF
    states = {
        key: hass.states.get(lock_entity_id(hass, lock_id, key)).state
        for key in ("online", "left_open", "intrusion", "privacy_mode", "office_mode")
    }
    assert states == {
        "online": STATE_ON,
        "left_open": STATE_OFF,
        "intrusion": STATE_OFF,
        "privacy_mode": STATE_ON,
        "office_mode": STATE_OFF,
    }
