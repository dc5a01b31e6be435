"""Target resolution of the service actions: entities, devices, areas, floors and labels of a call,
or its ``config_entry_id``, to the loaded Salto KS config entries and the Salto lock ids.

Lock targets are resolved through the entity registry to the config entry and the Salto lock id (the lock
entity's unique id), so one code path serves every supported Home Assistant version
(``service.async_register_platform_entity_service`` needs 2025.10).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_AREA_ID,
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
    ENTITY_MATCH_NONE,
    Platform,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import service as service_helper
from homeassistant.helpers.typing import VolDictType

from .compat import TARGET_HELPERS
from .const import DOMAIN
from .coordinator import SaltoConfigEntry

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
TARGET_KEYS: Final = (ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID)

type SchemaCheck = Callable[[dict[str, Any]], dict[str, Any]]

# The site of an action that works on one: optional while exactly one entry is loaded.
_CONFIG_ENTRY_FIELD: Final[VolDictType] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
ENTRY_SCHEMA: Final = vol.Schema(_CONFIG_ENTRY_FIELD)

# HA's target fields, with entity ids narrowed to the lock domain ("none" still means no entity).
# Whether a lock belongs to Salto KS needs the entity registry: resolve_locks checks that.
_LOCK_TARGET_FIELDS: Final[VolDictType] = {
    **cv.ENTITY_SERVICE_FIELDS,
    vol.Optional(ATTR_ENTITY_ID): vol.Any(
        vol.All(vol.Lower, ENTITY_MATCH_NONE), cv.entities_domain(Platform.LOCK)
    ),
}


def referenced_entities(hass: HomeAssistant, call: ServiceCall) -> tuple[set[str], set[str]]:
    """Entity ids named in the call, and those reached through devices, areas, floors or labels."""
    selection_cls = getattr(TARGET_HELPERS, "TargetSelection", None) or getattr(
        TARGET_HELPERS, "TargetSelectorData", None
    )
    extract = getattr(TARGET_HELPERS, "async_extract_referenced_entity_ids", None)
    if selection_cls is not None and extract is not None:
        selected = extract(hass, selection_cls(call.data))
    else:
        selected = service_helper.async_extract_referenced_entity_ids(hass, call)
    return set(selected.referenced), set(selected.indirectly_referenced)


def has_target(data: Mapping[str, object]) -> bool:
    return any(data.get(key) not in (None, [], ENTITY_MATCH_NONE) for key in TARGET_KEYS)


def _require_target(data: dict[str, Any]) -> dict[str, Any]:
    if not has_target(data):
        raise vol.Invalid("choose at least one Salto KS lock (entity_id, device_id, area_id, ...)")
    return data


def entry_schema(fields: VolDictType, *checks: SchemaCheck) -> vol.All:
    """An action on one config entry (entry_from_call): ``config_entry_id``, ``fields``, ``checks``."""
    return vol.All(vol.Schema({**_CONFIG_ENTRY_FIELD, **fields}), *checks)


def lock_schema(fields: VolDictType, *checks: SchemaCheck) -> vol.All:
    """An action on lock targets (resolve_locks): one target at least, ``fields``, ``checks``."""
    return vol.All(vol.Schema({**_LOCK_TARGET_FIELDS, **fields}), _require_target, *checks)


def scope_schema(fields: VolDictType, *checks: SchemaCheck) -> vol.All:
    """An action on lock targets or one config entry (resolve_scopes): ``fields``, ``checks``."""
    return vol.All(vol.Schema({**_LOCK_TARGET_FIELDS, **_CONFIG_ENTRY_FIELD, **fields}), *checks)


@dataclass(frozen=True, slots=True)
class TargetLock:
    """A targeted Salto KS lock entity, with its loaded config entry and Salto lock id."""

    entry: SaltoConfigEntry
    lock_id: str
    entity_id: str


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def check_loaded(hass: HomeAssistant, entry_id: str) -> SaltoConfigEntry:
    """The loaded Salto KS config entry ``entry_id``, or a translated ServiceValidationError."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None:
        raise validation_error("entry_not_found", entry_id=entry_id)
    if entry.domain != DOMAIN:
        raise validation_error("entry_wrong_integration", title=entry.title)
    if entry.state is not ConfigEntryState.LOADED:
        raise validation_error("entry_not_loaded", title=entry.title)
    return entry


def resolve_locks(hass: HomeAssistant, call: ServiceCall) -> list[TargetLock]:
    """The targeted Salto KS locks; [] when the call has no target at all.

    An entity named directly must be a Salto KS lock; devices, areas, floors and labels may
    contain other entities, which are ignored.
    """
    if not has_target(call.data):
        return []
    direct, indirect = referenced_entities(hass, call)
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
                raise validation_error("not_salto_lock", entity_id=entity_id)
            continue
        entry = check_loaded(hass, reg_entry.config_entry_id)
        targets[entity_id] = TargetLock(entry, reg_entry.unique_id, entity_id)
    if not targets:
        raise validation_error("no_target")
    return list(targets.values())


def entry_from_call(hass: HomeAssistant, call: ServiceCall) -> SaltoConfigEntry:
    """The chosen config entry, or the only loaded one when none is chosen."""
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        return check_loaded(hass, entry_id)
    loaded: list[SaltoConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not loaded:
        raise validation_error("no_entry_loaded")
    if len(loaded) > 1:
        raise validation_error("entry_required")
    return loaded[0]


@dataclass(slots=True)
class Scope:
    """One config entry of a call, and the lock ids it is narrowed to (None: every lock)."""

    entry: SaltoConfigEntry
    lock_ids: set[str] | None


def resolve_scopes(hass: HomeAssistant, call: ServiceCall) -> list[Scope]:
    """Config entries (with lock filters) of a call taking a config entry or lock targets."""
    locks = resolve_locks(hass, call)
    if not locks:
        return [Scope(entry_from_call(hass, call), None)]
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entry = check_loaded(hass, entry_id)
        for lock in locks:
            if lock.entry.entry_id != entry.entry_id:
                raise validation_error(
                    "target_not_in_entry", entity_id=lock.entity_id, title=entry.title
                )
    scopes: dict[str, Scope] = {}
    for lock in locks:
        scope = scopes.setdefault(lock.entry.entry_id, Scope(lock.entry, set()))
        assert scope.lock_ids is not None
        scope.lock_ids.add(lock.lock_id)
    return list(scopes.values())
