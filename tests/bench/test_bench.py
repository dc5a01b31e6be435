"""Performance benchmark of the integration against the simulator (``scripts/bench``).

Skipped unless ``SALTO_BENCH=1``. Each test appends its figures to ``bench_results``; the session
writes them to ``SALTO_BENCH_OUT`` and ``scripts/bench_report.py`` turns them into the table and
``docs/benchmarks.json``. What each figure means is in ``docs/benchmarks.md``.

- P1 requests per hour (in-process simulator, frozen clock, one simulated hour).
- P2 audit row -> HA event latency (in-process simulator, frozen clock, exact timer stepping).
- P1/P2 with the event stream (``-k stream``): requests per hour with the stream up (frozen clock),
  and the wall-clock latency from a row's creation in the simulator to ``salto_ks_event`` (real
  clock, loopback, 10 rows/s on 100 locks).
- P3/P4/memory: simulator in a subprocess, real clock, so that CPU time (``time.process_time``)
  and memory (tracemalloc) measured here are Home Assistant's and the client's only.
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import gc
import json
import math
import os
import pstats
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.event import EventEntity
from homeassistant.components.lock import LockEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.components.switch import SwitchEntity
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_fire_time_changed_exact,
    get_scheduled_timer_handles,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.salto_ks import binary_sensor as salto_binary_sensor
from custom_components.salto_ks import sensor as salto_sensor
from custom_components.salto_ks.audit import AUDIT_STREAM_INTERVAL
from custom_components.salto_ks.const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_PASSWORD,
    CONF_RELEASED_STATE,
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    CONF_STREAM_URL,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    ENDPOINT_CUSTOM,
    MAX_EVENT_POLL_INTERVAL,
    MAX_STATUS_INTERVAL,
)
from simulator import Simulator

from .conftest import SIZES, SimProcess, start_sim

pytestmark = [pytest.mark.bench]

EVENT_SALTO_KS = f"{DOMAIN}_event"
HOUR = 3600.0
P2_INTERVALS = (30, 5)
P2_ROWS = 300  # audit rows per interval setting
P2_POLLS = 60  # simulated duration of the P2 run, in audit polls
P3_POLLS = {1: 40, 100: 30, 1000: 15}


# --- helpers ------------------------------------------------------------------------------------


def entry_data(creds: dict[str, str]) -> dict[str, Any]:
    """Config entry data for a simulator (``Simulator.credentials()`` or ``/_sim/credentials``)."""
    return {
        CONF_ENDPOINT: ENDPOINT_CUSTOM,
        CONF_API_BASE: creds["api_base"],
        CONF_AUTH_URL: creds["auth_url"],
        CONF_CLIENT_ID: creds["client_id"],
        CONF_CLIENT_SECRET: creds["client_secret"],
        CONF_USERNAME: creds["username"],
        CONF_PASSWORD: creds["password"],
        CONF_SITE_ID: creds["site_id"],
    }


def make_entry(creds: dict[str, str], **options: Any) -> MockConfigEntry:
    opts = {
        CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
        CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
        CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
        CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
    } | options
    return MockConfigEntry(
        domain=DOMAIN,
        title="Bench site",
        data=entry_data(creds),
        options=opts,
        unique_id=creds["site_id"],
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def unload_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def entity_availability(hass: HomeAssistant, entry_id: str) -> tuple[int, int]:
    """(enabled entities of the entry, those with a state that is not unavailable)."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    enabled = [e for e in entries if e.disabled_by is None]
    available = [
        e
        for e in enabled
        if (state := hass.states.get(e.entity_id)) is not None and state.state != STATE_UNAVAILABLE
    ]
    return len(enabled), len(available)


