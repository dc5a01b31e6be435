"""The audit feed (audit.py) against the simulator: every access-log row exactly once, in order, across
pages, restarts, outages, rate limits, legacy paths and locks that appear later; and at its edges:
first start, rows held for unknown locks, rows dated in the future, an empty first answer, HA stopping
without an unload, page breaks inside one instant, and what a full outage logs."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_UNLOCK
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_HOMEASSISTANT_FINAL_WRITE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.salto_ks import audit as audit_module
from custom_components.salto_ks import audit_delivery, audit_feed
from custom_components.salto_ks.api import Entry
from custom_components.salto_ks.audit import SaltoAuditCoordinator
from custom_components.salto_ks.audit_delivery import AUDIT_HOLD_POLLS
from custom_components.salto_ks.audit_feed import AUDIT_FIRST_START_ROWS
from custom_components.salto_ks.audit_rows import EVENT_SALTO_KS
from custom_components.salto_ks.const import (
    CONF_EVENT_POLL_INTERVAL,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_STATUS_INTERVAL,
    DOMAIN,
)
from simulator import Simulator

from .conftest import lock_entity_id, setup_entry, tick

POLL = timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)
ROSTER = timedelta(seconds=DEFAULT_STATUS_INTERVAL)


# --- helpers ------------------------------------------------------------------------------------


async def _restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload the entry (as HA does at stop) and set it up again on the same storage."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    await setup_entry(hass, entry)


def _audit(entry: MockConfigEntry) -> SaltoAuditCoordinator:
    audit = entry.runtime_data.audit
    assert audit is not None
    return audit


def _held(entry: MockConfigEntry) -> list[dict[str, Any]]:
    """The rows the feed holds, as its diagnostics list them."""
    held: list[dict[str, Any]] = _audit(entry).diagnostics()["held"]
    return held


def _ids(events: list[Event]) -> list[str]:
    return [event.data["entry_id"] for event in events]


def event_entity_id(hass: HomeAssistant, lock_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{lock_id}_access")
    assert entity_id is not None
    return entity_id


def _lock_ids(sim: Simulator) -> list[str]:
    return [lock.id for lock in sim.state.locks_of(sim.site_id)]


def _user(sim: Simulator, email: str | None = None) -> Any:
    """A platform user of the site (the login user when ``email`` is None... or any other)."""
    users = [su.user for su in sim.state.site_users.values() if su.site_id == sim.site_id]
    if email is None:
        return next(user for user in users if user.email != sim.username)
    return next(user for user in users if user.email == email)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- first start, ordering, same timestamp, pages -----------------------------------------------


async def test_first_start_delivers_no_history(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The scenario's 3 historical rows are not delivered; the cursor sits on the newest of them."""
    history = salto_sim.entries()
    assert len(history) == 3
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)

    assert events == []
    audit = _audit(mock_config_entry)
    assert audit.cursor is not None
    newest = max(history, key=lambda row: row["utc_date_time"])
    assert audit.cursor.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") == newest["utc_date_time"]
    assert newest["id"] in audit.cursor.ids
    for lock_id in _lock_ids(salto_sim):
        assert hass.states.get(event_entity_id(hass, lock_id)).state == STATE_UNKNOWN
        assert audit.last_entry(lock_id) is None


async def test_rows_arrive_once_in_order_sharing_a_timestamp(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Rows sharing one timestamp all arrive, in order; one added later at that instant too; none twice."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_a, lock_b, _ = _lock_ids(salto_sim)
    user = _user(salto_sim)
    instant = _now()
    first = [
        salto_sim.open_by(lock_a, user.id, utc=instant),
        salto_sim.reject(lock_b, user.id, utc=instant),
        salto_sim.add_entry(lock_id=lock_a, event_category="tamper", utc=instant),
    ]
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in first]

    late = salto_sim.add_entry(lock_id=lock_b, event_category="intrusion", utc=instant)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in [*first, late]]

    newer = salto_sim.open_by(lock_b, None, "inside_handle")
    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in [*first, late, newer]]
    assert [event.data["event_type"] for event in events] == [
        "opened",
        "rejected",
        "tamper",
        "intrusion",
        "opened",
    ]


