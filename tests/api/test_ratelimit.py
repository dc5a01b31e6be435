"""Retry-After is honoured: after a 429 no request reaches the server before the deadline.

The clock is frozen (``freezer``; it drives ``time.monotonic()`` too), so waits cost nothing.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory

from custom_components.salto_ks.api import RateLimitedError, SaltoKSClient
from custom_components.salto_ks.api.const import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER
from custom_components.salto_ks.api.ratelimit import RetryGate
from simulator import Simulator

from .conftest import MakeClient, RunClient
from .hostile import Server


def _is_free(client: SaltoKSClient) -> bool:
    return client.retry_after_remaining() is None


def _sent(sim: Simulator) -> int:
    return sum(sim.counters.values())


async def _every_call_refused(sim: Simulator, client: SaltoKSClient) -> list[RateLimitedError]:
    """Run one of each call; each must raise RateLimitedError without a request."""
    before = _sent(sim)
    errors: list[RateLimitedError] = []
    calls = (
        client.get_sites(),
        client.get_locks(sim.site_id),
        client.get_iqs(sim.site_id),
        client.get_users(sim.site_id),
        client.unlock(sim.site_id, "L"),
        client.lock(sim.site_id, "L"),
        client.get_entries(sim.site_id),
    )
    for call in calls:
        with pytest.raises(RateLimitedError) as err:
            await call
        errors.append(err.value)
    assert _sent(sim) == before  # nothing reached the simulator, not even the token endpoint
    return errors


async def test_no_request_before_retry_after(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    await client.get_sites()
    salto_sim.inject_fault("locks", "429", times=1, retry_after=30)
    with pytest.raises(RateLimitedError) as first:
        await client.get_locks(salto_sim.site_id)
    assert (first.value.status, first.value.retry_after) == (429, 30.0)
    assert salto_sim.counters["locks"] == 1
    assert client.retry_after_remaining() == pytest.approx(30)

    freezer.tick(29.5)
    errors = await _every_call_refused(salto_sim, client)
    for err in errors:
        assert err.status is None  # raised without a request
        assert err.retry_after == pytest.approx(0.5)
        assert "0.5 s" in err.message
    assert client.retry_after_remaining() == pytest.approx(0.5)

    freezer.tick(0.5)
    assert _is_free(client)
    assert len(await client.get_locks(salto_sim.site_id)) == 3
    assert salto_sim.counters["locks"] == 2  # the first call after the deadline goes out


async def test_expired_token_is_not_renewed_while_limited(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    salto_sim.inject_fault("sites", "429", times=1, retry_after=10)
    with pytest.raises(RateLimitedError):
        await client.get_sites()
    tokens = salto_sim.counters["token"]
    client.invalidate_token()
    await _every_call_refused(salto_sim, client)
    assert salto_sim.counters["token"] == tokens
    freezer.tick(10)
    await client.get_sites()
    assert salto_sim.counters["token"] == tokens + 1


async def test_tenant_rate_limit_window(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    """The simulator's sliding window: its Retry-After is exactly when a slot frees."""
    salto_sim.tenant.rate_limit_per_minute = 2
    await client.get_sites()
    freezer.tick(20)
    await client.get_sites()
    with pytest.raises(RateLimitedError) as err:
        await client.get_sites()
    wait = err.value.retry_after
    assert wait is not None
    assert 0 < wait <= 60
    assert salto_sim.counters["sites"] == 3
    freezer.tick(wait - 1)
    with pytest.raises(RateLimitedError):
        await client.get_sites()
    assert salto_sim.counters["sites"] == 3
    freezer.tick(1)
    await client.get_sites()
    assert salto_sim.counters["sites"] == 4


