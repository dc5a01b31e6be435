"""The typed runtime data of a config entry and the roster coordinator (the site's locks and IQs)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api import Iq, Lock, SaltoKSClient, SaltoKSError
from .audit import SaltoAuditCoordinator
from .client import forget_retry_gate
from .const import CONF_STATUS_INTERVAL, DEFAULT_STATUS_INTERVAL, DOMAIN
from .device_updates import DeviceUpdates, DeviceView
from .devices import DeviceTracker
from .errors import AuthGrace, rate_limited_failure, repair_issue, update_failed
from .issues import async_create_entry_issue, async_delete_entry_issues
from .otp import OtpBlocks
from .polling import SaltoCoordinator
from .stream import EventStreamManager

type SaltoConfigEntry = ConfigEntry[SaltoRuntimeData]

# While only Salto's Retry-After stops the roster polls, the entities keep showing the last good poll
# (so a lock command reaches the entity and fails loudly) until it is one status interval plus this
# many seconds old; then they turn unavailable.
RATE_LIMIT_DATA_GRACE: Final = 600.0


@callback
def async_forget_entry(hass: HomeAssistant, entry_id: str) -> None:
    """Drop what the integration keeps in memory for a removed config entry."""
    async_delete_entry_issues(hass, entry_id)
    forget_retry_gate(hass, entry_id)


@dataclass(frozen=True, slots=True)
class RosterData:
    """One roster poll: the site's locks and IQs keyed by their UUID; equal when nothing changed."""

    locks: Mapping[str, Lock]
    iqs: Mapping[str, Iq]


@dataclass(slots=True)
class SaltoRuntimeData:
    """What a loaded config entry holds (``entry.runtime_data``).

    ``audit`` is None when the ``event_poll_interval`` option is 0 (the audit loop is off);
    ``stream`` is None when the event stream is off (option, no stream URL, or no audit loop).
    ``otp_blocks``: the IQs blocking one-time codes and until when (otp.py).
    """

    client: SaltoKSClient
    roster: SaltoRosterCoordinator
    audit: SaltoAuditCoordinator | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    stream: EventStreamManager | None = None
    otp_blocks: OtpBlocks = field(default_factory=OtpBlocks)


def _update_failed(key: str, placeholders: dict[str, str] | None = None) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


# Locks whose devices are registered per run of the event loop at setup (~0.1 ms each).
DEVICE_CHUNK: Final = 250


