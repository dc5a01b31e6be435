"""Benchmark fixtures: results collection and a simulator in its own process.

The benchmark (``scripts/bench``) runs only when ``SALTO_BENCH=1``; the normal suite skips it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENABLED = os.environ.get("SALTO_BENCH") == "1"
SIZES = [int(s) for s in os.environ.get("SALTO_BENCH_SIZES", "1,100,1000").split(",") if s]
OUT = Path(os.environ.get("SALTO_BENCH_OUT", str(ROOT / ".bench-results.json")))

_results: list[dict[str, Any]] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every benchmark unless SALTO_BENCH=1 (scripts/bench sets it)."""
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="benchmark: run scripts/bench (or set SALTO_BENCH=1)")
    for item in items:
        if item.get_closest_marker("bench"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/salto_ks."""


@pytest.fixture(autouse=True)
def quiet_logging() -> Iterator[None]:
    """Log at WARNING, Home Assistant's usual level: the entity registry's INFO line per new
    entity costs ~0.25 ms each under pytest's log capture, more than the entity itself."""
    loggers = [logging.getLogger(name) for name in ("homeassistant", "custom_components")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def production_loop(hass: Any) -> Iterator[None]:
    """Asyncio debug mode off, as in production: the plugin turns it on for tests, and it records
    a traceback for every task and callback, inflating every timing here."""
    hass.loop.set_debug(False)
    yield
    hass.loop.set_debug(True)


@pytest.fixture(scope="session")
def bench_results() -> Iterator[list[dict[str, Any]]]:
    """Measurements of the session, written to SALTO_BENCH_OUT at its end."""
    yield _results
    if _results:
        OUT.write_text(json.dumps(_results, indent=2) + "\n")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SimProcess:
    """A simulator subprocess (``large`` scenario) and its control API."""

    url: str
    credentials: dict[str, str]
    process: subprocess.Popen[bytes]

    async def control(
        self, session: aiohttp.ClientSession, method: str, path: str, **kw: Any
    ) -> Any:
        async with session.request(method, f"{self.url}/_sim/{path}", **kw) as resp:
            resp.raise_for_status()
            return await resp.json()


@pytest.fixture
async def sim_process(
    socket_enabled: None, request: pytest.FixtureRequest
) -> AsyncIterator[SimProcess]:
    """``python -m simulator --scenario large --locks N`` on a free loopback port (N = param)."""
    async with start_sim(request.param) as sim:
        yield sim


@asynccontextmanager
async def start_sim(size: int) -> AsyncIterator[SimProcess]:
    """``python -m simulator --scenario large --locks size`` on a free loopback port.

    A separate process, so that the CPU time and memory measured in this one are Home Assistant's
    and the client's only (the simulator's JSON rendering runs on the other core).
    """
    port = _free_port()
    argv = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--scenario", "large", "--locks", str(size), "--seed", "1"]
    proc = subprocess.Popen(  # noqa: ASYNC220, S603 - our own argv; a child that outlives this call
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{url}/_sim/credentials") as resp:
                        creds = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    await _sleep(0.05)
        yield SimProcess(url=url, credentials=creds, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