async def test_rows_across_a_page_break(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Continuation tokens are followed: five rows in pages of two arrive once, oldest first."""
    salto_sim.tenant.entries_page_size = 2
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    base = _now() - timedelta(seconds=10)
    rows = [
        salto_sim.add_entry(
            lock_id=lock_id, event_category="lock_opened", utc=base + timedelta(seconds=i)
        )
        for i in range(5)
    ]
    salto_sim.reset_counters()
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows]
    assert salto_sim.counters.get("entries") == 3  # pages of 2, 2 and 1

    await tick(hass, freezer, POLL)
    assert len(events) == 5
    # The poll after re-reads only the cursor's instant: one page.
    assert salto_sim.counters.get("entries") == 4


# --- restart -------------------------------------------------------------------------------------


async def test_restart_neither_replays_nor_skips(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The cursor is in the Store: rows from before a restart stay delivered, rows added while down arrive."""
    await setup_entry(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    before = salto_sim.open_by(lock_id, _user(salto_sim).id)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [before["id"]]

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"]["data"]
    assert before["id"] in stored["cursor"]["ids"]

    freezer.tick(timedelta(minutes=5))
    while_down = [
        salto_sim.reject(lock_id),
        salto_sim.open_by(lock_id, None, "inside_handle"),
    ]
    await setup_entry(hass, mock_config_entry)
    assert _ids(events) == [before["id"], *(row["id"] for row in while_down)]

    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert len(events) == 3
    # The event entity restored the last row and then fired the ones from while it was down.
    state = hass.states.get(event_entity_id(hass, lock_id))
    assert state.attributes["entry_id"] == while_down[-1]["id"]
    assert _audit(mock_config_entry).last_entry(lock_id).id == while_down[-1]["id"]


async def test_last_entry_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """last_entry(lock_id) is the newest delivered row per lock, also after a restart."""
    await setup_entry(hass, mock_config_entry)
    lock_a, lock_b, _ = _lock_ids(salto_sim)
    row_a = salto_sim.tamper(lock_a)
    row_b = salto_sim.open_by(lock_b, _user(salto_sim).id)
    await tick(hass, freezer, POLL)
    await _restart(hass, mock_config_entry)
    audit = _audit(mock_config_entry)
    assert audit.last_entry(lock_a).id == row_a["id"]
    assert audit.last_entry(lock_b).id == row_b["id"]
    assert audit.last_entry(_lock_ids(salto_sim)[2]) is None


async def test_damaged_store_starts_fresh(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Store that cannot be read counts as a first start: no history is delivered."""
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}",
        "data": {"cursor": {"timestamp": "not a time", "ids": []}},
    }
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    assert events == []
    assert "Ignoring the damaged audit cursor" in caplog.text
    assert _audit(mock_config_entry).cursor is not None


async def test_stored_cursor_without_time_zone_is_utc(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A Store whose cursor time has no time zone is read as UTC: rows before it stay delivered,
    rows after it arrive (a continuation, not a first start)."""
    lock_id = _lock_ids(salto_sim)[0]
    older = salto_sim.open_by(lock_id, _user(salto_sim).id)
    freezer.tick(timedelta(minutes=1))
    mark = _now()
    freezer.tick(timedelta(minutes=1))
    newer = salto_sim.reject(lock_id)
    key = f"{DOMAIN}.{mock_config_entry.entry_id}"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"cursor": {"timestamp": mark.replace(tzinfo=None).isoformat(), "ids": []}},
    }
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [newer["id"]]
    assert older["id"] not in _ids(events)
    assert _audit(mock_config_entry).cursor.timestamp.tzinfo is not None


async def test_remove_entry_deletes_the_store(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Removing the entry removes its cursor from .storage."""
    await setup_entry(hass, mock_config_entry)
    salto_sim.tamper(_lock_ids(salto_sim)[0])
    await tick(hass, freezer, POLL)
    await tick(hass, freezer, timedelta(seconds=audit_module.STORAGE_SAVE_DELAY))
    key = f"{DOMAIN}.{mock_config_entry.entry_id}"
    assert key in hass_storage
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


# --- outages, backlog bound, rate limit -----------------------------------------------------------


async def test_outage_keeps_cursor_and_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing feed: UpdateFailed, no cursor move, entities stay available; all rows after recovery."""
    audit = _audit(init_integration)
    lock_id = _lock_ids(salto_sim)[0]
    cursor = audit.cursor
    events = async_capture_events(hass, EVENT_SALTO_KS)
    salto_sim.inject_fault("entries", "503")
    rows = [salto_sim.open_by(lock_id, _user(salto_sim).id)]
    for _ in range(3):
        await tick(hass, freezer, POLL)
        rows.append(salto_sim.reject(lock_id))
    assert events == []
    assert audit.last_update_success is False
    assert audit.cursor == cursor
    assert hass.states.get(lock_entity_id(hass, lock_id)).state != STATE_UNAVAILABLE
    assert hass.states.get(event_entity_id(hass, lock_id)).state != STATE_UNAVAILABLE
    failures = [r for r in caplog.records if "Error fetching salto_ks audit data" in r.getMessage()]
    assert len(failures) == 1
    assert "Cannot reach the Salto KS cloud (CommunicationError)" in failures[0].getMessage()

    salto_sim.clear_faults()
    await tick(hass, freezer, POLL)
    assert audit.last_update_success is True
    assert _ids(events) == [row["id"] for row in rows]


async def test_busy_door_between_two_polls_delivers_every_row(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A door opened ten times a second between two ordinary polls: all 300 rows arrive, in order,
    once, and nothing is logged as skipped."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    base = _now()
    rows = [
        salto_sim.add_entry(
            lock_id=lock_id, event_category="lock_opened", utc=base + timedelta(seconds=i // 10)
        )
        for i in range(300)
    ]
    freezer.move_to(base + timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _ids(events) == [row["id"] for row in rows]
    for _ in range(2):
        await tick(hass, freezer, POLL)
    assert len(events) == 300
    assert "skipped" not in caplog.text


async def test_a_big_read_leaves_the_loop_free_and_loses_nothing_when_cancelled(
    hass: HomeAssistant,
    *,
    monkeypatch: pytest.MonkeyPatch,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Rows of one read are delivered AUDIT_DISPATCH_CHUNK at a time with other callbacks run in
    between; a row the stream pushes meanwhile follows the read's rows; a read cancelled between two
    chunks still delivers every row it read, in order, once."""
    monkeypatch.setattr(audit_module, "AUDIT_DISPATCH_CHUNK", 10)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_ids = _lock_ids(salto_sim)
    audit = _audit(init_integration)
    base = _now() - timedelta(seconds=100)

    def add(count: int, offset: int) -> list[str]:
        return [
            salto_sim.add_entry(
                lock_id=lock_ids[i % 3],
                event_category="lock_opened",
                utc=base + timedelta(seconds=offset + i),
            )["id"]
            for i in range(count)
        ]

    first = add(35, 0)
    pushes: list[Entry] = []
    seen_between: list[int] = []
    stop = False

    def watch() -> None:
        # Runs once per loop iteration while the read is under way; pushes a newer row between
        # two chunks, as the stream would.
        seen_between.append(len(events))
        if 0 < len(events) < 35 and not pushes:
            row = salto_sim.add_entry(lock_id=lock_ids[0], event_category="lock_opened", utc=_now())
            pushes.append(Entry.from_dict(row))
            assert audit.async_deliver_streamed(pushes[0])
        if not stop:
            hass.loop.call_soon(watch)

    hass.loop.call_soon(watch)
    await audit.async_refresh()
    stop = True
    await hass.async_block_till_done()
    assert len(pushes) == 1
    pushed = pushes[0]
    assert _ids(events) == [*first, pushed.id]
    assert any(0 < seen < 35 for seen in seen_between)
    state = hass.states.get(event_entity_id(hass, lock_ids[0]))
    assert state is not None
    assert state.attributes["entry_id"] == pushed.id

    second = add(35, 40)
    task = hass.async_create_task(audit.async_refresh())
    for _ in range(1000):
        await asyncio.sleep(0)
        if len(events) > 36:
            break
    assert 36 < len(events) < 71
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert _ids(events) == [*first, pushed.id, *second]


async def test_backlog_bound_delivers_the_newest(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After an outage with more rows than one poll delivers exactly the newest arrive, oldest
    first; the exact number skipped is logged once."""
    monkeypatch.setattr(audit_feed, "AUDIT_BACKLOG_LIMIT", 100)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_ids = _lock_ids(salto_sim)
    salto_sim.inject_fault("entries", "502")
    await tick(hass, freezer, POLL)
    base = _now() - timedelta(seconds=400)
    rows = [
        salto_sim.add_entry(
            lock_id=lock_ids[i % 3], event_category="lock_opened", utc=base + timedelta(seconds=i)
        )
        for i in range(150)
    ]
    await tick(hass, freezer, POLL)
    assert events == []

    salto_sim.clear_faults()
    caplog.clear()
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows[50:]]
    skipped = [r for r in caplog.records if "the oldest were skipped" in r.getMessage()]
    assert len(skipped) == 1
    assert skipped[0].levelno == logging.WARNING
    assert " had 50 entries more than the 100 delivered" in skipped[0].getMessage()

    for _ in range(2):
        await tick(hass, freezer, POLL)
    assert len(events) == 100
    assert len([r for r in caplog.records if "the oldest were skipped" in r.getMessage()]) == 1


async def test_backlog_beyond_the_page_cap_delivers_the_newest(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A backlog longer than one poll reads: the newest rows arrive, and the warning gives the
    number skipped among the rows read as a lower bound."""
    monkeypatch.setattr(audit_feed, "AUDIT_MAX_PAGES", 2)
    monkeypatch.setattr(audit_feed, "AUDIT_BACKLOG_LIMIT", 60)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[1]
    base = _now() - timedelta(seconds=600)
    rows = [
        salto_sim.add_entry(
            lock_id=lock_id, event_category="lock_rejected", utc=base + timedelta(seconds=i)
        )
        for i in range(450)
    ]
    salto_sim.reset_counters()
    await tick(hass, freezer, POLL)
    assert salto_sim.counters["entries"] == 2  # two pages of the simulator's 50 rows
    assert _ids(events) == [row["id"] for row in rows[-60:]]
    skipped = [r for r in caplog.records if "the oldest were skipped" in r.getMessage()]
    assert len(skipped) == 1
    assert "had at least 40 entries more than the 60 delivered" in skipped[0].getMessage()
    await tick(hass, freezer, POLL)
    assert len(events) == 60


async def test_rate_limit_is_honoured(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A 429 on the feed: no request (feed or roster) before Retry-After; then the rows arrive."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    row = salto_sim.open_by(lock_id, _user(salto_sim).id)
    salto_sim.inject_fault("entries", "429", retry_after=150, times=1)
    salto_sim.reset_counters()
    await tick(hass, freezer, POLL)
    assert salto_sim.counters.get("entries") == 1
    assert events == []
    assert hass.states.get(lock_entity_id(hass, lock_id)).state != STATE_UNAVAILABLE

    for _ in range(4):  # 120 s: still inside Retry-After
        await tick(hass, freezer, POLL)
    assert salto_sim.counters.get("entries") == 1
    assert salto_sim.counters.get("locks", 0) == 0

    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]


async def test_poll_interval_zero_makes_no_entries_request(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """event_poll_interval 0: no audit coordinator, no event entity, not one entries request."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, CONF_EVENT_POLL_INTERVAL: 0},
    )
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    assert mock_config_entry.runtime_data.audit is None
    assert hass.states.async_entity_ids("event") == []
    lock_id = _lock_ids(salto_sim)[0]
    salto_sim.open_by(lock_id, _user(salto_sim).id)
    for _ in range(4):
        await tick(hass, freezer, ROSTER)
    assert salto_sim.counters.get("locks", 0) >= 4
    assert salto_sim.counters.get("entries", 0) == 0
    assert salto_sim.counters.get("audit_trails", 0) == 0
    assert salto_sim.counters.get("audit_log", 0) == 0
    assert events == []
    assert hass.states.get(lock_entity_id(hass, lock_id)).attributes.get("changed_by") is None


async def test_turning_the_loop_on_again_starts_after_the_newest(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Rows from while the loop was off (option 0) are not replayed when it is turned on again."""
    await setup_entry(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, CONF_EVENT_POLL_INTERVAL: 0}
    )
    await hass.async_block_till_done()
    assert mock_config_entry.runtime_data.audit is None
    salto_sim.tamper(lock_id)
    await tick(hass, freezer, ROSTER)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **mock_config_entry.options,
            CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
        },
    )
    await hass.async_block_till_done()
    assert _audit(mock_config_entry) is not None
    await tick(hass, freezer, POLL)
    assert events == []
    row = salto_sim.reject(lock_id)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]


@pytest.mark.parametrize(
    ("audit_path", "counter"), [("audit-trails", "audit_trails"), ("audit/log", "audit_log")]
)
async def test_legacy_audit_paths(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    audit_path: str,
    counter: str,
) -> None:
    """A legacy tenant's audit path is used transparently: no history, then every row once."""
    salto_sim.tenant.update(profile="legacy", audit_path=audit_path)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    assert events == []
    lock_id = _lock_ids(salto_sim)[2]
    rows = [salto_sim.open_by(lock_id, _user(salto_sim).id), salto_sim.door_left_open(lock_id)]
    await tick(hass, freezer, POLL)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows if row]
    assert salto_sim.counters.get(counter, 0) >= 3
    assert (
        hass.states.get(event_entity_id(hass, lock_id)).attributes["event_type"] == "door_left_open"
    )


# --- locks the roster does not know yet -----------------------------------------------------------


async def test_row_for_a_new_lock_waits_for_its_entity(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A row for a lock added after setup asks the roster for a refresh and arrives once the entity exists."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    new_lock = salto_sim.add_lock(name="Garden gate")
    row = salto_sim.open_by(new_lock, _user(salto_sim).id, "pin_code")
    salto_sim.reset_counters()
    await tick(hass, freezer, POLL)  # an audit poll only: the roster is not due for another 30 s
    assert salto_sim.counters.get("locks") == 1  # the refresh the feed asked for

    assert _ids(events) == [row["id"]]
    assert events[0].data["entity_id"] == event_entity_id(hass, new_lock)
    state = hass.states.get(event_entity_id(hass, new_lock))
    assert state.attributes["event_type"] == "opened"
    assert state.attributes["entry_id"] == row["id"]
    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert len(events) == 1


async def test_row_for_a_lock_that_never_appears(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A row whose lock never reaches the roster is held for AUDIT_HOLD_POLLS polls, then bus only."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    ghost = salto_sim.add_lock(name="Ghost door")
    row = salto_sim.tamper(ghost)
    salto_sim.remove_lock(ghost)
    known = salto_sim.reject(_lock_ids(salto_sim)[0])
    await tick(hass, freezer, POLL)
    assert _ids(events) == [known["id"]]
    assert len(_held(init_integration)) == 1
    for _ in range(AUDIT_HOLD_POLLS - 1):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [known["id"]]
    await tick(hass, freezer, POLL)
    assert _ids(events) == [known["id"], row["id"]]
    assert events[1].data["entity_id"] is None
    assert events[1].data["lock_id"] == ghost
    assert len(_held(init_integration)) == 0
    await tick(hass, freezer, POLL)
    assert len(events) == 2


async def test_disabled_event_entity_still_fires_on_the_bus(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """With the lock's event entity disabled its rows go to the bus at once (and changed_by follows)."""
    lock_id = _lock_ids(salto_sim)[0]
    entity_registry.async_update_entity(
        event_entity_id(hass, lock_id), disabled_by=er.RegistryEntryDisabler.USER
    )
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_SALTO_KS)
    user = _user(salto_sim)
    row = salto_sim.open_by(lock_id, user.id)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    assert events[0].data["entity_id"] == event_entity_id(hass, lock_id)
    assert hass.states.get(event_entity_id(hass, lock_id)) is None
    assert len(_held(init_integration)) == 0
    assert hass.states.get(lock_entity_id(hass, lock_id)).attributes.get("changed_by") == (
        f"{user.first_name} {user.last_name}"
    )


# --- payload, changed_by, diagnostics -----------------------------------------------------------


async def test_bus_event_payload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """salto_ks_event carries the documented fields for YAML automations."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[1]
    user = _user(salto_sim)
    row = salto_sim.open_by(lock_id, user.id, "tag")
    await tick(hass, freezer, POLL)
    assert len(events) == 1
    assert events[0].data == {
        "config_entry_id": init_integration.entry_id,
        "lock_id": lock_id,
        "entity_id": event_entity_id(hass, lock_id),
        "event_type": "opened",
        "event_category": "lock_opened",
        "event_detail": None,
        "user_id": user.id,
        "user_name": f"{user.first_name} {user.last_name}",
        "access_by": "tag",
        "access_detail": row["access_detail"],
        "entry_id": row["id"],
        "utc_date_time": datetime.fromisoformat(row["utc_date_time"]).isoformat(),
    }
    assert row["access_detail"]


async def test_changed_by_follows_openings_and_survives_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """changed_by: the latest opening's person (remote openings too), not rejections; kept over a restart."""
    await setup_entry(hass, mock_config_entry)
    lock_id = _lock_ids(salto_sim)[0]
    entity_id = lock_entity_id(hass, lock_id)
    assert hass.states.get(entity_id).attributes.get("changed_by") is None

    user = _user(salto_sim)
    salto_sim.open_by(lock_id, user.id)
    await tick(hass, freezer, POLL)
    name = f"{user.first_name} {user.last_name}"
    assert hass.states.get(entity_id).attributes.get("changed_by") == name

    salto_sim.reject(lock_id, _user(salto_sim, salto_sim.username).id)
    await tick(hass, freezer, POLL)
    assert hass.states.get(entity_id).attributes.get("changed_by") == name

    await _restart(hass, mock_config_entry)
    assert hass.states.get(entity_id).attributes.get("changed_by") == name

    # A remote opening from Home Assistant is the login user's.
    await hass.services.async_call(
        LOCK_DOMAIN, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )
    await tick(hass, freezer, POLL)
    system = _user(salto_sim, salto_sim.username)
    assert hass.states.get(entity_id).attributes.get("changed_by") == (
        f"{system.first_name} {system.last_name}"
    )
    await _restart(hass, mock_config_entry)
    assert hass.states.get(entity_id).attributes.get("changed_by") == (
        f"{system.first_name} {system.last_name}"
    )

    # Leaving by the inside handle names nobody.
    salto_sim.open_by(lock_id, None, "inside_handle")
    await tick(hass, freezer, POLL)
    assert hass.states.get(entity_id).attributes.get("changed_by") is None


async def test_diagnostics_show_cursor_and_latest_rows_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Diagnostics: the cursor and the latest delivered rows, with lock ids but no person data."""
    lock_id = _lock_ids(salto_sim)[0]
    user = _user(salto_sim)
    row = salto_sim.open_by(lock_id, user.id)
    # A poll now (the diagnostics view does not work under a frozen clock).
    await _audit(init_integration).async_refresh()
    await hass.async_block_till_done()
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    audit = result["audit"]
    assert audit["last_update_success"] is True
    assert audit["update_interval"] == DEFAULT_EVENT_POLL_INTERVAL
    assert audit["cursor"]["ids"] == [row["id"]]
    assert audit["held"] == []
    recent = audit["recent"][-1]
    assert recent["id"] == row["id"]
    assert recent["lock_id"] == lock_id
    assert recent["event_category"] == "lock_opened"
    for field in ("user_id", "user_first_name", "user_last_name", "access_detail"):
        assert recent[field] == "**REDACTED**", field
    dump = json.dumps(result)
    for secret in (user.id, user.first_name, user.last_name, row["access_detail"]):
        assert secret not in dump


@pytest.mark.parametrize(
    "entry_options",
    [{CONF_EVENT_POLL_INTERVAL: 0}],
)
async def test_diagnostics_without_audit_loop(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """With the loop off the audit section is None."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result["audit"] is None
    assert result["roster"]["locks"]


async def test_more_rows_in_one_second_than_a_page(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """250 rows at one instant (more than a page of 200): every one arrives, in order, once."""
    salto_sim.tenant.entries_page_size = 200
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    instant = _now()
    rows = [
        salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened", utc=instant)
        for _ in range(250)
    ]
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows]
    await tick(hass, freezer, POLL)
    assert len(events) == 250
    later = salto_sim.tamper(lock_id)
    await tick(hass, freezer, POLL)
    assert _ids(events)[-1] == later["id"]
    assert len(events) == 251


async def test_backlog_behind_a_full_second(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handled second with more rows than a page, then 300 newer rows: all 300 arrive, none of
    that second again, nothing skipped."""
    salto_sim.tenant.entries_page_size = 200
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    instant = _now() - timedelta(seconds=400)
    for _ in range(250):
        salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened", utc=instant)
    await tick(hass, freezer, POLL)
    assert len(events) == 250
    events.clear()
    caplog.clear()

    rows = [
        salto_sim.add_entry(
            lock_id=lock_id, event_category="tamper", utc=instant + timedelta(seconds=i)
        )
        for i in range(1, 301)
    ]
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows]
    assert "skipped" not in caplog.text
    await tick(hass, freezer, POLL)
    assert len(events) == 300


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("403", "The Salto KS account may not read this site's access log (entries)"),
        ("malformed", "Cannot reach the Salto KS cloud (InvalidResponseError)"),
    ],
)
async def test_feed_errors_are_translated(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    message: str,
) -> None:
    """A refused or broken feed is a translated UpdateFailed; the roster and entities carry on.

    The failure is logged (once) when it outlasts a roster poll: then the roster answering shows that
    the feed alone fails.
    """
    lock_id = _lock_ids(salto_sim)[0]
    salto_sim.inject_fault("entries", kind, times=4)
    row = salto_sim.reject(lock_id)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await tick(hass, freezer, POLL)
    audit = _audit(init_integration)
    assert audit.last_update_success is False
    assert "Error fetching salto_ks audit data" not in caplog.text
    for _ in range(2):  # the roster polls within these
        await tick(hass, freezer, POLL)
    assert audit.last_update_success is False
    assert caplog.text.count(f"Error fetching salto_ks audit data: {message}") == 1
    assert init_integration.runtime_data.roster.last_update_success is True
    assert hass.states.get(event_entity_id(hass, lock_id)).state != STATE_UNAVAILABLE
    for _ in range(2):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    assert caplog.text.count(f"Error fetching salto_ks audit data: {message}") == 1
    assert "Fetching salto_ks audit data recovered" in caplog.text


async def test_held_rows_are_bounded(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Beyond AUDIT_MAX_HELD waiting rows the oldest goes to the bus at once."""
    monkeypatch.setattr(audit_delivery, "AUDIT_MAX_HELD", 1)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    ghost = salto_sim.add_lock(name="Ghost door")
    base = _now() - timedelta(seconds=5)
    first = salto_sim.tamper(ghost, utc=base)
    salto_sim.intrusion(ghost, utc=base + timedelta(seconds=1))
    salto_sim.remove_lock(ghost)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [first["id"]]
    assert len(_held(init_integration)) == 1


# --- edges: first start --------------------------------------------------------------------------------


async def test_first_start_knows_every_row_at_the_newest_instant(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """More rows than the first read share the newest instant: none of them is delivered later."""
    lock_id = _lock_ids(salto_sim)[0]
    instant = _now() - timedelta(seconds=5)
    history = [
        salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened", utc=instant)
        for _ in range(AUDIT_FIRST_START_ROWS + 5)
    ]
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    assert _audit(mock_config_entry).cursor.ids == {row["id"] for row in history}
    for _ in range(2):
        await tick(hass, freezer, POLL)
    assert events == []
    later = salto_sim.tamper(lock_id, utc=instant)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [later["id"]]


async def test_failed_first_read_loses_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The feed fails at first start: rows written after setup arrive once it answers, history does not."""
    salto_sim.inject_fault("entries", "503")
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    assert not _audit(mock_config_entry).last_update_success
    lock_id = _lock_ids(salto_sim)[0]
    await tick(hass, freezer, POLL)
    rows = [salto_sim.open_by(lock_id, _user(salto_sim).id), salto_sim.reject(lock_id)]
    await tick(hass, freezer, POLL)
    assert events == []

    salto_sim.clear_faults()
    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows]


# --- rows held for a lock the roster does not list yet ------------------------------------------


async def test_held_row_waits_out_a_roster_rate_limit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """While the roster waits out 429s a new lock's row stays held; it reaches the lock's entities after."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    new_lock = salto_sim.add_lock(name="Garden gate")
    user = _user(salto_sim)
    salto_sim.inject_fault("locks", "429", retry_after=300)
    row = salto_sim.open_by(new_lock, user.id, "pin_code")
    # Far more audit polls than AUDIT_HOLD_POLLS, and several Retry-After periods.
    for _ in range(AUDIT_HOLD_POLLS * 10):
        await tick(hass, freezer, POLL)
    assert events == []
    assert len(_held(init_integration)) == 1

    salto_sim.clear_faults()
    for _ in range(12):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    assert events[0].data["entity_id"] == event_entity_id(hass, new_lock)
    state = hass.states.get(event_entity_id(hass, new_lock))
    assert state.attributes["entry_id"] == row["id"]
    assert hass.states.get(lock_entity_id(hass, new_lock)).attributes.get("changed_by") == (
        f"{user.first_name} {user.last_name}"
    )


@pytest.mark.parametrize("platforms", [[Platform.LOCK]])
async def test_released_held_row_updates_changed_by(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """A row released to the bus after waiting for an event entity still moves the lock's changed_by."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    user = _user(salto_sim)
    row = salto_sim.open_by(lock_id, user.id)
    await tick(hass, freezer, POLL)
    assert len(_held(setup_integration)) == 1
    for _ in range(AUDIT_HOLD_POLLS):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    assert hass.states.get(lock_entity_id(hass, lock_id)).attributes.get("changed_by") == (
        f"{user.first_name} {user.last_name}"
    )


# --- rows dated beyond Home Assistant's clock -----------------------------------------------------


async def test_row_dated_in_the_future_does_not_silence_the_feed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lock with a wrong clock writes a row a year ahead: it arrives once (also across a restart),
    one warning names the lock, and the rows of the present keep arriving."""
    await setup_entry(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_a, lock_b, _ = _lock_ids(salto_sim)
    ahead = salto_sim.tamper(lock_a, utc=_now() + timedelta(days=365))
    now = salto_sim.reject(lock_b)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [now["id"], ahead["id"]]
    warnings = [r for r in caplog.records if "ahead of Home Assistant's clock" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert ahead["id"] in warnings[0].getMessage()

    later = [salto_sim.open_by(lock_b, _user(salto_sim).id)]
    await tick(hass, freezer, POLL)
    later.append(salto_sim.tamper(lock_a, utc=_now() + timedelta(days=365, seconds=1)))
    later.append(salto_sim.reject(lock_a))
    await tick(hass, freezer, POLL)
    assert _ids(events) == [now["id"], ahead["id"], later[0]["id"], later[2]["id"], later[1]["id"]]
    # One warning per lock.
    assert caplog.text.count("ahead of Home Assistant's clock") == 1

    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    last = salto_sim.open_by(lock_b, None, "inside_handle")
    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert _ids(events)[5:] == [last["id"]]


# --- first start with an empty answer ---------------------------------------------------------


async def test_empty_first_answer_replays_no_history(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The log answers empty at first start (its history briefly missing): the history does not
    arrive on the next polls; a row written after setup does."""
    log = salto_sim.state.entries[salto_sim.site_id]
    history = list(log)
    assert history
    log.clear()
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await setup_entry(hass, mock_config_entry)
    log[:0] = history
    for _ in range(2):
        await tick(hass, freezer, POLL)
    assert events == []
    row = salto_sim.open_by(_lock_ids(salto_sim)[0], _user(salto_sim).id)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]


# --- HA stopping, page breaks -------------------------------------------------------------------


async def test_final_write_saves_the_cursor_without_an_unload(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """HA's final write at stop saves the cursor (no unload); a setup on that storage replays nothing."""
    await setup_entry(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    row = salto_sim.open_by(lock_id, _user(salto_sim).id)
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    key = f"{DOMAIN}.{mock_config_entry.entry_id}"
    # The delayed save has not run yet: only the first-start cursor is stored.
    assert row["id"] not in hass_storage[key]["data"]["cursor"]["ids"]

    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    stored = copy.deepcopy(hass_storage[key])
    assert row["id"] in stored["data"]["cursor"]["ids"]
    assert stored["data"]["last_entries"][lock_id]["id"] == row["id"]

    # A new start reads what the final write left (the unload's own save is discarded).
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    hass_storage[key] = stored
    await setup_entry(hass, mock_config_entry)
    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    assert _audit(mock_config_entry).last_entry(lock_id).id == row["id"]


async def test_one_instant_across_a_page_break(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Five rows sharing one instant, read in pages of two: each arrives once, in order."""
    salto_sim.tenant.entries_page_size = 2
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_a, lock_b, _ = _lock_ids(salto_sim)
    instant = _now() - timedelta(seconds=3)
    rows = [
        salto_sim.add_entry(lock_id=(lock_a, lock_b)[i % 2], event_category="tamper", utc=instant)
        for i in range(5)
    ]
    await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in rows]
    late = salto_sim.add_entry(lock_id=lock_a, event_category="intrusion", utc=instant)
    for _ in range(3):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"] for row in [*rows, late]]


# --- logging ------------------------------------------------------------------------------------


def _integration_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("custom_components.salto_ks")]


async def test_full_outage_logs_one_line_each_way(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Locks, IQs and entries all failing: one ERROR line when the cloud is lost, one when it is back."""
    lock_id = _lock_ids(salto_sim)[0]
    events = async_capture_events(hass, EVENT_SALTO_KS)
    caplog.clear()
    for endpoint in ("locks", "iqs", "entries"):
        salto_sim.inject_fault(endpoint, "503")
    row = salto_sim.reject(lock_id)
    for _ in range(10):
        await tick(hass, freezer, POLL)
    errors = [r for r in _integration_records(caplog) if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert hass.states.get(lock_entity_id(hass, lock_id)).state == "unavailable"

    salto_sim.clear_faults()
    for _ in range(10):
        await tick(hass, freezer, POLL)
    assert _ids(events) == [row["id"]]
    errors = [r for r in _integration_records(caplog) if r.levelno >= logging.ERROR]
    recovered = [r for r in _integration_records(caplog) if "recovered" in r.getMessage()]
    assert len(errors) == 1
    assert len(recovered) == 1, [r.getMessage() for r in recovered]


async def test_feed_alone_failing_is_logged_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the entries failing while the roster answers: the feed's own error and recovery lines."""
    caplog.clear()
    salto_sim.inject_fault("entries", "503")
    for _ in range(4):
        await tick(hass, freezer, POLL)
    errors = [r for r in _integration_records(caplog) if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "Error fetching salto_ks audit data: Cannot reach the Salto KS cloud (CommunicationError)"
    ]
    salto_sim.clear_faults()
    await tick(hass, freezer, ROSTER)
    await tick(hass, freezer, POLL)
    recovered = [r for r in _integration_records(caplog) if "recovered" in r.getMessage()]
    assert [r.getMessage() for r in recovered] == ["Fetching salto_ks audit data recovered"]
