"""A client whose tokens come from the caller (``token_source``), against the simulator."""

from __future__ import annotations

import asyncio
import base64

import aiohttp
import pytest

from custom_components.salto_ks.api import (
    AuthenticationError,
    CommunicationError,
    RateLimitedError,
    RetryGate,
    SaltoKSClient,
    TokenRejectedError,
)
from simulator import Simulator


def basic_auth(client_id: str, secret: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class Source:
    """A token source that gets each token from the simulator's password grant."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.calls: list[bool] = []
        self.token: str | None = None
        self.error: Exception | None = None

    async def __call__(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        if self.error is not None:
            raise self.error
        if self.token is None or force_refresh:
            async with self.session.post(
                self.sim.auth_url,
                data={
                    "grant_type": "password",
                    "username": self.sim.username,
                    "password": self.sim.password,
                    "scope": "user_api.full_access",
                },
                headers={"Authorization": basic_auth(self.sim.client_id, self.sim.client_secret)},
            ) as resp:
                self.token = str((await resp.json())["access_token"])
        return self.token


@pytest.fixture
def source(salto_sim: Simulator, session: aiohttp.ClientSession) -> Source:
    return Source(salto_sim, session)


@pytest.fixture
def gate() -> RetryGate:
    return RetryGate("test")


@pytest.fixture
def ext_client(
    salto_sim: Simulator, session: aiohttp.ClientSession, source: Source, gate: RetryGate
) -> SaltoKSClient:
    return SaltoKSClient(
        session,
        api_base=salto_sim.api_base,
        auth_url=salto_sim.auth_url,
        token_source=source,
        retry_gate=gate,
    )


async def test_every_request_uses_the_source(
    salto_sim: Simulator, ext_client: SaltoKSClient, source: Source
) -> None:
    salto_sim.reset_counters()
    sites = await ext_client.get_sites()
    await ext_client.get_locks(salto_sim.site_id)
    assert [site.id for site in sites] == [salto_sim.site_id]
    assert source.calls == [False, False]
    assert salto_sim.counters["token"] == 1  # the source's own request, none by the client
    assert "external" in repr(ext_client)


async def test_a_401_forces_one_refresh_for_all_callers(
    salto_sim: Simulator, ext_client: SaltoKSClient, source: Source
) -> None:
    await ext_client.get_sites()
    salto_sim.expire_tokens()
    salto_sim.reset_counters()
    source.calls.clear()
    await asyncio.gather(*(ext_client.get_iqs(salto_sim.site_id) for _ in range(5)))
    assert source.calls.count(True) == 1
    assert salto_sim.counters["token"] == 1
    assert salto_sim.counters["iqs"] == 10


async def test_a_second_401_is_token_rejected(
    salto_sim: Simulator, ext_client: SaltoKSClient
) -> None:
    salto_sim.inject_fault("sites", "401", times=2)
    with pytest.raises(TokenRejectedError):
        await ext_client.get_sites()


async def test_a_refused_refresh_is_raised(
    salto_sim: Simulator, ext_client: SaltoKSClient, source: Source
) -> None:
    source.error = AuthenticationError("refresh token refused", status=400)
    with pytest.raises(AuthenticationError):
        await ext_client.get_sites()


async def test_a_rate_limited_source_closes_the_gate(
    salto_sim: Simulator, ext_client: SaltoKSClient, source: Source, gate: RetryGate
) -> None:
    source.error = RateLimitedError("slow down", retry_after=30, status=429)
    with pytest.raises(RateLimitedError):
        await ext_client.get_sites()
    remaining = ext_client.retry_after_remaining()
    assert remaining is not None
    assert 25 < remaining <= 30
    source.calls.clear()
    with pytest.raises(RateLimitedError):
        await ext_client.get_sites()
    assert source.calls == []  # refused unsent while the gate is closed


async def test_source_tokens_are_scrubbed(
    salto_sim: Simulator, ext_client: SaltoKSClient, source: Source
) -> None:
    await ext_client.get_sites()
    assert source.token is not None
    salto_sim.inject_fault("sites", "500", times=1)
    with pytest.raises(CommunicationError) as info:
        await ext_client.get_sites()
    assert source.token not in str(info.value)


def test_without_source_a_client_id_is_required(
    salto_sim: Simulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ValueError, match="client_id"):
        SaltoKSClient(session, api_base=salto_sim.api_base, auth_url=salto_sim.auth_url)
