"""The devices of a config entry: DeviceInfo of locks and IQs, their registration and their removal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .api import Iq, Lock
from .compat import DEVICE_PER_ENTRY
from .const import CONF_SITE_ID, DOMAIN, LOGGER

MANUFACTURER: Final = "Salto"
# The API has no IQ model field.
IQ_MODEL: Final = "IQ"
# The site itself, a device for the entities of the whole site (the event stream's connectivity).
SITE_MODEL: Final = "KS site"

# Successful polls a lock or IQ must be missing from before its device (and the user's names,
# areas and disabled flags with it) is removed.
DEVICE_MISSING_POLLS: Final = 2


def iq_device_info(iq: Iq) -> DeviceInfo:
    """Device registry fields of an IQ."""
    return DeviceInfo(
        identifiers={(DOMAIN, iq.id)},
        name=iq.name or f"IQ {iq.id[:8]}",
        manufacturer=MANUFACTURER,
        model=IQ_MODEL,
        # "2.0" is the IQ generation (Salto's support pages tell IQ1 and IQ2.0 hardware apart), not
        # firmware; None clears any firmware value a registry entry still carries.
        hw_version=iq.revision,
        sw_version=None,
        serial_number=iq.mac,
    )


def site_device_info(site_id: str, name: str) -> DeviceInfo:
    """Device registry fields of the site of a config entry (identified by the site UUID)."""
    return DeviceInfo(
        identifiers={(DOMAIN, site_id)},
        name=name,
        manufacturer=MANUFACTURER,
        model=SITE_MODEL,
        entry_type=dr.DeviceEntryType.SERVICE,
    )


def lock_model(lock_type: str | None) -> str | None:
    """A readable model for Salto's ``lock_type`` (``wall_reader_pin`` → "Wall reader with keypad").

    Salto documents no list of lock types (the record shows ``escutcheon_pin`` and
    ``wall_reader_pin``, keypad models), so every value is spelled out by one rule: words split at
    underscores, a trailing ``pin`` is the PIN keypad. The raw value stays in the device's model ID.
    """
    words = (lock_type or "").replace("-", "_").split("_")
    words = [word for word in words if word]
    if not words:
        return lock_type or None
    keypad = len(words) > 1 and words[-1].lower() == "pin"
    text = " ".join(words[:-1] if keypad else words)
    return text[0].upper() + text[1:] + (" with keypad" if keypad else "")


def lock_device_info(lock: Lock) -> DeviceInfo:
    """Device registry fields of a lock (its IQ link is set as via_device_id by ``DeviceTracker``)."""
    return DeviceInfo(
        identifiers={(DOMAIN, lock.id)},
        name=lock.name or f"Lock {lock.id[:8]}",
        manufacturer=MANUFACTURER,
        model=lock_model(lock.lock_type),
        model_id=lock.lock_type,
        serial_number=lock.mac,
    )


class DeviceTracker:
    """Keep a config entry's devices in step with the roster polls.

    ``async_sync`` registers every listed lock and IQ (entities only link to their device by
    identifier) and names the ids that are new, for the platforms to add entities. ``async_prune``
    removes a device once its lock or IQ is missing from DEVICE_MISSING_POLLS successful polls, so
    one partial listing cannot delete the user's names and areas.
    """

    def __init__(self, hass: HomeAssistant, config_entry: ConfigEntry) -> None:
        """Track the devices of one config entry."""
        self._hass = hass
        self._entry = config_entry
        self._site_id: str = config_entry.data[CONF_SITE_ID]
        self._known_lock_ids: set[str] = set()
        self._known_iq_ids: set[str] = set()
        # Device registry id -> consecutive successful polls its lock/IQ was missing from.
        self._missing_polls: dict[str, int] = {}
        # Whether the previous successful poll listed any lock / IQ (None: no poll yet this run).
        self._listed_before: tuple[bool, bool] | None = None
        # Salto id -> the DeviceInfo its entities link to the device with: one per device, shared by
        # its entities (a dict, a set and a tuple per entity made every restart allocate ~27,000
        # more containers at 1,000 locks, see docs/benchmarks.md).
        self._links: dict[str, DeviceInfo] = {}
        # Salto id -> the model last registered, and IQ id -> its device registry id.
        self._synced: dict[str, Lock | Iq] = {}
        self._iq_devices: dict[str, str] = {}
        # The ids of the last listing that left no device missing: the same listing again has
        # nothing to prune, and comparing two sets is cheaper than walking the device registry.
        self._settled_ids: frozenset[str] | None = None

    def link(self, salto_id: str) -> DeviceInfo:
        """The DeviceInfo the entities of a lock or IQ link to its device with (identifiers only)."""
        if (link := self._links.get(salto_id)) is None:
            link = self._links[salto_id] = DeviceInfo(identifiers={(DOMAIN, salto_id)})
        return link

    @callback
    def async_sync(
        self, locks: Mapping[str, Lock], iqs: Mapping[str, Iq]
    ) -> tuple[set[str], set[str]]:
        """Register the devices of a roster; return the lock ids and IQ ids not seen before."""
        device_registry = dr.async_get(self._hass)
        entry_id = self._entry.entry_id
        synced = self._synced
        # IQs first: a lock's device hangs off its IQ. A model that is the very object registered
        # last time (the client reuses the models of unchanged items) has nothing new to register.
        for iq in iqs.values():
            if synced.get(iq.id) is not iq:
                device = device_registry.async_get_or_create(
                    config_entry_id=entry_id, **iq_device_info(iq)
                )
                self._iq_devices[iq.id] = device.id
                synced[iq.id] = iq
        for lock in locks.values():
            if synced.get(lock.id) is lock:
                continue
            device = device_registry.async_get_or_create(
                config_entry_id=entry_id, **lock_device_info(lock)
            )
            via_device_id = self._iq_devices.get(lock.iq.id) if lock.iq is not None else None
            if device.via_device_id != via_device_id:
                device_registry.async_update_device(device.id, via_device_id=via_device_id)
            synced[lock.id] = lock

        # Known ids keep their entities while missing from a listing (they only turn unavailable);
        # async_prune forgets them with their device, so a lock that comes back is added again.
        new_locks = set(locks) - self._known_lock_ids
        new_iqs = set(iqs) - self._known_iq_ids
        self._known_lock_ids |= new_locks
        self._known_iq_ids |= new_iqs
        return new_locks, new_iqs

    @callback
    def async_prune(self, lock_ids: set[str], iq_ids: set[str]) -> None:
        """Remove devices whose lock or IQ is missing from DEVICE_MISSING_POLLS successful polls.

        A listing that comes back empty right after one that was not is a server glitch far more
        often than a site stripped bare: it counts for nothing (one warning), so a site that really
        lost everything is cleaned up one poll later.
        """
        listed = frozenset(lock_ids | iq_ids)
        if listed == self._settled_ids:
            return
        device_registry = dr.async_get(self._hass)
        entry_id = self._entry.entry_id
        devices = dr.async_entries_for_config_entry(device_registry, entry_id)
        # After a restart the registry stands in for the previous listing.
        had_locks, had_iqs = self._listed_before or (
            any(device.model not in (IQ_MODEL, SITE_MODEL) for device in devices),
            any(device.model == IQ_MODEL for device in devices),
        )
        self._listed_before = (bool(lock_ids), bool(iq_ids))
        if (had_locks and not lock_ids) or (had_iqs and not iq_ids):
            LOGGER.warning(
                "Salto KS listed no %s for %s, though it did before; keeping their devices "
                "until a later poll confirms it",
                "locks" if had_locks and not lock_ids else "IQs",
                self._entry.title,
            )
            return
        # The site's own device is not in the roster: it goes with the config entry only.
        current = {(DOMAIN, salto_id) for salto_id in listed | {self._site_id}}
        for device in devices:
            if device.identifiers & current:
                self._missing_polls.pop(device.id, None)
                continue
            missing = self._missing_polls.get(device.id, 0) + 1
            if missing < DEVICE_MISSING_POLLS:
                self._missing_polls[device.id] = missing
                continue
            del self._missing_polls[device.id]
            LOGGER.debug("Removing device %s: gone from the site", device.name)
            for _domain, salto_id in device.identifiers:
                self._known_lock_ids.discard(salto_id)
                self._known_iq_ids.discard(salto_id)
                self._links.pop(salto_id, None)
                self._synced.pop(salto_id, None)
                self._iq_devices.pop(salto_id, None)
            if DEVICE_PER_ENTRY:
                device_registry.async_remove_device(device.id)
            else:
                device_registry.async_update_device(device.id, remove_config_entry_id=entry_id)
        self._settled_ids = None if self._missing_polls else listed