class SaltoRosterCoordinator(SaltoCoordinator[RosterData]):
    """Poll the site's roster: one locks listing and one IQ listing per interval, whatever the lock count.

    Authentication: the client renews a token the API refuses (401) once by itself; only an
    ``AuthenticationError`` (the identity server refusing the credentials themselves) can start a
    reauth flow, and a token-endpoint 5xx, timeout or unusable answer is a transient
    ``UpdateFailed`` like any other outage. A refusal is trusted at once - a revoked secret or
    password starts reauth on the next poll - unless the identity server or the API failed
    transiently less than ``errors.AUTH_REFUSAL_GRACE`` (10 min, as tedee's grace for spurious auth
    errors) ago with no good poll since: an identity server coming back from an outage may answer
    ``invalid_client`` for a moment, and a reauth flow stops polling until the user acts. Within the
    grace the refusal is a translated ``UpdateFailed`` (``auth_refused_retrying``) and the roster keeps
    polling; once the grace has run out, a refusal that persists starts reauth. The roster is the
    entry's grace (``errors.Grace``): the audit feed, lock commands and actions note their transient
    failures on it and ask ``auth_refusal_is_trusted`` before they start reauth, so all follow one rule.
    """

    config_entry: SaltoConfigEntry

    def __init__(
        self, hass: HomeAssistant, config_entry: SaltoConfigEntry, client: SaltoKSClient
    ) -> None:
        """Initialise the coordinator with the entry's status interval."""
        interval = config_entry.options.get(CONF_STATUS_INTERVAL, DEFAULT_STATUS_INTERVAL)
        super().__init__(hass, config_entry, client, name="roster", interval=interval)
        # Platforms register here to add entities for locks / IQs that appear after setup.
        self.new_lock_callbacks: list[Callable[[set[str]], None]] = []
        self.new_iq_callbacks: list[Callable[[set[str]], None]] = []
        self._devices = DeviceTracker(hass, config_entry)
        self._tracking_devices = False
        self._grace = AuthGrace(hass)
        # Loop time of the last good poll while nothing but a rate limit failed since (else None).
        self._good_poll_at: float | None = None
        self._cancel_data_expiry: CALLBACK_TYPE | None = None
        # Set when the entry unloads: a poll still running then (an action's) must change nothing.
        self._stopped = False
        # The entities of each lock and IQ; a poll writes those whose device changed.
        self.device_updates = DeviceUpdates(self.async_add_listener, self._device_view)

    def device_link(self, salto_id: str) -> DeviceInfo:
        """The DeviceInfo an entity of a lock or IQ links to its device with (one per device)."""
        return self._devices.link(salto_id)

    def _device_view(self) -> DeviceView:
        data: RosterData | None = self.data  # None until the first poll
        return self.data_usable, () if data is None else (data.locks, data.iqs)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """Whether the entry this coordinator belongs to has been unloaded (reload or removal)."""
        return self._stopped

    async def async_shutdown(self) -> None:
        """Stop for good: a poll that outlives the entry updates no entity, device or issue."""
        self._stopped = True
        self.new_lock_callbacks.clear()
        self.new_iq_callbacks.clear()
        self._async_cancel_data_expiry()
        await super().async_shutdown()

    # -- availability --------------------------------------------------------------------------

    @property
    def data_usable(self) -> bool:
        """Whether the entities show the roster: the last poll succeeded, or only a rate limit
        has failed since a good poll that is at most one interval plus RATE_LIMIT_DATA_GRACE old.

        Home Assistant skips unavailable entities in a service call without a word, so a lock that
        turned unavailable over a rate limit would let ``lock.unlock`` succeed having sent nothing.
        Kept available, the entity gets the command and raises the translated rate-limited error.
        """
        if self.last_update_success:
            return True
        return self._data_expires_in() is not None

    def _data_expires_in(self) -> float | None:
        """Seconds the last good poll stays usable through a rate limit; None when it does not."""
        if self._good_poll_at is None or self.update_interval is None:
            return None
        age_limit = self.update_interval.total_seconds() + RATE_LIMIT_DATA_GRACE
        remaining = self._good_poll_at + age_limit - self.hass.loop.time()
        return remaining if remaining > 0 else None

    @callback
    def _async_schedule_data_expiry(self) -> None:
        """Tell the entities when the data they keep showing through a rate limit gets too old."""
        if self._cancel_data_expiry is not None or (delay := self._data_expires_in()) is None:
            return
        self._cancel_data_expiry = async_call_later(self.hass, delay, self._async_data_expired)

    @callback
    def _async_data_expired(self, _now: datetime) -> None:
        self._cancel_data_expiry = None
        self._good_poll_at = None
        self.async_update_listeners()

    @callback
    def _async_cancel_data_expiry(self) -> None:
        if self._cancel_data_expiry is not None:
            self._cancel_data_expiry()
            self._cancel_data_expiry = None

    # -- authentication ------------------------------------------------------------------------

    @callback
    def note_transient_failure(self) -> None:
        """Remember that Salto failed transiently now (refusals right after it are not trusted yet)."""
        self._grace.note_transient_failure()

    def auth_refusal_is_trusted(self) -> bool:
        """Whether a credential refusal now should start reauth (False within the grace)."""
        return self._grace.auth_refusal_is_trusted()

    # -- polling -------------------------------------------------------------------------------

    async def _async_update_data(self) -> RosterData:
        """Fetch the locks (all pages) and the IQs concurrently.

        After the entry has unloaded the answer is dropped: the previous data is returned, so
        nothing is written, registered or raised for an entry that is gone or reloaded.
        """
        if (remaining := self.client.retry_after_remaining()) is not None:
            raise self._failure(rate_limited_failure(remaining))
        try:
            locks, iqs = await self._async_fetch()
        except SaltoKSError as err:
            if self._stopped:
                return self._stale_result()
            if (kind := repair_issue(err)) is not None:
                async_create_entry_issue(self.hass, self.config_entry, kind)
            raise self._failure(update_failed(err, self, reauth=True)) from err
        if self._stopped:
            return self._stale_result()
        self._grace.note_success()
        self._good_poll_at = self.hass.loop.time()
        self._async_cancel_data_expiry()
        async_delete_entry_issues(self.hass, self.config_entry.entry_id)
        # Here rather than in the listener: an unchanged second poll notifies no listener.
        self._devices.async_prune({lock.id for lock in locks}, {iq.id for iq in iqs})
        return RosterData(
            locks={lock.id: lock for lock in locks},
            iqs={iq.id: iq for iq in iqs},
        )

    def _stale_result(self) -> RosterData:
        if self.data is None:
            raise _update_failed("entry_reloaded", {"title": self.config_entry.title})
        return self.data

    async def _async_fetch(self) -> tuple[list[Lock], list[Iq]]:
        # One token for both listings, so they don't race for it.
        await self.client.authenticate()
        locks, iqs = await asyncio.gather(
            self.client.get_locks(self.site_id),
            self.client.get_iqs(self.site_id),
            return_exceptions=True,
        )
        for result in (locks, iqs):
            if isinstance(result, BaseException):
                raise result
        assert not isinstance(locks, BaseException)
        assert not isinstance(iqs, BaseException)
        return locks, iqs

    def _failure(self, failure: Exception) -> Exception:
        """Note a failed poll: only a rate limit leaves the last good data shown (data_usable)."""
        if isinstance(failure, UpdateFailed) and failure.translation_key == "rate_limited":
            self._async_schedule_data_expiry()
        else:
            self._good_poll_at = None
            self._async_cancel_data_expiry()
        return failure

    # -- devices -------------------------------------------------------------------------------

    async def async_start_device_tracking(self) -> None:
        """Register the devices of the first roster, DEVICE_CHUNK locks per run of the event loop
        (10,000 at once held it for a second); later rosters are diffed after each update."""
        if self.last_update_success and self.data is not None:
            locks = list(self.data.locks.items())
            for start in range(0, len(locks), DEVICE_CHUNK):
                self._devices.async_sync(dict(locks[start : start + DEVICE_CHUNK]), self.data.iqs)
                await asyncio.sleep(0)
        self._tracking_devices = True
        self._sync_devices()

    @callback
    def async_update_listeners(self) -> None:
        """Update the entities first (a vanished lock turns unavailable), then add/remove devices."""
        if self._stopped:
            return
        super().async_update_listeners()
        if self._tracking_devices:
            self._sync_devices()

    @callback
    def _sync_devices(self) -> None:
        """Register the roster's devices and let the platforms add entities for new locks and IQs."""
        if not self.last_update_success or self.data is None:
            return
        new_locks, new_iqs = self._devices.async_sync(self.data.locks, self.data.iqs)
        if new_iqs:
            for add_iq in self.new_iq_callbacks:
                add_iq(new_iqs)
        if new_locks:
            for add_lock in self.new_lock_callbacks:
                add_lock(new_locks)
