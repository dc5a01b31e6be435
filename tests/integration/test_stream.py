"""The event stream through Home Assistant against the simulator's hub: delivery within a second, one
delivery per row across stream and poll (also for every interleaving, hypothesis), reconnects with token
expiry and 401 renewal, a refused stream falling back to polling, and an unload that leaves no task."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.salto_ks import stream as stream_module
from custom_components.salto_ks.audit import AUDIT_STREAM_INTERVAL, SaltoAuditCoordinator
from custom_components.salto_ks.audit_rows import EVENT_SALTO_KS
from custom_components.salto_ks.const import (
    CONF_EVENT_STREAM,
    CONF_STREAM_URL,
    DEFAULT_EVENT_POLL_INTERVAL,
    DOMAIN,
)
from custom_components.salto_ks.stream import EventStreamManager, stream_issue_id
from simulator import Simulator

from .conftest import lock_entity_id, setup_entry, site_entry

FEATURE = "events_streaming"


# --- helpers ------------------------------------------------------------------------------------


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let the loop (HA and the simulator) run in real time until ``condition`` holds."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


def _stream(entry: MockConfigEntry) -> EventStreamManager:
    stream = entry.runtime_data.stream
    assert stream is not None
    return stream


def _audit(entry: MockConfigEntry) -> SaltoAuditCoordinator:
    audit = entry.runtime_data.audit
    assert audit is not None
    return audit


def _ids(events: list[Event]) -> list[str]:
    return [event.data["entry_id"] for event in events]


def _sensor(hass: HomeAssistant, sim: Simulator) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{sim.site_id}_event_stream"
    )
    assert entity_id is not None
    return entity_id


async def _poll(hass: HomeAssistant, seconds: float) -> None:
    """Let the timers due within ``seconds`` run (the access-log poll among them) and wait for the
    work they start: scheduled refreshes are background tasks, the open stream is not one."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def stream_entry(
    salto_sim: Simulator, entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> MockConfigEntry:
    """A config entry of the simulator's site with the event stream at the simulator."""
    return site_entry(
        salto_sim.site_id, {**entry_data, CONF_STREAM_URL: salto_sim.stream_url}, entry_options
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry, *, connect: bool = True) -> None:
    # setup_entry() waits for every background task: the open stream is none of them.
    await setup_entry(hass, entry)
    if connect:
        await wait_until(lambda: _stream(entry).connected)
        # The access-log read that follows the connect.
        await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def streaming(
    hass: HomeAssistant, salto_sim: Simulator, stream_entry: MockConfigEntry
) -> Any:
    """The entry set up with its stream connected; unloaded at the end (no task may linger)."""
    await _setup(hass, stream_entry)
    yield stream_entry
    if stream_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(stream_entry.entry_id)
        await hass.async_block_till_done()


# --- delivery -----------------------------------------------------------------------------------


