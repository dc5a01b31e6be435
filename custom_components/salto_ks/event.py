"""Event entities of Salto KS: one per lock, firing each access-log row of that lock.

Fed by the audit coordinator (``SaltoAuditCoordinator.async_subscribe``), oldest row first; several rows of
one poll each fire. Availability follows the roster, like every entity of the lock: a failing access log
does not make it unavailable. Not created when the ``event_poll_interval`` option is 0.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Entry, Lock
from .audit import SaltoAuditCoordinator
from .audit_delivery import AUDIT_EVENT_KEY
from .audit_rows import EVENT_TYPES, entry_event_type, last_event, user_name
from .coordinator import SaltoConfigEntry, SaltoRosterCoordinator
from .entity import LOCK, SaltoEntity, async_add_device_entities

# Entities only receive rows; they send nothing.
PARALLEL_UPDATES = 0

ATTR_LAST_EVENT = "last_event"
ATTR_LAST_EVENT_AT = "last_event_at"
ATTR_LAST_EVENT_USER = "last_event_user"
ATTR_ACCESS_BY = "access_by"
ATTR_ACCESS_DETAIL = "access_detail"
ATTR_ENTRY_ID = "entry_id"


def event_attributes(entry: Entry) -> dict[str, Any]:
    """The attributes an access-log row gives the event entity: what, when, who and how."""
    return {
        ATTR_LAST_EVENT: last_event(entry),
        ATTR_LAST_EVENT_AT: entry.utc_date_time.isoformat(),
        ATTR_LAST_EVENT_USER: user_name(entry),
        ATTR_ACCESS_BY: entry.access_by,
        ATTR_ACCESS_DETAIL: entry.access_detail,
        ATTR_ENTRY_ID: entry.id,
    }


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an access event entity for every lock, now and whenever new ones appear."""
    audit = entry.runtime_data.audit
    if audit is None:
        return
    roster = entry.runtime_data.roster
    async_add_device_entities(
        entry, async_add_entities, LOCK, lambda lock_id: [SaltoAccessEvent(roster, audit, lock_id)]
    )


class SaltoAccessEvent(SaltoEntity[Lock], EventEntity):
    """The access log of one lock: openings, rejections, office/privacy mode, alarms."""

    _attr_translation_key = "access"
    _attr_event_types = list(EVENT_TYPES)

    def __init__(
        self, roster: SaltoRosterCoordinator, audit: SaltoAuditCoordinator, lock_id: str
    ) -> None:
        """Bind the entity to a lock and the entry's audit feed."""
        super().__init__(roster, LOCK, lock_id, AUDIT_EVENT_KEY)
        self._audit = audit

    async def async_added_to_hass(self) -> None:
        """Receive the lock's rows (rows held while the entity did not exist arrive now)."""
        await super().async_added_to_hass()
        self.async_on_remove(self._audit.async_subscribe(self.device_id, self._async_handle_entry))

    @callback
    def _async_handle_entry(self, entry: Entry) -> None:
        self._trigger_event(entry_event_type(entry), event_attributes(entry))
        self.async_write_ha_state()
