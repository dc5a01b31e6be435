"""Waiting until something answers, and the HTTP session every dev tool uses on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

import aiohttp

from devtools.common import DevToolsError
from devtools.processes import Process


async def wait_for[T](
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    interval: float = 0.25,
    what: str,
    processes: Iterable[Process] = (),
) -> T:
    """Call ``probe`` until it returns something not None (or not False); fail after ``within`` s.

    A process in ``processes`` that exits meanwhile fails the wait at once.
    """
    deadline = time.monotonic() + within
    last_error: BaseException | None = None
    while True:
        for proc in processes:
            proc.check_alive()
        try:
            value = await probe()
        except (aiohttp.ClientError, OSError, TimeoutError, DevToolsError) as err:
            value, last_error = None, err
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise DevToolsError(f"timed out after {within:.0f} s waiting for {what}{detail}")
        await asyncio.sleep(interval)


async def wait_http(
    session: aiohttp.ClientSession,
    url: str,
    *,
    within: float,
    processes: Iterable[Process] = (),
) -> None:
    """Wait until ``url`` answers with a status below 500."""

    async def probe() -> bool:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            return resp.status < 500

    await wait_for(probe, within=within, what=url, processes=processes)


def new_session() -> aiohttp.ClientSession:
    """An aiohttp session for loopback use: threaded resolver (no resolver threads left over)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver(), force_close=True),
        timeout=aiohttp.ClientTimeout(total=30),
    )
