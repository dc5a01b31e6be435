"""The event stream of a config entry: one SignalR connection to the site's entries hub, kept open.

``EventStreamManager`` runs one background task per config entry, started after the first roster and
audit polls and cancelled on unload. Its own reconnect loop never gives up: a capped exponential
backoff with jitter between attempts, a token asked of the client at every connect (renewed once when
the hub answers 401), and a long pause (no log spam) while the hub refuses the site (403: no
``events_streaming`` feature or no admin right). Every row goes to the audit feed, which delivers it
once across both paths (``SaltoAuditCoordinator.async_deliver_streamed``); after every connect the
feed reads the access log once at once to close the gap. A row that implies a lock state updates the
lock's entities at once, and one debounced roster poll confirms it. See docs/architecture.md §3.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .api import (
    ACCEPT_STREAM_URL,
    PRODUCTION_STREAM_URL,
    Entry,
    EntryStreamClient,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSClient,
    SaltoKSError,
    StreamClosedError,
    TokenRejectedError,
)
from .audit import SaltoAuditCoordinator
from .const import (
    CONF_ENDPOINT,
    CONF_EVENT_STREAM,
    CONF_SITE_ID,
    CONF_STREAM_URL,
    DEFAULT_EVENT_STREAM,
    DOMAIN,
    ENDPOINT_ACCEPT,
    ENDPOINT_PRODUCTION,
    LOGGER,
)
from .issues import issue_id
from .stream_state import implied_lock


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """How the stream waits, in seconds (``STREAM_TIMING``; the soak and the tests shorten it)."""

    # Reconnect backoff: backoff_base * 2**attempt, at most backoff_cap, each delay drawn from its
    # upper half.
    backoff_base: float
    backoff_cap: float
    # A connection that stayed up this long resets the backoff (one that drops at once does not).
    stable_after: float
    # While the hub refuses the site (403 / 404) it is asked again this rarely, silently.
    refused_retry: float
    # The stream counts as down for the log (one info line) once it has not reconnected for this long.
    down_notice: float
    # A burst of state-implying rows within this long asks for one confirming roster poll.
    confirm_delay: float


STREAM_TIMING: Final = StreamTiming(
    backoff_base=1.0,
    backoff_cap=300.0,
    stable_after=60.0,
    refused_retry=3600.0,
    down_notice=120.0,
    confirm_delay=2.0,
)

ISSUE_STREAM_REFUSED: Final = "stream_refused"

# The event-stream host of each endpoint preset (the legacy endpoint has none).
STREAM_PRESETS: Final = {
    ENDPOINT_PRODUCTION: PRODUCTION_STREAM_URL,
    ENDPOINT_ACCEPT: ACCEPT_STREAM_URL,
}


def entry_stream_url(entry: ConfigEntry[Any]) -> str | None:
    """The event-stream host of a config entry, or None when the stream is off for it.

    Off by the option, or when neither the entry (custom endpoint step) nor its preset names one.
    """
    if not entry.options.get(CONF_EVENT_STREAM, DEFAULT_EVENT_STREAM):
        return None
    url = entry.data.get(CONF_STREAM_URL) or STREAM_PRESETS.get(entry.data.get(CONF_ENDPOINT, ""))
    return url or None


def stream_issue_id(entry_id: str) -> str:
    """The repair issue of a config entry whose site the hub refuses."""
    return issue_id(ISSUE_STREAM_REFUSED, entry_id)


def backoff_delay(
    attempt: int, timing: StreamTiming, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before reconnect attempt ``attempt`` (0-based): capped exponential, upper-half jitter."""
    ceiling: float = min(timing.backoff_cap, timing.backoff_base * 2.0 ** min(attempt, 30))
    return ceiling / 2 + rand() * ceiling / 2


