"""The audit feed at its edges: first start, rows held for unknown locks, rows dated in the future,
an empty first answer, HA stopping without an unload, page breaks inside one instant, and what a full
outage logs."""

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

from custom_components.salto_ks.audit import AUDIT_HOLD_POLLS
from custom_components.salto_ks.audit_feed import AUDIT_FIRST_START_ROWS
from custom_components.salto_ks.audit_rows import EVENT_SALTO_KS
from custom_components.salto_ks.const import DOMAIN
from simulator import Simulator

from .conftest import lock_entity_id, setup_entry, tick
from .test_audit import (
    POLL,
    ROSTER,
    _audit,
    _ids,
    _lock_ids,
    _now,
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
    assert _audit(init_integration).held_count == 1

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
    assert _audit(setup_integration).held_count == 1
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