class StateWriteCounter:
    """Counts state writes: ``state_changed`` and ``state_reported`` (an unchanged state written)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.changed = 0
        self.reported = 0

        @callback
        def on_changed(_event: Event) -> None:
            self.changed += 1

        @callback
        def count_reported(_data: Any) -> bool:
            self.reported += 1
            return False

        @callback
        def never(_event: Event) -> None:  # pragma: no cover - the filter refuses every event
            return

        self._unsubs = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, on_changed),
            hass.bus.async_listen(EVENT_STATE_REPORTED, never, event_filter=count_reported),
        ]

    @property
    def total(self) -> int:
        return self.changed + self.reported

    def reset(self) -> None:
        self.changed = self.reported = 0

    def close(self) -> None:
        for unsub in self._unsubs:
            unsub()


async def advance(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    seconds: float,
    before_step: Callable[[datetime], datetime | None] | None = None,
) -> int:
    """Let ``seconds`` of simulated time pass, stepping exactly to each pending timer.

    ``before_step(now)`` may act on the world at ``now`` and return the next instant it needs
    (a step never passes it). Steps are at most 1 s. Timers fire at their due time, not up to
    0.5 s early as with ``async_fire_time_changed``, so polling periods are HA's real ones.
    Interval refreshes are background tasks: they are waited for, or each request would last
    several simulated seconds (the loop turns only a few times per step). Returns the steps.
    """
    end = dt_util.utcnow() + timedelta(seconds=seconds)
    steps = 0
    while (now := dt_util.utcnow()) < end:
        wanted = before_step(now) if before_step else None
        timer = next_timer_in(hass)
        step = 1.0 if timer is None else min(max(timer, 0.0), 1.0)
        step = min(step, (end - now).total_seconds())
        if wanted is not None:
            step = min(step, max((wanted - now).total_seconds(), 0.0))
        if step > 0:
            freezer.tick(timedelta(seconds=step))
        async_fire_time_changed_exact(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        steps += 1
    return steps


def next_timer_in(hass: HomeAssistant) -> float | None:
    """Seconds until the earliest pending timer of the loop (frozen loop clock)."""
    now = hass.loop.time()
    whens = [
        handle.when()
        for handle in get_scheduled_timer_handles(hass.loop)
        if isinstance(handle, asyncio.TimerHandle) and not handle.cancelled()
    ]
    return min(whens) - now if whens else None


def pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


async def bare_token(session: aiohttp.ClientSession, creds: dict[str, str]) -> str:
    form = {
        "grant_type": "password",
        "username": creds["username"],
        "password": creds["password"],
        "scope": "user_api.full_access",
    }
    pair = f"{creds['client_id']}:{creds['client_secret']}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    async with session.post(creds["auth_url"], data=form, headers=headers) as resp:
        resp.raise_for_status()
        return str((json.loads(await resp.read()))["access_token"])


async def bare_roster(session: aiohttp.ClientSession, creds: dict[str, str], token: str) -> int:
    """The roster's pages fetched and parsed with nothing but aiohttp + json (locks || IQs)."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{creds['api_base']}/v1.2/sites/{creds['site_id']}"

    async def listing(path: str) -> list[Any]:
        items: list[Any] = []
        url: str | None = f"{base}/{path}"
        while url:
            async with session.get(url, headers=headers) as resp:
                resp.raise_for_status()
                body = json.loads(await resp.read())
            items.extend(body["items"])
            url = body.get("next_page_link")
        return items

    locks, iqs = await asyncio.gather(listing("locks"), listing("iqs"))
    return len(locks) + len(iqs)


