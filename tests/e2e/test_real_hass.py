"""End to end: a real ``hass`` process and ``python -m simulator``, driven over HTTP as a user would.

Onboarding, the config flow and the options flow go through Home Assistant's REST API, the lock through
``/api/services``, the audit events through the WebSocket API; the simulator's control API plays the
building. Each test checks that Home Assistant's log holds no secret and no error or traceback of the
integration.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from devtools.common import DOMAIN
from devtools.haconfig import ONBOARDING_DOMAINS
from devtools.logs import integration_problems, leaked_secrets, onboarding_noise
from devtools.rest import HomeAssistant
from devtools.salto import salto_entities, simulator_answers
from devtools.waiting import wait_for

from .conftest import Stack

pytestmark = pytest.mark.e2e

# The simulator's access and refresh tokens: secrets.token_urlsafe(32).
TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


async def _start(stack: Stack) -> tuple[HomeAssistant, dict[str, Any]]:
    """Simulator and Home Assistant up, onboarded, and the Salto KS entry added over REST."""
    stack.launch_hass()  # starts while the simulator comes up
    await stack.start_simulator("small", seed=1)
    ha = await stack.wait_hass()
    assert DOMAIN in await ha.flow_handlers()
    entry = await ha.add_config_entry(DOMAIN, simulator_answers(stack.credentials))
    assert entry["domain"] == DOMAIN
    entries = await ha.config_entries(DOMAIN)
    assert [e["entry_id"] for e in entries] == [entry["entry_id"]]
    return ha, entry


async def _lock_ids(stack: Stack) -> dict[str, dict[str, Any]]:
    """The simulator's locks by id."""
    return {lock["id"]: lock for lock in (await stack.sim.state())["locks"]}


