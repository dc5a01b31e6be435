"""The roster coordinator: request budget, change-only writes, outages, 429.

How the device registry follows the roster is tested in test_devices.py."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks import errors as errors_module
from custom_components.salto_ks.const import DEFAULT_STATUS_INTERVAL
from simulator import Simulator

from .conftest import lock_entity_id, setup_entry, tick

INTERVAL = timedelta(seconds=DEFAULT_STATUS_INTERVAL)


@pytest.mark.parametrize("extra_locks", [0, 12])
async def test_two_listings_per_interval(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    extra_locks: int,
) -> None:
    """One locks listing and one IQ listing per interval, whatever the number of locks."""
    for number in range(extra_locks):
        salto_sim.add_lock(name=f"Extra door {number}")
    await setup_entry(hass, mock_config_entry)
    assert len(hass.states.async_entity_ids("lock")) == 3 + extra_locks

    salto_sim.reset_counters()
    for _ in range(3):
        await tick(hass, freezer, INTERVAL)
    assert salto_sim.counters.get("locks") == 3
    assert salto_sim.counters.get("iqs") == 3
    assert salto_sim.counters.get("lock", 0) == 0
    assert salto_sim.counters.get("iq", 0) == 0
    # The token is cached between polls.
    assert salto_sim.counters.get("token", 0) == 0


async def test_locks_listing_follows_pages(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A paged locks listing is followed to the end (its pages are the only extra requests)."""
    salto_sim.tenant.page_size = 2
    await setup_entry(hass, mock_config_entry)
    assert len(hass.states.async_entity_ids("lock")) == 3
    salto_sim.reset_counters()
    await tick(hass, freezer, INTERVAL)
    assert salto_sim.counters.get("locks") == 2  # two pages of 2 + 1 locks
    assert salto_sim.counters.get("iqs") == 1


async def test_unchanged_poll_writes_no_state(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A poll that changed nothing writes no state; a change writes only then."""
    changes: list[Event] = []

    @callback
    def _record(event: Event) -> None:
        changes.append(event)

    hass.bus.async_listen(EVENT_STATE_CHANGED, _record)
    salto_sim.reset_counters()
    await tick(hass, freezer, INTERVAL)
    await tick(hass, freezer, INTERVAL)
    assert salto_sim.counters.get("locks") == 2
    assert changes == []

    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    salto_sim.set_lock(lock_id, battery_level="low")
    await tick(hass, freezer, INTERVAL)
    battery = lock_entity_id(hass, lock_id, "battery")
    assert battery in {event.data["entity_id"] for event in changes}
    assert hass.states.get(battery).state == "20"


async def test_a_change_writes_only_its_devices_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A poll in which one lock changed writes that lock's entities, not the site's; an outage
    turns every entity unavailable and the recovery brings them all back."""
    written: list[str] = []

    @callback
    def _record(event: Event) -> None:
        written.append(event.data["entity_id"])

    @callback
    def _every(_data: Any) -> bool:
        return True

    hass.bus.async_listen(EVENT_STATE_CHANGED, _record)
    # A write that changes nothing is "reported", not "changed": both count.
    hass.bus.async_listen(EVENT_STATE_REPORTED, _record, event_filter=_every)
    registry = er.async_get(hass)
    entities = er.async_entries_for_config_entry(registry, init_integration.entry_id)
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    own = {entity.entity_id for entity in entities if entity.unique_id.startswith(lock_id)}
    assert len(own) >= 5

    salto_sim.set_lock(lock_id, battery_level="low")
    await tick(hass, freezer, INTERVAL)
    assert lock_entity_id(hass, lock_id, "battery") in written
    assert set(written) <= own

    # Every entity of a lock or IQ follows the roster's availability (the site's stream sensor does not).
    roster_entities = [
        entity.entity_id
        for entity in entities
        if not entity.disabled and not entity.unique_id.endswith("_event_stream")
    ]
    salto_sim.inject_fault("locks", "503")
    await tick(hass, freezer, INTERVAL)
    assert {hass.states.get(entity_id).state for entity_id in roster_entities} == {
        STATE_UNAVAILABLE
    }
    salto_sim.clear_faults()
    await tick(hass, freezer, INTERVAL)
    assert STATE_UNAVAILABLE not in {
        hass.states.get(entity_id).state for entity_id in roster_entities
    }


async def test_outage_and_recovery_logged_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cloud down: entities unavailable, one log line; back: available, one log line."""
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    entity_id = lock_entity_id(hass, lock_id)
    caplog.set_level(logging.INFO, logger="custom_components.salto_ks")

    salto_sim.inject_fault("locks", "503")
    for _ in range(3):
        await tick(hass, freezer, INTERVAL)
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    failures = [r for r in caplog.records if "Error fetching" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert "Cannot reach the Salto KS cloud" in failures[0].getMessage()

    salto_sim.clear_faults()
    for _ in range(2):
        await tick(hass, freezer, INTERVAL)
    assert hass.states.get(entity_id).state == "locked"
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(recovered) == 1
    assert recovered[0].levelno == logging.INFO


@pytest.mark.parametrize(
    "use_retry_after",
    [
        pytest.param(True, id="UpdateFailed-retry_after"),
        pytest.param(False, id="coordinator-deadline"),
    ],
)
async def test_rate_limit_honours_retry_after(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    use_retry_after: bool,
) -> None:
    """After a 429 no roster request goes out before Retry-After; polling resumes after it."""
    if use_retry_after and not errors_module.UPDATE_FAILED_HAS_RETRY_AFTER:
        pytest.skip("UpdateFailed(retry_after=) needs Home Assistant 2025.12")
    monkeypatch.setattr(errors_module, "UPDATE_FAILED_HAS_RETRY_AFTER", use_retry_after)
    roster = init_integration.runtime_data.roster
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    entity_id = lock_entity_id(hass, lock_id)
    retry_after = 150

    salto_sim.inject_fault("locks", "429", retry_after=retry_after, times=1)
    await tick(hass, freezer, INTERVAL)
    assert not roster.last_update_success
    # The last poll is recent: the entity keeps showing it (a command then fails loudly).
    assert hass.states.get(entity_id).state == "locked"
    salto_sim.reset_counters()
    attempts = 0
    update_data = roster._async_update_data

    async def _counting_update() -> Any:
        nonlocal attempts
        attempts += 1
        return await update_data()

    monkeypatch.setattr(roster, "_async_update_data", _counting_update)

    # Step through the Retry-After window: no listing request, even when asked for a refresh.
    waited = 0
    while waited + 10 < retry_after:
        await tick(hass, freezer, timedelta(seconds=10))
        waited += 10
        if waited == 70:
            await roster.async_request_refresh()
            await hass.async_block_till_done()
        assert salto_sim.counters.get("locks", 0) == 0, f"request {waited} s after the 429"
        assert salto_sim.counters.get("iqs", 0) == 0
    if use_retry_after:
        # HA itself postponed the next poll until Retry-After; only the explicit request ran.
        assert attempts == 1
    else:
        # The interval polls ran but the coordinator refused to send them.
        assert attempts >= 3

    # After Retry-After (plus at most one interval) polling resumes and entities come back.
    for _ in range(2 * DEFAULT_STATUS_INTERVAL // 10 + 2):
        await tick(hass, freezer, timedelta(seconds=10))
    assert salto_sim.counters.get("locks", 0) >= 1
    assert roster.last_update_success
    assert hass.states.get(entity_id).state == "locked"