async def measure(func: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one awaited call."""
    wall, cpu = time.perf_counter(), time.process_time()
    await func()
    return time.perf_counter() - wall, time.process_time() - cpu


def record(results: list[dict[str, Any]], kind: str, **data: Any) -> None:
    results.append({"kind": kind, **data})


# --- P1: requests per hour ----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_p1_requests_per_hour(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    socket_enabled: None,
    size: int,
    bench_results: list[dict[str, Any]],
) -> None:
    """One simulated hour at default intervals; the simulator's counters per endpoint."""
    sim = Simulator.from_scenario("large", seed=1, locks=size)
    await sim.start(host="127.0.0.1", port=0)
    try:
        entry = make_entry(sim.credentials())
        await setup_entry(hass, entry)
        audit_on = getattr(entry.runtime_data, "audit", None) is not None
        sim.reset_counters()
        await advance(hass, freezer, HOUR)
        counters = dict(sim.counters)
        await unload_entry(hass, entry)
    finally:
        await sim.stop()
    page_size = sim.tenant.page_size
    iq_count = len(sim.state.iqs)
    polls = HOUR / DEFAULT_STATUS_INTERVAL
    audit_polls = HOUR / DEFAULT_EVENT_POLL_INTERVAL
    minimum = {
        "locks": polls * max(1, math.ceil(size / page_size)),
        "iqs": polls * max(1, math.ceil(iq_count / page_size)),
        "entries": audit_polls,
    }
    record(
        bench_results,
        "p1",
        size=size,
        iqs=iq_count,
        page_size=page_size,
        audit_on=audit_on,
        counters=counters,
        minimum=minimum,
        naive_per_lock=size * polls,
    )


# --- P2: audit latency --------------------------------------------------------------------------


@pytest.mark.parametrize("interval", P2_INTERVALS)
async def test_p2_event_latency(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    socket_enabled: None,
    interval: int,
    bench_results: list[dict[str, Any]],
) -> None:
    """Rows appear at uniformly random simulated instants; latency = delivery - row instant.

    Time moves in exact steps to the next pending timer or the next row instant (never more
    than 1 s), so the measurement adds no quantisation of its own.
    """
    size = 100
    sim = Simulator.from_scenario("large", seed=1, locks=size)
    await sim.start(host="127.0.0.1", port=0)
    entry = make_entry(sim.credentials(), **{CONF_EVENT_POLL_INTERVAL: interval})
    try:
        await setup_entry(hass, entry)
        audit = getattr(entry.runtime_data, "audit", None)
        if audit is None:
            pytest.skip(
                "P2 needs the audit coordinator: entry.runtime_data.audit is None "
                "(not set up by this checkout's async_setup_entry)"
            )
        delivered: dict[str, datetime] = {}
        entity_writes: dict[str, datetime] = {}

        @callback
        def on_salto_event(event: Event) -> None:
            delivered.setdefault(event.data["entry_id"], dt_util.utcnow())

        @callback
        def on_state(event: Event) -> None:
            new = event.data.get("new_state")
            if new is None or not new.entity_id.startswith("event."):
                return
            if (entry_id := new.attributes.get("entry_id")) is not None:
                entity_writes.setdefault(entry_id, dt_util.utcnow())
            else:
                entity_writes[f"?{len(entity_writes)}"] = dt_util.utcnow()

        unsubs = [
            hass.bus.async_listen(EVENT_SALTO_KS, on_salto_event),
            hass.bus.async_listen(EVENT_STATE_CHANGED, on_state),
        ]
        # Two polls of warm-up: the first start places the cursor after the newest row.
        await advance(hass, freezer, 2 * interval + 1)
        rng = random.Random(interval)
        start = dt_util.utcnow()
        duration = P2_POLLS * interval
        offsets = sorted(rng.uniform(0, duration) for _ in range(P2_ROWS))
        instants = [start + timedelta(seconds=o) for o in offsets]
        lock_ids = list(sim.state.locks)
        user_id = sim.state.site_users[next(iter(sim.state.site_users))].user.id
        created: dict[str, datetime] = {}
        pending = list(instants)

        def add_rows(now: datetime) -> datetime | None:
            while pending and pending[0] <= now:
                when = pending.pop(0)
                row = sim.open_by(rng.choice(lock_ids), str(user_id), "tag", utc=when)
                created[row["id"]] = when
            return pending[0] if pending else None

        steps = await advance(hass, freezer, duration + 2 * interval + 1, add_rows)
        for unsub in unsubs:
            unsub()
        await unload_entry(hass, entry)
    finally:
        await sim.stop()
    latencies = [
        (delivered[row_id] - when).total_seconds()
        for row_id, when in created.items()
        if row_id in delivered
    ]
    entity_latencies = [
        (entity_writes[row_id] - when).total_seconds()
        for row_id, when in created.items()
        if row_id in entity_writes
    ]
    record(
        bench_results,
        "p2",
        interval=interval,
        locks=size,
        rows=len(created),
        delivered=len(latencies),
        event_entity_writes=len(entity_writes),
        steps=steps,
        p50=pct(latencies, 50) if latencies else None,
        p95=pct(latencies, 95) if latencies else None,
        max=max(latencies) if latencies else None,
        entity_p50=pct(entity_latencies, 50) if entity_latencies else None,
        entity_p95=pct(entity_latencies, 95) if entity_latencies else None,
    )
    assert len(latencies) == len(created), "every row must be delivered exactly once"


# --- P1 / P2 with the event stream ---------------------------------------------------------------

P2_STREAM_RATE = 10.0  # rows per second
P2_STREAM_SECONDS = 30.0


@pytest.mark.parametrize("size", [100])
async def test_p1_stream_requests_per_hour(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    socket_enabled: None,
    size: int,
    bench_results: list[dict[str, Any]],
) -> None:
    """One simulated hour at default intervals with the event stream connected throughout."""
    sim = Simulator.from_scenario("large", seed=1, locks=size)
    await sim.start(host="127.0.0.1", port=0)
    try:
        entry = make_entry(sim.credentials())
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_STREAM_URL: sim.stream_url}
        )
        await setup_entry(hass, entry)
        stream = entry.runtime_data.stream
        assert stream is not None
        await _wait_for(lambda: stream.connected)
        sim.reset_counters()
        sim.stream.reset_counters()
        await advance(hass, freezer, HOUR)
        counters = dict(sim.counters)
        hub = {name: sim.stream.counter(name) for name in ("negotiations", "connections")}
        still_connected = stream.connected
        await unload_entry(hass, entry)
    finally:
        await sim.stop()
    page_size = sim.tenant.page_size
    polls = HOUR / DEFAULT_STATUS_INTERVAL
    minimum = {
        "locks": polls * max(1, math.ceil(size / page_size)),
        "iqs": polls * max(1, math.ceil(len(sim.state.iqs) / page_size)),
        "entries": HOUR / AUDIT_STREAM_INTERVAL,
    }
    record(
        bench_results,
        "p1_stream",
        size=size,
        counters=counters,
        hub=hub,
        still_connected=still_connected,
        minimum=minimum,
    )
    assert still_connected


async def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Turn the loop until ``condition`` holds, at most ``seconds`` of wall time (on a frozen
    clock too: freezegun freezes time.perf_counter and the loop's timers, not this clock)."""
    deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + seconds
    while not condition():
        if time.clock_gettime(time.CLOCK_MONOTONIC) > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0)


