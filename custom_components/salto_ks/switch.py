"""Manual office mode switches: one per lock, on = ``office_mode``, off = ``locked``.

The switch lives next to the office mode binary sensor, which stays the read-only witness (it also
shows office mode started at the door or by the easy office mode schedule, and works for accounts
without the right to toggle it). Both read the lock's ``locked_state`` from the roster; turning the
switch off ends office mode whoever started it. The lock's easy office mode schedule is shown in the
switch's attributes (``salto_ks.set_easy_office_mode`` sets or clears it).

A switch has no code field: behind an OTP IQ it sends the code Home Assistant computes for the IQ
(otp.py) or none, and the cloud's refusal then says to use ``salto_ks.set_office_mode`` with
``otp``. With the unlock PIN set the switch refuses both ways without a request (office mode keeps
the door open, so it is an opening the PIN guards; the action takes the PIN as ``code``).
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Lock, LockedState
from .const import CONF_PIN_HASH
from .coordinator import SaltoConfigEntry, SaltoRosterCoordinator
from .entity import LOCK, SaltoEntity, async_add_device_entities
from .lock_commands import LockCommands

# Commands go to the cloud one at a time.
PARALLEL_UPDATES = 1

KEY: Final = "manual_office_mode"
_KNOWN_STATES: Final = frozenset({LockedState.LOCKED, LockedState.UNLOCKED})


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a manual office mode switch for every lock, now and whenever new ones appear."""
    pin_set = bool(entry.options.get(CONF_PIN_HASH))
    coordinator = entry.runtime_data.roster
    async_add_device_entities(
        entry,
        async_add_entities,
        LOCK,
        lambda lock_id: [SaltoOfficeModeSwitch(coordinator, lock_id, pin_set)],
    )


def schedule_attributes(lock: Lock | None) -> dict[str, Any]:
    """The lock's easy office mode schedule as attributes (all None / empty without one)."""
    schedule = lock.easy_office_mode_schedule if lock is not None else None
    if schedule is None:
        return {
            "easy_office_mode_days": [],
            "easy_office_mode_start_time": None,
            "easy_office_mode_end_time": None,
            "easy_office_mode_start_date": None,
            "easy_office_mode_end_date": None,
            "easy_office_mode_auto_start": None,
        }
    return {
        "easy_office_mode_days": list(schedule.days),
        "easy_office_mode_start_time": schedule.start_time,
        "easy_office_mode_end_time": schedule.end_time,
        "easy_office_mode_start_date": schedule.start_date,
        "easy_office_mode_end_date": schedule.end_date,
        "easy_office_mode_auto_start": schedule.auto_start,
    }


class SaltoOfficeModeSwitch(SaltoEntity[Lock], SwitchEntity):
    """Manual office mode of one lock."""

    _attr_translation_key = KEY

    def __init__(self, coordinator: SaltoRosterCoordinator, lock_id: str, pin_set: bool) -> None:
        """Bind to a lock; ``pin_set``: the entry's unlock PIN guards office mode."""
        super().__init__(coordinator, LOCK, lock_id, KEY)
        # The options flow reloads the entry when the PIN changes, so this never goes stale.
        self._pin_set = pin_set

    def _commands(self) -> LockCommands:
        # Made when used: a site keeps none per lock.
        return LockCommands(self.coordinator, self.device_id)

    @property
    def is_on(self) -> bool | None:
        """On in office mode, off when locked or unlocked, unknown for none/uncertain."""
        if (lock := self.device) is None:
            return None
        if lock.locked_state == LockedState.OFFICE_MODE:
            return True
        return False if lock.locked_state in _KNOWN_STATES else None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The easy office mode schedule (days, times, dates, whether it opens by itself)."""
        return schedule_attributes(self.device)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start manual office mode."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """End office mode (the lock locks)."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        if self._pin_set:
            self._commands().raise_refused("office_mode_needs_pin")
        await self._commands().async_set_office_mode(self.hass, on)
