"""Sensors of Salto KS locks (battery) and IQs (signal strength)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import BatteryLevel, Iq, Lock
from .coordinator import SaltoConfigEntry, SaltoRosterCoordinator
from .entity import SaltoIqEntity, SaltoLockEntity

# Read-only platform fed by the coordinator.
PARALLEL_UPDATES = 0

# The API reports a coarse level; these percentages are what HA shows for each.
BATTERY_PERCENT: Final[dict[BatteryLevel, int]] = {
    BatteryLevel.FRESH: 100,
    BatteryLevel.GOOD: 60,
    BatteryLevel.LOW: 20,
    BatteryLevel.CRITICAL: 5,
}


def battery_percent(level: BatteryLevel | int | None) -> int | None:
    """Percentage for a battery level; None (unknown) for none, unknown or values Salto adds later."""
    if isinstance(level, BatteryLevel):
        return BATTERY_PERCENT.get(level)
    if isinstance(level, int) and 0 <= level <= 100:
        return level
    return None


@dataclass(frozen=True, kw_only=True)
class SaltoLockSensorEntityDescription(SensorEntityDescription):
    """A sensor of a lock."""

    value_fn: Callable[[Lock], int | None]


@dataclass(frozen=True, kw_only=True)
class SaltoIqSensorEntityDescription(SensorEntityDescription):
    """A sensor of an IQ."""

    value_fn: Callable[[Iq], int | None]


LOCK_SENSORS: Final = (
    SaltoLockSensorEntityDescription(
        key="battery",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda lock: battery_percent(lock.battery_level),
    ),
)

IQ_SENSORS: Final = (
    SaltoIqSensorEntityDescription(
        key="signal_strength",
        translation_key="signal_strength",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        # The API does not say what unit signal_strength is in, so HA gets none.
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda iq: iq.signal_strength,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for every lock and IQ, now and whenever new ones appear."""
    coordinator = entry.runtime_data.roster

    @callback
    def add_locks(lock_ids: set[str]) -> None:
        async_add_entities(
            SaltoLockSensor(coordinator, lock_id, description)
            for lock_id in sorted(lock_ids)
            for description in LOCK_SENSORS
        )

    @callback
    def add_iqs(iq_ids: set[str]) -> None:
        async_add_entities(
            SaltoIqSensor(coordinator, iq_id, description)
            for iq_id in sorted(iq_ids)
            for description in IQ_SENSORS
        )

    coordinator.new_lock_callbacks.append(add_locks)
    coordinator.new_iq_callbacks.append(add_iqs)
    add_locks(set(coordinator.data.locks))
    add_iqs(set(coordinator.data.iqs))


class SaltoLockSensor(SaltoLockEntity, SensorEntity):
    """A sensor of a lock."""

    entity_description: SaltoLockSensorEntityDescription

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        lock_id: str,
        description: SaltoLockSensorEntityDescription,
    ) -> None:
        """Initialise the sensor."""
        super().__init__(coordinator, lock_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int | None:
        """The value from the last roster poll."""
        lock = self.salto_lock
        return None if lock is None else self.entity_description.value_fn(lock)


class SaltoIqSensor(SaltoIqEntity, SensorEntity):
    """A sensor of an IQ."""

    entity_description: SaltoIqSensorEntityDescription

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        iq_id: str,
        description: SaltoIqSensorEntityDescription,
    ) -> None:
        """Initialise the sensor."""
        super().__init__(coordinator, iq_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int | None:
        """The value from the last roster poll."""
        iq = self.iq
        return None if iq is None else self.entity_description.value_fn(iq)