async def test_p2_stream_event_latency(
    hass: HomeAssistant, socket_enabled: None, bench_results: list[dict[str, Any]]
) -> None:
    """Real clock, loopback: a row written into the simulator every 0.1 s on one of 100 locks;
    latency = wall time from its creation in the simulator to its ``salto_ks_event``."""
    size = 100
    sim = Simulator.from_scenario("large", seed=1, locks=size)
    await sim.start(host="127.0.0.1", port=0)
    entry = make_entry(sim.credentials())
    try:
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_STREAM_URL: sim.stream_url}
        )
        await setup_entry(hass, entry)
        stream = entry.runtime_data.stream
        assert stream is not None
        await _wait_for(lambda: stream.connected)
        delivered: dict[str, float] = {}

        @callback
        def on_salto_event(event: Event) -> None:
            delivered.setdefault(event.data["entry_id"], time.perf_counter())

        unsub = hass.bus.async_listen(EVENT_SALTO_KS, on_salto_event)
        rng = random.Random(2)
        lock_ids = list(sim.state.locks)
        user_id = sim.state.site_users[next(iter(sim.state.site_users))].user.id
        created: dict[str, float] = {}
        count = int(P2_STREAM_RATE * P2_STREAM_SECONDS)
        start = time.perf_counter()
        for n in range(count):
            # Paced against the start, so a slow turn of the loop does not slow the rate down.
            await asyncio.sleep(max(0.0, start + n / P2_STREAM_RATE - time.perf_counter()))
            row = sim.open_by(rng.choice(lock_ids), str(user_id), "tag")
            created[row["id"]] = time.perf_counter()
        await _wait_for(lambda: len(delivered) >= len(created), 10.0)
        unsub()
        streamed = stream.rows
        await unload_entry(hass, entry)
    finally:
        await sim.stop()
    latencies = [delivered[i] - at for i, at in created.items() if i in delivered]
    record(
        bench_results,
        "p2_stream",
        locks=size,
        rate=P2_STREAM_RATE,
        rows=len(created),
        delivered=len(latencies),
        streamed=streamed,
        p50=pct(latencies, 50),
        p95=pct(latencies, 95),
        max=max(latencies),
        cpu_count=os.cpu_count(),
        load_average=list(os.getloadavg()),
    )
    assert len(latencies) == len(created), "every row must be delivered exactly once"


# --- P3 / P4: CPU and wall time against the bare fetch ------------------------------------------


@pytest.mark.parametrize("sim_process", SIZES, indirect=True, ids=lambda n: f"locks{n}")
async def test_p3_p4_setup_and_idle_poll(
    hass: HomeAssistant, sim_process: SimProcess, bench_results: list[dict[str, Any]]
) -> None:
    """P4: entry setup until every entity is available, vs the bare roster fetch (wall time).

    P3: a roster poll that changes nothing: state writes, and CPU time vs a bare aiohttp fetch +
    json parse of the same pages, interleaved in the same run (medians).
    """
    creds = sim_process.credentials
    size = len((await _state(sim_process))["locks"])
    session = async_get_clientsession(hass)
    token = await bare_token(session, creds)
    # Bare setup equivalent: a token and the roster pages, cold connection pool.
    bare_setup: list[tuple[float, float]] = []
    for _ in range(3):
        fresh = aiohttp.ClientSession()
        try:
            bare_setup.append(
                await measure(lambda s=fresh: _token_and_roster(s, creds))  # type: ignore[misc]
            )
        finally:
            await fresh.close()
    entry = make_entry(
        creds,
        **{
            CONF_STATUS_INTERVAL: MAX_STATUS_INTERVAL,
            CONF_EVENT_POLL_INTERVAL: MAX_EVENT_POLL_INTERVAL,
        },
    )
    entry.add_to_hass(hass)
    gc.collect()

    async def do_setup() -> None:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

    setup_wall, setup_cpu = await measure(do_setup)
    enabled, available = entity_availability(hass, entry.entry_id)
    assert available == enabled > 0
    registry_entities = len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id))
    devices = len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id))

    roster = entry.runtime_data.roster
    writes = StateWriteCounter(hass)

    async def roster_poll() -> None:
        await roster.async_refresh()
        await hass.async_block_till_done()

    async def bare_poll() -> None:
        await bare_roster(session, creds, token)

    await roster_poll()  # warm connections on both sides
    await bare_poll()
    writes.reset()
    poll_cpu: list[float] = []
    poll_wall: list[float] = []
    bare_cpu: list[float] = []
    bare_wall: list[float] = []
    for _ in range(P3_POLLS.get(size, 15)):
        wall, cpu = await measure(bare_poll)
        bare_wall.append(wall)
        bare_cpu.append(cpu)
        wall, cpu = await measure(roster_poll)
        poll_wall.append(wall)
        poll_cpu.append(cpu)
    idle_writes = (writes.changed, writes.reported)
    writes.close()
    assert roster.last_update_success
    await unload_entry(hass, entry)
    # The same setup again with the registries filled: what every Home Assistant restart does.
    gc.collect()
    restart_wall, restart_cpu = await measure(do_setup)
    assert entity_availability(hass, entry.entry_id)[1] == enabled
    await unload_entry(hass, entry)
    record(
        bench_results,
        "p3p4",
        size=size,
        entities=enabled,
        registry_entities=registry_entities,
        devices=devices,
        setup_wall=setup_wall,
        setup_cpu=setup_cpu,
        restart_wall=restart_wall,
        restart_cpu=restart_cpu,
        bare_setup_wall=statistics.median(w for w, _ in bare_setup),
        bare_setup_cpu=statistics.median(c for _, c in bare_setup),
        polls=len(poll_cpu),
        poll_cpu=statistics.median(poll_cpu),
        poll_wall=statistics.median(poll_wall),
        bare_cpu=statistics.median(bare_cpu),
        bare_wall=statistics.median(bare_wall),
        idle_state_changed=idle_writes[0],
        idle_state_reported=idle_writes[1],
    )


