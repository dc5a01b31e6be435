"""The audit coordinator of a config entry: polls the access log, holds rows, delivers each once.

How the log is read (cursor, selection, bounds) is in ``audit_feed``; what a row means is in
``audit_rows``. See docs/architecture.md §3.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .api import Entry, SaltoKSClient, SaltoKSError
from .audit_feed import (
    AUDIT_CLOCK_TOLERANCE,
    STORE_DAMAGE,
    Cursor,
    FeedState,
    bound_backlog,
    read_first,
    read_new,
    skipped_count,
)
from .audit_rows import EVENT_SALTO_KS, bus_payload, is_opening, user_name
from .const import DOMAIN, LOGGER
from .errors import Grace, rate_limited_failure, update_failed
from .polling import SaltoCoordinator

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
# While the event stream is connected the access log is read this often at most (seconds): the
# stream brings every row within a second, the poll stays the safety net for a row the stream lost
# without a disconnect and for late uploads, and a tenth of the default's requests is enough for it.
AUDIT_STREAM_INTERVAL: Final = 300.0
# Where a delivered row came from (diagnostics: rows by path).
PATH_POLL: Final = "poll"
PATH_STREAM: Final = "stream"

STORAGE_VERSION: Final = 1
# Seconds a cursor change may wait before it is written (unload and HA's final write flush it).
STORAGE_SAVE_DELAY: Final = 10.0


def audit_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The Store of a config entry's audit cursor (``.storage/salto_ks.<entry_id>``)."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}")


class RosterListing(Protocol):
    """What the audit feed reads of one roster poll: the ids of the listed locks."""

    @property
    def locks(self) -> Mapping[str, object]:
        """The listed locks by id."""


class RosterSource(Grace, Protocol):
    """The roster coordinator as the audit feed uses it (passed in, so the feed knows no more).

    It is the entry's reauth grace too: the feed's transient failures count for it.
    """

    @property
    def data(self) -> RosterListing:
        """The latest roster poll (a new object after every poll that changed it)."""

    @property
    def last_update_success(self) -> bool:
        """Whether the latest roster poll succeeded."""

    @property
    def last_exception(self) -> Exception | None:
        """The failure of the latest roster poll (a new object after every failed poll)."""

    async def async_request_refresh(self) -> None:
        """Ask for a roster poll soon (a lock the feed does not know yet)."""


@dataclass(slots=True)
class _Held:
    """A row waiting for its lock's event entity, and the audit polls it has waited."""

    entry: Entry
    polls: int = 0
    # The roster data at the last count: a roster that has not polled since proves nothing.
    roster: RosterListing | None = None


