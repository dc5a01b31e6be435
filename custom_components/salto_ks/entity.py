"""The entity base of the Salto KS integration and the one way platforms add entities.

Every entity belongs to a lock's or an IQ's device (``DeviceKind``: ``LOCK`` or ``IQ``), is fed by the roster
coordinator and is available while the roster is usable and still lists its device. Sensors and binary sensors
are made from descriptions (``SaltoEntityDescription``: the key and a ``value_fn``), as in HA core
``tedee``/``peblar``. ``async_add_device_entities`` adds a platform's entities for every device the roster lists
now and for each one it lists later; ``async_add_described_entities`` does so with one entity per description.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Iq, Lock
from .const import DOMAIN
from .coordinator import RosterData, SaltoConfigEntry, SaltoRosterCoordinator
from .entity_budget import async_budget_lock_entities


@dataclass(frozen=True, slots=True)
class DeviceKind[DeviceT: Lock | Iq]:
    """Locks or IQs: where a roster poll lists them and which callbacks hear of new ones."""

    devices: Callable[[RosterData], Mapping[str, DeviceT]]
    new_device_callbacks: Callable[[SaltoRosterCoordinator], list[Callable[[set[str]], None]]]


LOCK: Final[DeviceKind[Lock]] = DeviceKind(
    devices=lambda data: data.locks, new_device_callbacks=lambda roster: roster.new_lock_callbacks
)
IQ: Final[DeviceKind[Iq]] = DeviceKind(
    devices=lambda data: data.iqs, new_device_callbacks=lambda roster: roster.new_iq_callbacks
)


@dataclass(frozen=True, kw_only=True)
class SaltoEntityDescription[DeviceT: Lock | Iq, ValueT](EntityDescription):
    """An entity of every lock or of every IQ: its key names it within the device, its ``value_fn``
    reads its value from the device as of the last roster poll."""

    value_fn: Callable[[DeviceT], ValueT]


class SaltoEntity[DeviceT: Lock | Iq](Entity):
    """An entity of one lock's or IQ's device, fed by the roster coordinator.

    Not a ``CoordinatorEntity``: the roster's ``device_updates`` writes the entities of the devices a
    poll changed, not every entity on every change (device_updates.py).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    # No entity names a placeholder: one shared empty mapping instead of a dict per entity from HA.
    _attr_translation_placeholders: Mapping[str, str] = MappingProxyType({})

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        kind: DeviceKind[DeviceT],
        device_id: str,
        key: str | None,
    ) -> None:
        """Bind the entity to a device; ``key`` None marks the device's main entity."""
        self.coordinator = coordinator
        self._kind = kind
        self.device_id = device_id
        self._attr_unique_id = device_id if key is None else f"{device_id}_{key}"
        # The coordinator registers the device with all its details; entities only link to it.
        self._attr_device_info = coordinator.device_link(device_id)

    async def async_added_to_hass(self) -> None:
        """Be written when a roster poll changes the device."""
        await super().async_added_to_hass()
        self.coordinator.device_updates.async_add(self.device_id, self)

    async def async_will_remove_from_hass(self) -> None:
        """Stop following the roster."""
        self.coordinator.device_updates.async_remove(self.device_id, self)
        await super().async_will_remove_from_hass()

    async def async_update(self) -> None:
        """Poll the roster now (``homeassistant.update_entity``), debounced like every request."""
        if self.enabled:
            await self.coordinator.async_request_refresh()

    @property
    def device(self) -> DeviceT | None:
        """The lock or IQ as of the last roster poll, None when it left the site."""
        return self._kind.devices(self.coordinator.data).get(self.device_id)

    @property
    def available(self) -> bool:
        """Available while the roster is usable and still lists the device.

        Usable, not the coordinator's last_update_success: through a rate limit a lock command must
        reach the entity to raise the rate-limited error (see SaltoRosterCoordinator.data_usable).
        """
        return self.coordinator.data_usable and self.device_id in self._kind.devices(
            self.coordinator.data
        )


class SaltoDescriptionEntity[DeviceT: Lock | Iq, ValueT](SaltoEntity[DeviceT]):
    """An entity made from a description: one per description and device of its kind."""

    entity_description: SaltoEntityDescription[DeviceT, ValueT]

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        kind: DeviceKind[DeviceT],
        device_id: str,
        description: SaltoEntityDescription[DeviceT, ValueT],
    ) -> None:
        """Bind the entity to a device and its description."""
        super().__init__(coordinator, kind, device_id, description.key)
        self.entity_description = description

    @property
    def value(self) -> ValueT | None:
        """The description's value as of the last roster poll; None (unknown) once the device left."""
        device = self.device
        return None if device is None else self.entity_description.value_fn(device)


