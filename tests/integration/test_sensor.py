"""Sensors: lock battery and IQ signal strength."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.salto_ks.const import DOMAIN
from simulator import Simulator

from .conftest import async_refresh_roster, lock_entity_id, snapshot_platform


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the sensor platform."""
    return [Platform.SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensors_snapshot(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Registry entries and states of every sensor."""
    await snapshot_platform(hass, entity_registry, snapshot, setup_integration.entry_id)


async def test_signal_strength_disabled_by_default(
    hass: HomeAssistant,
    salto_sim: Simulator,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The IQ signal strength is diagnostic and disabled by default; battery is enabled."""
    iq_id = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{iq_id}_signal_strength")
    assert entity_id is not None
    entry = entity_registry.async_get(entity_id)
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert entry.entity_category == "diagnostic"
    assert hass.states.get(entity_id) is None
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    assert hass.states.get(lock_entity_id(hass, lock_id, "battery")).state == "100"


@pytest.mark.parametrize(
    ("battery_level", "expected"),
    [
        ("fresh", "100"),
        ("good", "60"),
        ("low", "20"),
        ("critical", "5"),
        ("none", STATE_UNKNOWN),
        ("unknown", STATE_UNKNOWN),
        (None, STATE_UNKNOWN),
        (0, "0"),
        (42, "42"),
        (100, "100"),
    ],
)
async def test_battery_levels(
    hass: HomeAssistant,
    salto_sim: Simulator,
    setup_integration: MockConfigEntry,
    battery_level: str | int | None,
    expected: str,
) -> None:
    """The API's coarse levels map to percentages; a percentage passes through."""
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    salto_sim.set_lock(lock_id, battery_level=battery_level)
    await async_refresh_roster(hass, setup_integration)
    state = hass.states.get(lock_entity_id(hass, lock_id, "battery"))
    assert state.state == expected
    assert state.attributes["unit_of_measurement"] == "%"
    assert state.attributes["device_class"] == "battery"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_signal_strength_follows_iq(
    hass: HomeAssistant, salto_sim: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Signal strength has no unit and follows the IQ listing; a removed IQ makes it go."""
    iq_id = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{iq_id}_signal_strength")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state.state == "21"
    assert "unit_of_measurement" not in state.attributes

    salto_sim.set_iq(iq_id, signal_strength=7)
    await async_refresh_roster(hass, setup_integration)
    assert hass.states.get(entity_id).state == "7"

    salto_sim.inject_fault("iqs", "503")
    await async_refresh_roster(hass, setup_integration)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_devices_listed_later_get_their_sensors(
    hass: HomeAssistant, salto_sim: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A lock and an IQ the roster lists after setup get their sensors, fed like the others."""
    iq_id = salto_sim.add_iq(name="IQ annex", signal_strength=9)
    lock_id = salto_sim.add_lock(name="Annex door", iq_id=iq_id, battery_level="low")
    await async_refresh_roster(hass, setup_integration)
    signal = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{iq_id}_signal_strength")
    assert signal is not None
    assert hass.states.get(signal).state == "9"
    assert hass.states.get(lock_entity_id(hass, lock_id, "battery")).state == "20"
