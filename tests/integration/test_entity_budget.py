"""entity_budget.py: a site whose entities exceed Home Assistant's enabled-entity limit loses none.

The limit is Home Assistant's own constant, patched small: on the latest target HA enforces the patched value
itself (so "nothing dropped" is HA's verdict), on the floor only the integration reads it. The site is the
simulator's ``large`` scenario, big enough that its entities are added in several chunks (entity.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_platform
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks import entity_budget
from custom_components.salto_ks.const import DOMAIN
from custom_components.salto_ks.entity import ADD_FIRST_CHUNK
from custom_components.salto_ks.issues import issue_id
from simulator import Simulator

from .conftest import async_refresh_roster, setup_entry

# Every entity of a lock and the ones that stay enabled on a site over the limit (unique id suffixes).
LOCK_KEYS = (
    None,
    "manual_office_mode",
    "battery",
    "online",
    "left_open",
    "intrusion",
    "privacy_mode",
    "office_mode",
    "access",
)
PRIMARY_KEYS = (None, "battery", "access")
IQ_ENTITIES = 3  # online, OTP required, signal strength (disabled by default)
IQ_ENABLED = 2

LIMIT_CONSTANT = "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY"
HA_HAS_LIMIT = hasattr(entity_platform, LIMIT_CONSTANT)


@pytest.fixture
async def salto_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """The ``large`` scenario with locks for three chunks of entities or more (the first has 10)."""
    sim = Simulator.from_scenario("large", seed=1, locks=4 * ADD_FIRST_CHUNK + 7)
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()


def _set_limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Give Home Assistant (and so the integration, through compat.py) an enabled-entity limit."""
    monkeypatch.setattr(entity_platform, LIMIT_CONSTANT, limit, raising=False)


def _entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[er.RegistryEntry]:
    return er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)


def _site(sim: Simulator) -> tuple[list[str], int]:
    """The site's lock ids and its number of IQs."""
    return [lock.id for lock in sim.state.locks_of(sim.site_id)], len(sim.state.iqs_of(sim.site_id))


def _all_enabled_count(sim: Simulator) -> int:
    """What the site needs enabled with every entity at its default."""
    locks, iqs = _site(sim)
    return len(locks) * len(LOCK_KEYS) + iqs * IQ_ENABLED


def _unique_id(lock_id: str, key: str | None) -> str:
    return lock_id if key is None else f"{lock_id}_{key}"


def _budget_issue(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id(kind, entry.entry_id))


def _assert_primary_only(hass: HomeAssistant, entry: MockConfigEntry, lock_ids: list[str]) -> None:
    """Every lock's entities are registered; the primary ones enabled with a state, the rest disabled."""
    by_unique_id = {entity.unique_id: entity for entity in _entities(hass, entry)}
    for lock_id in lock_ids:
        for key in LOCK_KEYS:
            entity = by_unique_id[_unique_id(lock_id, key)]
            if key in PRIMARY_KEYS:
                assert entity.disabled_by is None, entity.entity_id
                assert hass.states.get(entity.entity_id) is not None, entity.entity_id
            else:
                assert entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION, entity.entity_id
                assert hass.states.get(entity.entity_id) is None, entity.entity_id


def _assert_all_default(hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator) -> None:
    """Every entity at its own default: all of the locks' enabled, no budget issue."""
    locks, iqs = _site(sim)
    entities = _entities(hass, entry)
    assert len(entities) == len(locks) * len(LOCK_KEYS) + iqs * IQ_ENTITIES
    assert sum(entity.disabled_by is None for entity in entities) == _all_enabled_count(sim)
    for kind in entity_budget.BUDGET_ISSUES:
        assert _budget_issue(hass, entry, kind) is None


