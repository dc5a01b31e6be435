"""Logbook lines of Salto KS: one per access-log row, e.g. "Main Entrance opened by Alice Example (tag)".

The line describes the ``salto_ks_event`` the audit feed fires once per row, stamped with the row's own time.
Home Assistant's logbook also lists the Access event entity's state change at the time the row was read
("detected an event"): its rules leave out only continuous domains and numeric sensors, so an integration
cannot hide an event entity's state changes.

Messages are English, as in Home Assistant's own logbook platforms (the frontend shows a described message as
it is). They never contain ``access_detail`` (tag numbers and the like).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.components.logbook.models import LazyEventPartialState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .audit_rows import (
    EVENT_DOOR_LEFT_OPEN,
    EVENT_INTRUSION,
    EVENT_LOW_BATTERY,
    EVENT_OFFICE_MODE_ENDED,
    EVENT_OFFICE_MODE_STARTED,
    EVENT_OPENED,
    EVENT_OPENED_REMOTELY,
    EVENT_PRIVACY_MODE_ENDED,
    EVENT_PRIVACY_MODE_STARTED,
    EVENT_REJECTED,
    EVENT_SALTO_KS,
    EVENT_TAMPER,
)
from .const import DOMAIN

# Rows whose line names who did it and how (access_by).
_ACTOR_ROWS: Final[Mapping[str, str]] = {
    EVENT_OPENED: "opened",
    EVENT_OFFICE_MODE_STARTED: "office mode started",
    EVENT_OFFICE_MODE_ENDED: "office mode ended",
    EVENT_PRIVACY_MODE_STARTED: "privacy mode started",
    EVENT_PRIVACY_MODE_ENDED: "privacy mode ended",
}
# Rows that name nobody.
_ALARM_ROWS: Final[Mapping[str, str]] = {
    EVENT_DOOR_LEFT_OPEN: "door left open",
    EVENT_INTRUSION: "intrusion alarm",
    EVENT_TAMPER: "tamper alarm",
    EVENT_LOW_BATTERY: "battery low",
}
# access_by values whose plain words differ from the value with spaces.
_METHODS: Final[Mapping[str, str]] = {"pin_code": "PIN code"}


def _text(value: Any) -> str | None:
    """A stripped string; None when the value is not a non-blank string."""
    if isinstance(value, str) and (text := value.strip()):
        return text
    return None


def _words(value: Any) -> str | None:
    """A raw Salto value as words ("no_access" -> "no access")."""
    return _text(text.replace("_", " ")) if (text := _text(value)) else None


def _method(access_by: Any) -> str | None:
    if (text := _text(access_by)) is not None and text.lower() in _METHODS:
        return _METHODS[text.lower()]
    return _words(access_by)


def _with_method(text: str, method: str | None) -> str:
    return f"{text} ({method})" if method else text


def row_message(data: Mapping[str, Any]) -> str:
    """The logbook message of a ``salto_ks_event``'s data (the line's name is the lock)."""
    event_type = str(data.get("event_type"))
    user = _text(data.get("user_name"))
    method = _method(data.get("access_by"))
    if (text := _ACTOR_ROWS.get(event_type)) is not None:
        return _with_method(f"{text} by {user}" if user else text, method)
    if event_type == EVENT_OPENED_REMOTELY:
        return f"opened remotely by {user}" if user else "opened remotely"
    if event_type == EVENT_REJECTED:
        text = f"rejected {user}" if user else "rejected"
        if reason := _words(data.get("event_detail")):
            text = f"{text}: {reason}"
        return _with_method(text, method)
    if (text := _ALARM_ROWS.get(event_type)) is not None:
        return text
    what = _words(data.get("event_category")) or "an unknown event"
    if detail := _words(data.get("event_detail")):
        what = f"{what}: {detail}"
    return f"reported {what}"


def _lock_name(hass: HomeAssistant, lock_id: Any, entity_id: Any) -> str:
    """The lock's device name as Home Assistant shows it, else its Access entity's, else "Salto KS"."""
    entities = er.async_get(hass)
    # The lock entity's unique id is the lock id; its device carries the user's name for the lock.
    lock_entity_id = (
        entities.async_get_entity_id("lock", DOMAIN, lock_id) if isinstance(lock_id, str) else None
    )
    lock_entity = entities.async_get(lock_entity_id) if lock_entity_id else None
    if (
        lock_entity is not None
        and lock_entity.device_id is not None
        and (device := dr.async_get(hass).async_get(lock_entity.device_id)) is not None
        and (name := device.name_by_user or device.name)
    ):
        return name
    if isinstance(entity_id, str) and (state := hass.states.get(entity_id)) is not None:
        return state.name
    return "Salto KS"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[
        [str, str, Callable[[LazyEventPartialState], dict[str, Any]]], None
    ],
) -> None:
    """Describe ``salto_ks_event`` for the logbook."""

    @callback
    def async_describe_row(event: LazyEventPartialState) -> dict[str, Any]:
        data = event.data
        entity_id = data.get("entity_id")
        return {
            LOGBOOK_ENTRY_NAME: _lock_name(hass, data.get("lock_id"), entity_id),
            LOGBOOK_ENTRY_MESSAGE: row_message(data),
            LOGBOOK_ENTRY_ENTITY_ID: entity_id,
        }

    async_describe_event(DOMAIN, EVENT_SALTO_KS, async_describe_row)
