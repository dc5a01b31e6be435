"""The measuring hook ``sim.monitor``: 429s answered, requests before their Retry-After, issued tokens."""

from __future__ import annotations

import asyncio

from simulator import Simulator

from .conftest import Api, Clock


async def test_request_after_retry_after_is_not_early(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    await api.login()
    salto_sim.inject_fault("sites", "429", retry_after=30, times=1)
    assert (await api.get("/v1.2/sites")).status == 429
    clock.advance(30)
    assert (await api.get("/v1.2/sites")).status == 200
    monitor = salto_sim.monitor
    assert [(a.client, a.channel, a.endpoint, a.retry_after) for a in monitor.answers] == [
        (salto_sim.client_id, "api", "sites", 30.0)
    ]
    assert monitor.early == []


async def test_request_before_retry_after_is_early_also_for_tokens(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    await api.login()
    salto_sim.inject_fault("locks", "429", retry_after=60, times=1)
    assert (await api.get(api.site("/locks"))).status == 429
    clock.advance(10)
    assert (await api.get(api.site("/iqs"))).status == 200
    await api.login()  # an API 429 covers token requests too
    early = salto_sim.monitor.early
    assert [(e.channel, e.endpoint, e.deadline - e.at) for e in early] == [
        ("api", "iqs", 50.0),
        ("token", "token", 50.0),
    ]
    body = (await api.control("GET", "/monitor")).json()
    assert len(body["early"]) == 2
    assert body["answered_429"][0]["retry_after"] == 60


async def test_token_429_covers_token_requests_only(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    token = await api.login()
    salto_sim.inject_fault("token", "429", retry_after=60, times=1)
    reply = await api.token_request(
        {"grant_type": "password", "username": salto_sim.username, "password": "x"},
        basic=(salto_sim.client_id, salto_sim.client_secret),
    )
    assert reply.status == 429
    clock.advance(5)
    assert (await api.get("/v1.2/sites", token=token)).status == 200
    assert salto_sim.monitor.early == []
    clock.advance(55)
    await api.login()
    assert salto_sim.monitor.early == []


async def test_same_instant_other_connection_is_in_flight(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    """Concurrent requests: the one answered 429 and one already sent on another connection."""
    await api.login()
    salto_sim.inject_fault("locks", "429", retry_after=60, times=1)
    replies = await asyncio.gather(api.get(api.site("/locks")), api.get(api.site("/iqs")))
    assert sorted(r.status for r in replies) == [200, 429]
    monitor = salto_sim.monitor
    assert monitor.early == []
    assert monitor.in_flight <= 1


async def test_issued_tokens_and_parked_requests(api: Api, salto_sim: Simulator) -> None:
    salto_sim.tenant.update(refresh_tokens=True)
    await api.login()
    assert len(salto_sim.tokens.issued) == 2  # access + refresh
    salto_sim.inject_fault("sites", "timeout", delay=0.05, times=1)
    task = asyncio.ensure_future(api.get("/v1.2/sites"))
    for _ in range(100):
        await asyncio.sleep(0.001)
        if salto_sim.monitor.parked:
            break
    assert len(salto_sim.monitor.parked) == 1
    assert (await task).status == 200
    assert salto_sim.monitor.parked == {}


async def test_applied_faults_are_counted(api: Api, salto_sim: Simulator) -> None:
    await api.login()
    salto_sim.inject_fault("sites", "503", times=2)
    salto_sim.inject_fault("sites", sequence=[None, "malformed"])
    for _ in range(4):
        await api.get("/v1.2/sites")
    salto_sim.clear_faults()
    assert salto_sim.faults.applied == {"503": 2, "malformed": 1}
