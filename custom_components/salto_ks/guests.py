"""Guest access: the guests Home Assistant created for one config entry, and their lifecycle.

A guest is a Salto site user (role ``site_guest``) with an ``expires_at``, member of access groups,
with a PIN Salto generates. ``GuestBook`` creates one completely or not at all (a guest created
without a seat, or one that cannot be put in its groups or given its PIN, is removed again), keeps
what it created in a ``Store`` (never the PIN), removes guests on request and, as a safety net
(seats cost money), after they expire.

Right after a guest is created Salto answers 404/2202 or 403/2203 about it for about a minute
(eventual consistency): those calls are retried for up to ``SETTLE_ATTEMPTS`` x ``SETTLE_DELAY``.

The PIN exists only in the return value of ``async_create`` (the action's response): no log line,
store, exception or state holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import (
    AccessGroup,
    Guest,
    NotFoundError,
    PermissionDeniedError,
    SaltoKSClient,
    SaltoKSError,
)
from .const import DOMAIN, LOGGER
from .errors import translated_error

STORAGE_VERSION: Final = 1
DATA_GUEST_BOOKS: Final = f"{DOMAIN}_guest_books"
# Expired guests are looked for this often (and once at setup).
CLEANUP_INTERVAL: Final = timedelta(minutes=5)
# The consistency window after creating a guest is "about a minute": retry for two.
SETTLE_DELAY: Final = 5.0
SETTLE_ATTEMPTS: Final = 24
_SETTLING_CODES: Final = frozenset({"2202", "2203"})


def guest_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store of an entry's guests (removed with the entry)."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.guests")


@dataclass(slots=True)
class GuestRecord:
    """A guest Home Assistant created (what the store keeps; no PIN)."""

    guest_id: str  # site-user id
    user_id: str  # platform user id (group membership, entries)
    name: str
    expires_at: str  # ISO 8601, UTC
    access_groups: list[dict[str, str | None]] = field(default_factory=list)
    reference: str | None = None
    created_at: str = ""

    @property
    def expires(self) -> datetime:
        return dt_util.as_utc(datetime.fromisoformat(self.expires_at))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _record(raw: object) -> GuestRecord | None:
    """A stored record, or None for one that does not parse (a hand-edited store)."""
    if not isinstance(raw, dict):
        return None
    try:
        record = GuestRecord(**raw)
        record.expires  # noqa: B018 - parses the date
    except (TypeError, ValueError):
        return None
    return record


async def settled[T](call: Callable[[], Awaitable[T]]) -> T:
    """Run a call about a guest created moments ago, again while Salto does not know it yet."""
    for attempt in range(1, SETTLE_ATTEMPTS + 1):
        try:
            return await call()
        except (NotFoundError, PermissionDeniedError) as err:
            if err.error_code not in _SETTLING_CODES or attempt == SETTLE_ATTEMPTS:
                raise
            LOGGER.debug(
                "Salto does not know the new guest yet (%s %s); retrying in %s s",
                err.status,
                err.error_code,
                SETTLE_DELAY,
            )
            await asyncio.sleep(SETTLE_DELAY)
    raise AssertionError("unreachable")  # the loop returns or raises


class GuestBook:
    """The guests of one config entry's site that Home Assistant created."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, client: SaltoKSClient, site_id: str
    ) -> None:
        self._hass = hass
        self._entry_id = entry_id
        self._client = client
        self._site_id = site_id
        self._store = guest_store(hass, entry_id)
        self._guests: dict[str, GuestRecord] = {}
        self._cleanup: CALLBACK_TYPE | None = None
        self._lock = asyncio.Lock()

    @property
    def guests(self) -> list[GuestRecord]:
        return sorted(self._guests.values(), key=lambda record: record.expires_at)

    async def async_load(self) -> None:
        stored = await self._store.async_load() or {}
        raw = stored.get("guests", []) if isinstance(stored, dict) else []
        for item in raw if isinstance(raw, list) else []:
            if (record := _record(item)) is not None:
                self._guests[record.guest_id] = record

    async def _async_save(self) -> None:
        await self._store.async_save({"guests": [r.as_dict() for r in self._guests.values()]})

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Remove expired guests now and every ``CLEANUP_INTERVAL``; returns the stop callback."""
        self._cleanup = async_track_time_interval(
            self._hass, self._async_cleanup_tick, CLEANUP_INTERVAL
        )
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None

    async def _async_cleanup_tick(self, _now: datetime) -> None:
        await self.async_remove_expired()

    def find(self, key: str) -> GuestRecord | None:
        """A guest by site-user id, platform user id or the reference it was created with."""
        for record in self._guests.values():
            if key in (record.guest_id, record.user_id, record.reference):
                return record
        return None

    async def async_create(
        self,
        name: str,
        groups: Iterable[AccessGroup],
        valid_until: datetime,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """Create a guest in ``groups`` with a PIN valid until ``valid_until``; all or nothing.

        Returns the action's response, the only place the PIN goes.
        """
        site, client = self._site_id, self._client
        groups = list(groups)
        guest = await client.create_guest(site, name, valid_until)
        joined: list[AccessGroup] = []
        try:
            if guest.suspended:
                # Salto creates a user without a seat silently suspended: it could open nothing.
                raise translated_error("guest_no_seat", {"name": name})
            user_id = guest.user_id
            if user_id is None:
                raise translated_error("guest_incomplete", {"name": name})
            for group in groups:
                await settled(partial(client.add_access_group_user, site, group.id, user_id))
                joined.append(group)
            pin = await settled(lambda: client.set_pin(site, guest.id, valid_until))
        except BaseException:
            await self._async_undo(guest, joined)
            raise
        record = GuestRecord(
            guest_id=guest.id,
            user_id=user_id,
            name=name,
            expires_at=dt_util.as_utc(valid_until).isoformat(),
            access_groups=[{"id": g.id, "name": g.name} for g in groups],
            reference=reference,
            created_at=dt_util.utcnow().isoformat(),
        )
        self._guests[guest.id] = record
        await self._async_save()
        LOGGER.info("Created Salto KS guest %s (%s) until %s", name, guest.id, record.expires_at)
        return {
            "guest_id": guest.id,
            "user_id": user_id,
            "name": name,
            "pin": pin,
            "expires_at": record.expires_at,
            "access_groups": record.access_groups,
            "reference": reference,
        }

    async def _async_undo(self, guest: Guest, joined: list[AccessGroup]) -> None:
        """Remove a guest that could not be completed (it must not hold a seat)."""
        try:
            for group in joined:
                if guest.user_id is not None:
                    with contextlib.suppress(NotFoundError):
                        await self._client.remove_access_group_user(
                            self._site_id, group.id, guest.user_id
                        )
            await self._client.delete_user(self._site_id, guest.id)
        except SaltoKSError as err:
            LOGGER.warning(
                "Could not remove the incomplete Salto KS guest %s (%s): %s; remove it in the "
                "Salto KS portal",
                guest.alias,
                guest.id,
                type(err).__name__,
            )
        else:
            LOGGER.debug("Removed the incomplete Salto KS guest %s", guest.id)

    async def async_remove(self, record: GuestRecord) -> bool:
        """Take a guest out of its groups and remove it (already gone in Salto counts as done).

        False when it was removed meanwhile (the expiry cleanup and the action can meet).
        """
        async with self._lock:
            if record.guest_id not in self._guests:
                return False
            for group in record.access_groups:
                group_id = group.get("id")
                if group_id:
                    with contextlib.suppress(NotFoundError):
                        await self._client.remove_access_group_user(
                            self._site_id, group_id, record.user_id
                        )
            with contextlib.suppress(NotFoundError):
                await self._client.delete_user(self._site_id, record.guest_id)
            self._guests.pop(record.guest_id, None)
            await self._async_save()
        return True

    async def async_remove_expired(self) -> int:
        """Remove every guest past its expiry; a failure is logged and tried again later."""
        now = dt_util.utcnow()
        removed = 0
        for record in [r for r in self._guests.values() if r.expires <= now]:
            try:
                if not await self.async_remove(record):
                    continue
            except SaltoKSError as err:
                LOGGER.warning(
                    "Could not remove the expired Salto KS guest %s (%s): %s; trying again later",
                    record.name,
                    record.guest_id,
                    type(err).__name__,
                )
                continue
            removed += 1
            LOGGER.info(
                "Removed the expired Salto KS guest %s (%s), expired %s",
                record.name,
                record.guest_id,
                record.expires_at,
            )
        return removed


def guest_book(hass: HomeAssistant, entry_id: str) -> GuestBook | None:
    """The loaded entry's guest book (None when guest management is off)."""
    books: dict[str, GuestBook] = hass.data.get(DATA_GUEST_BOOKS, {})
    return books.get(entry_id)