async def _token_and_roster(session: aiohttp.ClientSession, creds: dict[str, str]) -> None:
    await bare_roster(session, creds, await bare_token(session, creds))


async def _state(sim: SimProcess) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        state: dict[str, Any] = await sim.control(session, "GET", "state")
        return state


# --- P4: Home Assistant's own floor for the same entity set -------------------------------------

FLOOR_DOMAIN = "salto_bench_floor"
FLOOR_PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.LOCK,
    Platform.SENSOR,
    Platform.SWITCH,
]


class _FloorFlow(ConfigFlow):
    """No steps: the floor's entry is added directly (a handler must exist for its domain)."""

    VERSION = 1


class _FloorEntity(Entity):
    """A constant, always available entity: no coordinator, no network, no translations."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        unique_id: str,
        name: str | None,
        device_info: DeviceInfo,
        like: EntityDescription | None = None,
    ) -> None:
        self._attr_unique_id = unique_id
        self._attr_name = name
        self._attr_device_info = device_info
        if like is not None:
            # The integration's registry defaults, so that the same entities are enabled.
            self._attr_entity_registry_enabled_default = like.entity_registry_enabled_default
            self._attr_entity_category = like.entity_category
            self._attr_device_class = like.device_class


class _FloorLock(_FloorEntity, LockEntity):
    _attr_is_locked = True


class _FloorSensor(_FloorEntity, SensorEntity):
    _attr_native_value = 100

    def __init__(self, unique_id: str, name: str, device_info: DeviceInfo, like: Any) -> None:
        super().__init__(unique_id, name, device_info, like)
        self._attr_native_unit_of_measurement = like.native_unit_of_measurement
        self._attr_state_class = like.state_class


class _FloorBinarySensor(_FloorEntity, BinarySensorEntity):
    _attr_is_on = False


class _FloorEvent(_FloorEntity, EventEntity):
    _attr_event_types = ["lock_opened", "lock_rejected"]


class _FloorSwitch(_FloorEntity, SwitchEntity):
    _attr_is_on = False


def _plain_name(key: str) -> str:
    return key.replace("_", " ").capitalize()


def floor_entities(sim: Simulator, platform: str) -> list[Entity]:
    """One platform's share of the integration's entity set for the simulator's site, as constant
    entities (built by that platform only, like the integration's platforms do).

    The described entities (sensors, binary sensors) come from the integration's own descriptions
    (their keys, registry defaults and categories), so that the floor keeps the integration's
    entity set when descriptions are added; per lock the lock, its access event and its office-mode
    switch. Like the integration's, they link to their device by identifier only (devices are
    registered once, in the entry's setup)."""
    described: dict[
        str, tuple[Callable[..., Entity], Sequence[EntityDescription], Sequence[EntityDescription]]
    ] = {
        Platform.BINARY_SENSOR: (
            _FloorBinarySensor,
            salto_binary_sensor.LOCK_BINARY_SENSORS,
            salto_binary_sensor.IQ_BINARY_SENSORS,
        ),
        Platform.SENSOR: (_FloorSensor, salto_sensor.LOCK_SENSORS, salto_sensor.IQ_SENSORS),
    }
    out: list[Entity] = []
    devices = [(iq.id, 1) for iq in sim.state.iqs.values()] + [
        (lock.id, 0) for lock in sim.state.locks.values()
    ]
    for device_id, is_iq in devices:
        info = DeviceInfo(identifiers={(FLOOR_DOMAIN, device_id)})
        if platform in described:
            factory, for_locks, for_iqs = described[platform]
            for description in for_iqs if is_iq else for_locks:
                out.append(
                    factory(
                        f"{device_id}_{description.key}",
                        _plain_name(description.key),
                        info,
                        description,
                    )
                )
        elif is_iq:
            continue
        elif platform == Platform.LOCK:
            out.append(_FloorLock(device_id, None, info))
        elif platform == Platform.EVENT:
            out.append(_FloorEvent(f"{device_id}_access", "Access", info))
        elif platform == Platform.SWITCH:
            out.append(_FloorSwitch(f"{device_id}_office_mode_switch", "Manual office mode", info))
    return out


def mock_floor_integration(hass: HomeAssistant, sim: Simulator) -> None:
    """A bench-only integration (mocked in the loader, nothing under custom_components/) whose
    platforms add the same entity set as the integration: same devices (registered with their
    details in the entry's setup, IQs first), entities per device, unique ids, names, device info
    (identifiers), a constant state."""

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        # Every device once, with its details (IQs first: a lock's device hangs off its IQ).
        registry = dr.async_get(hass)
        iq_devices: dict[str, str] = {}
        for iq in sim.state.iqs.values():
            iq_devices[iq.id] = registry.async_get_or_create(
                config_entry_id=entry.entry_id,
                identifiers={(FLOOR_DOMAIN, iq.id)},
                name=iq.name,
                manufacturer="Salto",
                model="IQ",
                hw_version=iq.revision,
                serial_number=iq.mac,
            ).id
        for lock in sim.state.locks.values():
            device = registry.async_get_or_create(
                config_entry_id=entry.entry_id,
                identifiers={(FLOOR_DOMAIN, lock.id)},
                name=lock.name,
                manufacturer="Salto",
                model=lock.lock_type,
                serial_number=lock.mac,
            )
            # As the integration does: via_device_id (the via_device argument is gone in 2026.x).
            via_device_id = iq_devices[lock.iq_id] if lock.iq_id is not None else None
            if device.via_device_id != via_device_id:
                registry.async_update_device(device.id, via_device_id=via_device_id)
        await hass.config_entries.async_forward_entry_setups(entry, FLOOR_PLATFORMS)
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, FLOOR_PLATFORMS)

    mock_integration(
        hass,
        MockModule(FLOOR_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry),
    )
    mock_platform(hass, f"{FLOOR_DOMAIN}.config_flow")  # no flow: the entry is added directly
    for platform in FLOOR_PLATFORMS:

        async def setup_platform(
            hass: HomeAssistant,
            entry: ConfigEntry,
            async_add_entities: Callable[[list[Entity]], None],
            platform: str = str(platform),
        ) -> None:
            # Built anew for every setup (a restart creates new entity objects too).
            async_add_entities(floor_entities(sim, platform))

        module = MockPlatform(async_setup_entry=setup_platform)
        module.PARALLEL_UPDATES = 0  # type: ignore[attr-defined]
        mock_platform(hass, f"{FLOOR_DOMAIN}.{platform}", module)


