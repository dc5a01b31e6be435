"""How the audit feed reads the access log: the cursor, the selection of new rows, the bounds of a poll.

Nothing here imports Home Assistant; the reads take the client, so this is tested on its own.

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
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .api import Entry, SaltoKSClient, SaltoKSError

# Rows per entries page the feed asks for (the client's maximum $top).
AUDIT_PAGE_SIZE: Final = 200
# At most this many new rows are delivered by one poll: the newest, oldest first. A door opened ten
# times a second fills it in over three minutes, six default polls, so an ordinary poll delivers
# every row even at a very busy site; only a long outage (or a very long interval) skips the oldest.
AUDIT_BACKLOG_LIMIT: Final = 2_000
# Pages one poll reads at most (requests, so a poll cannot spend the account's budget): at 200 rows
# a page the newest AUDIT_BACKLOG_LIMIT rows and as many again to count the ones skipped beyond them.
AUDIT_MAX_PAGES: Final = 20
# Rows per page of the first-start read that places the cursor (none of them is delivered).
AUDIT_FIRST_START_ROWS: Final = 10
# A row dated further than this after Home Assistant's clock (a lock whose clock is wrong) does not
# move the cursor: it would hide every row of the present until that date.
AUDIT_CLOCK_TOLERANCE: Final = timedelta(minutes=5)


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

    def mark(self, entry: Entry) -> Cursor:
        """The cursor after handling ``entry`` out of order (the event stream delivered it): known by
        id in ``ahead`` until a poll reads it and moves the cursor past it, so a row dated earlier
        that the stream missed stays new for the poll."""
        return Cursor(self.timestamp, self.ids, {**self.ahead, entry.id: entry.utc_date_time})

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


@dataclass(slots=True)
class FeedState:
    """What the feed keeps across restarts: the cursor, the last row and last opening per lock, and
    the rows held for a lock's event entity with the polls each has waited."""

    cursor: Cursor | None = None
    last_entries: dict[str, Entry] = field(default_factory=dict)
    last_openings: dict[str, Entry] = field(default_factory=dict)
    held: list[tuple[Entry, int]] = field(default_factory=list)

    def as_store(self) -> dict[str, Any]:
        """JSON-serialisable form (the Store's content)."""
        return {
            "cursor": self.cursor.as_dict() if self.cursor else None,
            "last_entries": {k: entry_to_store(v) for k, v in self.last_entries.items()},
            "last_openings": {k: entry_to_store(v) for k, v in self.last_openings.items()},
            "held": [
                {"entry": entry_to_store(entry), "polls": polls} for entry, polls in self.held
            ],
        }

    @classmethod
    def from_store(cls, stored: Mapping[str, Any]) -> FeedState:
        """Inverse of ``as_store``.

        Raises AttributeError, KeyError, TypeError, ValueError or the client's InvalidResponseError
        on a damaged value (``STORE_DAMAGE``).
        """
        cursor = stored.get("cursor")
        return cls(
            cursor=Cursor.from_dict(cursor) if cursor else None,
            last_entries={
                lock_id: entry_from_store(data)
                for lock_id, data in (stored.get("last_entries") or {}).items()
            },
            last_openings={
                lock_id: entry_from_store(data)
                for lock_id, data in (stored.get("last_openings") or {}).items()
            },
            held=[
                (entry_from_store(item["entry"]), int(item.get("polls", 0)))
                for item in stored.get("held") or []
            ],
        )


# What ``FeedState.from_store`` raises for a damaged Store.
STORE_DAMAGE: Final = (AttributeError, KeyError, TypeError, ValueError, SaltoKSError)


async def read_first(
    client: SaltoKSClient, site_id: str, started: datetime, limit: datetime
) -> Cursor:
    """The cursor just past the newest existing row, knowing every row at its instant.

    Pages are read newest first until one shows a row older than the newest row not dated
    beyond ``limit``: then every row at that row's instant is known. Rows dated beyond ``limit``
    are kept by id only. An empty log places the cursor at ``started`` (the setup time), so that
    an empty answer never makes the next poll replay the history.
    """
    rows: list[Entry] = []
    newest: datetime | None = None
    pages = 0
    async for page in client.entry_pages(site_id, page_size=AUDIT_FIRST_START_ROWS):
        rows.extend(page)
        pages += 1
        if newest is None:
            newest = next((row.utc_date_time for row in page if row.utc_date_time <= limit), None)
        if (newest is not None and rows[-1].utc_date_time < newest) or pages == AUDIT_MAX_PAGES:
            break
    start = min([started, *(row.utc_date_time for row in rows)])
    return Cursor(start).advance(rows, limit)


async def read_new(
    client: SaltoKSClient, site_id: str, cursor: Cursor
) -> tuple[list[Entry], bool, list[Entry]]:
    """Every row past the cursor that one poll may read, oldest first, whether the read reached
    the cursor (else older new rows may be unread), and the rows read that the cursor knows by id
    only (``ahead``: streamed or dated beyond the clock), for the cursor to move past.

    Newest first from the cursor's second on (the filter has whole seconds), following the
    continuation tokens, at most AUDIT_MAX_PAGES pages.
    """
    rows: list[Entry] = []
    reached = False
    pages = 0
    async for page in client.entry_pages(
        site_id, since=cursor.timestamp, page_size=AUDIT_PAGE_SIZE
    ):
        rows.extend(page)
        pages += 1
        if pages == AUDIT_MAX_PAGES:
            break
    else:
        reached = True
    # Reversed: oldest first (rows sharing an instant in the reverse of the server's order).
    known = [row for row in rows if row.id in cursor.ahead]
    return select_new(cursor, reversed(rows)), reached, known


def bound_backlog(new: list[Entry]) -> list[Entry]:
    """The rows (oldest first) one poll delivers: the newest AUDIT_BACKLOG_LIMIT of ``new``."""
    return new[-AUDIT_BACKLOG_LIMIT:]


def skipped_count(skipped: int, *, exact: bool) -> str | None:
    """How many rows a poll left out, for the warning; None when it left out none for sure.

    ``exact``: the read reached the cursor, so ``skipped`` is the whole count.
    """
    if exact:
        return str(skipped) if skipped else None
    return f"at least {skipped}" if skipped else "an unknown number of"
