"""Helpers for the simulator tests: an HTTP session and a small API caller."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import pytest

from simulator import Simulator


def basic_header(client_id: str, client_secret: str) -> str:
    """HTTP Basic client authentication (RFC 6749 §2.3.1 form-encodes both parts)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class Reply:
    """Status, headers and decoded body of one answer."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """Talks HTTP to a started simulator."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.access_token: str | None = None

    async def token_request(
        self,
        data: dict[str, str],
        *,
        basic: tuple[str, str] | None = None,
        path: str = "/connect/token",
    ) -> Reply:
        headers = {"Authorization": basic_header(*basic)} if basic else {}
        async with self.session.post(self.sim.url + path, data=data, headers=headers) as resp:
            return Reply(resp.status, dict(resp.headers), await resp.text())

    async def login(self) -> str:
        reply = await self.token_request(
            {
                "grant_type": "password",
                "username": self.sim.username,
                "password": self.sim.password,
                "scope": "user_api.full_access",
            },
            basic=(self.sim.client_id, self.sim.client_secret),
        )
        assert reply.status == 200, reply.text
        self.access_token = reply.json()["access_token"]
        return self.access_token

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        if token is None:
            token = self.access_token or await self.login()
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        url = path if path.startswith("http") else self.sim.url + path
        async with self.session.request(method, url, headers=all_headers, **kwargs) as resp:
            return Reply(resp.status, dict(resp.headers), await resp.text())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def control(self, method: str, path: str, body: Any = None) -> Reply:
        async with self.session.request(method, self.sim.url + "/_sim" + path, json=body) as resp:
            return Reply(resp.status, dict(resp.headers), await resp.text())

    def site(self, suffix: str = "", version: str = "v1.2") -> str:
        return f"/{version}/sites/{self.sim.site_id}{suffix}"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session (closed after the test)."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def api(salto_sim: Simulator, session: aiohttp.ClientSession) -> Api:
    """An API caller bound to the shared ``small`` simulator."""
    return Api(salto_sim, session)


class Clock:
    """A controllable clock for ``sim.clock``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(salto_sim: Simulator) -> Clock:
    """Replace the simulator's clock with one the test moves."""
    fake = Clock(datetime(2026, 8, 19, 12, 0, 0, tzinfo=UTC))
    salto_sim.clock = fake
    return fake


def lock_by_name(sim: Simulator, name: str) -> str:
    """The id of the lock called ``name``."""
    return next(lock.id for lock in sim.state.locks.values() if lock.name == name)


def user_by_name(sim: Simulator, first_name: str) -> dict[str, Any]:
    """The site-user JSON of the user with that first name."""
    return next(
        su.to_json() for su in sim.state.site_users.values() if su.user.first_name == first_name
    )
