"""Pure logic of the audit feed: the cursor, deduplication, and what a row means for Home Assistant.

Nothing here talks to Home Assistant or the network, so it is tested on its own.

The cursor is the timestamp of the newest row already handled plus the ids of the handled rows that carry
exactly that timestamp. The entries filter is ``utc_date_time ge <cursor>`` (whole seconds), so the rows at
the cursor's instant come back on the next poll: their ids tell the ones already handled from the ones that
arrived later with the same timestamp. A row older than the cursor is never new (see ``docs/architecture.md``
§3 for what that means for rows Salto uploads late).

The cursor never moves beyond a limit the caller derives from Home Assistant's clock: a handled row dated
later (a lock whose clock is wrong) is remembered by id in ``ahead`` instead, so the filter keeps returning
it without it being new again, and the rows of the present stay new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from .api import Entry, EventCategory

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


@dataclass(frozen=True, slots=True)
class Cursor:
    """The newest handled instant, the ids of the handled rows at exactly that instant, and the
    handled rows dated beyond the limit the cursor was kept to (id -> timestamp)."""

    timestamp: datetime
    ids: frozenset[str] = frozenset()
    ahead: Mapping[str, datetime] = field(default_factory=dict, hash=False)

    def is_new(self, entry: Entry) -> bool:
        """Whether a row has not been handled yet."""
        if entry.id in self.ahead:
            return False
        if entry.utc_date_time > self.timestamp:
            return True
        return entry.utc_date_time == self.timestamp and entry.id not in self.ids

    def advance(self, entries: Iterable[Entry], limit: datetime) -> Cursor:
        """The cursor after handling ``entries`` too (in any order), never moved beyond ``limit``."""
        timestamp = self.timestamp
        ids = set(self.ids)
        ahead = dict(self.ahead)
        for entry in entries:
            if entry.utc_date_time > limit:
                ahead[entry.id] = entry.utc_date_time
            elif entry.utc_date_time > timestamp:
                timestamp = entry.utc_date_time
                ids = {entry.id}
            elif entry.utc_date_time == timestamp:
                ids.add(entry.id)
        # A row the cursor has passed is not new by its timestamp any more.
        ahead = {key: when for key, when in ahead.items() if when >= timestamp}
        return Cursor(timestamp, frozenset(ids), ahead)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for the Store)."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "ids": sorted(self.ids),
            "ahead": {key: when.isoformat() for key, when in sorted(self.ahead.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cursor:
        """Inverse of ``as_dict``; raises ValueError/KeyError/TypeError on a damaged value."""
        ids = data.get("ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise TypeError("cursor ids must be a list of strings")
        ahead = data.get("ahead") or {}
        if not isinstance(ahead, Mapping) or not all(isinstance(i, str) for i in ahead):
            raise TypeError("cursor ahead must map ids to times")
        return cls(
            _utc(data["timestamp"]),
            frozenset(ids),
            {key: _utc(when) for key, when in ahead.items()},
        )


def _utc(text: str) -> datetime:
    """An ISO time from the Store as an aware UTC datetime (naive is taken as UTC)."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def select_new(cursor: Cursor, entries: Iterable[Entry]) -> list[Entry]:
    """The rows not handled yet, each once, oldest first (rows sharing a timestamp keep their order)."""
    seen: set[str] = set()
    new: list[Entry] = []
    for entry in entries:
        if entry.id in seen or not cursor.is_new(entry):
            continue
        seen.add(entry.id)
        new.append(entry)
    new.sort(key=lambda entry: entry.utc_date_time)  # stable: the server's order within an instant
    return new


def entry_to_store(entry: Entry) -> dict[str, Any]:
    """An entry as a JSON-serialisable dict that ``entry_from_store`` reads back."""
    data = entry.as_dict()
    # Entry.from_dict reads the wire name of the lock's name.
    data["lock_customer_reference"] = data.pop("lock_name", None)
    return data


def entry_from_store(data: Mapping[str, Any]) -> Entry:
    """Inverse of ``entry_to_store`` (raises the client's InvalidResponseError on a damaged value)."""
    return Entry.from_dict(data)
