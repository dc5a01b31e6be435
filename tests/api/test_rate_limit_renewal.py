"""Regression (found by the soak, docs/reliability.md): a call already in flight when the API answers
429 comes back with 401; renewing its token must not send a token request before Retry-After."""

from __future__ import annotations

import asyncio

import pytest
from freezegun.api import FrozenDateTimeFactory

from custom_components.salto_ks.api import RateLimitedError, SaltoKSClient
from simulator import Simulator


async def test_401_of_a_call_in_flight_does_not_renew_during_retry_after(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """The roster's concurrent listings: locks answers 429, iqs (held a moment) 401 after it."""
    await client.get_sites()
    tokens = salto_sim.counters["token"]
    salto_sim.expire_tokens()
    salto_sim.inject_fault("locks", "429", times=1, retry_after=60)
    salto_sim.inject_fault("iqs", "timeout", times=1, delay=0.2)  # then 401: the token expired
    results = await asyncio.gather(
        client.get_locks(salto_sim.site_id),
        client.get_iqs(salto_sim.site_id),
        return_exceptions=True,
    )
    assert all(isinstance(result, RateLimitedError) for result in results), results
    locks, iqs = results
    assert isinstance(locks, RateLimitedError)
    assert isinstance(iqs, RateLimitedError)
    assert locks.status == 429
    assert iqs.status is None  # refused unsent: no renewal
    assert iqs.retry_after == pytest.approx(60, abs=1)
    assert salto_sim.counters["token"] == tokens  # no token request during Retry-After
    assert salto_sim.counters["iqs"] == 1  # the 401, not retried


async def test_authenticate_sends_nothing_during_api_retry_after(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    """authenticate() needing a new token is refused unsent while the API's Retry-After runs;
    the refresh token is kept for afterwards."""
    await client.get_sites()
    salto_sim.inject_fault("sites", "429", times=1, retry_after=30)
    with pytest.raises(RateLimitedError):
        await client.get_sites()
    tokens = salto_sim.counters["token"]
    await client.authenticate()  # a cached valid token: nothing to send, nothing refused
    with pytest.raises(RateLimitedError) as err:
        await client.authenticate(force=True)
    assert err.value.status is None
    assert salto_sim.counters["token"] == tokens
    freezer.tick(30)
    await client.authenticate(force=True)
    assert salto_sim.counters["token"] == tokens + 1
    assert salto_sim.monitor.early == []
    assert [a.endpoint for a in salto_sim.monitor.answers] == ["sites"]