class EventStreamManager:
    """Keep the site's event stream open while the config entry is loaded."""

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: ConfigEntry[Any],
        client: SaltoKSClient,
        *,
        audit: SaltoAuditCoordinator,
        roster: DataUpdateCoordinator[Any],
        stream_url: str,
    ) -> None:
        """Bind the stream to the entry's client (tokens, Retry-After gate), feed and roster."""
        self.hass = hass
        self._timing = STREAM_TIMING
        self._entry = config_entry
        self._client = client
        self._audit = audit
        self._roster = roster
        self._stream = EntryStreamClient(
            async_get_clientsession(hass),
            stream_url,
            config_entry.data[CONF_SITE_ID],
            retry_gate=client.retry_gate,
        )
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._confirm = Debouncer(
            hass,
            LOGGER,
            cooldown=self._timing.confirm_delay,
            immediate=False,
            function=roster.async_refresh,
        )
        # Figures (diagnostics, the connectivity sensor).
        self.connected = False
        self.connected_since: datetime | None = None
        self.last_message: datetime | None = None
        self.reconnects = 0
        self.rows = 0
        self.duplicates = 0
        self.refused: str | None = None
        self.last_error: str | None = None
        self._down_since: float | None = None
        self._down_logged = False
        self._opened_before = False

    # -- lifecycle -----------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Start the connection task (once); it runs until the entry unloads or Home Assistant stops.

        A task of the manager's own, not one of Home Assistant's background tasks: those are what
        ``async_block_till_done(wait_background_tasks=True)`` waits for to end, and this one never
        ends by itself. The work it sets off (the gap read after a connect, the confirming roster
        poll) does end, and runs as the entry's background tasks. See docs/architecture.md §3.
        """
        if self._task is not None:
            return
        self._task = self.hass.loop.create_task(
            self._async_run(), name=f"{DOMAIN} event stream {self._entry.title}"
        )
        # Not async_listen_once: its remover, called by an unload after the stop, would log an error.
        self._entry.async_on_unload(
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_on_hass_stop)
        )

    async def _async_on_hass_stop(self, _event: Event) -> None:
        """Close the socket while Home Assistant stops (the entry is not unloaded then)."""
        await self._async_cancel()

    async def async_stop(self) -> None:
        """Cancel the connection task and wait until it has closed its socket (the entry unloads)."""
        # The entry is going (reload or removal): a refusal is found again by the next connect.
        ir.async_delete_issue(self.hass, DOMAIN, stream_issue_id(self._entry.entry_id))
        await self._async_cancel()

    async def _async_cancel(self) -> None:
        self._confirm.async_cancel()
        if (task := self._task) is None:
            return
        self._task = None
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if (current := asyncio.current_task()) is not None and current.cancelling():
                raise
        self._set_connected(False)

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever the connection state changes; returns the remover."""
        self._listeners.append(update)

        @callback
        def remove() -> None:
            if update in self._listeners:
                self._listeners.remove(update)

        return remove

    def diagnostics(self) -> dict[str, Any]:
        """Stream figures for diagnostics (no token, no URL query)."""
        return {
            "hub": str(self._stream.hub_url),
            "connected": self.connected,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
            "last_message": self.last_message.isoformat() if self.last_message else None,
            "reconnects": self.reconnects,
            "rows_streamed": self.rows,
            "rows_already_delivered": self.duplicates,
            "refused": self.refused,
            "last_error": self.last_error,
        }

    # -- the loop ------------------------------------------------------------------------------

    async def _async_run(self) -> None:
        """Connect, deliver, reconnect; forever until cancelled."""
        attempt = 0
        renewed = False  # the token of this attempt was renewed after a 401
        while True:
            started = self.hass.loop.time()
            try:
                token = await self._client.access_token(force_refresh=renewed)
                await self._stream.run(token, self._on_entry, self._on_open)
            except asyncio.CancelledError:
                raise
            except TokenRejectedError as err:
                if not renewed:
                    LOGGER.debug("Event stream of %s refused the token; renewing it", self._title)
                    renewed = True
                    continue
                delay = self._failed(err, attempt)
            except (PermissionDeniedError, NotFoundError) as err:
                self._refuse(err)
                delay = self._timing.refused_retry
            except RateLimitedError as err:
                delay = max(err.retry_after or 0.0, backoff_delay(attempt, self._timing))
                self._failed(err, attempt)
            except SaltoKSError as err:
                if isinstance(err, StreamClosedError) and not err.allow_reconnect:
                    LOGGER.debug(
                        "Event stream of %s: the server asked not to reconnect", self._title
                    )
                delay = self._failed(err, attempt)
            except Exception:  # never let the task die: the poll would carry on alone, silently
                LOGGER.exception("Unexpected error in the event stream of %s", self._title)
                delay = self._failed(None, attempt)
            renewed = False
            if self.hass.loop.time() - started >= self._timing.stable_after:
                attempt = 0
            else:
                attempt += 1
            await asyncio.sleep(delay)

    @property
    def _title(self) -> str:
        return self._entry.title

    @callback
    def _on_open(self) -> None:
        """The hub accepted the connection: read the access log once at once, poll slowly."""
        if self.refused is not None:
            self.refused = None
            ir.async_delete_issue(self.hass, DOMAIN, stream_issue_id(self._entry.entry_id))
        if self._down_logged:
            LOGGER.info("Event stream of %s is connected again", self._title)
        self._down_since = None
        self._down_logged = False
        self.last_error = None
        if self._opened_before:
            self.reconnects += 1
        self._opened_before = True
        self._set_connected(True)
        LOGGER.debug("Event stream of %s connected", self._title)
        self._audit.async_stream_changed(True)

    def _failed(self, err: SaltoKSError | None, attempt: int, *, notice: bool = True) -> float:
        """A connection ended or failed: poll at the normal interval again, log once, back off."""
        was_connected = self.connected
        self._set_connected(False)
        if was_connected:
            self._audit.async_stream_changed(False)
        now = self.hass.loop.time()
        if self._down_since is None:
            self._down_since = now
        self.last_error = type(err).__name__ if err is not None else "unexpected error"
        delay = backoff_delay(attempt, self._timing)
        # The daily drop (1006) reconnects within seconds: a debug line. Only a stream that stays
        # down gets one info line, and one when it is back.
        LOGGER.debug(
            "Event stream of %s ended (%s); reconnecting in %.1f s",
            self._title,
            err.message if err is not None else "unexpected error",
            delay,
        )
        if notice and not self._down_logged and now - self._down_since >= self._timing.down_notice:
            self._down_logged = True
            LOGGER.info(
                "Event stream of %s is unavailable (%s); the access log is polled at the "
                "event poll interval until it is back",
                self._title,
                err.message if err is not None else "unexpected error",
            )
        return delay

    def _refuse(self, err: SaltoKSError) -> None:
        """The hub refuses the site: warn once, raise a repair issue, then poll only."""
        self._failed(err, 0, notice=False)
        if self.refused is not None:
            return
        self.refused = f"{err.status}" + (f" {err.error_code}" if err.error_code else "")
        LOGGER.warning(
            "The Salto KS event stream refuses site %s (%s); access events come from the access "
            "log poll only. The site needs the events_streaming feature and the user the site "
            "admin or site super user role",
            self._title,
            err.message,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            stream_issue_id(self._entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_STREAM_REFUSED,
            translation_placeholders={"title": self._title},
            data={"entry_id": self._entry.entry_id},
        )

    @callback
    def _set_connected(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        self.connected_since = dt_util.utcnow() if connected else None
        for update in list(self._listeners):
            update()

    # -- rows ----------------------------------------------------------------------------------

    @callback
    def _on_entry(self, entry: Entry) -> None:
        """One row from the hub: deliver it once, and show what it implies at once."""
        self.last_message = dt_util.utcnow()
        if not self._audit.async_deliver_streamed(entry):
            self.duplicates += 1
            return
        self.rows += 1
        self._apply_state(entry)

    @callback
    def _apply_state(self, entry: Entry) -> None:
        """Show the lock as the row implies it, and ask the roster to confirm it soon."""
        roster = self._roster
        if entry.lock_id is None or not roster.last_update_success or roster.data is None:
            return
        lock = roster.data.locks.get(entry.lock_id)
        if lock is None or (implied := implied_lock(lock, entry)) is None:
            return
        roster.async_set_updated_data(
            replace(roster.data, locks={**roster.data.locks, entry.lock_id: implied})
        )
        self._confirm.async_schedule_call()
