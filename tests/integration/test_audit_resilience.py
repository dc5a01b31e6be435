"""The audit feed at its edges: first start, rows held for unknown locks, the backlog bound's limit,
HA stopping without an unload, page breaks inside one instant, and what a full outage logs."""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.salto_ks import coordinator as coordinator_module
from custom_components.salto_ks.const import DOMAIN
from custom_components.salto_ks.coordinator import (
    AUDIT_FIRST_START_ROWS,
    AUDIT_HOLD_POLLS,
    EVENT_SALTO_KS,
)
from simulator import Simulator

from .conftest import lock_entity_id
from .test_audit import (
    POLL,
    ROSTER,
    _audit,
    _ids,
    _lock_ids,
    _now,
    _setup,
    _tick,
    _user,
    event_entity_id,
)

# --- first start --------------------------------------------------------------------------------


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
    await _setup(hass, mock_config_entry)
    assert _audit(mock_config_entry).cursor.ids == {row["id"] for row in history}
    for _ in range(2):
        await _tick(hass, freezer)
    assert events == []
    later = salto_sim.tamper(lock_id, utc=instant)
    await _tick(hass, freezer)
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
    await _setup(hass, mock_config_entry)
    assert not _audit(mock_config_entry).last_update_success
    lock_id = _lock_ids(salto_sim)[0]
    await _tick(hass, freezer)
    rows = [salto_sim.open_by(lock_id, _user(salto_sim).id), salto_sim.reject(lock_id)]
    await _tick(hass, freezer)
    assert events == []

    salto_sim.clear_faults()
    for _ in range(3):
        await _tick(hass, freezer)
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
        await _tick(hass, freezer)
    assert events == []
    assert _audit(init_integration).held_count == 1

    salto_sim.clear_faults()
    for _ in range(12):
        await _tick(hass, freezer)
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
    await _tick(hass, freezer)
    assert _audit(setup_integration).held_count == 1
    for _ in range(AUDIT_HOLD_POLLS):
        await _tick(hass, freezer)
    assert _ids(events) == [row["id"]]
    assert hass.states.get(lock_entity_id(hass, lock_id)).attributes.get("changed_by") == (
        f"{user.first_name} {user.last_name}"
    )


# --- backlog bound ------------------------------------------------------------------------------


async def test_backlog_limit_above_a_chunk(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """AUDIT_BACKLOG_LIMIT above the client's 200 per request: no error, the newest rows arrive."""
    monkeypatch.setattr(coordinator_module, "AUDIT_BACKLOG_LIMIT", 300)
    monkeypatch.setattr(coordinator_module, "AUDIT_MAX_SCAN_REQUESTS", 1)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[1]
    base = _now() - timedelta(seconds=600)
    rows = [
        salto_sim.add_entry(
            lock_id=lock_id, event_category="lock_rejected", utc=base + timedelta(seconds=i)
        )
        for i in range(450)
    ]
    await _tick(hass, freezer)
    assert _audit(init_integration).last_update_success
    assert "Unexpected error" not in caplog.text
    assert _ids(events) == [row["id"] for row in rows[-200:]]
    assert "had at least 199 entries more than the 200 delivered" in caplog.text


# --- HA stopping, page breaks -------------------------------------------------------------------


async def test_final_write_saves_the_cursor_without_an_unload(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """HA's final write at stop saves the cursor (no unload); a setup on that storage replays nothing."""
    await _setup(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    lock_id = _lock_ids(salto_sim)[0]
    row = salto_sim.open_by(lock_id, _user(salto_sim).id)
    await _tick(hass, freezer)
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
    await _setup(hass, mock_config_entry)
    for _ in range(3):
        await _tick(hass, freezer)
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
    await _tick(hass, freezer)
    assert _ids(events) == [row["id"] for row in rows]
    late = salto_sim.add_entry(lock_id=lock_a, event_category="intrusion", utc=instant)
    for _ in range(3):
        await _tick(hass, freezer)
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
        await _tick(hass, freezer)
    errors = [r for r in _integration_records(caplog) if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert hass.states.get(lock_entity_id(hass, lock_id)).state == "unavailable"

    salto_sim.clear_faults()
    for _ in range(10):
        await _tick(hass, freezer)
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
        await _tick(hass, freezer)
    errors = [r for r in _integration_records(caplog) if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "Error fetching salto_ks audit data: Cannot reach the Salto KS cloud (CommunicationError)"
    ]
    salto_sim.clear_faults()
    await _tick(hass, freezer, ROSTER)
    await _tick(hass, freezer, POLL)
    recovered = [r for r in _integration_records(caplog) if "recovered" in r.getMessage()]
    assert [r.getMessage() for r in recovered] == ["Fetching salto_ks audit data recovered"]