P4_REPS = 9
# Which side runs first alternates between repetitions: the first big setup of a process pays a cold
# start (25-45 % more time in the same Home Assistant calls, docs/benchmarks.md).
P4_CASES = [
    (size, rep, side)
    for size in SIZES
    for rep in range(P4_REPS)
    for side in (("integration", "floor") if rep % 2 == 0 else ("floor", "integration"))
]


@pytest.mark.parametrize("case", P4_CASES, ids=[f"locks{n}-{r}-{side}" for n, r, side in P4_CASES])
async def test_p4_setup_vs_floor(
    hass: HomeAssistant,
    socket_enabled: None,
    case: tuple[int, int, str],
    bench_results: list[dict[str, Any]],
) -> None:
    """P4, alternating in the same run, each in a fresh ``hass`` (empty registries, entity
    platforms not yet set up): ``integration`` = the real entry against the simulator subprocess,
    with the bare token + roster fetch measured just before (median of 3, fresh aiohttp session
    each); ``floor`` = Home Assistant's own cost for the same entity set, from a bench-only
    integration whose platforms add the same entities with a constant state and no network.
    Both: first setup until every enabled entity is available, then again after an unload
    (registries filled: what every restart does)."""
    size, rep, side = case
    if side == "floor":
        sim = Simulator.from_scenario("large", seed=1, locks=size)
        mock_floor_integration(hass, sim)
        entry = MockConfigEntry(domain=FLOOR_DOMAIN, title="Bench floor", unique_id="floor")
        entry.add_to_hass(hass)
        with mock_config_flow(FLOOR_DOMAIN, _FloorFlow):
            figures = await _setup_twice(hass, entry)
        record(bench_results, "p4_floor", size=size, rep=rep, **figures)
        return
    async with start_sim(size) as sim_process:
        creds = sim_process.credentials
        bare: list[tuple[float, float]] = []
        for _ in range(3):
            fresh = aiohttp.ClientSession()
            try:
                bare.append(await measure(lambda s=fresh: _token_and_roster(s, creds)))  # type: ignore[misc]
            finally:
                await fresh.close()
        entry = make_entry(
            creds,
            **{
                CONF_STATUS_INTERVAL: MAX_STATUS_INTERVAL,
                CONF_EVENT_POLL_INTERVAL: MAX_EVENT_POLL_INTERVAL,
            },
        )
        entry.add_to_hass(hass)
        figures = await _setup_twice(hass, entry)
    record(
        bench_results,
        "p4",
        size=size,
        rep=rep,
        bare_setup_wall=statistics.median(w for w, _ in bare),
        bare_setup_cpu=statistics.median(c for _, c in bare),
        **figures,
    )


