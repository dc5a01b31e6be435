"""Base entities of the Salto KS integration: one for lock devices, one for IQ devices."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api import Iq, Lock
from .const import DOMAIN
from .coordinator import SaltoRosterCoordinator


class SaltoEntity(CoordinatorEntity[SaltoRosterCoordinator]):
    """An entity fed by the roster coordinator."""

    _attr_has_entity_name = True

    @property
    def available(self) -> bool:
        """Available while the roster is usable: fresh, or recent and only held back by a rate limit.

        Not CoordinatorEntity's last_update_success: through a rate limit a lock command must reach
        the entity to raise the rate-limited error (see SaltoRosterCoordinator.data_usable).
        """
        return self.coordinator.data_usable


class SaltoLockEntity(SaltoEntity):
    """An entity of a lock's device; unavailable once the lock leaves the roster."""

    def __init__(self, coordinator: SaltoRosterCoordinator, lock_id: str, key: str | None) -> None:
        """Bind the entity to a lock; ``key`` None marks the device's main entity."""
        super().__init__(coordinator)
        self.lock_id = lock_id
        self._attr_unique_id = lock_id if key is None else f"{lock_id}_{key}"
        # The coordinator registers the device with all its details; entities only link to it.
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, lock_id)})

    @property
    def salto_lock(self) -> Lock | None:
        """The lock as of the last roster poll, None when it left the site."""
        return self.coordinator.data.locks.get(self.lock_id)

    @property
    def available(self) -> bool:
        """Available while the roster is usable and still lists the lock."""
        return super().available and self.lock_id in self.coordinator.data.locks


class SaltoIqEntity(SaltoEntity):
    """An entity of an IQ's device; unavailable once the IQ leaves the roster."""

    def __init__(self, coordinator: SaltoRosterCoordinator, iq_id: str, key: str) -> None:
        """Bind the entity to an IQ."""
        super().__init__(coordinator)
        self.iq_id = iq_id
        self._attr_unique_id = f"{iq_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, iq_id)})

    @property
    def iq(self) -> Iq | None:
        """The IQ as of the last roster poll, None when it left the site."""
        return self.coordinator.data.iqs.get(self.iq_id)

    @property
    def available(self) -> bool:
        """Available while the roster is usable and still lists the IQ."""
        return super().available and self.iq_id in self.coordinator.data.iqs
