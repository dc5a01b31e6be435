"""Service actions of the Salto KS integration, registered once in ``async_setup``.

Every action is a domain service: lock targets are resolved through the entity registry to the
config entry and the Salto lock id (the lock entity's unique id), so one code path serves every
supported Home Assistant version (``service.async_register_platform_entity_service`` needs 2025.10).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Final, NoReturn

import voluptuous as vol
from homeassistant.components.lock import DATA_COMPONENT as LOCK_DATA_COMPONENT
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_AREA_ID,
    ATTR_CODE,
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
    ENTITY_MATCH_NONE,
    Platform,
)
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import service as service_helper
from homeassistant.helpers.typing import VolDictType
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .api import (
    ApiNotEnabledError,
    AuthenticationError,
    Entry,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSError,
    TokenRejectedError,
)
from .const import (
    CONF_UNLOCK_SECONDS,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    MAX_UNLOCK_SECONDS,
    MIN_UNLOCK_SECONDS,
)
from .coordinator import SaltoConfigEntry
from .lock import SaltoLock

SERVICE_UNLOCK: Final = "unlock"
SERVICE_GET_EVENTS: Final = "get_events"
SERVICE_GET_SITES: Final = "get_sites"
SERVICE_GET_LOCKS: Final = "get_locks"
SERVICE_GET_USERS: Final = "get_users"
SERVICE_GET_STATUS: Final = "get_status"
SERVICE_REFRESH_TOKEN: Final = "refresh_token"  # noqa: S105 - an action name

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_SECONDS: Final = "seconds"
ATTR_LIMIT: Final = "limit"
ATTR_SINCE: Final = "since"

MIN_EVENTS_LIMIT: Final = 1
MAX_EVENTS_LIMIT: Final = 200  # the client's (and seed 000's) limit per call
DEFAULT_EVENTS_LIMIT: Final = 50
# The API cannot filter by lock: for lock targets get_events reads the site's log newest first,
# page by page, until enough rows match, but at most this many rows (5 pages of 200) per site, so
# one call cannot spend a large share of the account's request budget.
MAX_EVENTS_SCAN_ROWS: Final = 1_000

_CONFIG_ENTRY_FIELD: Final[VolDictType] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
_TARGET_KEYS: Final = (ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID)
# HA's target fields, with entity ids narrowed to the lock domain ("none" still means no entity).
# Whether a lock belongs to Salto KS needs the entity registry: the handlers check that.
_LOCK_TARGET_FIELDS: Final[VolDictType] = {
    **cv.ENTITY_SERVICE_FIELDS,
    vol.Optional(ATTR_ENTITY_ID): vol.Any(
        vol.All(vol.Lower, ENTITY_MATCH_NONE), cv.entities_domain(Platform.LOCK)
    ),
}


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


def _require_target(data: dict[str, object]) -> dict[str, object]:
    if not _has_target(data):
        raise vol.Invalid("choose at least one Salto KS lock (entity_id, device_id, area_id, ...)")
    return data


UNLOCK_SCHEMA: Final = vol.All(
    vol.Schema(
        {
            **_LOCK_TARGET_FIELDS,
            vol.Optional(ATTR_SECONDS): _finite_float,
            # The unlock PIN when the entry has one (checked in the lock entity, never logged).
            vol.Optional(ATTR_CODE): vol.All(cv.string, vol.Length(max=64)),
        }
    ),
    _require_target,
)
GET_EVENTS_SCHEMA: Final = vol.Schema(
    {
        **_LOCK_TARGET_FIELDS,
        **_CONFIG_ENTRY_FIELD,
        vol.Optional(ATTR_LIMIT, default=DEFAULT_EVENTS_LIMIT): vol.All(
            _whole_number, vol.Range(min=MIN_EVENTS_LIMIT, max=MAX_EVENTS_LIMIT)
        ),
        vol.Optional(ATTR_SINCE): vol.All(cv.datetime, _utc_since),
    }
)
GET_STATUS_SCHEMA: Final = vol.Schema({**_LOCK_TARGET_FIELDS, **_CONFIG_ENTRY_FIELD})
ENTRY_SCHEMA: Final = vol.Schema(_CONFIG_ENTRY_FIELD)


# --- target resolution ----------------------------------------------------------------------------


# HA moved the target helpers to helpers/target.py (TargetSelection) and removed the
# service.py versions in 2026.8; 2025.4 only has the latter. Looked up at run time so that
# mypy sees one version's stubs without a version-specific import.
def _import_target_helpers() -> ModuleType | None:
    try:
        return importlib.import_module("homeassistant.helpers.target")
    except ImportError:
        return None


_TARGET_HELPERS: Final = _import_target_helpers()


def _referenced_entities(hass: HomeAssistant, call: ServiceCall) -> tuple[set[str], set[str]]:
    """Entity ids named in the call, and those reached through devices, areas, floors or labels."""
    selection_cls = getattr(_TARGET_HELPERS, "TargetSelection", None) or getattr(
        _TARGET_HELPERS, "TargetSelectorData", None
    )
    extract = getattr(_TARGET_HELPERS, "async_extract_referenced_entity_ids", None)
    if selection_cls is not None and extract is not None:
        selected = extract(hass, selection_cls(call.data))
    else:
        selected = service_helper.async_extract_referenced_entity_ids(hass, call)
    return set(selected.referenced), set(selected.indirectly_referenced)


def _has_target(data: Mapping[str, object]) -> bool:
    return any(data.get(key) not in (None, [], ENTITY_MATCH_NONE) for key in _TARGET_KEYS)


@dataclass(frozen=True, slots=True)
class TargetLock:
    """A targeted Salto KS lock entity, with its loaded config entry and Salto lock id."""

    entry: SaltoConfigEntry
    lock_id: str
    entity_id: str


def _validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def _check_loaded(hass: HomeAssistant, entry_id: str) -> SaltoConfigEntry:
    """The loaded Salto KS config entry ``entry_id``, or a translated ServiceValidationError."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None:
        raise _validation_error("entry_not_found", entry_id=entry_id)
    if entry.domain != DOMAIN:
        raise _validation_error("entry_wrong_integration", title=entry.title)
    if entry.state is not ConfigEntryState.LOADED:
        raise _validation_error("entry_not_loaded", title=entry.title)
    return entry


