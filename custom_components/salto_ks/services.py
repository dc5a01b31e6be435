"""Service actions of the Salto KS integration, registered once in ``async_setup``: schemas,
registration and handlers. Targets are resolved in service_targets.py; the client's errors are
translated by errors.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

import voluptuous as vol
from homeassistant.components.lock import DATA_COMPONENT as LOCK_DATA_COMPONENT
from homeassistant.const import (
    ATTR_CODE,
    Platform,
)
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .api import Entry
from .const import (
    CONF_UNLOCK_SECONDS,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    MAX_UNLOCK_SECONDS,
    MIN_UNLOCK_SECONDS,
)
from .coordinator import SaltoConfigEntry
from .errors import async_action_call, translated_error
from .guest_services import async_setup_guest_services
from .lock import SaltoLock
from .office_mode_services import ATTR_OTP, async_setup_office_mode_services, otp_field
from .service_targets import (
    ENTRY_SCHEMA,
    entry_from_call,
    lock_schema,
    resolve_locks,
    resolve_scopes,
    scope_schema,
    validation_error,
)

SERVICE_UNLOCK: Final = "unlock"
SERVICE_GET_EVENTS: Final = "get_events"
SERVICE_GET_SITES: Final = "get_sites"
SERVICE_GET_LOCKS: Final = "get_locks"
SERVICE_GET_USERS: Final = "get_users"
SERVICE_GET_STATUS: Final = "get_status"
SERVICE_REFRESH_TOKEN: Final = "refresh_token"  # noqa: S105 - an action name

ATTR_SECONDS: Final = "seconds"
ATTR_LIMIT: Final = "limit"
ATTR_SINCE: Final = "since"

MIN_EVENTS_LIMIT: Final = 1
MAX_EVENTS_LIMIT: Final = 200  # the client's limit per call
DEFAULT_EVENTS_LIMIT: Final = 50
# The API cannot filter by lock: for lock targets get_events reads the site's log newest first,
# page by page, until enough rows match, but at most this many rows (5 pages of 200) per site, so
# one call cannot spend a large share of the account's request budget.
MAX_EVENTS_SCAN_ROWS: Final = 1_000


def _finite_float(value: object) -> float:
    """A number (or numeric text) that is neither NaN nor infinite."""
    if isinstance(value, bool):
        raise vol.Invalid("expected a number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as err:
        # OverflowError: an integer too large for a float.
        raise vol.Invalid("expected a number") from err
    if not math.isfinite(number):
        raise vol.Invalid("expected a finite number")
    return number


def _whole_number(value: object) -> int:
    """A finite number without a fractional part (20, 20.0 or "20")."""
    number = _finite_float(value)
    if not number.is_integer():
        raise vol.Invalid("expected a whole number")
    return int(number)


def _utc_since(value: datetime) -> datetime | None:
    """``since`` in UTC; a time without a time zone is Home Assistant's local time.

    A local time within hours of the datetime range's ends has no UTC value: before
    0001-01-01 UTC no row can exist (None: no lower bound); after 9999-12-31 UTC none can
    either (the latest time, so that nothing matches).
    """
    try:
        return dt_util.as_utc(value)
    except OverflowError:
        return None if value.year == datetime.min.year else datetime.max.replace(tzinfo=UTC)


UNLOCK_SCHEMA: Final = lock_schema(
    {
        vol.Optional(ATTR_SECONDS): _finite_float,
        # The unlock PIN when the entry has one (checked in the lock entity, never logged).
        vol.Optional(ATTR_CODE): vol.All(cv.string, vol.Length(max=64)),
        # The IQ's one-time code, for locks behind an OTP IQ (never logged).
        vol.Optional(ATTR_OTP): otp_field,
    }
)
GET_EVENTS_SCHEMA: Final = scope_schema(
    {
        vol.Optional(ATTR_LIMIT, default=DEFAULT_EVENTS_LIMIT): vol.All(
            _whole_number, vol.Range(min=MIN_EVENTS_LIMIT, max=MAX_EVENTS_LIMIT)
        ),
        vol.Optional(ATTR_SINCE): vol.All(cv.datetime, _utc_since),
    }
)
GET_STATUS_SCHEMA: Final = scope_schema({})


# --- cloud calls ----------------------------------------------------------------------------------


def _site_id(entry: SaltoConfigEntry) -> str:
    return entry.runtime_data.roster.site_id


def _newest_first(entries: Iterable[Entry]) -> list[Entry]:
    # Stable: rows with one timestamp keep the server's order.
    return sorted(entries, key=lambda row: row.utc_date_time, reverse=True)


# --- handlers -------------------------------------------------------------------------------------


async def _async_unlock(call: ServiceCall) -> None:
    """Open the targeted locks; HA shows each released for ``seconds`` (or its entry's option)."""
    hass = call.hass
    # UNLOCK_SCHEMA requires a target, so there is at least one lock (or no_target).
    targets = resolve_locks(hass, call)
    component = hass.data.get(LOCK_DATA_COMPONENT)
    entities: list[tuple[SaltoLock, float]] = []
    for target in targets:
        entity = component.get_entity(target.entity_id) if component is not None else None
        if not isinstance(entity, SaltoLock):
            # Registered but not set up (disabled, or its platform is not loaded).
            raise validation_error("lock_not_available", entity_id=target.entity_id)
        seconds = call.data.get(
            ATTR_SECONDS, target.entry.options.get(CONF_UNLOCK_SECONDS, DEFAULT_UNLOCK_SECONDS)
        )
        entities.append((entity, min(max(float(seconds), MIN_UNLOCK_SECONDS), MAX_UNLOCK_SECONDS)))
    # The unlock PIN of every target's entry, before any lock is opened: a wrong code opens nothing.
    code: str | None = call.data.get(ATTR_CODE)
    checked: set[str | None] = set()
    for entity, _seconds in entities:
        if entity.pin_hash not in checked:
            await entity.async_check_code(code)
            checked.add(entity.pin_hash)
    # One at a time (the lock platform's PARALLEL_UPDATES); every lock is tried, the first
    # failure is reported.
    failure: HomeAssistantError | None = None
    otp: str | None = call.data.get(ATTR_OTP)
    for entity, seconds in entities:
        try:
            await entity.async_unlock_for(seconds, otp)
        except HomeAssistantError as err:
            failure = failure or err
    if failure is not None:
        raise failure


async def _async_get_entries(
    hass: HomeAssistant, entry: SaltoConfigEntry, limit: int, since: datetime | None = None
) -> list[Entry]:
    """The newest ``limit`` audit rows of the entry's site (since ``since``), newest first."""
    client = entry.runtime_data.client
    return await async_action_call(
        hass, entry, lambda: client.get_entries(_site_id(entry), since=since, limit=limit)
    )


def _at_or_after(row: Entry, since: datetime | None) -> bool:
    # The API's filter has whole seconds: rows up to 999 ms before since come back.
    return since is None or row.utc_date_time >= since


async def _async_lock_entries(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    lock_ids: set[str],
    limit: int,
    since: datetime | None,
) -> tuple[list[Entry], bool]:
    """Rows of ``lock_ids`` since ``since``, and whether the scan cap stopped the search early.

    Reads the site's log newest first, page by page (continuation tokens), until ``limit`` rows
    match, the log (since ``since``) ends, or MAX_EVENTS_SCAN_ROWS rows were read.
    """
    client = entry.runtime_data.client

    async def scan() -> tuple[list[Entry], bool]:
        matched: list[Entry] = []
        read = 0
        async for page in client.entry_pages(_site_id(entry), since, MAX_EVENTS_LIMIT):
            matched.extend(
                row for row in page if row.lock_id in lock_ids and _at_or_after(row, since)
            )
            read += len(page)
            if len(matched) >= limit:
                return matched, False
            if read >= MAX_EVENTS_SCAN_ROWS:
                return matched, True
        return matched, False

    return await async_action_call(hass, entry, scan)


async def _async_get_events(call: ServiceCall) -> ServiceResponse:
    """Audit trail rows, newest first, of a config entry or of the targeted locks."""
    hass = call.hass
    # Both checked and converted by GET_EVENTS_SCHEMA: limit 1-200, since in UTC (or None).
    limit: int = call.data[ATTR_LIMIT]
    since: datetime | None = call.data.get(ATTR_SINCE)
    rows: list[Entry] = []
    truncated = False
    for scope in resolve_scopes(hass, call):
        if scope.lock_ids is None:
            entries = await _async_get_entries(hass, scope.entry, limit, since)
            rows.extend(row for row in entries if _at_or_after(row, since))
            continue
        matched, capped = await _async_lock_entries(hass, scope.entry, scope.lock_ids, limit, since)
        rows.extend(matched)
        truncated = truncated or capped
    return {
        "events": [row.as_dict() for row in _newest_first(rows)[:limit]],
        "truncated": truncated,
    }


async def _async_get_sites(call: ServiceCall) -> ServiceResponse:
    """Sites visible to the entry's credentials."""
    entry = entry_from_call(call.hass, call)
    sites = await async_action_call(call.hass, entry, entry.runtime_data.client.get_sites)
    return {"sites": [site.as_dict() for site in sites]}


async def _async_get_locks(call: ServiceCall) -> ServiceResponse:
    """The entry's site's locks, read from the cloud now."""
    entry = entry_from_call(call.hass, call)
    client = entry.runtime_data.client
    locks = await async_action_call(call.hass, entry, lambda: client.get_locks(_site_id(entry)))
    return {"locks": [lock.as_dict() for lock in locks]}


async def _async_get_users(call: ServiceCall) -> ServiceResponse:
    """The entry's site's users (read only: user management stays in the Salto KS portal)."""
    entry = entry_from_call(call.hass, call)
    client = entry.runtime_data.client
    users = await async_action_call(call.hass, entry, lambda: client.get_users(_site_id(entry)))
    return {"users": [user.as_dict() for user in users]}


async def _async_last_events(
    hass: HomeAssistant, entry: SaltoConfigEntry, lock_ids: Iterable[str]
) -> dict[str, Entry | None]:
    """The newest audit row per lock.

    From the audit feed; locks it has no row for yet (it does not replay the log from before its
    first start) are looked up in the cloud's newest MAX_EVENTS_LIMIT rows with one request.
    """
    audit = entry.runtime_data.audit
    if audit is None:
        # An access log interval of 0 promises that no entries request is ever made.
        return dict.fromkeys(lock_ids)
    last: dict[str, Entry | None] = {lock_id: audit.last_entry(lock_id) for lock_id in lock_ids}
    if all(row is not None for row in last.values()):
        return last
    for row in _newest_first(await _async_get_entries(hass, entry, MAX_EVENTS_LIMIT)):
        if row.lock_id in last and last[row.lock_id] is None:
            last[row.lock_id] = row
    return last


async def _async_get_status(call: ServiceCall) -> ServiceResponse:
    """Per lock: online, battery, state and last event, after a fresh roster poll."""
    hass = call.hass
    registry = er.async_get(hass)
    rows: list[JsonValueType] = []
    for scope in resolve_scopes(hass, call):
        entry = scope.entry
        roster = entry.runtime_data.roster
        # A roster poll updates the entities too; its failure is already translated.
        await roster.async_refresh()
        if roster.stopped:
            # The entry reloaded or went while the poll waited; its answer was dropped.
            raise translated_error("entry_reloaded", {"title": entry.title})
        if not roster.last_update_success:
            failure = roster.last_exception
            if isinstance(failure, HomeAssistantError) and failure.translation_key:
                raise translated_error(
                    failure.translation_key, failure.translation_placeholders
                ) from failure
            raise translated_error("cannot_connect", {"error": type(failure).__name__}) from failure
        locks = roster.data.locks
        lock_ids = sorted(locks) if scope.lock_ids is None else sorted(scope.lock_ids)
        for lock_id in lock_ids:
            if lock_id not in locks:
                raise translated_error("lock_not_found", {"name": lock_id})
        last_events = await _async_last_events(hass, entry, lock_ids)
        for lock_id in lock_ids:
            lock = locks[lock_id].as_dict()
            entity_id = registry.async_get_entity_id(Platform.LOCK, DOMAIN, lock_id)
            state = hass.states.get(entity_id) if entity_id else None
            last_event = last_events[lock_id]
            rows.append(
                {
                    "lock_id": lock_id,
                    "name": lock["name"],
                    "config_entry_id": entry.entry_id,
                    "entity_id": entity_id,
                    "state": state.state if state else None,
                    "locked_state": lock["locked_state"],
                    "online": lock["online"],
                    "battery_level": lock["battery_level"],
                    "iq": lock["iq"],
                    "last_event": last_event.as_dict() if last_event else None,
                }
            )
    return {"locks": rows}


async def _async_refresh_token(call: ServiceCall) -> None:
    """Drop the cached token and authenticate again."""
    entry = entry_from_call(call.hass, call)
    client = entry.runtime_data.client
    client.invalidate_token()
    await async_action_call(call.hass, entry, lambda: client.authenticate(force=True))


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's service actions (once, from ``async_setup``)."""
    hass.services.async_register(DOMAIN, SERVICE_UNLOCK, _async_unlock, schema=UNLOCK_SCHEMA)
    for service, handler, schema in (
        (SERVICE_GET_EVENTS, _async_get_events, GET_EVENTS_SCHEMA),
        (SERVICE_GET_STATUS, _async_get_status, GET_STATUS_SCHEMA),
        (SERVICE_GET_SITES, _async_get_sites, ENTRY_SCHEMA),
        (SERVICE_GET_LOCKS, _async_get_locks, ENTRY_SCHEMA),
        (SERVICE_GET_USERS, _async_get_users, ENTRY_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN, service, handler, schema=schema, supports_response=SupportsResponse.ONLY
        )
    hass.services.async_register(
        DOMAIN, SERVICE_REFRESH_TOKEN, _async_refresh_token, schema=ENTRY_SCHEMA
    )
    async_setup_guest_services(hass)
    async_setup_office_mode_services(hass)