async def test_429_on_a_later_page_closes_the_gate(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    salto_sim.inject_fault("locks", sequence=[None, "429"], retry_after=5)
    with pytest.raises(RateLimitedError):
        await client.get_locks(salto_sim.site_id, page_size=1)
    assert salto_sim.counters["locks"] == 2
    with pytest.raises(RateLimitedError):
        await client.get_locks(salto_sim.site_id, page_size=1)
    assert salto_sim.counters["locks"] == 2
    freezer.tick(5)
    assert len(await client.get_locks(salto_sim.site_id, page_size=1)) == 3


async def test_429_on_entries_does_not_try_the_legacy_paths(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    salto_sim.inject_fault("entries", "429", times=1, retry_after=5)
    with pytest.raises(RateLimitedError):
        await client.get_entries(salto_sim.site_id)
    assert salto_sim.counters.get("audit_trails", 0) == 0
    assert salto_sim.counters.get("audit_log", 0) == 0


async def test_token_endpoint_429_gates_token_requests(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    """A 429 from the identity server: no token request (and no call needing one) before it ends."""
    salto_sim.inject_fault("token", "429", times=1, retry_after=20)
    with pytest.raises(RateLimitedError) as err:
        await client.authenticate()
    assert (err.value.status, err.value.retry_after) == (429, 20.0)
    assert client.retry_after_remaining() == pytest.approx(20)
    freezer.tick(5)
    with pytest.raises(RateLimitedError) as err:
        await client.authenticate()
    assert err.value.retry_after == pytest.approx(15)
    await _every_call_refused(salto_sim, client)
    assert salto_sim.counters == {"token": 1}
    freezer.tick(15)
    assert client.retry_after_remaining() is None
    await client.get_sites()
    assert salto_sim.counters == {"token": 2, "sites": 1}


async def test_token_429_during_renewal_after_401(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    await client.get_sites()
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", "429", times=1, retry_after=8)
    with pytest.raises(RateLimitedError) as err:
        await client.get_sites()
    assert err.value.retry_after == 8.0
    assert salto_sim.counters["sites"] == 2  # the 401, no retry without a token
    with pytest.raises(RateLimitedError):
        await client.get_sites()
    assert salto_sim.counters["sites"] == 2


async def test_gates_are_per_client(
    salto_sim: Simulator, make_client: MakeClient, client: SaltoKSClient
) -> None:
    other = make_client()
    salto_sim.inject_fault("sites", "429", times=1, retry_after=30)
    with pytest.raises(RateLimitedError):
        await client.get_sites()
    assert len(await other.get_sites()) == 1
    assert other.retry_after_remaining() is None


async def test_an_injected_gate_is_shared(
    salto_sim: Simulator, make_client: MakeClient, freezer: FrozenDateTimeFactory
) -> None:
    """Clients given one gate (one config entry's, across reloads) honour each other's 429s."""
    gate = RetryGate("test account")
    first, second = make_client(retry_gate=gate), make_client(retry_gate=gate)
    salto_sim.inject_fault("token", "429", times=1, retry_after=30)
    with pytest.raises(RateLimitedError):
        await first.get_sites()
    assert gate.remaining() == pytest.approx(30)
    freezer.tick(10)
    errors = await _every_call_refused(salto_sim, second)
    assert all(err.retry_after == pytest.approx(20) for err in errors)
    freezer.tick(20)
    assert _is_free(second)
    assert len(await second.get_sites()) == 1


@pytest.mark.parametrize("header", [None, "0", "soon", "inf", "-5"])
async def test_429_without_usable_retry_after_waits_the_default(
    server: tuple[Server, web.Application],
    run: RunClient,
    freezer: FrozenDateTimeFactory,
    header: str | None,
) -> None:
    state, app = server

    async def sites(request: web.Request) -> web.Response:
        if len(state.requests) == 1:
            headers = {} if header is None else {"Retry-After": header}
            return web.Response(status=429, headers=headers)
        return web.json_response([])

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    with pytest.raises(RateLimitedError) as err:
        await client.get_sites()
    assert err.value.retry_after == DEFAULT_RETRY_AFTER == 60.0
    freezer.tick(59.9)
    with pytest.raises(RateLimitedError):
        await client.get_sites()
    assert len(state.requests) == 1
    freezer.tick(0.1)
    assert await client.get_sites() == []
    assert len(state.requests) == 2


def test_retry_gate(freezer: FrozenDateTimeFactory) -> None:
    gate = RetryGate("test server")
    assert gate.until is None
    assert gate.remaining() is None
    gate.check()
    assert gate.note(10) == 10
    assert gate.note(3) == 10  # a shorter answer never shortens the wait
    assert gate.note(None) == DEFAULT_RETRY_AFTER  # a longer one extends it
    freezer.tick(DEFAULT_RETRY_AFTER)
    assert gate.remaining() is None
    assert gate.note(10**12) == MAX_RETRY_AFTER
    with pytest.raises(RateLimitedError, match="test server") as err:
        gate.check()
    assert err.value.retry_after == MAX_RETRY_AFTER
    assert "RetryGate('test server'" in repr(gate)


async def test_retry_after_on_429(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    salto_sim.inject_fault("locks", "429", times=1, retry_after=7)
    with pytest.raises(RateLimitedError) as err:
        await client.get_locks(salto_sim.site_id)
    assert err.value.status == 429
    assert err.value.retry_after == 7.0
    freezer.tick(7)
    assert len(await client.get_locks(salto_sim.site_id)) == 3


async def test_tenant_rate_limit(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.tenant.rate_limit_per_minute = 2
    await client.get_sites()
    await client.get_sites()
    with pytest.raises(RateLimitedError) as err:
        await client.get_sites()
    assert err.value.retry_after is not None
    assert 0 < err.value.retry_after <= 60


# Found by the soak (docs/reliability.md): a call already in flight when the API answers
# 429 comes back with 401; renewing its token must not send a token request before Retry-After.


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
