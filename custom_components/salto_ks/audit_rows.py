"""What an access-log row means for Home Assistant: its event type, its person, its bus event.

Nothing here talks to Home Assistant or the network, so it is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .api import Entry, EventCategory
from .const import DOMAIN

# Bus event fired once per access-log row (see audit.SaltoAuditCoordinator).
EVENT_SALTO_KS: Final = f"{DOMAIN}_event"

# The translated event types of the event entities (and of the salto_ks_event bus event). A row whose
# category or detail is unknown becomes OTHER: it is never dropped.
EVENT_OPENED: Final = "opened"
EVENT_OPENED_REMOTELY: Final = "opened_remotely"
EVENT_REJECTED: Final = "rejected"
EVENT_OFFICE_MODE_STARTED: Final = "office_mode_started"
EVENT_OFFICE_MODE_ENDED: Final = "office_mode_ended"
EVENT_DOOR_LEFT_OPEN: Final = "door_left_open"
EVENT_INTRUSION: Final = "intrusion"
EVENT_TAMPER: Final = "tamper"
EVENT_LOW_BATTERY: Final = "low_battery"
EVENT_PRIVACY_MODE_STARTED: Final = "privacy_mode_started"
EVENT_PRIVACY_MODE_ENDED: Final = "privacy_mode_ended"
EVENT_OTHER: Final = "other"

EVENT_TYPES: Final = (
    EVENT_OPENED,
    EVENT_OPENED_REMOTELY,
    EVENT_REJECTED,
    EVENT_OFFICE_MODE_STARTED,
    EVENT_OFFICE_MODE_ENDED,
    EVENT_DOOR_LEFT_OPEN,
    EVENT_INTRUSION,
    EVENT_TAMPER,
    EVENT_LOW_BATTERY,
    EVENT_PRIVACY_MODE_STARTED,
    EVENT_PRIVACY_MODE_ENDED,
    EVENT_OTHER,
)

# Categories that map to one type whatever their detail.
_SIMPLE: Final[Mapping[str, str]] = {
    EventCategory.LOCK_REJECTED: EVENT_REJECTED,
    EventCategory.DOOR_LEFT_OPEN: EVENT_DOOR_LEFT_OPEN,
    EventCategory.INTRUSION: EVENT_INTRUSION,
    EventCategory.TAMPER: EVENT_TAMPER,
    EventCategory.LOW_BATTERY: EVENT_LOW_BATTERY,
}
# Categories with a start/end detail.
_START_END: Final[Mapping[str, tuple[str, str]]] = {
    EventCategory.EASY_OFFICE_MODE: (EVENT_OFFICE_MODE_STARTED, EVENT_OFFICE_MODE_ENDED),
    EventCategory.OFFICE_MODE: (EVENT_OFFICE_MODE_STARTED, EVENT_OFFICE_MODE_ENDED),
    EventCategory.PRIVACY_MODE: (EVENT_PRIVACY_MODE_STARTED, EVENT_PRIVACY_MODE_ENDED),
}
_STARTS: Final = frozenset({"start", "started", "on"})
_ENDS: Final = frozenset({"end", "ended", "off"})


def event_type(category: str, detail: str | None, access_by: str | None) -> str:
    """The event type of a row from its event_category, event_detail and access_by."""
    category = category.lower()
    if category == EventCategory.LOCK_OPENED:
        return EVENT_OPENED_REMOTELY if (access_by or "").lower() == "remote" else EVENT_OPENED
    if (simple := _SIMPLE.get(category)) is not None:
        return simple
    if (pair := _START_END.get(category)) is not None:
        state = (detail or "").lower()
        if state in _STARTS:
            return pair[0]
        if state in _ENDS:
            return pair[1]
    return EVENT_OTHER


def entry_event_type(entry: Entry) -> str:
    """The event type of an entry."""
    return event_type(str(entry.event_category), entry.event_detail, entry.access_by)


def is_opening(entry: Entry) -> bool:
    """Whether the row is an opening (the lock's ``changed_by`` follows these)."""
    return entry.event_category == EventCategory.LOCK_OPENED


def user_name(entry: Entry) -> str | None:
    """The person of a row: first and last name, else the alias; None when the row names nobody.

    Entries carry no e-mail address, so there is no e-mail fallback.
    """
    name = " ".join(part.strip() for part in (entry.user_first_name, entry.user_last_name) if part)
    if name.strip():
        return name.strip()
    if entry.user_alias and entry.user_alias.strip():
        return entry.user_alias.strip()
    return None


def last_event(entry: Entry) -> str:
    """``category/detail`` (just the category when the row has no detail)."""
    category = str(entry.event_category)
    return f"{category}/{entry.event_detail}" if entry.event_detail else category


def bus_payload(entry: Entry, config_entry_id: str, entity_id: str | None) -> dict[str, Any]:
    """The data of the ``salto_ks_event`` of a row (``entity_id``: the lock's event entity, if any)."""
    return {
        "config_entry_id": config_entry_id,
        "lock_id": entry.lock_id,
        "entity_id": entity_id,
        "event_type": entry_event_type(entry),
        "event_category": str(entry.event_category),
        "event_detail": entry.event_detail,
        "user_id": entry.user_id,
        "user_name": user_name(entry),
        "access_by": entry.access_by,
        "access_detail": entry.access_detail,
        "entry_id": entry.id,
        "utc_date_time": entry.utc_date_time.isoformat(),
    }
