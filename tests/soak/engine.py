"""The fault-injection soak: Home Assistant + the integration against the simulator, on a frozen clock.

``Soak(hass, freezer, hass_storage, SoakConfig(...)).run()`` returns the figures ``scripts/soak`` prints
(``scripts/soak_report.py``) and ``test_soak_short.py`` asserts. What is measured and why is in
``docs/reliability.md``.

Time: the test clock is frozen (``freezer``) and moved in steps of ``step`` seconds with
``async_fire_time_changed``; Home Assistant's loop clock, the client's ``time.monotonic()`` and the
simulator's clock all move together. A ``timeout`` fault parks a request in the simulator; the driver
sees it (``sim.monitor.parked``) and moves the clock just past the client's request timeout (10 s,
not configurable through the integration), so a timeout costs no wall-clock time.

Rows: groups of rows at random seconds on random locks (``rate`` rows per simulated second, halved
during the outage so that its backlog stays well under the documented 2,000-row bound); some groups
share one second, and some of those get one more row at that second right after a poll ("late"
rows the cursor's ids must catch).

Faults, all from the simulator: on every endpoint (token endpoint included) 10 % 5xx (500/502/503),
5 % timeouts, 1 % malformed JSON; 429 bursts (1-3 answers in a row, Retry-After 5-125 s); every
token expired every 2-5 minutes (sometimes the refresh tokens too), tokens living 15 minutes; a
10-minute outage (503 everywhere); one Home Assistant restart (unload, two minutes down, set up
again on the same storage). The event stream is on (``stream``): its hub gets the random faults too,
every open connection is dropped (1006) every 2-5 minutes, tokens expire on open connections (the
reconnect after a drop meets the 401), and each minute the pushes are shaped anew: as they are,
sent twice, ahead of the log (``lead``: readable from the log only seconds later) or behind it
(``delay``). The random faults pause for two roster intervals after the outage so
that the recovery figure measures the integration, not the dice; the run ends with a fault-free
drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.salto_ks.api.const import DEFAULT_REQUEST_TIMEOUT
from custom_components.salto_ks.audit_feed import AUDIT_BACKLOG_LIMIT
from custom_components.salto_ks.audit_rows import EVENT_SALTO_KS
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
)
from simulator import Simulator
from simulator.faults import Fault

# The clock jump that makes a parked request time out: aiohttp rounds a timeout of 5 s or more up
# to the next whole second of the loop clock.
TIMEOUT_JUMP = DEFAULT_REQUEST_TIMEOUT + 1.05
# A timeout fault holds the answer this long: past the client's timeout (and the jump above).
TIMEOUT_DELAY = DEFAULT_REQUEST_TIMEOUT + 5.0
# Loop turns without progress before the clock jumps for a parked request.
IDLE_SPINS = 50
RETRY_AFTERS = (5.0, 30.0, 61.0, 125.0)
OUTAGE_MARKER_BATTERY = ("critical", "5")  # lock 0's battery during the outage, and its % state

# Messages of Home Assistant / asyncio / the integration that mean an exception nobody handled.
_UNHANDLED = re.compile(
    r"Unexpected error|Error doing job|Task exception was never retrieved|Exception in callback|"
    r"Uncaught|Error (delivering|setting up|unloading)"
)
# The simulator runs in the same process; its server-side complaints are not the integration's.
_SIMULATOR_LOGGERS = ("aiohttp.server", "aiohttp.access", "aiohttp.web", "simulator")


def _wall() -> float:
    """Wall-clock seconds (freezegun freezes time.monotonic and time.perf_counter, not this)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass(frozen=True)
class SoakConfig:
    """What one soak run does; ``rows``, ``locks`` and ``seed`` are the knobs of ``scripts/soak``."""

    rows: int = 500
    locks: int = 5
    seed: int = 1
    rate: float = 0.2  # rows per simulated second (half of it during the outage)
    step: float = 5.0  # seconds per clock step
    p_5xx: float = 0.10
    p_timeout: float = 0.05
    p_malformed: float = 0.01
    outage: float = 600.0
    restart_down: float = 120.0
    token_expiry: tuple[float, float] = (120.0, 300.0)
    token_lifetime: int = 900
    burst_every: float = 2700.0  # one 429 burst per this many simulated seconds (at least 2)
    shared_fraction: float = 0.3  # groups of 2-4 rows at one second
    late_fraction: float = 0.4  # shared groups that get one more row right after a poll
    status_interval: int = DEFAULT_STATUS_INTERVAL
    event_interval: int = DEFAULT_EVENT_POLL_INTERVAL
    stream: bool = True
    drop_every: tuple[float, float] = (120.0, 300.0)  # seconds between stream drops
    shape_every: float = 60.0  # the pushes' shape (normal, twice, ahead, behind) changes this often