class GcClock:
    """Wall time spent in the garbage collector, and full (generation 2) collections, while active.

    A full collection walks every tracked object of the process, so its cost is the heap's, not the
    allocation's that happened to trigger it: it is reported next to each setup, not subtracted."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info["generation"] == 2


def _settle_heap() -> None:
    """Collect, then keep what exists from the collector's walks during the measured setup.

    The test harness keeps earlier tests' Home Assistant instances alive (up to 4 here, held by
    argument tuples the collector cannot see), so without this a full collection inside a setup
    walks a heap that grows from case to case, and the side that happens to collect pays for it.
    Frozen, both sides' collections walk only what their own setup allocates. The harness itself
    freezes once per module on newer versions."""
    gc.collect()
    gc.freeze()


async def _setup_twice(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """First setup (empty registries) and a restart (same setup after an unload), wall and CPU,
    each until every enabled entity of the entry has a state that is not unavailable, with the
    garbage collector's share of each (collected and frozen before each: ``_settle_heap``)."""

    async def do_setup() -> None:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

    try:
        _settle_heap()
        with GcClock() as setup_gc:
            setup_wall, setup_cpu = await measure(do_setup)
        enabled, available = entity_availability(hass, entry.entry_id)
        assert available == enabled > 0
        registry_entities = len(
            er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        )
        devices = len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id))
        await unload_entry(hass, entry)
        _settle_heap()
        with GcClock() as restart_gc:
            restart_wall, restart_cpu = await measure(do_setup)
        assert entity_availability(hass, entry.entry_id)[1] == enabled
        await unload_entry(hass, entry)
    finally:
        # What was frozen becomes collectable again: garbage among it is freed, not kept for the
        # rest of the session.
        gc.unfreeze()
    return {
        "entities": enabled,
        "registry_entities": registry_entities,
        "devices": devices,
        "setup_wall": setup_wall,
        "setup_cpu": setup_cpu,
        "setup_gc": setup_gc.seconds,
        "setup_full_gcs": setup_gc.full,
        "restart_wall": restart_wall,
        "restart_cpu": restart_cpu,
        "restart_gc": restart_gc.seconds,
        "restart_full_gcs": restart_gc.full,
    }


# --- P4: where the integration's own setup time goes (cProfile) ---------------------------------

PROFILE_TOP = 15
_OWN_CODE = "custom_components/salto_ks/"


_PROFILED_HA = {
    "_async_add_entity",
    "async_get_or_create",
    "async_update_device",
    "_async_write_ha_state",
    "async_generate_entity_id",
}


@pytest.mark.parametrize("sim_process", SIZES[-1:], indirect=True, ids=lambda n: f"locks{n}")
async def test_p4_profile(
    hass: HomeAssistant, sim_process: SimProcess, bench_results: list[dict[str, Any]]
) -> None:
    """cProfile of the first setup (empty registries) and of a restart at the largest size: the
    integration's functions by cumulative and by own time, and HA's per-entity work for scale.

    The garbage collector is off while profiling (collected before and after), so that its pauses
    are not charged to whichever function happened to allocate. Profiled times are inflated by the
    profiler (~2x): compare them with each other, not with the P4 table. With
    ``SALTO_BENCH_PROFILE_DIR`` set, the raw stats are also written there (``pstats`` files)."""
    creds = sim_process.credentials
    size = len((await _state(sim_process))["locks"])
    entry = make_entry(
        creds,
        **{
            CONF_STATUS_INTERVAL: MAX_STATUS_INTERVAL,
            CONF_EVENT_POLL_INTERVAL: MAX_EVENT_POLL_INTERVAL,
        },
    )
    entry.add_to_hass(hass)
    profiles: dict[str, Any] = {}
    for phase in ("first_setup", "restart"):
        gc.collect()
        gc.disable()
        profiler = cProfile.Profile()
        wall = time.perf_counter()
        try:
            profiler.enable()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            profiler.disable()
        finally:
            gc.enable()
        wall = time.perf_counter() - wall
        await unload_entry(hass, entry)
        if out_dir := os.environ.get("SALTO_BENCH_PROFILE_DIR"):
            profiler.dump_stats(os.path.join(out_dir, f"p4_{phase}_{size}.pstats"))
        profiles[phase] = _profile_summary(pstats.Stats(profiler), wall)
    record(bench_results, "p4_profile", size=size, **profiles)