# Entities are added in chunks of devices, the loop free in between, each chunk sized so that adding
# it takes about ADD_SLICE_SECONDS: a fifth of the 50 ms a run of the loop may take, so that a busy
# machine (a chunk taking several times its estimate) still stays under it. HA's cost per entity
# grows with its registries (15 locks took 51 ms at 10,000 locks), and every chunk has a fixed cost
# too (HA makes a task and a timeout per call: chunks of 10 devices cost a 1,000-lock restart
# ~60 ms). The first chunk has ADD_FIRST_CHUNK devices; each next one is sized from the time per
# device of the one before, at most twice its size (docs/benchmarks.md, "Chunks sized by time").
ADD_FIRST_CHUNK: Final = 10
ADD_SLICE_SECONDS: Final = 0.01


def next_chunk_size(size: int, seconds: float) -> int:
    """Devices in the next chunk, after ``size`` devices took ``seconds`` to add."""
    if seconds <= 0:
        return 2 * size
    return max(1, min(2 * size, int(size * ADD_SLICE_SECONDS / seconds)))


@callback
def async_add_device_entities(
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    kind: DeviceKind[Any],
    entities: Callable[[str], Iterable[Entity]],
) -> None:
    """Add ``entities(device_id)`` for every device of ``kind``, now and whenever the roster lists new ones.

    The first ADD_FIRST_CHUNK devices are added at once; more are added by a task of the entry, a
    chunk at a time with the loop free in between (``next_chunk_size``).
    """
    roster = entry.runtime_data.roster

    def add_chunk(device_ids: Sequence[str]) -> int:
        """Add the devices' entities; return the size of the chunk to add next."""
        started = time.perf_counter()
        if kind is LOCK:  # a big site's locks start with their secondary entities disabled
            async_add_entities(async_budget_lock_entities(entry, device_ids, entities))
        else:
            async_add_entities(entity for device_id in device_ids for entity in entities(device_id))
        return next_chunk_size(len(device_ids), time.perf_counter() - started)

    async def add_rest(device_ids: Sequence[str], size: int) -> None:
        start = 0
        while start < len(device_ids):
            await asyncio.sleep(0)
            if roster.stopped:  # the entry unloaded meanwhile
                return
            chunk = device_ids[start : start + size]
            start += len(chunk)
            size = add_chunk(chunk)

    @callback
    def add(device_ids: set[str]) -> None:
        ordered = sorted(device_ids)
        size = add_chunk(ordered[:ADD_FIRST_CHUNK])
        if rest := ordered[ADD_FIRST_CHUNK:]:
            entry.async_create_task(roster.hass, add_rest(rest, size), f"{DOMAIN} add entities")

    kind.new_device_callbacks(roster).append(add)
    add(set(kind.devices(roster.data)))


@callback
def async_add_described_entities(
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[SaltoRosterCoordinator, DeviceKind[Any], str, Any], Entity],
    *,
    locks: Sequence[SaltoEntityDescription[Lock, Any]] = (),
    iqs: Sequence[SaltoEntityDescription[Iq, Any]] = (),
) -> None:
    """Add an ``entity_class`` entity per description for every lock / IQ, now and later."""
    roster = entry.runtime_data.roster
    kinds: tuple[tuple[DeviceKind[Any], Sequence[SaltoEntityDescription[Any, Any]]], ...] = (
        (LOCK, locks),
        (IQ, iqs),
    )
    for kind, described in kinds:
        async_add_device_entities(
            entry,
            async_add_entities,
            kind,
            partial(_described_entities, entity_class, roster, kind, described),
        )


type PlatformSetup = Callable[
    [HomeAssistant, SaltoConfigEntry, AddConfigEntryEntitiesCallback], Awaitable[None]
]


def described_platform_setup(
    entity_class: Callable[[SaltoRosterCoordinator, DeviceKind[Any], str, Any], Entity],
    *,
    locks: Sequence[SaltoEntityDescription[Lock, Any]] = (),
    iqs: Sequence[SaltoEntityDescription[Iq, Any]] = (),
) -> PlatformSetup:
    """A platform's ``async_setup_entry`` that adds one ``entity_class`` per description and device."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: SaltoConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        async_add_described_entities(entry, async_add_entities, entity_class, locks=locks, iqs=iqs)

    return async_setup_entry


def _described_entities(
    entity_class: Callable[[SaltoRosterCoordinator, DeviceKind[Any], str, Any], Entity],
    roster: SaltoRosterCoordinator,
    kind: DeviceKind[Any],
    descriptions: Sequence[SaltoEntityDescription[Any, Any]],
    device_id: str,
) -> list[Entity]:
    return [entity_class(roster, kind, device_id, description) for description in descriptions]
