"""Fault injection, request counters and the rate limit."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from simulator import Simulator

from .conftest import Api, Clock


async def status_of(api: Api, path: str = "/v1.2/sites") -> int:
    return (await api.get(path)).status


@pytest.mark.parametrize(
    ("kind", "status"), [("400", 400), ("403", 403), ("500", 500), (502, 502), ("503", 503)]
)
async def test_server_errors(api: Api, salto_sim: Simulator, kind: str | int, status: int) -> None:
    await api.login()
    salto_sim.inject_fault("sites", kind, times=1)
    reply = await api.get("/v1.2/sites")
    assert reply.status == status
    if status == 400:
        assert reply.json() == {"ErrorCode": 2210, "Message": "Site not released"}
    elif status == 403:
        assert reply.json()["ErrorCode"] == 2203
    elif status == 500:
        assert reply.json()["ErrorCode"] == 2201
    else:
        assert reply.headers["Content-Type"].startswith("text/html")
    assert await status_of(api) == 200


async def test_malformed_json(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("locks", "malformed")
    reply = await api.get(api.site("/locks"))
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        reply.json()


async def test_drop_closes_the_connection(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("iqs", "drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get(api.site("/iqs"))
    salto_sim.clear_faults()
    assert await status_of(api, api.site("/iqs")) == 200


async def test_single_drop_is_hidden_by_aiohttp_retry(api: Api, salto_sim: Simulator) -> None:
    """aiohttp retries an idempotent request once after a dropped connection: one drop on a GET
    is invisible to the caller, so client tests need ``times=2`` or more to see it."""
    await api.login()
    salto_sim.inject_fault("sites", "drop", times=1)
    assert await status_of(api) == 200
    assert salto_sim.counters["sites"] == 2


async def test_timeout_delays_then_answers(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("sites", "timeout", delay=0.3, times=2)
    with pytest.raises(TimeoutError):
        await api.get("/v1.2/sites", timeout=aiohttp.ClientTimeout(total=0.05))
    started = time.monotonic()
    reply = await api.get("/v1.2/sites")
    assert reply.status == 200
    assert time.monotonic() - started >= 0.25


async def test_stop_does_not_wait_for_a_long_timeout_fault(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("sites", "timeout", delay=60)
    pending = asyncio.ensure_future(api.get("/v1.2/sites"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await salto_sim.stop()
    assert time.monotonic() - started < 5
    reply = await pending  # released by stop(): answered (or cut) rather than left hanging
    assert reply.status == 200


async def test_429_fault_has_retry_after(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("users", "429", retry_after=7, times=1)
    reply = await api.get(api.site("/users"))
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "7"
    assert await status_of(api, api.site("/users")) == 200


async def test_401_fault_refuses_a_valid_token(api: Api, salto_sim: Simulator) -> None:
    token = await api.login()
    salto_sim.inject_fault("locks", "401", times=2)
    for _ in range(2):
        reply = await api.get(api.site("/locks"))
        assert (reply.status, reply.text) == (401, "")
        assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert salto_sim.tokens.valid(token, salto_sim.now()) is not None  # the token itself stays good
    assert await status_of(api, api.site("/locks")) == 200
    assert salto_sim.faults.applied["401"] == 2


async def test_sequence_is_scripted(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("sites", sequence=["503", None, 500])
    assert [await status_of(api) for _ in range(4)] == [503, 200, 500, 200]


async def test_probability_is_seeded(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("sites", "500", probability=0.5)
    first = [await status_of(api) for _ in range(20)]
    assert 200 in first
    assert 500 in first
    again = Simulator(seed=salto_sim.seed)
    again.inject_fault("sites", "500", probability=0.5)
    replay = [500 if again.faults.pick("sites") else 200 for _ in range(20)]
    assert replay == first


async def test_token_endpoint_and_wildcard_faults(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("*", "503", times=2)
    reply = await api.token_request(
        {"grant_type": "password", "username": salto_sim.username, "password": salto_sim.password},
        basic=(salto_sim.client_id, salto_sim.client_secret),
    )
    assert reply.status == 503
    assert await status_of(api) == 503
    assert await status_of(api) == 200


def test_bad_fault_arguments() -> None:
    sim = Simulator()
    with pytest.raises(ValueError, match="unknown endpoint"):
        sim.inject_fault("nope", "500")
    with pytest.raises(ValueError, match="unknown fault kind"):
        sim.inject_fault("sites", "418")
    with pytest.raises(ValueError, match="probability"):
        sim.inject_fault("sites", "500", probability=2)


async def test_counters(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    await api.get("/v1.2/sites")
    await api.get(api.site("/locks"))
    await api.get(api.site("/locks"), token="bogus")
    await api.control("GET", "/state")
    assert salto_sim.counters == {"token": 1, "sites": 1, "locks": 2}
    salto_sim.reset_counters()
    assert salto_sim.counters == {}


async def test_rate_limit(api: Api, salto_sim: Simulator, clock: Clock) -> None:
    salto_sim.tenant.rate_limit_per_minute = 3
    await api.login()
    assert [await status_of(api) for _ in range(3)] == [200, 200, 200]
    limited = await api.get("/v1.2/sites")
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "60"
    clock.advance(30)
    again = await api.get(api.site("/locks"))
    assert again.status == 429
    assert again.headers["Retry-After"] == "30"
    for _ in range(5):  # neither the identity server nor the control API is limited
        assert (await api.control("GET", "/counters")).status == 200
    await api.login()
    clock.advance(30)
    assert await status_of(api) == 200
    assert salto_sim.counters["sites"] == 5
