"""Binary sensors of Salto KS locks (online, door left open, intrusion, privacy and office mode) and IQs.

Office mode is shown as its own binary sensor (the lock entity itself then reads "unlocked"), so automations and
history can use it like any other state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Iq, Lock, LockedState
from .coordinator import SaltoConfigEntry, SaltoRosterCoordinator
from .entity import SaltoIqEntity, SaltoLockEntity

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
class SaltoLockBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of a lock."""

    value_fn: Callable[[Lock], bool | None]


@dataclass(frozen=True, kw_only=True)
class SaltoIqBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of an IQ."""

    value_fn: Callable[[Iq], bool | None]


LOCK_BINARY_SENSORS: Final = (
    SaltoLockBinarySensorEntityDescription(
        key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda lock: lock.online,
    ),
    SaltoLockBinarySensorEntityDescription(
        key="left_open",
        translation_key="left_open",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda lock: lock.left_open_alarm,
    ),
    SaltoLockBinarySensorEntityDescription(
        key="intrusion",
        translation_key="intrusion",
        device_class=BinarySensorDeviceClass.TAMPER,
        value_fn=lambda lock: lock.intrusion_alarm,
    ),
    SaltoLockBinarySensorEntityDescription(
        key="privacy_mode",
        translation_key="privacy_mode",
        value_fn=lambda lock: lock.privacy_mode,
    ),
    SaltoLockBinarySensorEntityDescription(
        key="office_mode",
        translation_key="office_mode",
        value_fn=office_mode,
    ),
)

IQ_BINARY_SENSORS: Final = (
    SaltoIqBinarySensorEntityDescription(
        key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda iq: iq.online,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add binary sensors for every lock and IQ, now and whenever new ones appear."""
    coordinator = entry.runtime_data.roster

    @callback
    def add_locks(lock_ids: set[str]) -> None:
        async_add_entities(
            SaltoLockBinarySensor(coordinator, lock_id, description)
            for lock_id in sorted(lock_ids)
            for description in LOCK_BINARY_SENSORS
        )

    @callback
    def add_iqs(iq_ids: set[str]) -> None:
        async_add_entities(
            SaltoIqBinarySensor(coordinator, iq_id, description)
            for iq_id in sorted(iq_ids)
            for description in IQ_BINARY_SENSORS
        )

    coordinator.new_lock_callbacks.append(add_locks)
    coordinator.new_iq_callbacks.append(add_iqs)
    add_locks(set(coordinator.data.locks))
    add_iqs(set(coordinator.data.iqs))


class SaltoLockBinarySensor(SaltoLockEntity, BinarySensorEntity):
    """A binary sensor of a lock."""

    entity_description: SaltoLockBinarySensorEntityDescription

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        lock_id: str,
        description: SaltoLockBinarySensorEntityDescription,
    ) -> None:
        """Initialise the binary sensor."""
        super().__init__(coordinator, lock_id, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        """The value from the last roster poll; None (unknown) when the API gives none."""
        lock = self.salto_lock
        return None if lock is None else self.entity_description.value_fn(lock)


class SaltoIqBinarySensor(SaltoIqEntity, BinarySensorEntity):
    """A binary sensor of an IQ."""

    entity_description: SaltoIqBinarySensorEntityDescription

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        iq_id: str,
        description: SaltoIqBinarySensorEntityDescription,
    ) -> None:
        """Initialise the binary sensor."""
        super().__init__(coordinator, iq_id, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        """The value from the last roster poll; None (unknown) when the API gives none."""
        iq = self.iq
        return None if iq is None else self.entity_description.value_fn(iq)
