"""entity.py: a large site's entities are added a chunk of devices at a time, with the loop free between."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE, Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.entity import ADD_FIRST_CHUNK, ADD_SLICE_SECONDS, next_chunk_size
from simulator import Simulator

from .conftest import async_refresh_roster, setup_entry

# Three chunks when adding is fast (10, then 20, then the last 17), more when it is slow.
LOCKS = 4 * ADD_FIRST_CHUNK + 7


@pytest.fixture
def many_locks(salto_sim: Simulator) -> int:
    """Add locks until the site has LOCKS; return how many it has."""
    existing = len(salto_sim.state.locks_of(salto_sim.site_id))
    iq = next(iter(salto_sim.state.iqs.values()))
    for n in range(LOCKS - existing):
        salto_sim.add_lock(salto_sim.site_id, name=f"Door {n:03d}", iq_id=iq.id)
    return LOCKS


def _lock_states(hass: HomeAssistant) -> list[str]:
    return [state.state for state in hass.states.async_all(Platform.LOCK)]


def probe_after_first_lock(hass: HomeAssistant, probe: Callable[[], None]) -> None:
    """Run ``probe`` in the loop run after the one that wrote the first lock's state."""
    scheduled = False

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        nonlocal scheduled
        if not scheduled and event.data["entity_id"].startswith("lock."):
            scheduled = True
            hass.loop.call_soon(probe)

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)


async def test_large_site_added_in_chunks(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, many_locks: int
) -> None:
    """The first ADD_FIRST_CHUNK locks are added in one run of the loop, the rest in later ones."""
    seen: list[int] = []
    probe_after_first_lock(hass, lambda: seen.append(len(_lock_states(hass))))
    await setup_entry(hass, mock_config_entry)

    assert len(seen) == 1
    assert ADD_FIRST_CHUNK <= seen[0] < many_locks
    states = _lock_states(hass)
    assert len(states) == many_locks
    assert STATE_UNAVAILABLE not in states
    registry = er.async_get(hass)
    switches = [
        entity
        for entity in er.async_entries_for_config_entry(registry, mock_config_entry.entry_id)
        if entity.domain == Platform.SWITCH
    ]
    assert len(switches) == many_locks  # every platform finished, not only the lock platform


async def test_unload_while_chunks_pending(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Locks that appear later are added in chunks too; an unload between two chunks adds nothing
    more and logs no error."""
    await setup_entry(hass, mock_config_entry)
    before = len(_lock_states(hass))
    iq = next(iter(salto_sim.state.iqs.values()))
    for n in range(LOCKS):
        salto_sim.add_lock(salto_sim.site_id, name=f"New door {n:03d}", iq_id=iq.id)
    entry_id = mock_config_entry.entry_id
    unloaded: list[bool] = []

    async def unload() -> None:
        unloaded.append(await hass.config_entries.async_unload(entry_id))

    seen: list[int] = []

    def probe() -> None:
        seen.append(len(_lock_states(hass)))
        hass.async_create_task(unload())

    probe_after_first_lock(hass, probe)
    await async_refresh_roster(hass, mock_config_entry)
    await hass.async_block_till_done()

    assert unloaded == [True]
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    assert before + ADD_FIRST_CHUNK <= seen[0] < before + LOCKS
    states = _lock_states(hass)
    assert len(states) < before + LOCKS
    assert all(state == STATE_UNAVAILABLE for state in states)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("size", "seconds", "expected"),
    [
        (10, 0.0, 20),  # no measurable time: double
        (10, ADD_SLICE_SECONDS / 10, 20),  # ten times under the slice: at most double
        (10, ADD_SLICE_SECONDS / 1.5, 15),  # under the slice: as many as fit
        (10, ADD_SLICE_SECONDS, 10),  # exactly the slice: the same again
        (10, ADD_SLICE_SECONDS * 4, 2),  # over it: fewer, sized by the time per device
        (10, 1.0, 1),  # far over it: one device a run, never none
    ],
)
def test_next_chunk_size(size: int, seconds: float, expected: int) -> None:
    """Each chunk is sized from the time per device of the one before: about ADD_SLICE_SECONDS a
    run of the loop, at most twice the previous chunk, at least one device."""
    assert next_chunk_size(size, seconds) == expected
