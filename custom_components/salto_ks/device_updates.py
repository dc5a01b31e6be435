"""Roster polls handed to the entities of the devices they changed: one coordinator listener for all.

HA's ``CoordinatorEntity`` gives every entity a listener of its own, and every listener runs on every
changed poll: a battery report of one lock wrote all ~9,000 entities of a 1,000-lock site, and the
listeners' closures were a fifth of the objects the garbage collector walks at a restart
(docs/benchmarks.md). Here each entity is filed under its device's id, and a poll writes the entities
of the devices whose model changed (a lock the roster no longer lists counts as changed); a change of
availability (the roster failing, recovering or its rate-limit grace running out) writes them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.entity import Entity

# What the entities show now: whether the roster is usable, and its devices by id, one mapping per
# kind (locks, IQs); unchanged devices are the same objects poll after poll (api/memo.py).
type DeviceView = tuple[bool, tuple[Mapping[str, object], ...]]


class DeviceUpdates:
    """The entities of each lock and IQ of one roster, written when a poll changed their device."""

    def __init__(
        self,
        add_listener: Callable[[CALLBACK_TYPE], CALLBACK_TYPE],
        view: Callable[[], DeviceView],
    ) -> None:
        """``add_listener``: the roster's ``async_add_listener``; ``view``: what entities show now."""
        self._add_listener = add_listener
        self._view = view
        self._entities: dict[str, list[Entity]] = {}
        self._remove_listener: CALLBACK_TYPE | None = None
        self._shown: DeviceView = (False, ())

    @callback
    def async_add(self, device_id: str, entity: Entity) -> None:
        """File an entity under its device (from ``async_added_to_hass``)."""
        if self._remove_listener is None:
            # The first entity: the roster polls while someone listens, as for CoordinatorEntity.
            self._shown = self._view()
            self._remove_listener = self._add_listener(self._async_roster_updated)
        self._entities.setdefault(device_id, []).append(entity)

    @callback
    def async_remove(self, device_id: str, entity: Entity) -> None:
        """Forget an entity (from ``async_will_remove_from_hass``)."""
        entities = self._entities.get(device_id, [])
        if entity in entities:
            entities.remove(entity)
        if not entities:
            self._entities.pop(device_id, None)
        if not self._entities and self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    @callback
    def _async_roster_updated(self) -> None:
        shown, self._shown = self._shown, self._view()
        usable, devices = self._shown
        if usable != shown[0] or len(devices) != len(shown[1]):
            changed: Iterable[str] = list(self._entities)
        else:
            changed = {
                device_id
                for before, now in zip(shown[1], devices, strict=True)
                for device_id in _changed(before, now)
            }
        for device_id in changed:
            for entity in tuple(self._entities.get(device_id, ())):
                entity.async_write_ha_state()


def _changed(before: Mapping[str, Any], now: Mapping[str, Any]) -> set[str]:
    """Ids of the devices added, removed or changed from ``before`` to ``now``."""
    if before is now:
        return set()
    changed = before.keys() ^ now.keys()
    for device_id, device in now.items():
        old = before.get(device_id)
        if old is not device and old is not None and old != device:
            changed.add(device_id)
    return changed
