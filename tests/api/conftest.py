"""Fixtures of the API client tests: an aiohttp session and clients bound to the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from custom_components.salto_ks.api import SaltoKSClient
from simulator import Simulator

MakeClient = Callable[..., SaltoKSClient]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session the test owns (the client never closes it)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def make_client(salto_sim: Simulator, session: aiohttp.ClientSession) -> MakeClient:
    """Build a client for the simulator; keyword arguments override the defaults."""

    def _make(**overrides: Any) -> SaltoKSClient:
        kwargs: dict[str, Any] = {
            "api_base": salto_sim.api_base,
            "auth_url": salto_sim.auth_url,
            "client_id": salto_sim.client_id,
            "client_secret": salto_sim.client_secret,
            "username": salto_sim.username,
            "password": salto_sim.password,
            "request_timeout": 5.0,
        }
        kwargs.update(overrides)
        return SaltoKSClient(session, **kwargs)

    return _make


@pytest.fixture
def client(make_client: MakeClient) -> SaltoKSClient:
    """A password-grant client with valid credentials."""
    return make_client()