def _resolve_locks(hass: HomeAssistant, call: ServiceCall) -> list[TargetLock]:
    """The targeted Salto KS locks; [] when the call has no target at all.

    An entity named directly must be a Salto KS lock; devices, areas, floors and labels may
    contain other entities, which are ignored.
    """
    if not _has_target(call.data):
        return []
    direct, indirect = _referenced_entities(hass, call)
    registry = er.async_get(hass)
    targets: dict[str, TargetLock] = {}
    for entity_id in sorted(direct | indirect):
        reg_entry = registry.async_get(entity_id)
        if (
            reg_entry is None
            or reg_entry.platform != DOMAIN
            or reg_entry.domain != Platform.LOCK
            or reg_entry.config_entry_id is None
        ):
            if entity_id in direct:
                raise _validation_error("not_salto_lock", entity_id=entity_id)
            continue
        entry = _check_loaded(hass, reg_entry.config_entry_id)
        targets[entity_id] = TargetLock(entry, reg_entry.unique_id, entity_id)
    if not targets:
        raise _validation_error("no_target")
    return list(targets.values())


def _entry_from_call(hass: HomeAssistant, call: ServiceCall) -> SaltoConfigEntry:
    """The chosen config entry, or the only loaded one when none is chosen."""
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        return _check_loaded(hass, entry_id)
    loaded: list[SaltoConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not loaded:
        raise _validation_error("no_entry_loaded")
    if len(loaded) > 1:
        raise _validation_error("entry_required")
    return loaded[0]


@dataclass(slots=True)
class _Scope:
    """One config entry of a call, and the lock ids it is narrowed to (None: every lock)."""

    entry: SaltoConfigEntry
    lock_ids: set[str] | None


def _resolve_scopes(hass: HomeAssistant, call: ServiceCall) -> list[_Scope]:
    """Config entries (with lock filters) of a call taking a config entry or lock targets."""
    locks = _resolve_locks(hass, call)
    if not locks:
        return [_Scope(_entry_from_call(hass, call), None)]
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entry = _check_loaded(hass, entry_id)
        for lock in locks:
            if lock.entry.entry_id != entry.entry_id:
                raise _validation_error(
                    "target_not_in_entry", entity_id=lock.entity_id, title=entry.title
                )
    scopes: dict[str, _Scope] = {}
    for lock in locks:
        scope = scopes.setdefault(lock.entry.entry_id, _Scope(lock.entry, set()))
        assert scope.lock_ids is not None
        scope.lock_ids.add(lock.lock_id)
    return list(scopes.values())


# --- cloud calls ----------------------------------------------------------------------------------


def _raise_cloud(key: str, err: Exception | None = None, **placeholders: str) -> NoReturn:
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    ) from err


