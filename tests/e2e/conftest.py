"""A real Home Assistant process and the simulator, as subprocesses on free loopback ports."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devtools.common import REPO
from devtools.haconfig import link_component, skip_onboarding_integrations, write_test_config
from devtools.processes import Process, free_port, hass_argv, simulator_argv, start_process
from devtools.rest import HomeAssistant
from devtools.salto import salto_entities
from devtools.sim_control import SimulatorControl
from devtools.waiting import new_session, wait_for, wait_http

# Own deadlines, well inside each test's pytest-timeout.
HASS_START_WITHIN = 60.0
HASS_STOP_WITHIN = 20.0


@dataclass
class Stack:
    """The simulator and Home Assistant of one test, and HTTP clients for both."""

    root: Path
    session: aiohttp.ClientSession
    sim_port: int
    ha_port: int
    sim_proc: Process | None = None
    hass_proc: Process | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def sim(self) -> SimulatorControl:
        return SimulatorControl(self.session, f"http://127.0.0.1:{self.sim_port}")

    @property
    def ha(self) -> HomeAssistant:
        return HomeAssistant(self.session, f"http://127.0.0.1:{self.ha_port}")

    def processes(self) -> list[Process]:
        return [p for p in (self.sim_proc, self.hass_proc) if p is not None]

    async def start_simulator(self, scenario: str = "small", seed: int = 1) -> None:
        self.sim_proc = start_process(
            "simulator",
            simulator_argv(sys.executable, port=self.sim_port, scenario=scenario, seed=seed),
            cwd=REPO,
            log_path=self.root / "simulator.log",
        )
        await wait_http(
            self.session, self.sim.url + "/_sim/state", within=30, processes=[self.sim_proc]
        )
        self.credentials = await self.sim.credentials()

    def launch_hass(self) -> None:
        """Start hass without waiting (so its start overlaps other work)."""
        self.timings["hass_launched"] = time.monotonic()
        self.hass_proc = start_process(
            "hass",
            hass_argv(sys.executable, self.config_dir),
            cwd=self.root,
            log_path=self.root / "hass-console.log",
        )

    async def wait_hass(self) -> HomeAssistant:
        """Wait for the HTTP API, onboard or log in, wait for RUNNING; returns a logged-in client."""
        assert self.hass_proc is not None
        ha = self.ha
        await wait_http(
            self.session,
            ha.base_url + "/api/onboarding",
            within=HASS_START_WITHIN,
            processes=self.processes(),
        )
        self.timings["hass_http"] = time.monotonic() - self.timings["hass_launched"]
        await ha.onboard_or_login()
        await ha.wait_running(within=HASS_START_WITHIN, processes=self.processes())
        self.timings["hass_running"] = time.monotonic() - self.timings["hass_launched"]
        async with ha.websocket() as ws:
            await ws.promote_http_config()
        return ha

    async def stop_hass(self) -> int | None:
        """SIGTERM Home Assistant (SIGKILL after HASS_STOP_WITHIN s); returns its exit code."""
        proc, self.hass_proc = self.hass_proc, None
        if proc is None:
            return None
        t0 = time.monotonic()
        code = await asyncio.to_thread(proc.stop, HASS_STOP_WITHIN)
        self.timings["hass_stop"] = time.monotonic() - t0
        return code

    async def restart_hass(self) -> HomeAssistant:
        """Stop Home Assistant gracefully and start it again on the same config and port."""
        code = await self.stop_hass()
        assert code == 0, f"hass exited with {code} on SIGTERM"
        self.launch_hass()
        return await self.wait_hass()

    def hass_log(self) -> str:
        """Everything Home Assistant wrote: its log file and its console."""
        parts = []
        logs = ("home-assistant.log.1", "home-assistant.log")  # hass rotates it at each start
        paths = [self.config_dir / name for name in logs] + [self.root / "hass-console.log"]
        for path in paths:
            if path.exists():
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)

    async def wait_entities(
        self, ha: HomeAssistant, domain: str, count: int, within: float = 30
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` Salto KS entities of ``domain`` exist and have a state."""

        async def probe() -> list[dict[str, Any]] | None:
            found = await salto_entities(ha, domain)
            if len(found) < count:
                return None
            for entity in found:
                state = await ha.state(entity["entity_id"])
                if state is None or state["state"] == "unavailable":
                    return None
            return found

        return await wait_for(
            probe, within=within, what=f"{count} {domain} entities", processes=self.processes()
        )


@pytest.fixture
async def stack(socket_enabled: None, tmp_path: Path) -> AsyncIterator[Stack]:
    """A config dir with the component linked in; processes are stopped whatever happens."""
    async with new_session() as session:
        stack = Stack(root=tmp_path, session=session, sim_port=free_port(), ha_port=free_port())
        write_test_config(stack.config_dir, port=stack.ha_port)
        skip_onboarding_integrations(stack.config_dir)
        link_component(stack.config_dir)
        try:
            yield stack
        finally:
            try:
                await stack.stop_hass()
            finally:
                if stack.sim_proc is not None:
                    await asyncio.to_thread(stack.sim_proc.stop, 10)
