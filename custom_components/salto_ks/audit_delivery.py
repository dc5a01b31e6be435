"""Where a row of the access log goes: the lock's event entity and the bus, exactly once.

``Delivery`` belongs to the audit coordinator (``audit.py``), which reads the log and hands it the new
rows. A row whose lock has no event entity yet is held until the entity subscribes, or until it has
waited long enough (then it goes to the bus only). See docs/architecture.md §3.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .api import Entry
from .audit_rows import EVENT_SALTO_KS, bus_payload, is_opening, user_name
from .const import DOMAIN, LOGGER

# Unique-id suffix of a lock's event entity (event.py).
AUDIT_EVENT_KEY: Final = "access"

# A row whose lock has no event entity yet is held (the roster is asked for a refresh meanwhile)
# for this many audit polls, or, while the roster does not list the lock, this many successful roster
# refreshes (a failing or rate-limited roster proves nothing); after that it is fired on the bus only.
AUDIT_HOLD_POLLS: Final = 5
# At most this many rows are held; beyond it the oldest go to the bus only.
AUDIT_MAX_HELD: Final = 200
# Latest delivered rows kept for diagnostics.
AUDIT_RECENT: Final = 20
# Where a delivered row came from (diagnostics: rows by path).
PATH_POLL: Final = "poll"
PATH_STREAM: Final = "stream"


class RosterListing(Protocol):
    """What the feed reads of the roster's data: the locks it lists."""

    @property
    def locks(self) -> Mapping[str, object]:
        """The locks by id."""


@dataclass(slots=True)
class _Held:
    """A row waiting for its lock's event entity, and the audit polls it has waited."""

    entry: Entry
    polls: int = 0
    # The roster data at the last count: a roster that has not polled since proves nothing.
    roster: RosterListing | None = None


class Delivery:
    """The rows delivered and held for one config entry, and the event entities they go to."""

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: ConfigEntry[Any],
        request_roster_refresh: Callable[[], None],
    ) -> None:
        """Deliver for ``config_entry``; ``request_roster_refresh`` asks for a roster poll soon."""
        self.hass = hass
        self.config_entry = config_entry
        self._request_roster_refresh = request_roster_refresh
        self.recent: deque[Entry] = deque(maxlen=AUDIT_RECENT)
        self.last_entries: dict[str, Entry] = {}
        self.last_openings: dict[str, Entry] = {}
        self.held: list[_Held] = []
        self.delivered: dict[str, int] = {PATH_POLL: 0, PATH_STREAM: 0}
        self._subscribers: dict[str, Callable[[Entry], None]] = {}

    def restore(
        self,
        last_entries: dict[str, Entry],
        last_openings: dict[str, Entry],
        held: list[tuple[Entry, int]],
    ) -> None:
        """Take the state the Store kept."""
        self.last_entries = last_entries
        self.last_openings = last_openings
        self.held = [_Held(entry, polls) for entry, polls in held]

    def held_rows(self) -> list[tuple[Entry, int]]:
        """The held rows and the polls each has waited (for the Store)."""
        return [(held.entry, held.polls) for held in self.held]

    def changed_by(self, lock_id: str) -> str | None:
        """The person of the lock's latest delivered opening (None: nobody named, or none seen)."""
        if (entry := self.last_openings.get(lock_id)) is None:
            return None
        return user_name(entry)

    @callback
    def subscribe(
        self, lock_id: str, deliver: Callable[[Entry], None]
    ) -> tuple[Callable[[], None], bool]:
        """Send the lock's rows to ``deliver``, held ones at once; the unsubscribe and whether any was."""
        self._subscribers[lock_id] = deliver
        waiting = [held for held in self.held if held.entry.lock_id == lock_id]
        if waiting:
            self.held = [held for held in self.held if held.entry.lock_id != lock_id]
            for held in waiting:
                self._deliver(held.entry)
        # A partial, not a closure: one object per event entity.
        return partial(self._unsubscribe, lock_id, deliver), bool(waiting)

    @callback
    def _unsubscribe(self, lock_id: str, deliver: Callable[[Entry], None]) -> None:
        if self._subscribers.get(lock_id) is deliver:
            del self._subscribers[lock_id]

    def _waits_for_entity(self, lock_id: str) -> bool:
        """Whether a row of this lock must wait: no event entity listens and none is disabled."""
        if lock_id in self._subscribers:
            return False
        registry = er.async_get(self.hass)
        entity_id = registry.async_get_entity_id(
            Platform.EVENT, DOMAIN, f"{lock_id}_{AUDIT_EVENT_KEY}"
        )
        if entity_id is not None and (entity := registry.async_get(entity_id)) is not None:
            return entity.disabled_by is None
        return True

    @callback
    def dispatch(self, entries: list[Entry], roster: RosterListing, path: str = PATH_POLL) -> None:
        """Deliver rows (oldest first), holding those whose lock has no event entity yet."""
        unknown_lock = False
        self.delivered[path] += len(entries)
        for entry in entries:
            lock_id = entry.lock_id
            if lock_id is None or not self._waits_for_entity(lock_id):
                self._deliver(entry)
                continue
            if len(self.held) >= AUDIT_MAX_HELD:
                self._deliver(self.held.pop(0).entry)
            self.held.append(_Held(entry, roster=roster))
            unknown_lock = unknown_lock or lock_id not in roster.locks
        if unknown_lock:
            self._request_roster_refresh()

    @callback
    def age_held(self, roster: RosterListing) -> tuple[bool, bool]:
        """Count a poll for every held row; fire the rows that waited too long on the bus only.

        Returns whether the held rows changed and whether any was delivered.
        """
        if not self.held:
            return False, False
        waiting: list[_Held] = []
        unknown_lock = False
        for held in self.held:
            listed = held.entry.lock_id in roster.locks
            if listed or held.roster is not roster:
                held.polls += 1
                held.roster = roster
            if held.polls >= AUDIT_HOLD_POLLS:
                LOGGER.debug(
                    "Lock %s of entry %s has no event entity after %s polls; bus event only",
                    held.entry.lock_id,
                    held.entry.id,
                    held.polls,
                )
                self._deliver(held.entry)
                continue
            waiting.append(held)
            unknown_lock = unknown_lock or not listed
        released = len(waiting) < len(self.held)
        self.held = waiting
        if unknown_lock:
            self._request_roster_refresh()
        return True, released

    @callback
    def _deliver(self, entry: Entry) -> None:
        """Hand one row to its event entity (if any) and fire it on the bus; exactly once."""
        lock_id = entry.lock_id
        if lock_id is not None:
            self.last_entries[lock_id] = entry
            if is_opening(entry):
                self.last_openings[lock_id] = entry
        self.recent.append(entry)
        if lock_id is not None and (deliver := self._subscribers.get(lock_id)) is not None:
            try:
                deliver(entry)
            except Exception:
                LOGGER.exception("Error delivering entry %s to its event entity", entry.id)
        event_entity_id = (
            er.async_get(self.hass).async_get_entity_id(
                Platform.EVENT, DOMAIN, f"{lock_id}_{AUDIT_EVENT_KEY}"
            )
            if lock_id is not None
            else None
        )
        self.hass.bus.async_fire(
            EVENT_SALTO_KS,
            bus_payload(entry, self.config_entry.entry_id, event_entity_id),
            # The row's own time for the logbook, capped at now (a lock's clock can run ahead).
            time_fired=min(entry.utc_date_time.timestamp(), dt_util.utcnow().timestamp()),
        )
