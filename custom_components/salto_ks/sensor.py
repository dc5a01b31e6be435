"""Sensors of Salto KS locks (battery) and IQs (signal strength)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory

from .api import BatteryLevel, Iq, Lock
from .entity import SaltoDescriptionEntity, SaltoEntityDescription, described_platform_setup

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
class SaltoSensorEntityDescription[DeviceT: Lock | Iq](
    SensorEntityDescription, SaltoEntityDescription[DeviceT, int | None]
):
    """A sensor of every lock or of every IQ."""


LOCK_SENSORS: Final[tuple[SaltoSensorEntityDescription[Lock], ...]] = (
    SaltoSensorEntityDescription(
        key="battery",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda lock: battery_percent(lock.battery_level),
    ),
)

IQ_SENSORS: Final[tuple[SaltoSensorEntityDescription[Iq], ...]] = (
    SaltoSensorEntityDescription(
        key="signal_strength",
        translation_key="signal_strength",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        # The API does not say what unit signal_strength is in, so HA gets none.
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda iq: iq.signal_strength,
    ),
)


class SaltoSensor(SaltoDescriptionEntity[Any, int | None], SensorEntity):
    """A sensor of a lock or an IQ."""

    entity_description: SaltoSensorEntityDescription[Any]

    @property
    def native_value(self) -> int | None:
        """The value from the last roster poll."""
        return self.value


# Each lock's battery and each IQ's signal strength sensor, for new ones as they appear.
async_setup_entry = described_platform_setup(SaltoSensor, locks=LOCK_SENSORS, iqs=IQ_SENSORS)
