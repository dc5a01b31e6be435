"""Binary sensors of Salto KS locks (online, door left open, intrusion, privacy and office mode), IQs, and the
site's event stream (connected or not).

Office mode is shown as its own binary sensor (the lock entity itself then reads "unlocked"), so automations and
history can use it like any other state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Iq, Lock, LockedState
from .const import CONF_SITE_ID
from .coordinator import SaltoConfigEntry
from .devices import site_device_info
from .entity import SaltoDescriptionEntity, SaltoEntityDescription, described_platform_setup
from .stream import EventStreamManager

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
    """Whether the lock or IQ reaches the cloud: both report it alike (named by its device class)."""
    return SaltoBinarySensorEntityDescription(
        key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda device: device.online,
    )


def named[DeviceT: Lock | Iq](
    key: str,
    value_fn: Callable[[DeviceT], bool | None],
    device_class: BinarySensorDeviceClass | None = None,
    entity_category: EntityCategory | None = None,
) -> SaltoBinarySensorEntityDescription[DeviceT]:
    """A binary sensor whose translated name has its key (translations: entity.binary_sensor.<key>)."""
    return SaltoBinarySensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        entity_category=entity_category,
        value_fn=value_fn,
    )


LOCK_BINARY_SENSORS: Final[tuple[SaltoBinarySensorEntityDescription[Lock], ...]] = (
    online(),
    named("left_open", lambda lock: lock.left_open_alarm, BinarySensorDeviceClass.PROBLEM),
    named("intrusion", lambda lock: lock.intrusion_alarm, BinarySensorDeviceClass.TAMPER),
    named("privacy_mode", lambda lock: lock.privacy_mode),
    named("office_mode", office_mode),
)

IQ_BINARY_SENSORS: Final[tuple[SaltoBinarySensorEntityDescription[Iq], ...]] = (
    online(),
    # Remote opening and office mode on the IQ's locks need the IQ's one-time code.
    named("otp_required", lambda iq: iq.otp_enabled, entity_category=EntityCategory.DIAGNOSTIC),
)


class SaltoBinarySensor(SaltoDescriptionEntity[Any, bool | None], BinarySensorEntity):
    """A binary sensor of a lock or an IQ."""

    entity_description: SaltoBinarySensorEntityDescription[Any]

    @property
    def is_on(self) -> bool | None:
        """The value from the last roster poll; None (unknown) when the API gives none."""
        return self.value


class SaltoEventStreamSensor(BinarySensorEntity):
    """Whether the site's event stream is connected (on) or the access log is polled alone (off).

    On the site's device; always available: "off" is the information (the stream is down or refused).
    """

    _attr_has_entity_name = True
    _attr_translation_key = "event_stream"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_should_poll = False

    def __init__(self, entry: SaltoConfigEntry, stream: EventStreamManager) -> None:
        """Bind the sensor to the entry's stream."""
        site_id = entry.data[CONF_SITE_ID]
        self._stream = stream
        self._attr_unique_id = f"{site_id}_event_stream"
        self._attr_device_info = site_device_info(site_id, entry.title)

    async def async_added_to_hass(self) -> None:
        """Follow the stream's connection state."""
        self.async_on_remove(self._stream.async_add_listener(self.async_write_ha_state))

    @property
    def is_on(self) -> bool:
        """Whether the stream is connected now."""
        return self._stream.connected


# The locks' state and alarm sensors and the IQs' online sensors, also for new ones.
_async_setup_described = described_platform_setup(
    SaltoBinarySensor, locks=LOCK_BINARY_SENSORS, iqs=IQ_BINARY_SENSORS
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the lock and IQ binary sensors, and the event stream's sensor when the stream is on."""
    await _async_setup_described(hass, entry, async_add_entities)
    if (stream := entry.runtime_data.stream) is not None:
        async_add_entities([SaltoEventStreamSensor(entry, stream)])