async def _async_cloud[T](
    hass: HomeAssistant, entry: SaltoConfigEntry, request: Callable[[], Awaitable[T]]
) -> T:
    """Send one request for an action; the client's errors become translated HomeAssistantErrors."""
    roster = entry.runtime_data.roster
    if (remaining := roster.rate_limit_remaining()) is not None:
        _raise_cloud("rate_limited", seconds=str(round(remaining)))
    try:
        return await request()
    except RateLimitedError as err:
        _raise_cloud("rate_limited", err, seconds=str(round(roster.note_rate_limited(err))))
    except TokenRejectedError as err:
        roster.note_transient_failure()
        _raise_cloud("cannot_connect", err, error=type(err).__name__)
    except AuthenticationError as err:
        if not roster.auth_refusal_is_trusted():
            # Right after a transient failure: not trusted yet (the roster's reauth grace).
            _raise_cloud("cannot_connect", err, error=type(err).__name__)
        # The identity server refused the stored credentials: ask the user for new ones.
        entry.async_start_reauth(hass)
        _raise_cloud("action_invalid_auth", err)
    except ApiNotEnabledError as err:
        _raise_cloud("api_not_enabled", err)
    except PermissionDeniedError as err:
        _raise_cloud("action_not_permitted", err, title=entry.title)
    except InvalidRequestError as err:
        # Permanent: not a glitch for the reauth grace.
        _raise_cloud("invalid_request", err, code=err.error_code or "")
    except SaltoKSError as err:
        roster.note_transient_failure()
        _raise_cloud("cannot_connect", err, error=type(err).__name__)


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
    targets = _resolve_locks(hass, call)
    component = hass.data.get(LOCK_DATA_COMPONENT)
    entities: list[tuple[SaltoLock, float]] = []
    for target in targets:
        entity = component.get_entity(target.entity_id) if component is not None else None
        if not isinstance(entity, SaltoLock):
            # Registered but not set up (disabled, or its platform is not loaded).
            raise _validation_error("lock_not_available", entity_id=target.entity_id)
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
    for entity, seconds in entities:
        try:
            await entity.async_unlock_for(seconds)
        except HomeAssistantError as err:
            failure = failure or err
    if failure is not None:
        raise failure


async def _async_get_entries(
    hass: HomeAssistant, entry: SaltoConfigEntry, limit: int, since: datetime | None = None
) -> list[Entry]:
    """The newest ``limit`` audit rows of the entry's site (since ``since``), newest first."""
    client = entry.runtime_data.client
    return await _async_cloud(
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

    return await _async_cloud(hass, entry, scan)


async def _async_get_events(call: ServiceCall) -> ServiceResponse:
    """Audit trail rows, newest first, of a config entry or of the targeted locks."""
    hass = call.hass
    # Both checked and converted by GET_EVENTS_SCHEMA: limit 1-200, since in UTC (or None).
    limit: int = call.data[ATTR_LIMIT]
    since: datetime | None = call.data.get(ATTR_SINCE)
    rows: list[Entry] = []
    truncated = False
    for scope in _resolve_scopes(hass, call):
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
    entry = _entry_from_call(call.hass, call)
    sites = await _async_cloud(call.hass, entry, entry.runtime_data.client.get_sites)
    return {"sites": [site.as_dict() for site in sites]}


async def _async_get_locks(call: ServiceCall) -> ServiceResponse:
    """The entry's site's locks, read from the cloud now."""
    entry = _entry_from_call(call.hass, call)
    client = entry.runtime_data.client
    locks = await _async_cloud(call.hass, entry, lambda: client.get_locks(_site_id(entry)))
    return {"locks": [lock.as_dict() for lock in locks]}


async def _async_get_users(call: ServiceCall) -> ServiceResponse:
    """The entry's site's users (read only: user management stays in the Salto KS portal)."""
    entry = _entry_from_call(call.hass, call)
    client = entry.runtime_data.client
    users = await _async_cloud(call.hass, entry, lambda: client.get_users(_site_id(entry)))
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
    for scope in _resolve_scopes(hass, call):
        entry = scope.entry
        roster = entry.runtime_data.roster
        # A roster poll updates the entities too; its failure is already translated.
        await roster.async_refresh()
        if roster.stopped:
            # The entry reloaded or went while the poll waited; its answer was dropped.
            _raise_cloud("entry_reloaded", title=entry.title)
        if not roster.last_update_success:
            failure = roster.last_exception
            if isinstance(failure, HomeAssistantError) and failure.translation_key:
                _raise_cloud(
                    failure.translation_key, failure, **(failure.translation_placeholders or {})
                )
            _raise_cloud("cannot_connect", failure, error=type(failure).__name__)
        locks = roster.data.locks
        lock_ids = sorted(locks) if scope.lock_ids is None else sorted(scope.lock_ids)
        for lock_id in lock_ids:
            if lock_id not in locks:
                _raise_cloud("lock_not_found", name=lock_id)
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
    entry = _entry_from_call(call.hass, call)
    client = entry.runtime_data.client
    client.invalidate_token()
    await _async_cloud(call.hass, entry, lambda: client.authenticate(force=True))


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