async def test_no_limit_changes_nothing(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Without a patched limit (none on the floor, 10,000 on the latest) the site keeps its defaults."""
    await setup_entry(hass, mock_config_entry)

    _assert_all_default(hass, mock_config_entry, salto_sim)


async def test_site_that_just_fits_changes_nothing(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A limit exactly as large as the site's enabled entities: every entity at its default, no issue."""
    _set_limit(monkeypatch, _all_enabled_count(salto_sim))
    await setup_entry(hass, mock_config_entry)

    _assert_all_default(hass, mock_config_entry, salto_sim)


async def test_site_over_the_limit_enables_the_primary_entities(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One entity over: every lock keeps its lock, battery and access event, the rest start disabled,
    nothing is dropped, one warning issue says so; a lock added later follows the same rule."""
    limit = _all_enabled_count(salto_sim) - 1
    _set_limit(monkeypatch, limit)
    await setup_entry(hass, mock_config_entry)

    lock_ids, iqs = _site(salto_sim)
    entities = _entities(hass, mock_config_entry)
    assert len(entities) == len(lock_ids) * len(LOCK_KEYS) + iqs * IQ_ENTITIES
    enabled = len(lock_ids) * len(PRIMARY_KEYS) + iqs * IQ_ENABLED
    assert sum(entity.disabled_by is None for entity in entities) == enabled
    _assert_primary_only(hass, mock_config_entry, lock_ids)
    issue = _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "title": mock_config_entry.title,
        "limit": str(limit),
        "locks": str(len(lock_ids)),
        "needed": str(limit + 1),
        "primary": str(enabled),
    }
    assert _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_LIMIT) is None

    iq = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    new_lock = salto_sim.add_lock(salto_sim.site_id, name="Annex door", iq_id=iq)
    await async_refresh_roster(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(_entities(hass, mock_config_entry)) == len(entities) + len(LOCK_KEYS)
    _assert_primary_only(hass, mock_config_entry, [*lock_ids, new_lock])
    issue = _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["locks"] == str(len(lock_ids) + 1)


async def test_site_growing_past_the_limit(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lock that takes the site over the limit gets its primary entities only; the locks registered
    before keep all of theirs, and the issue appears with that poll."""
    limit = _all_enabled_count(salto_sim) + len(PRIMARY_KEYS)
    _set_limit(monkeypatch, limit)
    await setup_entry(hass, mock_config_entry)
    _assert_all_default(hass, mock_config_entry, salto_sim)
    before = _all_enabled_count(salto_sim)

    iq = salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    new_lock = salto_sim.add_lock(salto_sim.site_id, name="Annex door", iq_id=iq)
    await async_refresh_roster(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)

    _assert_primary_only(hass, mock_config_entry, [new_lock])
    entities = _entities(hass, mock_config_entry)
    assert sum(entity.disabled_by is None for entity in entities) == before + len(PRIMARY_KEYS)
    assert _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET) is not None


@pytest.mark.skipif(not HA_HAS_LIMIT, reason="Home Assistant without an entity limit drops nothing")
async def test_without_the_budget_home_assistant_drops_entities(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The control for the test above: with the integration blind to the limit, HA drops entities."""
    limit = _all_enabled_count(salto_sim) - 1
    _set_limit(monkeypatch, limit)
    monkeypatch.setattr(entity_budget, "enabled_entity_limit", lambda: None)
    await setup_entry(hass, mock_config_entry)

    lock_ids, iqs = _site(salto_sim)
    assert (
        len(_entities(hass, mock_config_entry)) < len(lock_ids) * len(LOCK_KEYS) + iqs * IQ_ENTITIES
    )
    assert "Reached the maximum" in caplog.text


async def test_registered_entities_keep_their_setting(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Entities registered before the site went over the limit stay enabled (HA reads the default on
    first registration only); the issue is raised anyway, and goes with the unload."""
    await setup_entry(hass, mock_config_entry)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    _set_limit(monkeypatch, _all_enabled_count(salto_sim) - 1)

    await setup_entry(hass, mock_config_entry)

    entities = _entities(hass, mock_config_entry)
    assert sum(entity.disabled_by is None for entity in entities) == _all_enabled_count(salto_sim)
    assert _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET) is not None

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    assert _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET) is None


async def test_issue_follows_the_roster(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lock leaving the site brings it under the limit: the issue goes with that roster poll."""
    _set_limit(monkeypatch, _all_enabled_count(salto_sim) - 1)
    await setup_entry(hass, mock_config_entry)
    assert _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET) is not None

    lock_ids, _ = _site(salto_sim)
    salto_sim.remove_lock(lock_ids[-1])
    await async_refresh_roster(hass, mock_config_entry)

    for kind in entity_budget.BUDGET_ISSUES:
        assert _budget_issue(hass, mock_config_entry, kind) is None


@pytest.mark.parametrize(
    ("entry_options", "primary_keys"),
    [
        ({}, PRIMARY_KEYS),
        # The access log off: no access event entity, so each lock has two primary entities.
        ({"event_poll_interval": 0}, (None, "battery")),
    ],
    ids=["audit", "no_audit"],
)
async def test_primary_entities_over_the_limit(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    entry_options: dict[str, Any],
    primary_keys: tuple[str | None, ...],
) -> None:
    """Even the primary entities do not fit: the error issue says so, the secondary ones stay disabled."""
    lock_ids, iqs = _site(salto_sim)
    primary = len(lock_ids) * len(primary_keys) + iqs * IQ_ENABLED
    _set_limit(monkeypatch, primary - 1)
    await setup_entry(hass, mock_config_entry)

    issue = _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_LIMIT)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["primary"] == str(primary)
    assert _budget_issue(hass, mock_config_entry, entity_budget.ISSUE_ENTITY_BUDGET) is None
    switches = [e for e in _entities(hass, mock_config_entry) if e.domain == Platform.SWITCH]
    assert switches
    assert all(e.disabled_by is er.RegistryEntryDisabler.INTEGRATION for e in switches)
