"""A loopback aiohttp server for behaviours the faithful simulator cannot produce (no HTTP mocking)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECRET = "hostile-client-secret-9f8e"
PASSWORD = "hostile-password-7d6c"


@dataclass
class Server:
    """A loopback server whose routes a test fills in."""

    url: str = ""
    requests: list[web.Request] = field(default_factory=list)
    forms: list[dict[str, str]] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    tokens_issued: int = 0
    refresh_token: str | None = None
    refuse_refresh: bool = False
    # Answer the next refresh-token requests with this status (a proxy's error page), then work again.
    refresh_failures: list[int] = field(default_factory=list)
    expires_in: int = 3600


async def start_app(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 with a free port; return the runner and the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def entry(n: int) -> dict[str, Any]:
    """A minimal entries row, the n-th of a feed."""
    return {
        "id": f"e{n}",
        "event_category": "lock_opened",
        "utc_date_time": f"2026-01-01T00:00:{n % 60:02d}Z",
    }
