"""Data coordinators of the Salto KS integration and the typed runtime data of a config entry."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import (
    ApiNotEnabledError,
    AuthenticationError,
    Entry,
    InvalidRequestError,
    Iq,
    Lock,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSClient,
    SaltoKSError,
    TokenRejectedError,
)
from .const import (
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    DEFAULT_STATUS_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .cursor import (
    Cursor,
    entry_event_type,
    entry_from_store,
    entry_to_store,
    is_opening,
    select_new,
    user_name,
)

type SaltoConfigEntry = ConfigEntry[SaltoRuntimeData]

MANUFACTURER: Final = "Salto"
# The API has no IQ model field.
IQ_MODEL: Final = "IQ"

# Since HA 2026.8 a device belongs to exactly one config entry and is removed with
# async_remove_device; before, a stale device is detached with remove_config_entry_id.
DEVICE_PER_ENTRY: Final = hasattr(dr.DeviceRegistry, "async_get_device_by_identifier")

# Successful polls a lock or IQ must be missing from before its device (and the user's names,
# areas and disabled flags with it) is removed.
DEVICE_MISSING_POLLS: Final = 2

# Used when a 429 carries no (usable) Retry-After.
DEFAULT_RETRY_AFTER: Final = 60.0

# Repair issues raised by the roster coordinator; their ids end with the entry id.
ISSUE_API_NOT_ENABLED: Final = "api_not_enabled"
ISSUE_PERMISSION_DENIED: Final = "permission_denied"
ROSTER_ISSUES: Final = (ISSUE_API_NOT_ENABLED, ISSUE_PERMISSION_DENIED)

# UpdateFailed(retry_after=) arrived in HA 2025.12; before that the coordinator enforces the deadline itself.
UPDATE_FAILED_HAS_RETRY_AFTER: Final = (
    "retry_after" in inspect.signature(UpdateFailed.__init__).parameters
)


# An identity-server refusal of the credentials within this many seconds after a transient failure
# (token endpoint 5xx/timeout, unusable answer, API refusing a fresh token) is not trusted yet: see
# SaltoRosterCoordinator.auth_refusal_is_trusted.
AUTH_REFUSAL_GRACE: Final = 600.0

# While only Salto's Retry-After stops the roster polls, the entities keep showing the last good poll
# (so a lock command reaches the entity and fails loudly) until it is one status interval plus this
# many seconds old; then they turn unavailable.
RATE_LIMIT_DATA_GRACE: Final = 600.0

# Per config entry: loop time before which Salto's Retry-After forbids another request.
RATE_LIMIT_DEADLINES: HassKey[dict[str, float]] = HassKey(f"{DOMAIN}_rate_limit_deadlines")


def issue_id(kind: str, entry_id: str) -> str:
    """Return the id of a repair issue of one config entry."""
    return f"{kind}_{entry_id}"


@callback
def async_delete_entry_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete every repair issue this integration raised for a config entry."""
    for kind in ROSTER_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))


@callback
def async_forget_entry(hass: HomeAssistant, entry_id: str) -> None:
    """Drop what the integration keeps in memory for a removed config entry."""
    async_delete_entry_issues(hass, entry_id)
    if (deadlines := hass.data.get(RATE_LIMIT_DEADLINES)) is not None:
        deadlines.pop(entry_id, None)


@dataclass(frozen=True, slots=True)
class RosterData:
    """One roster poll: the site's locks and IQs keyed by their UUID; equal when nothing changed."""

    locks: Mapping[str, Lock]
    iqs: Mapping[str, Iq]


@dataclass(slots=True)
class SaltoRuntimeData:
    """What a loaded config entry holds (``entry.runtime_data``).

    ``audit`` is None when the ``event_poll_interval`` option is 0 (the audit loop is off).
    """

    client: SaltoKSClient
    roster: SaltoRosterCoordinator
    audit: SaltoAuditCoordinator | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


