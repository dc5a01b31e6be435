"""Scale: a site of SALTO_BENCH_SCALE locks (default 10,000) sets up, polls and delivers an audit
burst, with the longest event-loop slice of each phase (docs/benchmarks.md, "Scale").

A slice is one run of one callback or one task step on the event loop: nothing else runs on the
loop meanwhile, so the longest slice is the longest stall the integration can cause (target
≤ 50 ms). Measured by timing every ``asyncio.Handle._run`` while a phase runs; the simulator is a
subprocess, so every slice here is Home Assistant's or the integration's.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from custom_components.salto_ks.const import (
    CONF_EVENT_POLL_INTERVAL,
    CONF_STATUS_INTERVAL,
    MAX_EVENT_POLL_INTERVAL,
    MAX_STATUS_INTERVAL,
)

from .conftest import start_sim
from .test_bench import (
    EVENT_SALTO_KS,
    bare_roster,
    bare_token,
    entity_availability,
    make_entry,
    measure,
    record,
    unload_entry,
)

pytestmark = [pytest.mark.bench]

SCALE = int(os.environ.get("SALTO_BENCH_SCALE", "10000"))
SLICE_TARGET_MS = 50.0
BURST_ROWS = 1000
POLLS = 5


class LoopSlices:
    """The longest slices of the event loop while active: (milliseconds, what ran), without the
    garbage collector's pauses inside them, and the longest of those pauses apart.

    A full collection walks the whole heap (~90,000 entities at 10,000 locks) and lands in whichever
    slice happened to allocate at the time, the test's own bare fetch included: it is the heap's
    cost, reported as ``gc_max_ms``, not the slice's.

    Each of the longest slices also keeps the loop thread's minor page faults in it (memory the process
    touches for the first time) and its kernel time, and the entity registry's and state machine's
    sizes before and after it (``sizes``):
    a Python dict grows its table when it passes two thirds of it, and Home Assistant keeps several
    dicts of one entry per entity."""

    def __init__(self, sizes: Callable[[], tuple[int, int]]) -> None:
        self.sizes = sizes
        self.longest: list[
            tuple[float, str, tuple[int, float], tuple[int, int], tuple[int, int]]
        ] = []
        self.count = 0
        self.gc_max_ms = 0.0
        self.gc_total_ms = 0.0
        self._gc_in_slice = 0.0
        self._gc_started = 0.0
        # Set when the measured block ends: the step that ends it goes on with the test's own
        # code (counting 90,400 states, say), which is no slice of the integration's.
        self.closed = False

    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        pause = time.perf_counter() - self._gc_started
        self._gc_in_slice += pause
        self.gc_total_ms += pause * 1000
        self.gc_max_ms = max(self.gc_max_ms, pause * 1000)

    def run(self, original: Callable[[asyncio.Handle], None], handle: asyncio.Handle) -> None:
        self._gc_in_slice = 0.0
        callback_ = handle._callback  # a handle may forget it while it runs (cancel)
        sizes = self.sizes()
        before = resource.getrusage(resource.RUSAGE_THREAD)
        started = time.perf_counter()
        try:
            original(handle)
        finally:
            ms = (time.perf_counter() - started - self._gc_in_slice) * 1000
            after = resource.getrusage(resource.RUSAGE_THREAD)
            kernel = (after.ru_minflt - before.ru_minflt, after.ru_stime - before.ru_stime)
            if not self.closed:
                self._record(ms, callback_, kernel, sizes)

    def _record(
        self, ms: float, callback_: Any, kernel: tuple[int, float], sizes: tuple[int, int]
    ) -> None:
        self.count += 1
        if len(self.longest) < 5 or ms > self.longest[-1][0]:
            self.longest.append((ms, _describe(callback_), kernel, sizes, self.sizes()))
            self.longest.sort(key=lambda item: -item[0])
            del self.longest[5:]

    @property
    def max_ms(self) -> float:
        return round(self.longest[0][0], 1) if self.longest else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "slices": self.count,
            "max_ms": self.max_ms,
            "gc_max_ms": round(self.gc_max_ms, 1),
            "gc_total_ms": round(self.gc_total_ms, 1),
            "longest": [
                {
                    "ms": round(ms, 1),
                    "callback": what,
                    "minor_faults": kernel[0],
                    "kernel_ms": round(kernel[1] * 1000, 1),
                    "registry_entities": [before[0], after[0]],
                    "states": [before[1], after[1]],
                }
                for ms, what, kernel, before, after in self.longest
            ],
        }


def _describe(callback_: Any) -> str:
    while isinstance(callback_, functools.partial):
        callback_ = callback_.func
    owner = getattr(callback_, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        if code is not None:
            return f"task {code.co_qualname} ({os.path.basename(code.co_filename)})"
        return f"task {owner.get_name()}"
    qualname = getattr(callback_, "__qualname__", None)
    module = getattr(callback_, "__module__", None)
    if qualname is not None:
        return f"{module}.{qualname}"
    return repr(callback_)[:160]


@contextmanager
def loop_slices(sizes: Callable[[], tuple[int, int]]) -> Iterator[LoopSlices]:
    """Time every callback and task step the loop runs inside the block."""
    slices = LoopSlices(sizes)
    original = asyncio.Handle._run

    def timed_run(handle: asyncio.Handle) -> None:
        slices.run(original, handle)

    asyncio.Handle._run = timed_run  # type: ignore[method-assign]
    gc.callbacks.append(slices.gc_callback)
    try:
        yield slices
    finally:
        slices.closed = True
        gc.callbacks.remove(slices.gc_callback)
        asyncio.Handle._run = original  # type: ignore[method-assign]


@pytest.mark.timeout(1800)
async def test_scale(
    hass: HomeAssistant, socket_enabled: None, bench_results: list[dict[str, Any]]
) -> None:
    """Setup, idle roster polls and a burst of access rows at SCALE locks, each with its longest
    loop slice; P3 (idle poll CPU vs the bare fetch + parse) at that size on the way."""
    async with start_sim(SCALE) as sim:
        creds = sim.credentials
        entry = make_entry(
            creds,
            **{
                CONF_STATUS_INTERVAL: MAX_STATUS_INTERVAL,
                CONF_EVENT_POLL_INTERVAL: MAX_EVENT_POLL_INTERVAL,
            },
        )
        entry.add_to_hass(hass)
        entity_registry = er.async_get(hass)

        def sizes() -> tuple[int, int]:
            return len(entity_registry.entities), hass.states.async_entity_ids_count()

        async def do_setup() -> None:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()

        with loop_slices(sizes) as setup_slices:
            setup_wall, setup_cpu = await measure(do_setup)
        enabled, available = entity_availability(hass, entry.entry_id)
        assert available == enabled > 0

        roster = entry.runtime_data.roster
        session = aiohttp.ClientSession()
        try:
            token = await bare_token(session, creds)
            await bare_roster(session, creds, token)
            poll_cpu: list[float] = []
            bare_cpu: list[float] = []

            async def roster_poll() -> None:
                await roster.async_refresh()
                await hass.async_block_till_done()

            with loop_slices(sizes) as poll_slices:
                for _ in range(POLLS):
                    poll_cpu.append((await measure(roster_poll))[1])
                    bare_cpu.append((await measure(lambda: bare_roster(session, creds, token)))[1])
            assert roster.last_update_success

            # A burst of access rows, all readable at once: the audit feed delivers each one.
            state = await sim.control(session, "GET", "state")
            lock_ids = [lock["id"] for lock in state["locks"]]
            delivered: list[str] = []

            @callback
            def on_event(event: Event) -> None:
                delivered.append(event.data.get("entry_id", ""))

            unsub = hass.bus.async_listen(EVENT_SALTO_KS, on_event)
            for n in range(BURST_ROWS):
                await sim.control(
                    session,
                    "POST",
                    "entries",
                    json={
                        "lock_id": lock_ids[n % len(lock_ids)],
                        "event_category": "lock_opened",
                        "access_by": "app",
                    },
                )
            audit = entry.runtime_data.audit
            started = time.perf_counter()
            with loop_slices(sizes) as burst_slices:
                for _ in range(50):
                    await audit.async_refresh()
                    await hass.async_block_till_done()
                    if len(delivered) >= BURST_ROWS:
                        break
            burst_wall = time.perf_counter() - started
            unsub()
            assert len(delivered) == BURST_ROWS
            assert len(set(delivered)) == BURST_ROWS
        finally:
            await session.close()
        await unload_entry(hass, entry)
    record(
        bench_results,
        "scale",
        size=SCALE,
        entities=enabled,
        setup_wall=setup_wall,
        setup_cpu=setup_cpu,
        poll_cpu=statistics.median(poll_cpu),
        bare_cpu=statistics.median(bare_cpu),
        burst_rows=BURST_ROWS,
        burst_wall=burst_wall,
        slice_target_ms=SLICE_TARGET_MS,
        setup_slices=setup_slices.summary(),
        poll_slices=poll_slices.summary(),
        burst_slices=burst_slices.summary(),
    )
