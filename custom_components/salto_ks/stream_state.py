"""What a streamed access-log row says about its lock's state, before the roster confirms it.

Nothing here imports Home Assistant: a lock and a row in, the lock as the row implies it out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .api import Entry, EventCategory, Lock, LockedState

_STARTS = frozenset({"start", "started", "on"})
_ENDS = frozenset({"end", "ended", "off"})
_OFFICE_MODE = frozenset({EventCategory.EASY_OFFICE_MODE, EventCategory.OFFICE_MODE})


def implied_changes(entry: Entry) -> dict[str, Any]:
    """The lock fields the row implies (none for a row that implies no state, e.g. a rejection)."""
    category = str(entry.event_category).lower()
    detail = (entry.event_detail or "").lower()
    if category == EventCategory.LOCK_OPENED:
        return {"locked_state": LockedState.UNLOCKED}
    if category in _OFFICE_MODE:
        if detail in _STARTS:
            return {"locked_state": LockedState.OFFICE_MODE}
        if detail in _ENDS:
            return {"locked_state": LockedState.LOCKED}
    if category == EventCategory.PRIVACY_MODE:
        if detail in _STARTS:
            return {"privacy_mode": True}
        if detail in _ENDS:
            return {"privacy_mode": False}
    if category == EventCategory.DOOR_LEFT_OPEN:
        return {"left_open_alarm": True}
    if category == EventCategory.INTRUSION:
        return {"intrusion_alarm": True}
    return {}


def implied_lock(lock: Lock, entry: Entry) -> Lock | None:
    """``lock`` as the row implies it, or None when the row changes nothing of it."""
    changes = implied_changes(entry)
    if changes.get("locked_state") == LockedState.UNLOCKED and (
        lock.locked_state == LockedState.OFFICE_MODE
    ):
        return None  # an opening in office mode: the door stays open, office mode stays on
    if not changes or all(getattr(lock, name) == value for name, value in changes.items()):
        return None
    return replace(lock, **changes)