async def async_setup_guest_book(
    hass: HomeAssistant, entry_id: str, client: SaltoKSClient, site_id: str
) -> CALLBACK_TYPE:
    """Load an entry's guest book, start its expiry cleanup; returns the unload callback."""
    book = GuestBook(hass, entry_id, client, site_id)
    await book.async_load()
    hass.data.setdefault(DATA_GUEST_BOOKS, {})[entry_id] = book
    stop = book.async_start()
    hass.async_create_background_task(
        book.async_remove_expired(), f"{DOMAIN} remove expired guests", eager_start=False
    )

    @callback
    def unload() -> None:
        stop()
        hass.data.get(DATA_GUEST_BOOKS, {}).pop(entry_id, None)

    return unload


async def async_remove_guest_store(hass: HomeAssistant, entry_id: str, title: str) -> None:
    """Drop a removed entry's guest store; guests still in Salto keep their seats until removed."""
    store = guest_store(hass, entry_id)
    stored = await store.async_load()
    left = stored.get("guests") if isinstance(stored, dict) else None
    if isinstance(left, list) and left:
        LOGGER.warning(
            "%s guest(s) that Home Assistant created for %s are still in Salto KS and hold a seat "
            "until they are removed in the Salto KS portal",
            len(left),
            title,
        )
    await store.async_remove()