async def _wait_state(
    stack: Stack, ha: HomeAssistant, entity_id: str, wanted: str, within: float
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        state = await ha.state(entity_id)
        return state if state is not None and state["state"] == wanted else None

    return await wait_for(
        probe,
        within=within,
        interval=0.2,
        what=f"{entity_id} {wanted}",
        processes=stack.processes(),
    )


def _check_log(stack: Stack, extra_secrets: list[str] | None = None) -> None:
    log = stack.hass_log()
    assert "custom_components.salto_ks" in log, "debug logging of the integration is missing"
    creds = stack.credentials
    secrets = [creds["client_secret"], creds["password"], *(extra_secrets or [])]
    assert not leaked_secrets(log, secrets), "a simulator secret is in Home Assistant's log"
    # The simulator's tokens are random, so look for their shape; Home Assistant itself logs none.
    suspicious = [line for line in log.splitlines() if TOKEN_LIKE.search(line)]
    assert not suspicious, f"token-like strings in Home Assistant's log: {suspicious[:3]}"
    assert "Bearer " not in log
    problems = integration_problems(log)
    assert not problems, "errors/tracebacks of the integration:\n" + "\n\n".join(problems[:5])


@pytest.mark.timeout(150)
async def test_onboarding_config_flow_and_lock_cycle(stack: Stack) -> None:
    """Onboard, add the entry, tune options over REST, unlock a lock and see it relock."""
    t0 = time.monotonic()
    ha, entry = await _start(stack)
    sim_locks = await _lock_ids(stack)
    locks = await stack.wait_entities(ha, "lock", len(sim_locks))
    t_entities = time.monotonic() - t0
    # Onboarding added none of the integrations that cannot work offline, and logged nothing of them.
    assert not [e["domain"] for e in await ha.config_entries() if e["domain"] in ONBOARDING_DOMAINS]
    assert not onboarding_noise(stack.hass_log())

    # Short released time and roster interval through the options flow (the entry reloads).
    await ha.set_options(entry["entry_id"], {"released_state": 2, "status_interval": 10})
    locks = await stack.wait_entities(ha, "lock", len(sim_locks))

    by_unique_id = {e["unique_id"]: e["entity_id"] for e in locks}
    lock_id = sorted(sim_locks)[0]
    entity_id = by_unique_id[lock_id]
    # The door relocks one second after a remote opening.
    await stack.sim.request("PATCH", f"/_sim/locks/{lock_id}", {"open_time": 1})
    await _wait_state(stack, ha, entity_id, "locked", within=20)

    counters_before = await stack.sim.request("GET", "/_sim/counters")
    t_unlock = time.monotonic()
    await ha.call_service("lock", "unlock", {"entity_id": entity_id})
    await _wait_state(stack, ha, entity_id, "unlocked", within=10)
    t_unlocked = time.monotonic()
    await _wait_state(stack, ha, entity_id, "locked", within=30)
    t_cycle = time.monotonic() - t_unlock
    # released_state 2 s from the options flow, not the default 5 s.
    assert time.monotonic() - t_unlocked < 4.5
    counters = await stack.sim.request("GET", "/_sim/counters")
    assert counters.get("locking", 0) == counters_before.get("locking", 0) + 1

    # The simulator recorded the remote opening as an audit entry of this lock.
    state = await stack.sim.state()
    assert sum(state["entries"].values()) >= 1

    # Diagnostics, downloaded as from the device page, hold no secret.
    diagnostics = await ha.request("GET", f"/api/diagnostics/config_entry/{entry['entry_id']}")
    assert diagnostics["data"]
    dump = json.dumps(diagnostics)
    assert not leaked_secrets(
        dump, [stack.credentials["client_secret"], stack.credentials["password"]]
    )

    # A restart brings back the same entry and entities (no duplicates), with the options kept.
    registry_before = sorted(e["entity_id"] for e in await salto_entities(ha, "lock"))
    ha = await stack.restart_hass()
    entries = await ha.config_entries(DOMAIN)
    assert [e["entry_id"] for e in entries] == [entry["entry_id"]]
    locks = await stack.wait_entities(ha, "lock", len(sim_locks))
    assert sorted(e["entity_id"] for e in locks) == registry_before
    await _wait_state(stack, ha, entity_id, "locked", within=20)

    _check_log(stack)
    print(
        f"\n[e2e] hass http {stack.timings['hass_http']:.1f} s, running "
        f"{stack.timings['hass_running']:.1f} s, entities {t_entities:.1f} s, "
        f"unlock->locked {t_cycle:.1f} s, restart: stop {stack.timings['hass_stop']:.1f} s "
        f"+ running {stack.timings['hass_running']:.1f} s, total {time.monotonic() - t0:.1f} s"
    )


def _mentions(event: dict[str, Any], *needles: str) -> bool:
    text = json.dumps(event.get("data", {}))
    return all(needle in text for needle in needles)


AUDIT_ENDPOINTS = ("entries", "audit_trails", "audit_log")


async def _counters(stack: Stack) -> dict[str, int]:
    counters: dict[str, int] = await stack.sim.request("GET", "/_sim/counters")
    return counters


async def _audit_polls(stack: Stack, count: int, since: dict[str, int], within: float = 30) -> None:
    """Wait until the simulator has answered ``count`` more audit-trail requests."""

    async def probe() -> bool:
        now = await _counters(stack)
        return sum(now.get(n, 0) - since.get(n, 0) for n in AUDIT_ENDPOINTS) >= count

    await wait_for(probe, within=within, what=f"{count} audit polls", processes=stack.processes())


async def _next_event(
    bus: asyncio.Queue[dict[str, Any]], wanted: Callable[[dict[str, Any]], bool], within: float
) -> dict[str, Any]:
    """The next bus event ``wanted`` accepts (others are skipped), within ``within`` s."""
    async with asyncio.timeout(within):
        while True:
            event = await bus.get()
            if wanted(event):
                return event


@pytest.mark.timeout(150)
async def test_tag_opening_event_survives_restart(stack: Stack) -> None:
    """A tag opening in the simulator becomes an event entity change and a salto_ks_event, once
    (through the access-log poll)."""
    t0 = time.monotonic()
    ha, entry = await _start(stack)
    sim_state = await stack.sim.state()
    sim_locks = {lock["id"]: lock for lock in sim_state["locks"]}
    await stack.wait_entities(ha, "lock", len(sim_locks))
    # The access-log poll alone (the stream has its own test below): every 5 s.
    await ha.set_options(entry["entry_id"], {"event_poll_interval": 5, "event_stream": False})
    await stack.wait_entities(ha, "lock", len(sim_locks))

    events = await salto_entities(ha, "event")
    assert events, "the integration has no event entities"
    lock_id = sorted(sim_locks)[0]
    lock_name = sim_locks[lock_id]["customer_reference"]
    lock_entity = next(e for e in await salto_entities(ha, "lock") if e["unique_id"] == lock_id)
    on_lock = [e for e in events if e.get("device_id") == lock_entity["device_id"]]
    assert len(on_lock) == 1, f"one event entity per lock expected: {on_lock}"
    watched = [on_lock[0]["entity_id"]]
    before = {eid: (await ha.state(eid) or {}).get("state") for eid in watched}

    # A site user (not the system user) opens the door with a tag.
    user = next(
        u for u in sim_state["users"] if u["user"]["email"] != stack.credentials["username"]
    )
    async with ha.websocket() as ws:
        bus = await ws.subscribe_events(f"{DOMAIN}_event")
        added = await stack.sim.request(
            "POST",
            "/_sim/entries",
            {
                "lock_id": lock_id,
                "event_category": "lock_opened",
                "access_by": "tag",
                "user_id": user["user"]["id"],
            },
        )

        def ours(event: dict[str, Any]) -> bool:
            """This tag opening: its entry id, or its lock and the tag."""
            on_lock = _mentions(event, lock_id) or _mentions(event, lock_name)
            return _mentions(event, added["id"]) or (on_lock and _mentions(event, "tag"))

        fired = await _next_event(bus, ours, within=30)
        assert fired["event_type"] == f"{DOMAIN}_event"
        data = fired["data"]
        assert data["entry_id"] == added["id"]
        assert data["lock_id"] == lock_id
        assert data["access_by"] == "tag"
        assert data["user_id"] == user["user"]["id"]
        assert data["config_entry_id"] == entry["entry_id"]

        async def changed() -> dict[str, str] | None:
            now = {eid: (await ha.state(eid) or {}).get("state") for eid in watched}
            moved = {eid: s for eid, s in now.items() if s != before[eid] and s}
            return moved or None

        moved = await wait_for(changed, within=15, what="an event entity to change")
        event_state = await ha.state(watched[0])
        assert event_state is not None
        assert event_state["attributes"].get("access_by") == "tag", event_state
        # The next audit poll must not deliver the same entry again.
        await _audit_polls(stack, 1, since=await _counters(stack))
        await asyncio.sleep(0.5)
        extra = [bus.get_nowait() for _ in range(bus.qsize())]
        assert not [e for e in extra if ours(e)], extra

    # Restart: the restored event entities keep their state and the entry is not fired again.
    counters_before = await _counters(stack)
    ha = await stack.restart_hass()
    async with ha.websocket() as ws:
        bus = await ws.subscribe_events(f"{DOMAIN}_event")
        await _audit_polls(stack, 2, since=counters_before)
        await asyncio.sleep(0.5)
        after_restart = [bus.get_nowait() for _ in range(bus.qsize())]
    assert not after_restart, f"events fired again after the restart: {after_restart}"
    for eid, value in moved.items():
        assert (await ha.state(eid) or {}).get("state") == value

    _check_log(stack)
    print(
        f"\n[e2e] event test total {time.monotonic() - t0:.1f} s, "
        f"restart stop {stack.timings.get('hass_stop', 0):.1f} s, "
        f"start->running {stack.timings['hass_running']:.1f} s"
    )


@pytest.mark.timeout(120)
async def test_streamed_row_reaches_home_assistant_within_a_second(stack: Stack) -> None:
    """A row created through the simulator's control API comes over the event stream: its
    salto_ks_event and the event entity's new state reach HA's WebSocket within a second."""
    ha, entry = await _start(stack)
    sim_state = await stack.sim.state()
    sim_locks = {lock["id"]: lock for lock in sim_state["locks"]}
    await stack.wait_entities(ha, "lock", len(sim_locks))
    site_id = stack.credentials["site_id"]
    sensors = await salto_entities(ha, "binary_sensor")
    sensor = next(e for e in sensors if e["unique_id"] == f"{site_id}_event_stream")
    await _wait_state(stack, ha, sensor["entity_id"], "on", within=30)
    await asyncio.sleep(0.5)  # the access-log read right after the connect has been answered

    lock_id = sorted(sim_locks)[0]
    lock_entity = next(e for e in await salto_entities(ha, "lock") if e["unique_id"] == lock_id)
    event_entity = next(
        e
        for e in await salto_entities(ha, "event")
        if e.get("device_id") == lock_entity["device_id"]
    )
    async with ha.websocket() as ws:
        bus = await ws.subscribe_events(f"{DOMAIN}_event")
        states = await ws.subscribe_events("state_changed")
        counters = await _counters(stack)
        started = time.monotonic()
        added = await stack.sim.request(
            "POST",
            "/_sim/entries",
            {"lock_id": lock_id, "event_category": "lock_opened", "access_by": "tag"},
        )
        fired = await _next_event(bus, lambda e: _mentions(e, added["id"]), within=1.0)
        event_after = time.monotonic() - started

        def entity_changed(event: dict[str, Any]) -> bool:
            data = event.get("data", {})
            new = data.get("new_state") or {}
            return data.get("entity_id") == event_entity["entity_id"] and (
                new.get("attributes", {}).get("entry_id") == added["id"]
            )

        await _next_event(states, entity_changed, within=max(0.0, 1.0 - event_after))
        state_after = time.monotonic() - started
    assert fired["data"]["config_entry_id"] == entry["entry_id"]
    # It came by the stream: no access-log poll was needed (the slow safety-net poll is 300 s).
    now = await _counters(stack)
    assert sum(now.get(n, 0) - counters.get(n, 0) for n in AUDIT_ENDPOINTS) == 0
    _check_log(stack)
    print(f"\n[e2e] streamed row: event {event_after:.3f} s, entity state {state_after:.3f} s")