async def test_row_arrives_within_a_second_once(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """A pushed row fires salto_ks_event within a second, before any poll; the poll later skips it."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    entries_before = salto_sim.counters.get("entries", 0)
    started = time.monotonic()
    row = salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened", access_by="tag")
    await wait_until(lambda: bool(events), 1.0)
    assert time.monotonic() - started < 1.0
    assert _ids(events) == [row["id"]]
    assert salto_sim.counters.get("entries", 0) == entries_before  # no poll needed
    assert hass.states.get(_sensor(hass, salto_sim)).state == STATE_ON

    await _poll(hass, AUDIT_STREAM_INTERVAL + 1)
    assert salto_sim.counters.get("entries", 0) > entries_before  # the safety-net poll ran
    assert _ids(events) == [row["id"]]
    audit = _audit(streaming)
    assert audit.delivered == {"poll": 0, "stream": 1}
    # The poll moved the cursor onto the streamed row (the next poll reads from its second on).
    assert audit.cursor.timestamp.isoformat().replace("+00:00", "Z") == row["utc_date_time"]
    assert row["id"] in audit.cursor.ids


async def test_poll_slows_while_streaming_and_not_when_down(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry
) -> None:
    audit = _audit(streaming)
    # The read at the connect, then one more at the normal interval, then slowly.
    assert audit.update_interval == timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)
    await _poll(hass, DEFAULT_EVENT_POLL_INTERVAL + 1)
    assert audit.update_interval == timedelta(seconds=AUDIT_STREAM_INTERVAL)
    salto_sim.stream.refuse(403, times=5)
    salto_sim.stream.drop()
    await wait_until(lambda: not _stream(streaming).connected)
    assert audit.update_interval == timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)


async def test_duplicate_and_delayed_pushes_deliver_once(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    events = async_capture_events(hass, EVENT_SALTO_KS)
    salto_sim.stream.update(duplicate=3)
    first = salto_sim.add_entry(lock_id=lock_id, event_category="lock_rejected")
    await wait_until(lambda: _stream(streaming).duplicates >= 2)
    # Readable before pushed: a poll can win the race; the late push is skipped.
    salto_sim.stream.update(duplicate=1, delay=0.5)
    second = salto_sim.add_entry(lock_id=lock_id, event_category="lock_rejected")
    await _audit(streaming).async_refresh()
    await wait_until(lambda: _stream(streaming).duplicates >= 3)
    assert _ids(events) == [first["id"], second["id"]]


async def test_row_implying_a_state_updates_at_once_then_one_confirming_poll(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """Privacy mode on the stream shows at once; a burst of such rows asks for one roster poll."""
    sensor = lock_entity_id(hass, lock_id, "privacy_mode")
    assert hass.states.get(sensor).state == STATE_OFF
    locks_before = salto_sim.counters.get("locks", 0)
    salto_sim.add_entry(lock_id=lock_id, event_category="privacy_mode", event_detail="start")
    await wait_until(lambda: hass.states.get(sensor).state == STATE_ON)
    for _ in range(4):
        salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened", access_by="tag")
    await wait_until(lambda: _stream(streaming).rows == 5)
    assert salto_sim.counters.get("locks", 0) == locks_before  # none yet: debounced
    await _poll(hass, stream_module.STREAM_TIMING.confirm_delay + 0.5)
    await wait_until(lambda: salto_sim.counters.get("locks", 0) == locks_before + 1)
    await _poll(hass, stream_module.STREAM_TIMING.confirm_delay + 0.5)
    assert salto_sim.counters.get("locks", 0) == locks_before + 1
    # The simulator's lock never entered privacy mode: the confirming poll shows the truth.
    assert hass.states.get(sensor).state == STATE_OFF


# --- reconnects ---------------------------------------------------------------------------------


async def test_drop_reconnects_and_the_gap_is_read_at_once(
    hass: HomeAssistant,
    salto_sim: Simulator,
    streaming: MockConfigEntry,
    lock_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows written while the stream was down come from the access log right after the reconnect,
    oldest first; the daily 1006 drop logs nothing above debug."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    caplog.set_level(logging.DEBUG)
    salto_sim.stream.drop()
    # Written before the client reconnects: pushed to nobody.
    missed = [salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened") for _ in range(3)]
    await wait_until(lambda: _stream(streaming).reconnects == 1)
    await wait_until(lambda: len(events) == 3)
    assert _ids(events) == [row["id"] for row in missed]
    assert _audit(streaming).delivered["poll"] == 3
    later = salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened")
    await wait_until(lambda: len(events) == 4)
    assert _ids(events)[-1] == later["id"]
    assert [
        r for r in caplog.records if r.levelno >= logging.INFO and "stream" in r.getMessage()
    ] == []


async def test_rows_written_while_down_are_read_once_right_after_the_reconnect(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """The hub has no replay: the one access-log read right after the reconnect brings the rows
    written while the stream was down (the next scheduled poll is minutes away)."""
    stream = _stream(streaming)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    negotiations = salto_sim.counters.get("hub_negotiate", 0)
    salto_sim.inject_fault("hub_negotiate", 503, times=1)
    salto_sim.stream.drop()
    await wait_until(lambda: salto_sim.counters.get("hub_negotiate", 0) == negotiations + 1)
    await hass.async_block_till_done(wait_background_tasks=True)  # the read at the drop is done
    assert not stream.connected
    reads = salto_sim.counters.get("entries", 0)
    missed = [salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened") for _ in range(3)]
    await wait_until(lambda: stream.connected, 10.0)
    await wait_until(lambda: len(events) == 3)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _ids(events) == [row["id"] for row in missed]
    assert salto_sim.counters.get("entries", 0) == reads + 1


async def test_a_failed_read_after_the_reconnect_is_retried_at_the_normal_interval(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """Until a read after the (re)connect succeeds the gap is open: the log is polled at the
    event poll interval, not the stream's slow one."""
    stream, audit = _stream(streaming), _audit(streaming)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    negotiations = salto_sim.counters.get("hub_negotiate", 0)
    salto_sim.inject_fault("hub_negotiate", 503, times=1)
    salto_sim.stream.drop()
    await wait_until(lambda: salto_sim.counters.get("hub_negotiate", 0) == negotiations + 1)
    await hass.async_block_till_done(wait_background_tasks=True)
    missed = salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened")
    salto_sim.inject_fault("entries", 503, times=1)  # the read right after the reconnect
    await wait_until(lambda: stream.connected, 10.0)
    await wait_until(lambda: salto_sim.faults.applied.get("503", 0) >= 2)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert events == []
    assert audit.update_interval == timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)
    await _poll(hass, DEFAULT_EVENT_POLL_INTERVAL + 1)
    assert _ids(events) == [missed["id"]]
    # One more read at the normal interval (a row the log shows late), then the slow one.
    assert audit.update_interval == timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)
    await _poll(hass, DEFAULT_EVENT_POLL_INTERVAL + 1)
    assert audit.update_interval == timedelta(seconds=AUDIT_STREAM_INTERVAL)