def rate_limited_failure(wait: float, err: Exception | None = None) -> UpdateFailed:
    """An UpdateFailed for a 429; HA >= 2025.12 schedules the next poll after ``wait`` seconds."""
    kwargs: dict[str, Any] = {}
    if UPDATE_FAILED_HAS_RETRY_AFTER:
        kwargs["retry_after"] = wait
    failure = UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="rate_limited",
        translation_placeholders={"seconds": str(round(wait))},
        **kwargs,
    )
    failure.__cause__ = err
    return failure


def _update_failed(key: str, placeholders: dict[str, str] | None = None) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def _raise_update_failed(
    key: str, err: Exception, placeholders: dict[str, str] | None = None
) -> None:
    raise UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    ) from err


class SaltoRosterCoordinator(DataUpdateCoordinator[RosterData]):
    """Poll the site's roster: one locks listing and one IQ listing per interval, whatever the lock count.

    Authentication: the client renews a token the API refuses (401) once by itself; only an
    ``AuthenticationError`` (the identity server refusing the credentials themselves) can start a
    reauth flow, and a token-endpoint 5xx, timeout or unusable answer is a transient
    ``UpdateFailed`` like any other outage. A refusal is trusted at once - a revoked secret or
    password starts reauth on the next poll - unless the identity server or the API failed
    transiently less than ``AUTH_REFUSAL_GRACE`` (10 min, as tedee's grace for spurious auth errors)
    ago with no good poll since: an identity server coming back from an outage may answer
    ``invalid_client`` for a moment, and a reauth flow stops polling until the user acts. Within the
    grace the refusal is a translated ``UpdateFailed`` (``auth_refused_retrying``) and the roster keeps
    polling; once the grace has run out, a refusal that persists starts reauth. Lock commands and
    actions ask ``auth_refusal_is_trusted`` before they start reauth, so they follow the same rule.
    """

    config_entry: SaltoConfigEntry

    def __init__(
        self, hass: HomeAssistant, config_entry: SaltoConfigEntry, client: SaltoKSClient
    ) -> None:
        """Initialise the coordinator with the entry's status interval."""
        interval = config_entry.options.get(CONF_STATUS_INTERVAL, DEFAULT_STATUS_INTERVAL)
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} roster",
            update_interval=timedelta(seconds=interval),
            always_update=False,
        )
        self.client = client
        self.site_id: str = config_entry.data[CONF_SITE_ID]
        # Loop time (monotonic) before which no request may be sent after a 429. Kept in hass.data
        # so that a setup retry or reload (which builds a new coordinator) honours it too.
        self._rate_limits = hass.data.setdefault(RATE_LIMIT_DEADLINES, {})
        # Platforms register here to add entities for locks / IQs that appear after setup.
        self.new_lock_callbacks: list[Callable[[set[str]], None]] = []
        self.new_iq_callbacks: list[Callable[[set[str]], None]] = []
        self._known_lock_ids: set[str] = set()
        self._known_iq_ids: set[str] = set()
        self._tracking_devices = False
        # Device registry id -> consecutive successful polls its lock/IQ was missing from. A device
        # goes at DEVICE_MISSING_POLLS, so one partial listing cannot delete the user's names/areas.
        self._missing_polls: dict[str, int] = {}
        # Whether the previous successful poll listed any lock / IQ (None: no poll yet this run).
        self._listed_before: tuple[bool, bool] | None = None
        # Loop time of the latest transient failure since the last good poll (None: none since).
        self._last_transient_failure: float | None = None
        # Loop time of the last good poll while nothing but a rate limit failed since (else None).
        self._good_poll_at: float | None = None
        self._cancel_data_expiry: CALLBACK_TYPE | None = None
        # Set when the entry unloads: a poll still running then (an action's) must change nothing.
        self._stopped = False

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
        self._last_transient_failure = self.hass.loop.time()

    def auth_refusal_is_trusted(self) -> bool:
        """Whether a credential refusal now should start reauth (False within the grace)."""
        if self._last_transient_failure is None:
            return True
        return self.hass.loop.time() - self._last_transient_failure >= AUTH_REFUSAL_GRACE

    # -- rate limiting -------------------------------------------------------------------------

    def rate_limit_remaining(self) -> float | None:
        """Seconds left before the server's Retry-After allows another request, None when free."""
        entry_id = self.config_entry.entry_id
        if (deadline := self._rate_limits.get(entry_id)) is None:
            return None
        remaining = deadline - self.hass.loop.time()
        if remaining <= 0:
            del self._rate_limits[entry_id]
            return None
        return remaining

    def note_rate_limited(self, err: RateLimitedError) -> float:
        """Remember a 429 so no request is sent before its Retry-After; return the wait in seconds."""
        wait = err.retry_after if err.retry_after and err.retry_after > 0 else DEFAULT_RETRY_AFTER
        deadline = self.hass.loop.time() + wait
        entry_id = self.config_entry.entry_id
        self._rate_limits[entry_id] = max(deadline, self._rate_limits.get(entry_id, deadline))
        return wait

    def _rate_limited_failure(self, wait: float, err: Exception | None = None) -> UpdateFailed:
        return rate_limited_failure(wait, err)

    # -- polling -------------------------------------------------------------------------------

    async def _async_update_data(self) -> RosterData:
        """Fetch the locks (all pages) and the IQs concurrently.

        After the entry has unloaded the answer is dropped: the previous data is returned, so
        nothing is written, registered or raised for an entry that is gone or reloaded.
        """
        if (remaining := self.rate_limit_remaining()) is not None:
            raise self._failure(self._rate_limited_failure(remaining))
        try:
            locks, iqs = await self._async_fetch()
        except SaltoKSError as err:
            if self._stopped:
                return self._stale_result()
            raise self._failure(self._translate(err)) from err
        if self._stopped:
            return self._stale_result()
        self._last_transient_failure = None
        self._good_poll_at = self.hass.loop.time()
        self._async_cancel_data_expiry()
        for kind in ROSTER_ISSUES:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.config_entry.entry_id))
        # Here rather than in the listener: an unchanged second poll notifies no listener.
        self._prune_devices({lock.id for lock in locks}, {iq.id for iq in iqs})
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

    def _translate(self, err: SaltoKSError) -> Exception:
        """The UpdateFailed (or reauth) for a client error; notes issues, 429s and glitches."""
        if isinstance(err, TokenRejectedError):
            self.note_transient_failure()
            return _update_failed("token_rejected")
        if isinstance(err, AuthenticationError):
            if not self.auth_refusal_is_trusted():
                LOGGER.debug("Credentials refused right after a transient failure; not trusted yet")
                return _update_failed("auth_refused_retrying")
            return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth")
        if isinstance(err, RateLimitedError):
            return self._rate_limited_failure(self.note_rate_limited(err), err)
        if isinstance(err, ApiNotEnabledError):
            self._create_issue(ISSUE_API_NOT_ENABLED)
            return _update_failed("api_not_enabled")
        if isinstance(err, PermissionDeniedError):
            self._create_issue(ISSUE_PERMISSION_DENIED)
            return _update_failed("permission_denied")
        if isinstance(err, InvalidRequestError):
            return _update_failed("invalid_request", {"code": err.error_code or ""})
        self.note_transient_failure()
        return _update_failed("cannot_connect", {"error": type(err).__name__})

    def _create_issue(self, kind: str) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id(kind, self.config_entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
            translation_placeholders={"title": self.config_entry.title},
            data={"entry_id": self.config_entry.entry_id},
        )

    # -- devices -------------------------------------------------------------------------------

    @callback
    def async_start_device_tracking(self) -> None:
        """Register the devices of the first roster; later rosters are diffed after each update."""
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
        """Diff lock and IQ ids against the last roster: add new entities, drop stale devices."""
        if not self.last_update_success or self.data is None:
            return
        lock_ids = set(self.data.locks)
        iq_ids = set(self.data.iqs)
        device_registry = dr.async_get(self.hass)
        entry_id = self.config_entry.entry_id

        # Every device is registered here (entities only link to it by identifier), which keeps
        # names and versions in step with the site. IQs first: a lock's device hangs off its IQ.
        iq_devices: dict[str, str] = {}
        for iq in self.data.iqs.values():
            device = device_registry.async_get_or_create(
                config_entry_id=entry_id, **iq_device_info(iq)
            )
            iq_devices[iq.id] = device.id
        for lock in self.data.locks.values():
            device = device_registry.async_get_or_create(
                config_entry_id=entry_id, **lock_device_info(lock)
            )
            via_device_id = iq_devices.get(lock.iq.id) if lock.iq is not None else None
            if device.via_device_id != via_device_id:
                device_registry.async_update_device(device.id, via_device_id=via_device_id)

        # Known ids keep their entities while missing from a listing (they only turn unavailable);
        # _prune_devices forgets them with their device, so a lock that comes back is added again.
        if new_iqs := iq_ids - self._known_iq_ids:
            for add_iq in self.new_iq_callbacks:
                add_iq(new_iqs)
            self._known_iq_ids |= new_iqs
        if new_locks := lock_ids - self._known_lock_ids:
            for add_lock in self.new_lock_callbacks:
                add_lock(new_locks)
            self._known_lock_ids |= new_locks

    @callback
    def _prune_devices(self, lock_ids: set[str], iq_ids: set[str]) -> None:
        """Remove devices whose lock or IQ is missing from DEVICE_MISSING_POLLS successful polls.

        A listing that comes back empty right after one that was not is a server glitch far more
        often than a site stripped bare: it counts for nothing (one warning), so a site that really
        lost everything is cleaned up one poll later.
        """
        device_registry = dr.async_get(self.hass)
        entry_id = self.config_entry.entry_id
        devices = dr.async_entries_for_config_entry(device_registry, entry_id)
        # After a restart the registry stands in for the previous listing.
        had_locks, had_iqs = self._listed_before or (
            any(device.model != IQ_MODEL for device in devices),
            any(device.model == IQ_MODEL for device in devices),
        )
        self._listed_before = (bool(lock_ids), bool(iq_ids))
        if (had_locks and not lock_ids) or (had_iqs and not iq_ids):
            LOGGER.warning(
                "Salto KS listed no %s for %s, though it did before; keeping their devices "
                "until a later poll confirms it",
                "locks" if had_locks and not lock_ids else "IQs",
                self.config_entry.title,
            )
            return
        current = {(DOMAIN, salto_id) for salto_id in lock_ids | iq_ids}
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
            if DEVICE_PER_ENTRY:
                device_registry.async_remove_device(device.id)
            else:
                device_registry.async_update_device(device.id, remove_config_entry_id=entry_id)


