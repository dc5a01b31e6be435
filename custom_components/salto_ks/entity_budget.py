"""Which entities of a lock start enabled, so that every lock of a big site fits Home Assistant's limit.

Newer Home Assistant versions register at most ``compat.enabled_entity_limit()`` (10,000) enabled entities per
config entry: past it a new enabled entity is not added at all (one warning in the log). Disabled entities do not
count, and HA reads an entity's enabled default only when it first registers it. So when the enabled-by-default
entities of the whole roster would not fit, every lock's secondary entities are registered disabled, the same for
every lock (now and locks added later), and one repair issue tells the user why and how to enable the ones they
need. Entities already in the registry keep what the registry says.

Primary, enabled on every site: the lock entity (its state and the commands), its access event entity (who
opened, and the alarms and mode changes as they happen) and its battery sensor (the one maintenance signal
nothing else gives). Secondary: the manual office mode switch (``salto_ks.set_office_mode`` does the same), the
online, left open, intrusion, privacy mode and office mode binary sensors (the access events report the alarms
and modes). IQ entities and the site's stream sensor stay as they are: a few, and each covers many locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity import Entity

from .audit_delivery import AUDIT_EVENT_KEY
from .compat import enabled_entity_limit
from .const import DOMAIN
from .coordinator import SaltoConfigEntry
from .issues import issue_id

# The secondary entities of every lock are registered disabled; the primary ones fit.
ISSUE_ENTITY_BUDGET: Final = "entity_budget"
# Even the primary entities do not fit: Home Assistant leaves the last locks without entities.
ISSUE_ENTITY_LIMIT: Final = "entity_limit"
BUDGET_ISSUES: Final = (ISSUE_ENTITY_BUDGET, ISSUE_ENTITY_LIMIT)

# Enabled-by-default entities per device, as the platforms make them (test_entity_budget.py counts the
# registry against these): a lock's 8, 2 of them primary (the lock, its battery), plus its access event entity
# while the audit feed is on; an IQ's online and OTP sensors (its signal strength sensor starts disabled); the
# site's stream sensor while the stream is on.
LOCK_ENTITIES: Final = 8
LOCK_PRIMARY_ENTITIES: Final = 2
IQ_ENTITIES: Final = 2
# Unique id suffixes of a lock's primary entities besides the lock entity itself (unique id: the lock id).
PRIMARY_KEYS: Final = ("battery", AUDIT_EVENT_KEY)


@callback
def async_budget_lock_entities(
    entry: SaltoConfigEntry, lock_ids: Iterable[str], entities: Callable[[str], Iterable[Entity]]
) -> Iterator[Entity]:
    """Return the new entities of some locks, the secondary ones set disabled by default when the
    site needs it (decided once for all of them)."""
    if budget_issue(entry) is None:
        for lock_id in lock_ids:
            yield from entities(lock_id)
        return
    for lock_id in lock_ids:
        primary = {lock_id, *(f"{lock_id}_{key}" for key in PRIMARY_KEYS)}
        for entity in entities(lock_id):
            if entity.unique_id not in primary:
                # What a description's entity_registry_enabled_default=False sets; HA reads it on
                # first registration only.
                entity._attr_entity_registry_enabled_default = False
            yield entity


def budget_issue(entry: SaltoConfigEntry) -> str | None:
    """The entry's entity budget issue as of the last roster poll; None: every entity fits."""
    limit = enabled_entity_limit()
    if limit is None:
        return None
    every, primary = _enabled_counts(entry)
    if every <= limit:
        return None
    return ISSUE_ENTITY_BUDGET if primary <= limit else ISSUE_ENTITY_LIMIT


def _enabled_counts(entry: SaltoConfigEntry) -> tuple[int, int]:
    """How many entities the roster has enabled by default: with every entity, with the primary ones."""
    runtime = entry.runtime_data
    locks = len(runtime.roster.data.locks)
    audit = runtime.audit is not None
    fixed = len(runtime.roster.data.iqs) * IQ_ENTITIES + (runtime.stream is not None)
    return (
        fixed + locks * (LOCK_ENTITIES + audit),
        fixed + locks * (LOCK_PRIMARY_ENTITIES + audit),
    )


@callback
def async_setup_budget_issue(entry: SaltoConfigEntry) -> None:
    """Keep the entry's entity budget issue in step with every roster poll of the loaded entry."""
    roster = entry.runtime_data.roster
    entry.async_on_unload(roster.async_add_listener(partial(_async_update_issue, entry)))
    _async_update_issue(entry)


@callback
def _async_update_issue(entry: SaltoConfigEntry) -> None:
    hass = entry.runtime_data.roster.hass
    wanted = budget_issue(entry)
    every, primary = _enabled_counts(entry)
    placeholders = {
        "title": entry.title,
        "limit": str(enabled_entity_limit()),
        "locks": str(len(entry.runtime_data.roster.data.locks)),
        "needed": str(every),
        "primary": str(primary),
    }
    registry = ir.async_get(hass)
    for kind in BUDGET_ISSUES:
        existing = registry.async_get_issue(DOMAIN, issue_id(kind, entry.entry_id))
        if kind != wanted:
            if existing is not None:
                ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry.entry_id))
        elif existing is None or existing.translation_placeholders != placeholders:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id(kind, entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING
                if kind == ISSUE_ENTITY_BUDGET
                else ir.IssueSeverity.ERROR,
                translation_key=kind,
                translation_placeholders=placeholders,
                data={"entry_id": entry.entry_id},
            )


@callback
def async_delete_budget_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the entry's entity budget issue (its next setup raises it again when still needed)."""
    for kind in BUDGET_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))