async def test_reconnect_after_token_expiry_takes_a_fresh_token(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """The hub refuses the expired token (401): one renewal, then connected again."""
    issued = len(salto_sim.tokens.issued)
    salto_sim.expire_tokens()
    salto_sim.stream.drop()
    await wait_until(lambda: _stream(streaming).reconnects == 1)
    assert len(salto_sim.tokens.issued) == issued + 1
    events = async_capture_events(hass, EVENT_SALTO_KS)
    row = salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened")
    await wait_until(lambda: _ids(events) == [row["id"]])


async def test_401_renews_once_then_backs_off(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry
) -> None:
    """Two 401s in a row: one renewal, then a backoff; the next attempt connects."""
    stream = _stream(streaming)
    issued = len(salto_sim.tokens.issued)
    salto_sim.stream.refuse(401, times=2)
    salto_sim.stream.drop()
    await wait_until(lambda: not stream.connected)
    await wait_until(lambda: stream.last_error == "TokenRejectedError")
    assert len(salto_sim.tokens.issued) == issued + 1  # renewed once, not on every 401
    assert not stream.connected
    await wait_until(lambda: stream.connected)  # after the backoff
    assert stream.reconnects == 1


def test_backoff_is_capped_exponential_with_jitter() -> None:
    timing = stream_module.STREAM_TIMING
    delays = [stream_module.backoff_delay(n, timing, lambda: 1.0) for n in range(12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == timing.backoff_cap
    assert stream_module.backoff_delay(3, timing, lambda: 0.0) == 4.0  # the jitter takes up to half
    # Never gives up: attempt a million still waits the cap, and the loop has no attempt limit.
    assert stream_module.backoff_delay(10**6, timing, lambda: 1.0) == timing.backoff_cap


# --- refused, off, unload -----------------------------------------------------------------------


async def test_stream_refused_polls_only_with_one_warning_and_a_repair_issue(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    lock_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    salto_sim.guest_access.features.discard(FEATURE)
    events = async_capture_events(hass, EVENT_SALTO_KS)
    await _setup(hass, stream_entry, connect=False)
    stream = _stream(stream_entry)
    await wait_until(lambda: stream.refused is not None)
    assert hass.states.get(_sensor(hass, salto_sim)).state == STATE_OFF
    assert ir.async_get(hass).async_get_issue(DOMAIN, stream_issue_id(stream_entry.entry_id))
    audit = _audit(stream_entry)
    assert audit.update_interval == timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)
    row = salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened")
    await _poll(hass, DEFAULT_EVENT_POLL_INTERVAL + 1)
    await wait_until(lambda: _ids(events) == [row["id"]])
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "event stream" in r.message
    ]
    assert len(warnings) == 1
    assert hass.config_entries.async_unload  # the entry stays loaded
    assert stream_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(stream_entry.entry_id)
    assert not ir.async_get(hass).async_get_issue(DOMAIN, stream_issue_id(stream_entry.entry_id))


async def test_option_turns_the_stream_off(
    hass: HomeAssistant,
    salto_sim: Simulator,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    stream_entry = site_entry(
        salto_sim.site_id,
        {**entry_data, CONF_STREAM_URL: salto_sim.stream_url},
        {**entry_options, CONF_EVENT_STREAM: False},
    )
    await _setup(hass, stream_entry, connect=False)
    assert stream_entry.runtime_data.stream is None
    assert salto_sim.stream.counter("negotiations") == 0
    assert (
        er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, f"{salto_sim.site_id}_event_stream"
        )
        is None
    )
    assert _audit(stream_entry).update_interval == timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)


async def test_unload_with_an_open_stream_leaves_no_task(
    hass: HomeAssistant, salto_sim: Simulator, stream_entry: MockConfigEntry
) -> None:
    await _setup(hass, stream_entry)
    assert salto_sim.stream.open_connections() == 1
    assert await hass.config_entries.async_unload(stream_entry.entry_id)
    await hass.async_block_till_done()
    await wait_until(lambda: salto_sim.stream.open_connections() == 0)
    names = {task.get_name() for task in asyncio.all_tasks() if not task.done()}
    assert not [name for name in names if "event stream" in name]


async def test_waiting_for_background_tasks_returns_while_the_stream_is_open(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """The open connection is no background task: a wait for them ends, and the work the stream
    sets off (the confirming roster poll) is waited for."""
    locks_before = salto_sim.counters.get("locks", 0)
    salto_sim.add_entry(lock_id=lock_id, event_category="privacy_mode", event_detail="start")
    await wait_until(lambda: _stream(streaming).rows == 1)
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=stream_module.STREAM_TIMING.confirm_delay + 1)
    )
    await asyncio.wait_for(hass.async_block_till_done(wait_background_tasks=True), 10)
    assert salto_sim.counters.get("locks", 0) == locks_before + 1
    assert _stream(streaming).connected
    assert salto_sim.stream.open_connections() == 1