def iq_device_info(iq: Iq) -> DeviceInfo:
    """Device registry fields of an IQ."""
    return DeviceInfo(
        identifiers={(DOMAIN, iq.id)},
        name=iq.name or f"IQ {iq.id[:8]}",
        manufacturer=MANUFACTURER,
        model=IQ_MODEL,
        # "2.0" is the IQ generation (Salto's support pages tell IQ1 and IQ2.0 hardware apart), not
        # firmware. None clears the copy in sw_version that earlier versions wrote.
        hw_version=iq.revision,
        sw_version=None,
        serial_number=iq.mac,
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
    """Device registry fields of a lock (its IQ link is set as via_device_id by the coordinator)."""
    return DeviceInfo(
        identifiers={(DOMAIN, lock.id)},
        name=lock.name or f"Lock {lock.id[:8]}",
        manufacturer=MANUFACTURER,
        model=lock_model(lock.lock_type),
        model_id=lock.lock_type,
        serial_number=lock.mac,
    )


# -- audit feed ---------------------------------------------------------------------------------

# Bus event fired once per audit row (see SaltoAuditCoordinator).
EVENT_SALTO_KS: Final = f"{DOMAIN}_event"
# Unique-id suffix of a lock's event entity (event.py).
AUDIT_EVENT_KEY: Final = "access"

# Rows per entries page the feed asks for (the client's maximum $top).
AUDIT_PAGE_SIZE: Final = 200
# At most this many new rows are delivered by one poll: the newest, oldest first. A door opened ten
# times a second fills it in over three minutes, six default polls, so an ordinary poll delivers
# every row even at a very busy site; only a long outage (or a very long interval) skips the oldest.
AUDIT_BACKLOG_LIMIT: Final = 2_000
# Pages one poll reads at most (requests, so a poll cannot spend the account's budget): at 200 rows
# a page the newest AUDIT_BACKLOG_LIMIT rows and as many again to count the ones skipped beyond them.
AUDIT_MAX_PAGES: Final = 20
# Rows per page of the first-start read that places the cursor (none of them is delivered).
AUDIT_FIRST_START_ROWS: Final = 10
# A row dated further than this after Home Assistant's clock (a lock whose clock is wrong) does not
# move the cursor: it would hide every row of the present until that date.
AUDIT_CLOCK_TOLERANCE: Final = timedelta(minutes=5)
# A row whose lock has no event entity yet is held (the roster is asked for a refresh meanwhile)
# for this many audit polls, or, while the roster does not list the lock, this many successful roster
# refreshes (a failing or rate-limited roster proves nothing); after that it is fired on the bus only.
AUDIT_HOLD_POLLS: Final = 5
# At most this many rows are held; beyond it the oldest go to the bus only.
AUDIT_MAX_HELD: Final = 200
# Latest delivered rows kept for diagnostics.
AUDIT_RECENT: Final = 20

STORAGE_VERSION: Final = 1
# Seconds a cursor change may wait before it is written (unload and HA's final write flush it).
STORAGE_SAVE_DELAY: Final = 10.0


def audit_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The Store of a config entry's audit cursor (``.storage/salto_ks.<entry_id>``)."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}")


@dataclass(slots=True)
class _Held:
    """A row waiting for its lock's event entity, and the audit polls it has waited."""

    entry: Entry
    polls: int = 0
    # The roster data at the last count: a roster that has not polled since proves nothing.
    roster: RosterData | None = None


class SaltoAuditCoordinator(DataUpdateCoordinator[Cursor | None]):
    """Tail the site's entries feed: every row exactly once, oldest first.

    Each poll asks only for rows at or after the cursor (``Cursor``: newest handled instant plus the
    ids handled at it) and delivers the new ones to the lock's event entity (``async_subscribe``) and
    as a ``salto_ks_event`` on the bus, then moves the cursor and saves it (Store, delayed). A failed
    poll delivers nothing and keeps the cursor, so the next good poll picks up where it stopped.

    - Reading: newest first from the cursor's second on, page by page (continuation tokens), the
      only order and filter the record shows; delivered oldest first.
    - First start (no Store): the cursor is placed after the newest existing row (at the setup time
      when the log answers empty); history is not delivered. Until that read succeeds the cursor
      sits at the setup time, so a feed failing at first start loses nothing.
    - Every new row is delivered, up to AUDIT_BACKLOG_LIMIT per poll (the newest); a longer backlog
      (an outage) skips the oldest and logs how many once.
    - The cursor never moves beyond Home Assistant's clock plus AUDIT_CLOCK_TOLERANCE: a row dated
      later is delivered once (its id is kept) and a warning names its lock.
    - A row for a lock without event entity is held (and the roster asked for a refresh when it
      does not know the lock) until the entity subscribes; after AUDIT_HOLD_POLLS polls (successful
      roster refreshes while the roster does not list the lock) it is fired on the bus only. A
      disabled event entity never subscribes: its lock's rows go to the bus at once.
    - A failure is logged (HA's one error line, one recovery line) only once the roster has answered
      since it began: while the roster fails too, its own line tells the user the cloud is lost.
    - The bus event's ``entity_id`` is the lock's event entity (also when it is disabled; None when the
      lock has none, e.g. it never appeared in the roster). ``lock_id`` names the lock.
    - Entities never turn unavailable because of this coordinator: they follow the roster.
    """

    config_entry: SaltoConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: SaltoConfigEntry,
        client: SaltoKSClient,
        roster: SaltoRosterCoordinator,
        interval: float,
    ) -> None:
        """Initialise the coordinator with the entry's event_poll_interval (> 0)."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} audit",
            update_interval=timedelta(seconds=interval),
            always_update=False,
        )
        self.client = client
        self.roster = roster
        self.site_id: str = config_entry.data[CONF_SITE_ID]
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

    # -- public --------------------------------------------------------------------------------

    def last_entry(self, lock_id: str) -> Entry | None:
        """The newest delivered row of a lock (kept across restarts), None when none was seen."""
        return self._last_entries.get(lock_id)

    def changed_by(self, lock_id: str) -> str | None:
        """The person of the lock's latest delivered opening (None: nobody named, or none seen)."""
        if (entry := self._last_openings.get(lock_id)) is None:
            return None
        return user_name(entry)

    @property
    def held_count(self) -> int:
        """Rows waiting for their lock's event entity."""
        return len(self._held)

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
            "held": [held.entry.as_dict() for held in self._held],
            "recent": [entry.as_dict() for entry in self.recent],
        }

    # -- storage -------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the stored cursor; a missing or damaged Store means a first start."""
        self._loaded = True
        stored = await self.store.async_load()
        if not stored:
            return
        try:
            cursor = stored.get("cursor")
            self.cursor = Cursor.from_dict(cursor) if cursor else None
            self._last_entries = {
                lock_id: entry_from_store(data)
                for lock_id, data in (stored.get("last_entries") or {}).items()
            }
            self._last_openings = {
                lock_id: entry_from_store(data)
                for lock_id, data in (stored.get("last_openings") or {}).items()
            }
            self._held = [
                _Held(entry_from_store(item["entry"]), int(item.get("polls", 0)))
                for item in stored.get("held") or []
            ]
        except (AttributeError, KeyError, TypeError, ValueError, SaltoKSError) as err:
            LOGGER.warning(
                "Ignoring the damaged audit cursor of %s (%s); starting after the newest entry",
                self.config_entry.title,
                type(err).__name__,
            )
            self.cursor = None
            self._last_entries, self._last_openings, self._held = {}, {}, []

    def _store_data(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor.as_dict() if self.cursor else None,
            "last_entries": {k: entry_to_store(v) for k, v in self._last_entries.items()},
            "last_openings": {k: entry_to_store(v) for k, v in self._last_openings.items()},
            "held": [{"entry": entry_to_store(h.entry), "polls": h.polls} for h in self._held],
        }

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
        if (remaining := self.roster.rate_limit_remaining()) is not None:
            raise rate_limited_failure(remaining)
        cursor = self.cursor
        assert cursor is not None
        limit = dt_util.utcnow() + AUDIT_CLOCK_TOLERANCE
        try:
            if first_start:
                placed = await self._async_read_first(limit)
            else:
                new, reached = await self._async_read_new(cursor)
        except RateLimitedError as err:
            raise rate_limited_failure(self.roster.note_rate_limited(err), err) from err
        except TokenRejectedError as err:
            self.roster.note_transient_failure()
            _raise_update_failed("token_rejected", err)
        except AuthenticationError as err:
            # The roster coordinator starts the reauth flow; the feed just waits for it.
            _raise_update_failed("invalid_auth", err)
        except ApiNotEnabledError as err:
            _raise_update_failed("api_not_enabled", err)
        except PermissionDeniedError as err:
            _raise_update_failed("audit_permission_denied", err)
        except InvalidRequestError as err:
            _raise_update_failed("invalid_request", err, {"code": err.error_code or ""})
        except SaltoKSError as err:
            # A glitch seen by the feed counts for the roster's reauth grace too.
            self.roster.note_transient_failure()
            _raise_update_failed("cannot_connect", err, {"error": type(err).__name__})

        if first_start:
            self.cursor = placed
            LOGGER.debug("Audit feed starts after %s", placed.timestamp.isoformat())
            self._async_schedule_save()
            return placed

        changed, released = self._age_held()
        if new:
            self.cursor = cursor.advance(new, limit)
            delivered = new[-AUDIT_BACKLOG_LIMIT:]
            self._warn_skipped(len(new) - len(delivered), len(delivered), exact=reached)
            self._warn_ahead(delivered, limit)
            self._dispatch(delivered)
            changed = True
        elif released:
            # The cursor did not move, so HA would not tell the listeners (the lock's changed_by).
            self.async_update_listeners()
        if changed:
            self._async_schedule_save()
        return self.cursor

    async def _async_read_first(self, limit: datetime) -> Cursor:
        """The cursor just past the newest existing row, knowing every row at its instant.

        Pages are read newest first until one shows a row older than the newest row not dated
        beyond ``limit``: then every row at that row's instant is known. Rows dated beyond ``limit``
        are kept by id only. An empty log places the cursor at the setup time, so that an empty
        answer never makes the next poll replay the history.
        """
        rows: list[Entry] = []
        newest: datetime | None = None
        pages = 0
        async for page in self.client.entry_pages(self.site_id, page_size=AUDIT_FIRST_START_ROWS):
            rows.extend(page)
            pages += 1
            if newest is None:
                newest = next(
                    (row.utc_date_time for row in page if row.utc_date_time <= limit), None
                )
            if (newest is not None and rows[-1].utc_date_time < newest) or pages == AUDIT_MAX_PAGES:
                break
        start = min([self._started, *(row.utc_date_time for row in rows)])
        return Cursor(start).advance(rows, limit)

    async def _async_read_new(self, cursor: Cursor) -> tuple[list[Entry], bool]:
        """Every row past the cursor that one poll may read, oldest first, and whether the read
        reached the cursor (else older new rows may be unread).

        Newest first from the cursor's second on (the filter has whole seconds), following the
        continuation tokens, at most AUDIT_MAX_PAGES pages.
        """
        rows: list[Entry] = []
        reached = False
        pages = 0
        async for page in self.client.entry_pages(
            self.site_id, since=cursor.timestamp, page_size=AUDIT_PAGE_SIZE
        ):
            rows.extend(page)
            pages += 1
            if pages == AUDIT_MAX_PAGES:
                break
        else:
            reached = True
        # Reversed: oldest first (rows sharing an instant in the reverse of the server's order).
        return select_new(cursor, reversed(rows)), reached

    @callback
    def _warn_skipped(self, skipped: int, delivered: int, *, exact: bool) -> None:
        """Log the rows a poll left out beyond AUDIT_BACKLOG_LIMIT or AUDIT_MAX_PAGES, once."""
        if exact and not skipped:
            return
        if exact:
            count = str(skipped)
        else:
            count = f"at least {skipped}" if skipped else "an unknown number of"
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
    def _dispatch(self, entries: list[Entry]) -> None:
        """Deliver rows (oldest first), holding those whose lock has no event entity yet."""
        unknown_lock = False
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
            {
                "config_entry_id": self.config_entry.entry_id,
                "lock_id": lock_id,
                "entity_id": event_entity_id,
                "event_type": entry_event_type(entry),
                "event_category": str(entry.event_category),
                "event_detail": entry.event_detail,
                "user_id": entry.user_id,
                "user_name": user_name(entry),
                "access_by": entry.access_by,
                "access_detail": entry.access_detail,
                "entry_id": entry.id,
                "utc_date_time": entry.utc_date_time.isoformat(),
            },
            # The row's own time for the logbook, capped at now (a lock's clock can run ahead).
            time_fired=min(entry.utc_date_time.timestamp(), dt_util.utcnow().timestamp()),
        )
