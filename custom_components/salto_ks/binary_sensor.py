"""Binary sensors of Salto KS locks (online, door left open, intrusion, privacy and office mode) and IQs.

Office mode is shown as its own binary sensor (the lock entity itself then reads "unlocked"), so automations and
history can use it like any other state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory

from .api import Iq, Lock, LockedState
from .entity import SaltoDescriptionEntity, SaltoEntityDescription, described_platform_setup

# Read-only platform fed by the coordinator.
PARALLEL_UPDATES = 0

_KNOWN_NOT_OFFICE_MODE: Final = frozenset({LockedState.LOCKED, LockedState.UNLOCKED})


def office_mode(lock: Lock) -> bool | None:
    """Whether the lock is in office mode; None while its state is none/uncertain/unknown."""
    if lock.locked_state == LockedState.OFFICE_MODE:
        return True
    if lock.locked_state in _KNOWN_NOT_OFFICE_MODE:
        return False
    return None


@dataclass(frozen=True, kw_only=True)
class SaltoBinarySensorEntityDescription[DeviceT: Lock | Iq](
    BinarySensorEntityDescription, SaltoEntityDescription[DeviceT, bool | None]
):
    """A binary sensor of every lock or of every IQ."""


def online[DeviceT: Lock | Iq]() -> SaltoBinarySensorEntityDescription[DeviceT]:
    """Whether the lock or IQ reaches the cloud: both report it alike."""
    return SaltoBinarySensorEntityDescription(
        key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda device: device.online,
    )


LOCK_BINARY_SENSORS: Final[tuple[SaltoBinarySensorEntityDescription[Lock], ...]] = (
    online(),
    SaltoBinarySensorEntityDescription(
        key="left_open",
        translation_key="left_open",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda lock: lock.left_open_alarm,
    ),
    SaltoBinarySensorEntityDescription(
        key="intrusion",
        translation_key="intrusion",
        device_class=BinarySensorDeviceClass.TAMPER,
        value_fn=lambda lock: lock.intrusion_alarm,
    ),
    SaltoBinarySensorEntityDescription(
        key="privacy_mode",
        translation_key="privacy_mode",
        value_fn=lambda lock: lock.privacy_mode,
    ),
    SaltoBinarySensorEntityDescription(
        key="office_mode",
        translation_key="office_mode",
        value_fn=office_mode,
    ),
)

IQ_BINARY_SENSORS: Final[tuple[SaltoBinarySensorEntityDescription[Iq], ...]] = (online(),)


class SaltoBinarySensor(SaltoDescriptionEntity[Any, bool | None], BinarySensorEntity):
    """A binary sensor of a lock or an IQ."""

    entity_description: SaltoBinarySensorEntityDescription[Any]

    @property
    def is_on(self) -> bool | None:
        """The value from the last roster poll; None (unknown) when the API gives none."""
        return self.value


# The locks' state and alarm sensors and the IQs' online sensors, also for new ones.
async_setup_entry = described_platform_setup(
    SaltoBinarySensor, locks=LOCK_BINARY_SENSORS, iqs=IQ_BINARY_SENSORS
)
