"""The audit coordinator of a config entry: polls the access log, holds rows, delivers each once.

How the log is read (cursor, selection, bounds) is in ``audit_feed``; what a row means is in
``audit_rows``. See docs/architecture.md §3.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .api import Entry, SaltoKSClient, SaltoKSError
from .audit_delivery import PATH_STREAM, Delivery, RosterListing
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
from .const import DOMAIN, LOGGER
from .device_updates import DeviceUpdates
from .errors import Grace, rate_limited_failure, update_failed
from .polling import SaltoCoordinator

# While the event stream is connected the access log is read this often at most (seconds): the
# stream brings every row within a second, the poll stays the safety net for a row the stream lost
# without a disconnect and for late uploads, and a tenth of the default's requests is enough for it.
AUDIT_STREAM_INTERVAL: Final = 300.0
# Rows of one read handed to their entities and the bus in one run of the event loop.
AUDIT_DISPATCH_CHUNK: Final = 200
# Successful reads at the normal interval after every change of the stream before the slow one: the
# one at once closes the gap, the next catches a row the log showed late (a lagging replica) that
# the stream missed too.
AUDIT_GAP_READS: Final = 2

STORAGE_VERSION: Final = 1
# Seconds a cursor change may wait before it is written (unload and HA's final write flush it).
STORAGE_SAVE_DELAY: Final = 10.0


def audit_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The Store of a config entry's audit cursor (``.storage/salto_ks.<entry_id>``)."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}")


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
        self._loaded = False
        self.rows = Delivery(hass, config_entry, self._async_request_roster_refresh)
        # The lock entities, written when their lock's latest opening (changed_by) changed.
        self.openings = DeviceUpdates(
            self.async_add_listener, lambda: (True, (dict(self.rows.last_openings),))
        )
        # Where the feed starts until a first read places the cursor (the API filters whole seconds).
        self._started = dt_util.utcnow().replace(microsecond=0)
        # The roster's (data, last_exception) when the current failure began (None: not failing);
        # a new object in either means the roster has polled since.
        self._roster_mark: tuple[object, object] | None = None
        # The current failure was not logged (last_update_success set to False by hand).
        self._failure_unlogged = False
        # Locks already warned about for a row dated beyond Home Assistant's clock.
        self._ahead_warned: set[str | None] = set()
        # While a read's rows go out in chunks, the rows the stream pushes wait here behind them, so
        # that a lock's last event and changed_by end on its newest row (None: no read under way).
        self._pushed_during_read: list[Entry] | None = None
        self._poll_interval = interval
        self._poll_lock = asyncio.Lock()
        self.stream_connected = False
        self._gap_reads = 0
        self._stream_epoch = 0
        self.delivered = self.rows.delivered

    # -- public --------------------------------------------------------------------------------

    def last_entry(self, lock_id: str) -> Entry | None:
        """The newest delivered row of a lock (kept across restarts), None when none was seen."""
        return self.rows.last_entries.get(lock_id)

    def changed_by(self, lock_id: str) -> str | None:
        """The person of the lock's latest delivered opening (None: nobody named, or none seen)."""
        return self.rows.changed_by(lock_id)

    @callback
    def async_subscribe(self, lock_id: str, deliver: Callable[[Entry], None]) -> CALLBACK_TYPE:
        """Deliver the lock's rows to ``deliver`` (its event entity), held ones at once."""
        unsubscribe, released = self.rows.subscribe(lock_id, deliver)
        if released:
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
            "held": [held.entry.as_dict() for held in self.rows.held],
            "recent": [entry.as_dict() for entry in self.rows.recent],
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
        if self._pushed_during_read is not None:
            self._pushed_during_read.append(entry)
        else:
            self.rows.dispatch([entry], self.roster.data, PATH_STREAM)
        self._async_schedule_save()
        self.async_update_listeners()
        return True

    @callback
    def async_stream_changed(self, connected: bool) -> None:
        """The event stream connected (read the log once now, then poll slowly) or went down."""
        self.stream_connected = connected
        # The slow interval only after AUDIT_GAP_READS successful reads begun after this change (a
        # read that fails is retried at the normal interval).
        self._stream_epoch += 1
        self._gap_reads = AUDIT_GAP_READS
        self._set_interval()
        # Now, not debounced: after a connect this closes the gap at once; after a drop it
        # reschedules the polls at the interval.
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} audit poll after a stream change"
        )

    @callback
    def _set_interval(self) -> None:
        """Poll slowly while the stream is connected and the reads after the connect are done."""
        slow = self.stream_connected and self._gap_reads == 0
        seconds = max(self._poll_interval, AUDIT_STREAM_INTERVAL) if slow else self._poll_interval
        self.update_interval = timedelta(seconds=seconds)

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
        self.rows.restore(state.last_entries, state.last_openings, state.held)

    def _store_data(self) -> dict[str, Any]:
        return FeedState(
            self.cursor,
            self.rows.last_entries,
            self.rows.last_openings,
            self.rows.held_rows(),
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
                epoch = self._stream_epoch
                cursor = await self._async_poll()
        except UpdateFailed as err:
            self._note_failure(err)
            raise
        if epoch == self._stream_epoch and self._gap_reads:
            # A read that began after the stream's latest change. HA schedules the next poll after
            # this one, at the interval it finds then.
            self._gap_reads -= 1
            self._set_interval()
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

        changed, released = self.rows.age_held(self.roster.data)
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
            await self._dispatch_read(delivered)
        elif released:
            # The cursor did not move, so HA would not tell the listeners (the lock's changed_by).
            self.async_update_listeners()
        if changed:
            self._async_schedule_save()
        return self.cursor

    async def _dispatch_read(self, entries: list[Entry]) -> None:
        """Deliver rows a read brought, AUDIT_DISPATCH_CHUNK at a time with the loop free in between
        (1,000 rows in one loop run stall it for 40-120 ms). The cursor is already past them, so a
        cancellation meanwhile delivers the rest at once: none is lost. Rows pushed meanwhile follow
        the read's."""
        rest = entries
        pushed: list[Entry] = []
        self._pushed_during_read = pushed
        try:
            while rest:
                chunk, rest = rest[:AUDIT_DISPATCH_CHUNK], rest[AUDIT_DISPATCH_CHUNK:]
                self.rows.dispatch(chunk, self.roster.data)
                if rest:
                    await asyncio.sleep(0)
        finally:
            self._pushed_during_read = None
            if rest:
                self.rows.dispatch(rest, self.roster.data)
            if pushed:
                self.rows.dispatch(pushed, self.roster.data, PATH_STREAM)

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

    # -- the roster ----------------------------------------------------------------------------

    @callback
    def _async_request_roster_refresh(self) -> None:
        self.config_entry.async_create_task(
            self.hass,
            self.roster.async_request_refresh(),
            f"{DOMAIN} roster refresh for an unknown lock",
        )
