"""``Simulator``: a world served over HTTP on one port, and the demo's background life."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from .app import ENDPOINTS, build_app
from .hub import close_hub
from .life import run_life
from .scenarios import build
from .world import World


class Simulator(World):
    """A local Salto KS cloud: identity server, Connect API and control API on one port."""

    endpoints = ENDPOINTS

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.url = ""
        self.stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._life: asyncio.Task[None] | None = None

    @classmethod
    def from_scenario(cls, name: str, *, seed: int = 0, locks: int | None = None) -> Simulator:
        """A simulator holding scenario ``small``, ``large`` or ``demo``."""
        sim = cls(seed=seed)
        build(sim, name, locks=locks)
        return sim

    @property
    def api_base(self) -> str:
        return self.url

    @property
    def auth_url(self) -> str:
        return self.url + "/connect/token"

    @property
    def stream_url(self) -> str:
        """The event stream's host (the real one is its own host; here the same port)."""
        return self.url

    @property
    def authorize_url(self) -> str:
        """The sign-in page of the authorization-code flow."""
        return self.url + "/connect/authorize"

    @property
    def legacy_auth_url(self) -> str:
        return self.url + "/oauth2/token"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 = a free port); sets ``url``. Starts no background task."""
        if self._runner is not None:
            raise RuntimeError("already started")
        self.stopping = asyncio.Event()
        runner = web.AppRunner(
            build_app(self, self.stopping),
            access_log=None,  # app.log_request logs each request without its query string
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        url_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{url_host}:{bound[1]}"

    async def stop(self) -> None:
        """Stop the life task and the server; leaves no task, timer or connection behind."""
        await self.stop_life()
        self.stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await close_hub(runner.app)
            await runner.cleanup()

    def start_life(self, interval: float = 4.0) -> None:
        """Start the demo scenario's background life (people, batteries, outages)."""
        if self._life is None or self._life.done():
            self._life = asyncio.get_running_loop().create_task(
                run_life(self, interval), name="salto-sim-life"
            )

    async def stop_life(self) -> None:
        task, self._life = self._life, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def life_running(self) -> bool:
        return self._life is not None and not self._life.done()

    def credentials(self) -> dict[str, str]:
        """The scenario's valid credentials and the URLs to use them on."""
        return {
            "api_base": self.api_base,
            "auth_url": self.auth_url,
            "authorize_url": self.authorize_url,
            "legacy_auth_url": self.legacy_auth_url,
            "stream_url": self.stream_url,
            **super().credentials(),
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything, as ``GET /_sim/state`` shows it."""
        return {**super().snapshot(), "life_running": self.life_running}