class SaltoAuditCoordinator(SaltoCoordinator[Cursor | None]):
    """Tail the site's entries feed: every row exactly once, oldest first.

    Each poll asks only for rows at or after the cursor (``Cursor``: newest handled instant plus the
    ids handled at it) and delivers the new ones to the lock's event entity (``async_subscribe``) and
    as a ``salto_ks_event`` on the bus, then moves the cursor and saves it (Store, delayed). A failed
    poll delivers nothing and keeps the cursor, so the next good poll picks up where it stopped.
    First start, backlog and clock bounds, held rows and failure logging: docs/architecture.md §3.
    Entities never turn unavailable because of this coordinator: they follow the roster.
    """

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: ConfigEntry[Any],
        client: SaltoKSClient,
        roster: RosterSource,
        interval: float,
    ) -> None:
        """Initialise the coordinator with the entry's event_poll_interval (> 0)."""
        super().__init__(hass, config_entry, client, name="audit", interval=interval)
        self.roster = roster
        self.store = audit_store(hass, config_entry.entry_id)
        self.cursor: Cursor | None = None
        self.recent: deque[Entry] = deque(maxlen=AUDIT_RECENT)
        self._loaded = False
        self._last_entries: dict[str, Entry] = {}
        self._last_openings: dict[str, Entry] = {}
        self._held: list[_Held] = []
        self._subscribers: dict[str, Callable[[Entry], None]] = {}
        # Where the feed starts until a first read places the cursor (the API filters whole seconds).
        self._started = dt_util.utcnow().replace(microsecond=0)
        # The roster's (data, last_exception) when the current failure began (None: not failing);
        # a new object in either means the roster has polled since.
        self._roster_mark: tuple[object, object] | None = None
        # The current failure was not logged (last_update_success set to False by hand).
        self._failure_unlogged = False
        # Locks already warned about for a row dated beyond Home Assistant's clock.
        self._ahead_warned: set[str | None] = set()
        self._poll_interval = interval
        self._poll_lock = asyncio.Lock()
        self.stream_connected = False
        self.delivered: dict[str, int] = {PATH_POLL: 0, PATH_STREAM: 0}

    # -- public --------------------------------------------------------------------------------

    def last_entry(self, lock_id: str) -> Entry | None:
        """The newest delivered row of a lock (kept across restarts), None when none was seen."""
        return self._last_entries.get(lock_id)

    def changed_by(self, lock_id: str) -> str | None:
        """The person of the lock's latest delivered opening (None: nobody named, or none seen)."""
        if (entry := self._last_openings.get(lock_id)) is None:
            return None
        return user_name(entry)

    @callback
    def async_subscribe(self, lock_id: str, deliver: Callable[[Entry], None]) -> CALLBACK_TYPE:
        """Deliver the lock's rows to ``deliver`` (its event entity), held ones at once."""
        self._subscribers[lock_id] = deliver

        @callback
        def unsubscribe() -> None:
            if self._subscribers.get(lock_id) is deliver:
                del self._subscribers[lock_id]

        waiting = [held for held in self._held if held.entry.lock_id == lock_id]
        if waiting:
            self._held = [held for held in self._held if held.entry.lock_id != lock_id]
            for held in waiting:
                self._deliver(held.entry)
            self._async_schedule_save()
            self.async_update_listeners()
        return unsubscribe

    def diagnostics(self) -> dict[str, Any]:
        """State of the feed for diagnostics (callers redact personal fields)."""
        return {
            "last_update_success": self.last_update_success,
            "update_interval": self.update_interval.total_seconds()
            if self.update_interval
            else None,
            "cursor": self.cursor.as_dict() if self.cursor else None,
            "rows_by_path": dict(self.delivered),
            "held": [held.entry.as_dict() for held in self._held],
            "recent": [entry.as_dict() for entry in self.recent],
        }

    # -- the event stream ----------------------------------------------------------------------

    @callback
    def async_deliver_streamed(self, entry: Entry) -> bool:
        """Deliver a row the event stream pushed, unless it was handled already; True if delivered.

        The cursor is the one record of what was handled: a new row is marked in it by id
        (``Cursor.mark``), so the poll that reads it later skips it and moves past it, while a row
        dated earlier that the stream missed stays new for the poll. A row older than the cursor
        was passed by a poll (delivered then, or not readable then: a late upload, see §3).
        """
        cursor = self.cursor
        if cursor is None or not cursor.is_new(entry):
            return False
        self.cursor = cursor.mark(entry)
        self._warn_ahead([entry], dt_util.utcnow() + AUDIT_CLOCK_TOLERANCE)
        self._dispatch([entry], PATH_STREAM)
        self._async_schedule_save()
        self.async_update_listeners()
        return True

    @callback
    def async_stream_changed(self, connected: bool) -> None:
        """The event stream connected (read the log once now, then poll slowly) or went down."""
        self.stream_connected = connected
        seconds = (
            max(self._poll_interval, AUDIT_STREAM_INTERVAL) if connected else self._poll_interval
        )
        self.update_interval = timedelta(seconds=seconds)
        # Now, not debounced: after a connect this closes the gap at once; after a drop it
        # reschedules the polls at the interval.
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} audit poll after a stream change"
        )

    # -- storage -------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the stored cursor; a missing or damaged Store means a first start."""
        self._loaded = True
        stored = await self.store.async_load()
        if not stored:
            return
        try:
            state = FeedState.from_store(stored)
        except STORE_DAMAGE as err:
            LOGGER.warning(
                "Ignoring the damaged audit cursor of %s (%s); starting after the newest entry",
                self.config_entry.title,
                type(err).__name__,
            )
            return
        self.cursor = state.cursor
        self._last_entries = state.last_entries
        self._last_openings = state.last_openings
        self._held = [_Held(entry, polls) for entry, polls in state.held]

    def _store_data(self) -> dict[str, Any]:
        return FeedState(
            self.cursor,
            self._last_entries,
            self._last_openings,
            [(held.entry, held.polls) for held in self._held],
        ).as_store()

    @callback
    def _async_schedule_save(self) -> None:
        self.store.async_delay_save(self._store_data, STORAGE_SAVE_DELAY)

    async def async_shutdown(self) -> None:
        """Stop polling and write the cursor now (the entry is unloading)."""
        await super().async_shutdown()
        if self._loaded:
            await self.store.async_save(self._store_data())

    # -- polling -------------------------------------------------------------------------------

    async def _async_update_data(self) -> Cursor | None:
        """One poll; a failure is left unlogged while the roster has not answered since it began."""
        try:
            # One poll at a time: a poll asked for by the event stream must not read the same
            # rows as one already under way.
            async with self._poll_lock:
                cursor = await self._async_poll()
        except UpdateFailed as err:
            self._note_failure(err)
            raise
        if self._failure_unlogged:
            # HA's "recovered" line would follow an error line nobody saw.
            self.last_update_success = True
            self._failure_unlogged = False
        self._roster_mark = None
        return cursor

    @callback
    def _note_failure(self, err: UpdateFailed) -> None:
        """Let HA log the failure only when the feed alone fails: the roster answers.

        In a full outage the roster logs the one error line (and later the one recovery line); two
        pairs for one lost cloud would be noise. A failure of the feed alone is thus logged one roster
        interval late at most. HA logs a failure only while last_update_success is True, so setting
        it by hand decides (the same on every supported HA version).
        """
        mark = (self.roster.data, self.roster.last_exception)
        if self._roster_mark is None:
            self._roster_mark = mark
        polled = any(new is not old for new, old in zip(mark, self._roster_mark, strict=True))
        if polled and self.roster.last_update_success:
            if self._failure_unlogged:
                self.last_update_success = True
                self._failure_unlogged = False
        elif self.last_update_success:
            LOGGER.debug("Audit poll failed; logged once the roster has answered: %s", err)
            self.last_update_success = False
            self._failure_unlogged = True

    async def _async_poll(self) -> Cursor | None:
        """Read the rows past the cursor and deliver them; nothing moves when a request fails."""
        first_start = self.cursor is None
        if first_start:
            # Provisional: if the first read fails, the next good poll delivers rows from setup on.
            self.cursor = Cursor(self._started)
            self._async_schedule_save()
        if (remaining := self.client.retry_after_remaining()) is not None:
            raise rate_limited_failure(remaining)
        cursor = self.cursor
        assert cursor is not None
        limit = dt_util.utcnow() + AUDIT_CLOCK_TOLERANCE
        try:
            if first_start:
                placed = await read_first(self.client, self.site_id, self._started, limit)
            else:
                new, reached, known = await read_new(self.client, self.site_id, cursor)
        except SaltoKSError as err:
            # Reauth is the roster's to start; the feed's glitches count for the roster's grace.
            raise update_failed(err, self.roster, permission_key="audit_permission_denied") from err

        if first_start:
            self.cursor = placed
            LOGGER.debug("Audit feed starts after %s", placed.timestamp.isoformat())
            self._async_schedule_save()
            return placed

        changed, released = self._age_held()
        # The event stream may have delivered some of the rows while the read was under way: the
        # cursor now knows them (Cursor.mark). The cursor moves past every row read that was handled.
        current = self.cursor
        assert current is not None
        fresh = [entry for entry in new if current.is_new(entry)]
        if new or known:
            self.cursor = current.advance([*known, *new], limit)
            changed = True
        if fresh:
            delivered = bound_backlog(fresh)
            self._warn_skipped(len(fresh) - len(delivered), len(delivered), exact=reached)
            self._warn_ahead(delivered, limit)
            self._dispatch(delivered)
        elif released:
            # The cursor did not move, so HA would not tell the listeners (the lock's changed_by).
            self.async_update_listeners()
        if changed:
            self._async_schedule_save()
        return self.cursor

    @callback
    def _warn_skipped(self, skipped: int, delivered: int, *, exact: bool) -> None:
        """Log the rows a poll left out beyond AUDIT_BACKLOG_LIMIT or AUDIT_MAX_PAGES, once."""
        if (count := skipped_count(skipped, exact=exact)) is None:
            return
        LOGGER.warning(
            "The access log of %s had %s entries more than the %s delivered; the oldest were "
            "skipped",
            self.config_entry.title,
            count,
            delivered,
        )

    @callback
    def _warn_ahead(self, entries: list[Entry], limit: datetime) -> None:
        """Warn once per lock about a row dated beyond Home Assistant's clock."""
        for entry in entries:
            if entry.utc_date_time <= limit or entry.lock_id in self._ahead_warned:
                continue
            self._ahead_warned.add(entry.lock_id)
            LOGGER.warning(
                "Entry %s of lock %s (%s) is dated %s, ahead of Home Assistant's clock; it is "
                "delivered once, but the access log stays at the present (is the lock's clock "
                "wrong?)",
                entry.id,
                entry.lock_name or entry.lock_id,
                self.config_entry.title,
                entry.utc_date_time.isoformat(),
            )

    # -- delivery ------------------------------------------------------------------------------

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
    def _dispatch(self, entries: list[Entry], path: str = PATH_POLL) -> None:
        """Deliver rows (oldest first), holding those whose lock has no event entity yet."""
        unknown_lock = False
        self.delivered[path] += len(entries)
        for entry in entries:
            lock_id = entry.lock_id
            if lock_id is None or not self._waits_for_entity(lock_id):
                self._deliver(entry)
                continue
            if len(self._held) >= AUDIT_MAX_HELD:
                self._deliver(self._held.pop(0).entry)
            self._held.append(_Held(entry, roster=self.roster.data))
            unknown_lock = unknown_lock or lock_id not in self.roster.data.locks
        if unknown_lock:
            self._async_request_roster_refresh()

    @callback
    def _age_held(self) -> tuple[bool, bool]:
        """Count a poll for every held row; fire the rows that waited too long on the bus only.

        Returns whether the held rows changed and whether any was delivered.
        """
        if not self._held:
            return False, False
        roster = self.roster.data
        waiting: list[_Held] = []
        unknown_lock = False
        for held in self._held:
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
        released = len(waiting) < len(self._held)
        self._held = waiting
        if unknown_lock:
            self._async_request_roster_refresh()
        return True, released

    @callback
    def _async_request_roster_refresh(self) -> None:
        self.config_entry.async_create_task(
            self.hass,
            self.roster.async_request_refresh(),
            f"{DOMAIN} roster refresh for an unknown lock",
        )

    @callback
    def _deliver(self, entry: Entry) -> None:
        """Hand one row to its event entity (if any) and fire it on the bus; exactly once."""
        lock_id = entry.lock_id
        if lock_id is not None:
            self._last_entries[lock_id] = entry
            if is_opening(entry):
                self._last_openings[lock_id] = entry
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
