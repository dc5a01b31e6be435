"""The simulator's ``/_sim/...`` control API, as the dev tools use it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from devtools.common import DevToolsError


class SimulatorControl:
    """The simulator's ``/_sim/...`` control API."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(method, self.url + path, json=payload) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise DevToolsError(f"simulator {method} {path}: {resp.status} {text[:300]}")
            return json.loads(text) if text else None

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/_sim/state")
        return result

    async def register_redirect_uri(self, client_id: str, uri: str) -> list[str]:
        """Register a redirect URI for the client; its registered URIs."""
        path = f"/_sim/clients/{client_id}/redirect_uris"
        found = await self.request("POST", path, {"uri": uri})
        return [str(u) for u in found["redirect_uris"]]

    async def credentials(self) -> dict[str, str]:
        """The scenario's URLs and valid credentials (``GET /_sim/credentials``)."""
        found = await self.request("GET", "/_sim/credentials")
        return {key: str(value) for key, value in found.items() if value is not None}