def _profile_summary(stats: pstats.Stats, wall: float) -> dict[str, Any]:
    rows = [
        (path.replace("\\", "/"), line, name, ncalls, tottime, cumtime)
        for (path, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    own = [r for r in rows if _OWN_CODE in r[0]]
    ha = [r for r in rows if r[2] in _PROFILED_HA and "homeassistant/helpers/" in r[0]]

    def fmt(r: tuple[str, int, str, int, float, float]) -> dict[str, Any]:
        path = r[0]
        if _OWN_CODE in path:
            path = path[path.find(_OWN_CODE) + len(_OWN_CODE) :]
        elif "site-packages/" in path:
            path = path.split("site-packages/", 1)[1]
        return {
            "function": f"{path}:{r[1]}({r[2]})",
            "calls": r[3],
            "self_ms": round(r[4] * 1000, 1),
            "cumulative_ms": round(r[5] * 1000, 1),
        }

    return {
        "profiled_wall_ms": round(wall * 1000, 1),
        "profiled_total_ms": round(stats.total_tt * 1000, 1),  # type: ignore[attr-defined]
        "own_self_ms": round(sum(r[4] for r in own) * 1000, 1),
        "top": [fmt(r) for r in sorted(own, key=lambda r: -r[5])[:PROFILE_TOP]],
        "top_self": [fmt(r) for r in sorted(own, key=lambda r: -r[4])[:PROFILE_TOP]],
        "home_assistant": [fmt(r) for r in sorted(ha, key=lambda r: -r[5])],
    }


# --- memory -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sim_process", SIZES, indirect=True, ids=lambda n: f"locks{n}")
async def test_memory(
    hass: HomeAssistant, sim_process: SimProcess, bench_results: list[dict[str, Any]]
) -> None:
    """tracemalloc: Python heap allocated by setting the entry up and one roster poll.

    Started after hass exists, so only the entry's allocations are traced; the simulator runs in
    another process. ``current`` is what stays allocated, ``peak`` the high-water mark.
    """
    creds = sim_process.credentials
    size = len((await _state(sim_process))["locks"])
    entry = make_entry(
        creds,
        **{
            CONF_STATUS_INTERVAL: MAX_STATUS_INTERVAL,
            CONF_EVENT_POLL_INTERVAL: MAX_EVENT_POLL_INTERVAL,
        },
    )
    entry.add_to_hass(hass)
    gc.collect()
    rss_before = _rss()
    tracemalloc.start()
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await entry.runtime_data.roster.async_refresh()
        await hass.async_block_till_done()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_after = _rss()
    await unload_entry(hass, entry)
    record(
        bench_results,
        "memory",
        size=size,
        traced_current=current,
        traced_peak=peak,
        rss_delta=rss_after - rss_before,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"locks{n}")
async def test_memory_floor(
    hass: HomeAssistant, size: int, bench_results: list[dict[str, Any]]
) -> None:
    """The same tracemalloc figures for HA's floor of the same entity set (the bench-only
    integration of P4: same devices and entities, constant states, no network), in the same run."""
    sim = Simulator.from_scenario("large", seed=1, locks=size)
    mock_floor_integration(hass, sim)
    entry = MockConfigEntry(domain=FLOOR_DOMAIN, title="Bench floor", unique_id="floor")
    entry.add_to_hass(hass)
    with mock_config_flow(FLOOR_DOMAIN, _FloorFlow):
        gc.collect()
        tracemalloc.start()
        try:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        enabled, available = entity_availability(hass, entry.entry_id)
        assert available == enabled > 0
        await unload_entry(hass, entry)
    record(
        bench_results,
        "memory_floor",
        size=size,
        entities=enabled,
        traced_current=current,
        traced_peak=peak,
    )


def _rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


# --- what-if for P4: fewer entities enabled by default ------------------------------------------


@pytest.mark.parametrize("sim_process", SIZES[-1:], indirect=True, ids=lambda n: f"locks{n}")
async def test_p4_whatif_lock_binary_sensors_disabled(
    hass: HomeAssistant, sim_process: SimProcess, bench_results: list[dict[str, Any]]
) -> None:
    """P4 again with the five per-lock binary sensors disabled by default (a proposed change,
    applied here by replacing their descriptions; the integration's code is not edited)."""
    import dataclasses
    from unittest.mock import patch

    from custom_components.salto_ks import binary_sensor
    from custom_components.salto_ks.entity import described_platform_setup

    creds = sim_process.credentials
    size = len((await _state(sim_process))["locks"])
    bare: list[tuple[float, float]] = []
    for _ in range(3):
        fresh = aiohttp.ClientSession()
        try:
            bare.append(await measure(lambda s=fresh: _token_and_roster(s, creds)))  # type: ignore[misc]
        finally:
            await fresh.close()
    disabled = tuple(
        dataclasses.replace(d, entity_registry_enabled_default=False)
        for d in binary_sensor.LOCK_BINARY_SENSORS
    )
    entry = make_entry(
        creds,
        **{
            CONF_STATUS_INTERVAL: MAX_STATUS_INTERVAL,
            CONF_EVENT_POLL_INTERVAL: MAX_EVENT_POLL_INTERVAL,
        },
    )
    entry.add_to_hass(hass)
    # The platform's setup was built from the descriptions at import: replace the setup itself.
    setup_disabled = described_platform_setup(
        binary_sensor.SaltoBinarySensor, locks=disabled, iqs=binary_sensor.IQ_BINARY_SENSORS
    )
    with patch.object(binary_sensor, "_async_setup_described", setup_disabled):
        figures = await _setup_twice(hass, entry)
    record(
        bench_results,
        "p4_whatif",
        size=size,
        change="lock binary sensors disabled by default",
        entities=figures["entities"],
        setup_wall=figures["setup_wall"],
        setup_cpu=figures["setup_cpu"],
        restart_wall=figures["restart_wall"],
        bare_setup_wall=statistics.median(w for w, _ in bare),
    )