@dataclass
class _Row:
    at: int  # seconds after the start
    lock: int
    late: bool = False


class _Capture(logging.Handler):
    """Every log record of the run, formatted (with tracebacks), for the secret and exception scan."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.records: list[tuple[float, str, str]] = []  # (created, logger, message), in order
        self.unhandled: list[str] = []
        self.simulator_side = 0
        self.debug_tracebacks = 0
        self.levels: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.lines.append(text)
        self.records.append((record.created, record.name, record.getMessage()))
        self.levels[record.levelname] += 1
        # A traceback at WARNING or above, or a message that says so. HA >= 2025.x also logs each
        # handled UpdateFailed's traceback at DEBUG ("Full error:"): handled, counted apart.
        unhandled = (record.exc_info is not None and record.levelno >= logging.WARNING) or bool(
            _UNHANDLED.search(record.getMessage())
        )
        if record.exc_info is not None and not unhandled:
            self.debug_tracebacks += 1
        if record.name.startswith(_SIMULATOR_LOGGERS):
            self.simulator_side += unhandled
            return
        if unhandled:
            self.unhandled.append(text.splitlines()[0][:300])


_SENT_API = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) (/\S*) (\{.*\})?$")
_ANSWERED_429 = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) (/\S*) answered 429$")
_SENT_TOKEN = "Requesting a token"


def early_from_client_log(
    records: list[tuple[float, str, str]], answers: list[Any]
) -> list[dict[str, Any]]:
    """Requests the client logged as sent after it had logged receiving a 429, before its deadline.

    The client's debug log is its own order of events ("GET <path> …" before sending, "… answered
    429" after receiving, "Requesting a token …" before a token request); the Retry-After of each
    429 comes from the simulator's answers (same instant). An API 429 covers token requests too; a
    token 429 covers the token requests after the one it answered.
    """
    api_waits: dict[float, float] = {}
    token_waits: dict[float, float] = {}
    for answer in answers:
        waits = api_waits if answer.channel == "api" else token_waits
        key = round(answer.at, 3)
        waits[key] = max(waits.get(key, 0.0), answer.retry_after)
    api_deadline = token_deadline = float("-inf")
    early: list[dict[str, Any]] = []
    for created, name, message in records:
        if not name.startswith("custom_components.salto_ks.api"):
            continue
        key = round(created, 3)
        if _ANSWERED_429.match(message):
            api_deadline = max(api_deadline, created + api_waits.get(key, 0.0))
        elif _SENT_API.match(message):
            if created < api_deadline:
                early.append({"at": created, "request": message[:120], "deadline": api_deadline})
        elif message.startswith(_SENT_TOKEN):
            if created < max(api_deadline, token_deadline):
                early.append(
                    {
                        "at": created,
                        "request": message[:60],
                        "deadline": max(api_deadline, token_deadline),
                    }
                )
            if key in token_waits:  # this request may be the one the identity server refused
                token_deadline = max(token_deadline, created + token_waits.pop(key))
    return early


class Soak:
    """One soak run; see the module docstring."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        hass_storage: dict[str, Any],
        config: SoakConfig,
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.storage = hass_storage
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.sim = Simulator.from_scenario("large", seed=config.seed, locks=config.locks)
        self.sim.tenant.token_lifetime = config.token_lifetime
        self.sim.tenant.refresh_tokens = True  # the soak expires refresh tokens too
        self.entry: MockConfigEntry | None = None
        self.t0 = 0.0
        self.rows: list[_Row] = []
        self.generated: dict[str, float] = {}  # entry id -> second it was written (epoch)
        self.late_rows = 0
        self.shared_rows = 0
        self.deliveries: list[tuple[str, float]] = []  # (entry id, epoch when fired)
        self.random_faults: list[Fault] = []
        self.log = _Capture()
        self.loop_exceptions: list[str] = []
        self.timeline: list[dict[str, Any]] = []
        self.token_expiries = 0
        self.bursts = 0
        self.recovery_states: float | None = None
        self.outage_end = 0.0
        self.restart: dict[str, Any] = {}
        self.skipped_by_bound = 0
        self.drops = 0
        self.stream_figures: Counter[str] = Counter()
        self.connected_steps: Counter[bool] = Counter()
        self.shapes: Counter[str] = Counter()
        self.paths: dict[str, str] = {}  # entry id -> path of its (first) delivery
        self._seen_delivered: dict[str, int] = {}
        self._last_path = "poll"

    # -- helpers ---------------------------------------------------------------------------------

    def _now(self) -> float:
        return time.time()

    def _rel(self) -> float:
        return round(self._now() - self.t0, 3)

    def _advance(self, seconds: float) -> None:
        self.freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(self.hass)

    async def _settle(self) -> None:
        """Wait until Home Assistant and the event stream are idle; move the clock past the client's
        timeout whenever a request of Home Assistant's sits in a ``timeout`` fault (on a frozen clock
        it would wait forever).

        The clock only moves once nothing else progresses (no new log record, request or parked
        request for ``IDLE_SPINS`` loop turns): answers already on their way, e.g. a concurrent 429,
        are read first, as they would be within the 10 s a real timeout takes. The stream's
        connection task is none of Home Assistant's tasks: what it started (a negotiation, a
        handshake, a push on its way) is let run until nothing progresses, else the next clock step
        would time it out.
        """
        while True:
            await self._settle_hass()
            if not await self._spin_until_idle():
                return

    def _progress(self) -> tuple[int, int, int, int]:
        return (
            len(self.log.records),
            self.sim.monitor.requests,
            len(self.sim.monitor.parked),
            len(self.deliveries),
        )

    async def _spin_until_idle(self) -> bool:
        """Turn the loop until nothing progresses for ``IDLE_SPINS`` turns; whether anything did."""
        idle, last, moved = 0, self._progress(), False
        while idle < IDLE_SPINS:
            await asyncio.sleep(0)
            progress = self._progress()
            if progress == last:
                idle += 1
            else:
                idle, last, moved = 0, progress, True
        return moved

    async def _settle_hass(self) -> None:
        waiter = asyncio.ensure_future(self.hass.async_block_till_done(wait_background_tasks=True))
        idle, last = 0, None
        while not waiter.done():
            await asyncio.sleep(0)
            progress = self._progress()
            idle = idle + 1 if progress == last else 0
            last = progress
            if idle < IDLE_SPINS:
                continue
            now = self._now()
            ahead = [
                at + TIMEOUT_JUMP
                for at in self.sim.monitor.parked.values()
                if at + TIMEOUT_JUMP > now
            ]
            if ahead:
                self._advance(min(ahead) - now)
                idle = 0
        await waiter

    def _note(self, what: str, **data: Any) -> None:
        self.timeline.append({"t": self._rel(), "what": what, **data})

    # -- schedule --------------------------------------------------------------------------------

    def _plan(self) -> None:
        cfg = self.cfg
        span = cfg.rows / cfg.rate
        self.outage_start = cfg.step * round(0.3 * span / cfg.step)
        if self.outage_start % cfg.event_interval == 0:
            # End the outage just after a failed poll, not on the polls' grid: the recovery figure
            # then includes the wait for the next poll instead of being 0 by luck of phase.
            self.outage_start += cfg.step
        self.outage_stop = self.outage_start + cfg.outage
        self.calm_until = self.outage_stop + 2 * cfg.status_interval
        self.restart_at = cfg.step * round(0.65 * span / cfg.step)
        self.restart_up = self.restart_at + cfg.restart_down
        # Rows: groups at random seconds.
        at = 0.0
        mean_group = 1 + cfg.shared_fraction * 2  # sizes 1, or 2-4 (mean 3)
        while len(self.rows) < cfg.rows:
            quiet = self.outage_start - 60 <= at <= self.outage_stop + 60
            rate = cfg.rate / (2 if quiet else 1)
            at += max(1.0, self.rng.expovariate(rate / mean_group))
            second = math.ceil(at)
            size = self.rng.randint(2, 4) if self.rng.random() < cfg.shared_fraction else 1
            size = min(size, cfg.rows - len(self.rows))
            late = size > 1 and self.rng.random() < cfg.late_fraction
            for n in range(size):
                self.rows.append(
                    _Row(second, self.rng.randrange(cfg.locks), late and n == size - 1)
                )
        self.end = self.rows[-1].at + cfg.step
        self.shared_rows = sum(
            1
            for n, row in enumerate(self.rows)
            if (n and self.rows[n - 1].at == row.at)
            or (n + 1 < len(self.rows) and self.rows[n + 1].at == row.at)
        )
        # 429 bursts, spread over the time away from the outage and the restart.
        quiet = 300.0
        segments = [
            (quiet, self.outage_start - quiet),
            (self.calm_until + quiet, self.restart_at - quiet),
            (self.restart_up + quiet, self.end - quiet),
        ]
        segments = [(a, b) for a, b in segments if b > a]
        total = sum(b - a for a, b in segments)
        count = max(2, int(self.end / cfg.burst_every))
        self.burst_times = []
        for n in range(count):
            offset = (n + 0.5) / count * total
            for a, b in segments:
                if offset <= b - a:
                    self.burst_times.append(cfg.step * round((a + offset) / cfg.step))
                    break
                offset -= b - a
        self.expiry_times = []
        when = 0.0
        while when < self.end:
            when += self.rng.uniform(*cfg.token_expiry)
            self.expiry_times.append(when)
        self.drop_times = []
        when = 0.0
        while cfg.stream and when < self.end:
            when += self.rng.uniform(*cfg.drop_every)
            self.drop_times.append(when)

    # -- faults ----------------------------------------------------------------------------------

    def _add_random_faults(self) -> None:
        cfg = self.cfg
        remaining = 1.0
        plan = [
            ("500", cfg.p_5xx / 3),
            ("502", cfg.p_5xx / 3),
            ("503", cfg.p_5xx / 3),
            ("timeout", cfg.p_timeout),
            ("malformed", cfg.p_malformed),
        ]
        for kind, marginal in plan:
            # Faults are tried in order: conditional probabilities give the marginal ones.
            fault = self.sim.faults.add(
                "*",
                kind,
                probability=min(1.0, marginal / remaining),
                delay=TIMEOUT_DELAY if kind == "timeout" else None,
            )
            remaining -= marginal
            self.random_faults.append(fault)

    def _remove_random_faults(self) -> None:
        for fault in self.random_faults:
            with contextlib.suppress(ValueError):
                self.sim.faults.faults.remove(fault)
        self.random_faults = []

    def _front(self, fault: Fault) -> Fault:
        """Put a fault before the random ones (they are tried in order)."""
        self.sim.faults.faults.remove(fault)
        self.sim.faults.faults.insert(0, fault)
        return fault

    def _burst(self) -> None:
        answers = self.rng.randint(1, 3)
        waits = [self.rng.choice(RETRY_AFTERS) for _ in range(answers)]
        for wait in reversed(waits):
            self._front(self.sim.faults.add("*", "429", times=1, retry_after=wait))
        self.bursts += 1
        self._note("429 burst", retry_after=waits)

    def _shape_pushes(self) -> None:
        """Pushes as they are (half the time), twice, ahead of the log or behind it."""
        pick = self.rng.random()
        if pick < 0.5:
            shape, settings = "normal", {"duplicate": 1, "lead": 0.0, "delay": 0.0}
        elif pick < 0.7:
            shape, settings = "duplicate", {"duplicate": 2, "lead": 0.0, "delay": 0.0}
        elif pick < 0.85:
            lead = float(self.rng.randint(1, 8))
            shape, settings = "ahead_of_log", {"duplicate": 1, "lead": lead, "delay": 0.0}
        else:
            delay = float(self.rng.randint(1, 8))
            shape, settings = "behind_log", {"duplicate": 1, "lead": 0.0, "delay": delay}
        self.sim.stream.update(**settings)
        self.shapes[shape] += 1
        self._note("pushes " + shape, **settings)

    # -- rows ------------------------------------------------------------------------------------

    def _write(self, row: _Row) -> None:
        sim = self.sim
        lock_id = self.lock_ids[row.lock]
        utc = datetime.fromtimestamp(self.t0 + row.at, UTC)
        user = self.rng.choice(self.user_ids)
        pick = self.rng.random()
        if pick < 0.40:
            entry = sim.open_by(lock_id, user, self.rng.choice(("tag", "pin_code", "app")), utc=utc)
        elif pick < 0.45:
            entry = sim.open_by(lock_id, user, "remote", utc=utc)
        elif pick < 0.55:
            entry = sim.open_by(lock_id, None, "inside_handle", utc=utc)
        elif pick < 0.70:
            entry = sim.reject(lock_id, user, utc=utc)
        else:
            category, detail = self.rng.choice(
                (
                    ("easy_office_mode", "start"),
                    ("easy_office_mode", "end"),
                    ("privacy_mode", "start"),
                    ("privacy_mode", "end"),
                    ("door_left_open", None),
                    ("intrusion", None),
                    ("tamper", None),
                    ("low_battery", None),
                )
            )
            entry = sim.add_entry(
                lock_id=lock_id, event_category=category, event_detail=detail, utc=utc
            )
        self.generated[entry["id"]] = self.t0 + row.at

    def _write_due(self, *, late: bool) -> None:
        """Write the rows due by now: the on-time ones, or (after the polls) the late one.

        A late row is the last of a group sharing one second; it is written after the polls of the
        step, at that second, when that second is still the newest written (else it is on time).
        """
        limit = self._rel()
        rows = self.rows
        while self._next_row < len(rows) and rows[self._next_row].at <= limit:
            row = rows[self._next_row]
            if row.late:
                newest = self._next_row + 1 >= len(rows) or rows[self._next_row + 1].at > limit
                if not newest:
                    row.late = False
                elif not late:
                    return
            elif late:
                return
            self._write(row)
            self._next_row += 1
            if row.late:
                self.late_rows += 1
                return

    # -- Home Assistant --------------------------------------------------------------------------

    @callback
    def _on_event(self, event: Event) -> None:
        entry_id = event.data["entry_id"]
        self.deliveries.append((entry_id, self._now()))
        self.paths.setdefault(entry_id, self._path())

    def _path(self) -> str:
        """The path of the row being delivered: the feed counts a delivery by path just before it
        fires the rows (one by one for the stream, a batch for a poll)."""
        entry = self.entry
        audit = (
            entry.runtime_data.audit if entry and entry.state is ConfigEntryState.LOADED else None
        )
        if audit is None:
            return self._last_path
        for path, count in audit.delivered.items():
            if count != self._seen_delivered.get(path, 0):
                self._last_path = path
        self._seen_delivered = dict(audit.delivered)
        return self._last_path

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.loop_exceptions.append(
            str(context.get("message")) + " " + repr(context.get("exception"))
        )
        if self._previous_handler is not None:
            self._previous_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    def _make_entry(self) -> MockConfigEntry:
        sim = self.sim
        return MockConfigEntry(
            domain=DOMAIN,
            title="Soak site",
            data={
                CONF_ENDPOINT: ENDPOINT_CUSTOM,
                CONF_API_BASE: sim.api_base,
                CONF_AUTH_URL: sim.auth_url,
                CONF_CLIENT_ID: sim.client_id,
                CONF_CLIENT_SECRET: sim.client_secret,
                CONF_USERNAME: sim.username,
                CONF_PASSWORD: sim.password,
                CONF_SITE_ID: sim.site_id,
                **({CONF_STREAM_URL: sim.stream_url} if self.cfg.stream else {}),
            },
            options={
                CONF_STATUS_INTERVAL: self.cfg.status_interval,
                CONF_EVENT_POLL_INTERVAL: self.cfg.event_interval,
                CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
                CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
            },
            unique_id=sim.site_id,
        )

    def _states_fresh(self) -> bool:
        """Every lock entity available and lock 0's battery showing the outage's change."""
        assert self.entry is not None
        if self.entry.state is not ConfigEntryState.LOADED:
            return False
        registry = er.async_get(self.hass)
        for lock_id in self.lock_ids:
            entity_id = registry.async_get_entity_id("lock", DOMAIN, lock_id)
            state = self.hass.states.get(entity_id) if entity_id else None
            if state is None or state.state == STATE_UNAVAILABLE:
                return False
        battery = registry.async_get_entity_id("sensor", DOMAIN, f"{self.lock_ids[0]}_battery")
        state = self.hass.states.get(battery) if battery else None
        return state is not None and state.state == OUTAGE_MARKER_BATTERY[1]

    async def _restart_down(self) -> None:
        assert self.entry is not None
        audit = (
            self.entry.runtime_data.audit if self.entry.state is ConfigEntryState.LOADED else None
        )
        cursor = audit.cursor.as_dict() if audit is not None and audit.cursor else None
        self._keep_stream_figures()
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()
        stored = self.storage.get(f"{DOMAIN}.{self.entry.entry_id}", {}).get("data", {})
        self.restart = {
            "at_s": self._rel(),
            "down_s": self.cfg.restart_down,
            "cursor_saved": cursor is not None and stored.get("cursor") == cursor,
        }
        self._note("HA stopped (unload)")

    def _count_connected(self) -> None:
        """One clock step more, with the stream connected or not."""
        entry = self.entry
        stream = (
            entry.runtime_data.stream if entry and entry.state is ConfigEntryState.LOADED else None
        )
        self.connected_steps[stream is not None and stream.connected] += 1

    def _keep_stream_figures(self) -> None:
        """Add the figures of the stream manager about to go (a restart replaces it)."""
        assert self.entry is not None
        stream = (
            self.entry.runtime_data.stream if self.entry.state is ConfigEntryState.LOADED else None
        )
        if stream is None:
            return
        for name, value in (
            ("reconnects", stream.reconnects),
            ("rows_streamed", stream.rows),
            ("pushes_already_delivered", stream.duplicates),
        ):
            self.stream_figures[name] += value

    def _restart_up(self) -> None:
        assert self.entry is not None
        self._restart_started = self._now()
        self._seen_delivered = {}  # the new feed counts from 0
        self.hass.async_create_task(self.hass.config_entries.async_setup(self.entry.entry_id))
        self._note("HA started (setup on the same storage)")

    # -- run -------------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Run the soak; returns the report (see ``scripts/soak_report.py``)."""
        hass = self.hass
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.freezer.move_to(start)
        wall = _wall()
        debug = hass.loop.get_debug()
        hass.loop.set_debug(False)  # production-like speed
        self._previous_handler = hass.loop.get_exception_handler()
        hass.loop.set_exception_handler(self._loop_exception)
        logger = logging.getLogger("custom_components.salto_ks")
        level = logger.level
        logger.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self.log)
        unlisten = hass.bus.async_listen(EVENT_SALTO_KS, self._on_event)
        await self.sim.start(host="127.0.0.1", port=0)
        try:
            return await self._run()
        finally:
            unlisten()
            if self.entry is not None and self.entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(self.entry.entry_id)
                await hass.async_block_till_done()
            await self.sim.stop()
            logging.getLogger().removeHandler(self.log)
            logger.setLevel(level)
            hass.loop.set_exception_handler(self._previous_handler)
            hass.loop.set_debug(debug)
            self.wall_s = _wall() - wall

    async def _run(self) -> dict[str, Any]:
        hass, cfg, sim = self.hass, self.cfg, self.sim
        self.lock_ids = [lock.id for lock in sim.state.locks_of(sim.site_id)]
        self.user_ids = [
            su.user.id for su in sim.state.site_users.values() if su.site_id == sim.site_id
        ]
        wall = _wall()
        # Clean start: the first setup places the cursor after the scenario's history.
        self.entry = self._make_entry()
        self.entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(self.entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        self.t0 = self._now()
        self._plan()
        self._next_row = 0
        self._add_random_faults()
        bursts, expiries = list(self.burst_times), list(self.expiry_times)
        drops, next_shape = list(self.drop_times), 0.0
        outage: Fault | None = None
        restarted = up = False
        while self._rel() < self.end or self._next_row < len(self.rows):
            target = cfg.step * (math.floor(self._rel() / cfg.step + 1e-9) + 1)
            self.freezer.tick(timedelta(seconds=target - self._rel()))
            t = self._rel()
            if outage is None and self.outage_start <= t < self.outage_stop:
                outage = self._front(sim.faults.add("*", "503"))
                self._note("outage starts")
            if outage is not None and t >= self.outage_stop and self.outage_end == 0.0:
                sim.faults.faults.remove(outage)
                self._remove_random_faults()
                self.outage_end = self.t0 + self.outage_stop
                self._note("outage ends; random faults paused")
            if (
                outage is not None
                and self.outage_start + cfg.outage / 2 <= t < self.outage_stop
                and sim.state.lock(self.lock_ids[0]).battery_level != OUTAGE_MARKER_BATTERY[0]
            ):
                sim.set_lock(self.lock_ids[0], battery_level=OUTAGE_MARKER_BATTERY[0])
            if self.outage_end and not self.random_faults and t >= self.calm_until:
                self._add_random_faults()
                self._note("random faults resume")
            while bursts and bursts[0] <= t:
                bursts.pop(0)
                self._burst()
            while expiries and expiries[0] <= t:
                expiries.pop(0)
                refresh = self.rng.random() < 0.25
                sim.expire_tokens(refresh=refresh)
                self.token_expiries += 1
            while drops and drops[0] <= t:
                drops.pop(0)
                self.drops += sim.stream.drop()
                self._note("stream drop")
            if cfg.stream and t >= next_shape:
                next_shape = t + cfg.shape_every
                self._shape_pushes()
            if not restarted and t >= self.restart_at:
                restarted = True
                await self._restart_down()
            if restarted and not up and t >= self.restart_up:
                up = True
                self._restart_up()
            self._write_due(late=False)
            async_fire_time_changed(hass)
            await self._settle()
            self._write_due(late=True)
            self._count_connected()
            if (
                up
                and "loaded_after_s" not in self.restart
                and self.entry.state is ConfigEntryState.LOADED
            ):
                self.restart["loaded_after_s"] = round(self._now() - self._restart_started, 3)
            if self.outage_end and self.recovery_states is None and self._states_fresh():
                self.recovery_states = round(self._now() - self.outage_end, 3)
        # Drain without faults: what is still undelivered after this is lost.
        self._remove_random_faults()
        sim.clear_faults()
        sim.stream.update(duplicate=1, lead=0.0, delay=0.0)
        self._note("drain (no faults)")
        drain_until = self._rel() + 2 * cfg.status_interval + cfg.event_interval
        while self._rel() < drain_until:
            self._advance(cfg.step)
            await self._settle()
        self.loop_wall_s = _wall() - wall
        return self._report()

    # -- report ----------------------------------------------------------------------------------

    def _report(self) -> dict[str, Any]:
        cfg, sim = self.cfg, self.sim
        delivered_ids = [entry_id for entry_id, _ in self.deliveries]
        counts = Counter(delivered_ids)
        generated = set(self.generated)
        lost = sorted(generated - set(counts))
        duplicated = sum(n - 1 for n in counts.values() if n > 1)
        unexpected = sorted(set(counts) - generated)
        first_fired: dict[str, float] = {}
        for entry_id, at in self.deliveries:
            first_fired.setdefault(entry_id, at)
        # Order: each row a poll delivered not older than the one it delivered before it (a row
        # the stream missed comes from the poll after newer streamed ones: that is the design).
        polled = [i for i, _ in self.deliveries if self.paths.get(i) == "poll"]
        order_violations = sum(
            1
            for a, b in itertools.pairwise(polled)
            if a in self.generated and b in self.generated and self.generated[b] < self.generated[a]
        )
        self._keep_stream_figures()
        by_path = Counter(self.paths.values())
        streamed = sorted(
            first_fired[i] - self.generated[i]
            for i, path in self.paths.items()
            if path == "stream" and i in self.generated
        )
        before_end = [i for i, at in self.generated.items() if at < self.outage_end]
        recovery_events: float | None = None
        if before_end and all(i in first_fired for i in before_end):
            recovery_events = round(
                max(0.0, max(first_fired[i] for i in before_end) - self.outage_end), 3
            )
        latencies = sorted(
            first_fired[i] - self.generated[i] for i in generated if i in first_fired
        )
        skipped = [line for line in self.log.lines if "the oldest were skipped" in line]
        secrets = {
            "client_secret": [sim.client_secret],
            "password": [sim.password],
            "tokens": list(sim.tokens.issued),
        }
        text = "\n".join(self.log.lines)
        found = {
            kind: sum(1 for s in values if s and s in text) for kind, values in secrets.items()
        }
        every = [s for values in secrets.values() for s in values if s]
        secret_lines: list[str] = []
        for line in self.log.lines:
            hits = [s for s in every if s in line]
            if hits and len(secret_lines) < 5:
                redacted = line
                for hit in hits:
                    redacted = redacted.replace(hit, "<SECRET>")
                secret_lines.append(redacted[:400])
        audit_store = str(self.storage.get(f"{DOMAIN}.{self.entry.entry_id}" if self.entry else ""))
        store_secrets = sum(
            1 for values in secrets.values() for s in values if s and s in audit_store
        )
        monitor = sim.monitor
        early_client = early_from_client_log(self.log.records, monitor.answers)
        figures = {
            "rows_generated": len(generated),
            "rows_delivered": len(counts),
            "rows_lost": len(lost),
            "rows_duplicated": duplicated,
            "early_requests": len(monitor.early),
            "early_requests_client_log": len(early_client),
            "recovery_states_s": self.recovery_states,
            "recovery_events_s": recovery_events,
            "unhandled_exceptions": len(self.log.unhandled) + len(self.loop_exceptions),
            "secrets_in_log": sum(found.values()),
        }
        targets = {
            "rows_lost": figures["rows_lost"] == 0,
            "rows_duplicated": figures["rows_duplicated"] == 0,
            "early_requests": figures["early_requests"] == 0,
            "early_requests_client_log": figures["early_requests_client_log"] == 0,
            "recovery_states_s": self.recovery_states is not None
            and self.recovery_states <= cfg.status_interval,
            "recovery_events_s": recovery_events is not None
            and recovery_events <= cfg.event_interval,
            "unhandled_exceptions": figures["unhandled_exceptions"] == 0,
            "secrets_in_log": figures["secrets_in_log"] == 0,
        }
        return {
            "config": {**asdict(self.cfg), "token_expiry": list(cfg.token_expiry)},
            "figures": figures,
            "targets": targets,
            "ok": all(targets.values()),
            "details": {
                "simulated_s": round(self._rel(), 1),
                "wall_s": round(self.loop_wall_s, 1),
                "locks": len(self.lock_ids),
                "rows_sharing_a_second": self.shared_rows,
                "rows_late_at_the_cursor_second": self.late_rows,
                "rows_unexpected": len(unexpected),
                "rows_skipped_by_backlog_bound": len(skipped),
                "backlog_bound": AUDIT_BACKLOG_LIMIT,
                "order_violations": order_violations,
                "stream": {
                    "on": cfg.stream,
                    "rows_by_path": dict(sorted(by_path.items())),
                    "drops": self.drops,
                    "connected_share": round(
                        self.connected_steps[True] / max(1, sum(self.connected_steps.values())), 3
                    ),
                    "push_shapes_minutes": dict(sorted(self.shapes.items())),
                    "manager": dict(sorted(self.stream_figures.items())),
                    "hub": {
                        name: sim.stream.counter(name)
                        for name in ("negotiations", "connections", "pushes", "drops")
                    },
                    "latency_s_streamed": {
                        "median": round(streamed[len(streamed) // 2], 1) if streamed else None,
                        "max": round(streamed[-1], 1) if streamed else None,
                    },
                },
                "latency_s": {
                    "median": round(latencies[len(latencies) // 2], 1) if latencies else None,
                    "max": round(latencies[-1], 1) if latencies else None,
                },
                "lost_ids": lost[:20],
                "lost_at_s": [round(self.generated[i] - self.t0, 1) for i in lost[:20]],
                "requests": monitor.requests,
                "requests_per_endpoint": dict(sorted(sim.counters.items())),
                "faults_applied": dict(sorted(sim.faults.applied.items())),
                "answered_429": len(monitor.answers),
                "retry_after_s": sorted({a.retry_after for a in monitor.answers}),
                "in_flight_at_429": monitor.in_flight,
                "early": [asdict(e) for e in monitor.early[:20]],
                "early_client_log": early_client[:20],
                "bursts_429": self.bursts,
                "token_expiries": self.token_expiries,
                "tokens_issued": len(sim.tokens.issued),
                "outage": {
                    "start_s": self.outage_start,
                    "end_s": self.outage_stop,
                    "rows_during": sum(
                        1
                        for at in self.generated.values()
                        if self.t0 + self.outage_start <= at < self.outage_end
                    ),
                },
                "restart": self.restart,
                "status_interval_s": cfg.status_interval,
                "event_interval_s": cfg.event_interval,
                "log_records": dict(self.log.levels),
                "unhandled": self.log.unhandled[:20] + self.loop_exceptions[:20],
                "simulator_side_exceptions": self.log.simulator_side,
                "handled_errors_with_debug_traceback": self.log.debug_tracebacks,
                "secrets_checked": {k: len(v) for k, v in secrets.items()},
                "secrets_found_by_kind": found,
                "secret_lines_redacted": secret_lines,
                "secrets_in_audit_store": store_secrets,
                "timeline": self.timeline,
            },
        }