async def test_home_assistant_stop_closes_the_stream(
    hass: HomeAssistant,
    salto_sim: Simulator,
    streaming: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant does not unload entries when it stops: the stream closes on the stop event,
    and an unload after it stays quiet."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    await wait_until(lambda: salto_sim.stream.open_connections() == 0)
    assert not _stream(streaming).connected
    assert not [t for t in asyncio.all_tasks() if "event stream" in t.get_name() and not t.done()]
    assert await hass.config_entries.async_unload(streaming.entry_id)
    await hass.async_block_till_done()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_diagnostics_show_stream_figures_without_token(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    from custom_components.salto_ks.diagnostics import async_get_config_entry_diagnostics

    salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened")
    await wait_until(lambda: _stream(streaming).rows == 1)
    data = await async_get_config_entry_diagnostics(hass, streaming)
    figures = data["stream"]
    assert figures["connected"] is True
    assert figures["connected_since"] is not None
    assert figures["last_message"] is not None
    assert figures["rows_streamed"] == 1
    assert data["audit"]["rows_by_path"] == {"poll": 0, "stream": 1}
    token = await streaming.runtime_data.client.access_token()
    assert token not in str(data)


# --- every interleaving (hypothesis) -------------------------------------------------------------

# One step of an interleaving: a new row (pushed as usual, or lost to the stream, or pushed late, or
# pushed twice), an access-log poll, a stream drop.
STEPS = st.lists(
    st.sampled_from(["row", "row_lost", "row_late", "row_twice", "poll", "drop"]),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
async def test_every_interleaving_delivers_each_row_once(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[str],
) -> None:
    """Whatever the order of pushes, losses, duplicates, drops and polls: each row exactly once."""
    # Drops seconds apart would back off for minutes (no connection stays up 60 s here).
    monkeypatch.setattr(
        stream_module,
        "STREAM_TIMING",
        dataclasses.replace(stream_module.STREAM_TIMING, backoff_base=0.01, backoff_cap=0.05),
    )
    if stream_entry.state is not ConfigEntryState.LOADED:
        await _setup(hass, stream_entry)
    stream = _stream(stream_entry)
    audit = _audit(stream_entry)
    await wait_until(lambda: stream.connected)
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    events = async_capture_events(hass, EVENT_SALTO_KS)
    written: list[str] = []
    for step in steps:
        salto_sim.stream.update(
            stall=step == "row_lost",
            delay=0.2 if step == "row_late" else 0.0,
            duplicate=2 if step == "row_twice" else 1,
        )
        if step.startswith("row"):
            written.append(salto_sim.add_entry(lock_id=lock_id, event_category="lock_opened")["id"])
        elif step == "poll":
            await audit.async_refresh()
        else:
            salto_sim.stream.drop()
            await wait_until(lambda: not stream.connected)
        await asyncio.sleep(0.02)
    salto_sim.stream.update(stall=False, delay=0.0, duplicate=1)
    await asyncio.sleep(0.3)  # late pushes land
    await wait_until(lambda: stream.connected)
    await audit.async_refresh()  # the safety net
    await hass.async_block_till_done()
    delivered = [i for i in _ids(events) if i in written]
    assert sorted(delivered) == sorted(written)
    assert len(delivered) == len(set(delivered))


# --- timings shortened: refusals retried, a stream that stays down, rate limits ------------------


@pytest.fixture
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Shorten the stream's waits (before the entry is set up): backoff in tens of milliseconds."""

    def _set(**changes: float) -> None:
        timing = dataclasses.replace(
            stream_module.STREAM_TIMING, backoff_base=0.01, backoff_cap=0.05, **changes
        )
        monkeypatch.setattr(stream_module, "STREAM_TIMING", timing)

    return _set


async def test_refusal_is_asked_again_quietly_and_the_issue_goes_once_accepted(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    fast_timing: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the hub keeps refusing the site it is asked again rarely, without another warning;
    once the site gets the feature the stream connects and the repair issue goes."""
    fast_timing(refused_retry=0.05)
    salto_sim.guest_access.features.discard(FEATURE)
    await _setup(hass, stream_entry, connect=False)
    stream = _stream(stream_entry)
    await wait_until(lambda: salto_sim.stream.counter("refused") >= 3)
    assert stream.refused == "403"
    assert ir.async_get(hass).async_get_issue(DOMAIN, stream_issue_id(stream_entry.entry_id))
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "event stream" in r.message
    ]
    assert len(warnings) == 1
    salto_sim.guest_access.features.add(FEATURE)
    await wait_until(lambda: stream.connected)
    assert stream.refused is None
    assert stream.last_error is None
    assert not ir.async_get(hass).async_get_issue(DOMAIN, stream_issue_id(stream_entry.entry_id))
    assert hass.states.get(_sensor(hass, salto_sim)).state == STATE_ON
    assert await hass.config_entries.async_unload(stream_entry.entry_id)


async def test_a_stream_that_stays_down_logs_one_info_line_and_one_when_back(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    fast_timing: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast_timing(down_notice=0.0)
    await _setup(hass, stream_entry)
    stream = _stream(stream_entry)
    salto_sim.inject_fault("hub_negotiate", 503, times=3)
    salto_sim.stream.drop()
    await wait_until(lambda: stream.reconnects == 1)
    infos = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.INFO and "Event stream of" in r.getMessage()
    ]
    assert len(infos) == 2
    assert "is unavailable" in infos[0]
    assert "is connected again" in infos[1]
    assert salto_sim.faults.applied.get("503", 0) == 3
    assert await hass.config_entries.async_unload(stream_entry.entry_id)


async def test_rate_limited_connect_waits_for_retry_after(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    fast_timing: Callable[..., None],
) -> None:
    """A 429 of the hub waits out its Retry-After (longer than the backoff) before the next try."""
    fast_timing()
    await _setup(hass, stream_entry)
    stream = _stream(stream_entry)
    negotiations = salto_sim.counters.get("hub_negotiate", 0)
    salto_sim.inject_fault("hub_negotiate", 429, times=1, retry_after=1)
    salto_sim.stream.drop()
    await wait_until(lambda: stream.last_error == "RateLimitedError")
    refused_at = time.monotonic()
    assert salto_sim.counters.get("hub_negotiate", 0) == negotiations + 1
    await wait_until(lambda: stream.connected, 5.0)
    assert time.monotonic() - refused_at >= 0.8
    assert salto_sim.counters.get("hub_negotiate", 0) == negotiations + 2
    assert await hass.config_entries.async_unload(stream_entry.entry_id)


async def test_server_close_without_reconnect_is_reconnected_after_the_backoff(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    fast_timing: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``allowReconnect: false`` is noted at debug; the manager never gives up on the stream."""
    fast_timing(stable_after=0.0)
    caplog.set_level(logging.DEBUG, logger="custom_components.salto_ks")
    await _setup(hass, stream_entry)
    stream = _stream(stream_entry)
    assert salto_sim.stream.close(error="maintenance", allow_reconnect=False) == 1
    await wait_until(lambda: stream.reconnects == 1)
    assert "the server asked not to reconnect" in caplog.text
    assert stream.connected
    assert await hass.config_entries.async_unload(stream_entry.entry_id)


async def test_starting_twice_keeps_one_connection(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry
) -> None:
    _stream(streaming).async_start()
    await asyncio.sleep(0.2)
    assert salto_sim.stream.open_connections() == 1
    assert salto_sim.stream.counter("negotiations") == 1


# --- what a streamed row implies ------------------------------------------------------------------


async def test_streamed_rows_show_each_implied_state_at_once(
    hass: HomeAssistant,
    salto_sim: Simulator,
    stream_entry: MockConfigEntry,
    fast_timing: Callable[..., None],
    lock_id: str,
) -> None:
    """Office mode, privacy mode and the alarms show as the rows imply them, before any roster
    poll (the confirming poll is held off here); an opening during office mode keeps it on."""
    fast_timing(confirm_delay=600.0)
    await _setup(hass, stream_entry)
    stream = _stream(stream_entry)
    lock = lock_entity_id(hass, lock_id)
    locks_before = salto_sim.counters.get("locks", 0)
    steps: list[tuple[str, str | None, str, str]] = [
        ("easy_office_mode", "start", "office_mode", STATE_ON),
        ("lock_opened", None, "office_mode", STATE_ON),
        ("office_mode", "end", "office_mode", STATE_OFF),
        ("privacy_mode", "start", "privacy_mode", STATE_ON),
        ("privacy_mode", "end", "privacy_mode", STATE_OFF),
        ("door_left_open", None, "left_open", STATE_ON),
        ("intrusion", None, "intrusion", STATE_ON),
    ]
    for rows, (category, detail, key, expected) in enumerate(steps, start=1):
        salto_sim.add_entry(lock_id=lock_id, event_category=category, event_detail=detail)
        await wait_until(lambda rows=rows: stream.rows == rows)  # type: ignore[misc]
        await hass.async_block_till_done()
        assert hass.states.get(lock_entity_id(hass, lock_id, key)).state == expected, category
        if category == "lock_opened":
            assert hass.states.get(lock).state == "unlocked"
    assert hass.states.get(lock).state == "locked"  # office mode ended
    assert salto_sim.counters.get("locks", 0) == locks_before
    assert await hass.config_entries.async_unload(stream_entry.entry_id)


async def test_streamed_row_while_the_roster_poll_fails_changes_nothing(
    hass: HomeAssistant, salto_sim: Simulator, streaming: MockConfigEntry, lock_id: str
) -> None:
    """A row is still delivered, but a roster that failed its last poll is not patched from it."""
    events = async_capture_events(hass, EVENT_SALTO_KS)
    salto_sim.inject_fault("locks", 503, times=5)
    roster = streaming.runtime_data.roster
    await roster.async_refresh()
    assert not roster.last_update_success
    office = lock_entity_id(hass, lock_id, "office_mode")
    row = salto_sim.add_entry(lock_id=lock_id, event_category="office_mode", event_detail="start")
    await wait_until(lambda: _ids(events) == [row["id"]])
    await hass.async_block_till_done()
    assert hass.states.get(office).state == "unavailable"
    assert _stream(streaming).rows == 1
