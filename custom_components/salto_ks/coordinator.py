"""Data coordinators of the Salto KS integration and the typed runtime data of a config entry."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util.hass_dict import HassKey

from .api import (
    ApiNotEnabledError,
    AuthenticationError,
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

type SaltoConfigEntry = ConfigEntry[SaltoRuntimeData]

MANUFACTURER: Final = "Salto"

# Since HA 2026.8 a device belongs to exactly one config entry and is removed with
# async_remove_device; before, a stale device is detached with remove_config_entry_id.
DEVICE_PER_ENTRY: Final = hasattr(dr.DeviceRegistry, "async_get_device_by_identifier")

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

    Extend with new coordinators (e.g. the audit feed) as fields.
    """

    client: SaltoKSClient
    roster: SaltoRosterCoordinator
    options: Mapping[str, Any] = field(default_factory=dict)


def _raise_update_failed(
    key: str, err: Exception, placeholders: dict[str, str] | None = None
) -> None:
    raise UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    ) from err


class SaltoRosterCoordinator(DataUpdateCoordinator[RosterData]):
    """Poll the site's roster: one locks listing and one IQ listing per interval, whatever the lock count."""

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

    # -- polling -------------------------------------------------------------------------------

    async def _async_update_data(self) -> RosterData:
        """Fetch the locks (all pages) and the IQs concurrently."""
        if (remaining := self.rate_limit_remaining()) is not None:
            raise self._rate_limited_failure(remaining)
        try:
            # One token for both listings, so they don't race for it.
            await self.client.authenticate()
            results = await asyncio.gather(
                self.client.get_locks(self.site_id),
                self.client.get_iqs(self.site_id),
                return_exceptions=True,
            )
            locks, iqs = results
            for result in (locks, iqs):
                if isinstance(result, BaseException):
                    raise result
        except TokenRejectedError as err:
            _raise_update_failed("token_rejected", err)
        except AuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except RateLimitedError as err:
            raise self._rate_limited_failure(self.note_rate_limited(err), err) from err
        except ApiNotEnabledError as err:
            self._create_issue(ISSUE_API_NOT_ENABLED)
            _raise_update_failed("api_not_enabled", err)
        except PermissionDeniedError as err:
            self._create_issue(ISSUE_PERMISSION_DENIED)
            _raise_update_failed("permission_denied", err)
        except SaltoKSError as err:
            _raise_update_failed("cannot_connect", err, {"error": type(err).__name__})
        assert not isinstance(locks, BaseException)
        assert not isinstance(iqs, BaseException)
        for kind in ROSTER_ISSUES:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.config_entry.entry_id))
        return RosterData(
            locks={lock.id: lock for lock in locks},
            iqs={iq.id: iq for iq in iqs},
        )

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

        if new_iqs := iq_ids - self._known_iq_ids:
            for add_iq in self.new_iq_callbacks:
                add_iq(new_iqs)
        if new_locks := lock_ids - self._known_lock_ids:
            for add_lock in self.new_lock_callbacks:
                add_lock(new_locks)

        # Devices of this entry whose lock or IQ left the site.
        current = {(DOMAIN, device_id) for device_id in lock_ids | iq_ids}
        for device in dr.async_entries_for_config_entry(device_registry, entry_id):
            if not device.identifiers & current:
                LOGGER.debug("Removing device %s: gone from the site", device.name)
                if DEVICE_PER_ENTRY:
                    device_registry.async_remove_device(device.id)
                else:
                    device_registry.async_update_device(device.id, remove_config_entry_id=entry_id)

        self._known_lock_ids = lock_ids
        self._known_iq_ids = iq_ids


def iq_device_info(iq: Iq) -> DeviceInfo:
    """Device registry fields of an IQ."""
    return DeviceInfo(
        identifiers={(DOMAIN, iq.id)},
        name=iq.name or f"IQ {iq.id[:8]}",
        manufacturer=MANUFACTURER,
        model="IQ",
        hw_version=iq.revision,
        sw_version=iq.revision,
        serial_number=iq.mac,
    )


def lock_device_info(lock: Lock) -> DeviceInfo:
    """Device registry fields of a lock (its IQ link is set as via_device_id by the coordinator)."""
    return DeviceInfo(
        identifiers={(DOMAIN, lock.id)},
        name=lock.name or f"Lock {lock.id[:8]}",
        manufacturer=MANUFACTURER,
        model=lock.lock_type,
        serial_number=lock.mac,
    )
