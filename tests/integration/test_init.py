"""Setup, failure modes, unload, reload and removal of a Salto KS config entry."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import DATA_COMPONENT as LOCK_DATA_COMPONENT
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.salto_ks.const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_STATUS_INTERVAL,
    CONF_STREAM_URL,
    DOMAIN,
)
from custom_components.salto_ks.coordinator import SaltoRosterCoordinator, SaltoRuntimeData
from custom_components.salto_ks.issues import (
    ISSUE_API_NOT_ENABLED,
    ISSUE_PERMISSION_DENIED,
    issue_id,
)
from simulator import Simulator

from .conftest import (
    async_refresh_roster,
    caller_site_user_id,
    get_device,
    lock_entity_id,
    reauth_flows,
    setup_entry,
    site_entry,
)

# The small scenario's lock types and the models the devices show for them.
READABLE_MODELS = {
    "escutcheon_pin": "Escutcheon with keypad",
    "wall_reader_pin": "Wall reader with keypad",
    "cylinder": "Cylinder",
}

# A loopback port nothing listens on: connection refused.
CLOSED_URL = "http://127.0.0.1:9"


async def test_setup_loads_roster_and_devices(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A reachable tenant loads: typed runtime data, one device per lock and per IQ, lock entities."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, SaltoRuntimeData)
    assert isinstance(entry.runtime_data.roster, SaltoRosterCoordinator)

    locks = salto_sim.state.locks_of(salto_sim.site_id)
    iqs = salto_sim.state.iqs_of(salto_sim.site_id)
    assert len(locks) == 3
    assert len(iqs) == 1
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert len(devices) == len(locks) + len(iqs)

    iq_device = get_device(hass, entry.entry_id, iqs[0].id)
    assert iq_device is not None
    assert iq_device.model == "IQ"
    assert iq_device.manufacturer == "Salto"
    assert iq_device.name == iqs[0].name
    # The revision is the IQ's hardware generation ("2.0"); the API reports no firmware.
    assert iq_device.hw_version == iqs[0].revision
    assert iq_device.sw_version is None
    for lock in locks:
        device = get_device(hass, entry.entry_id, lock.id)
        assert device is not None
        assert device.name == lock.name
        assert device.model == READABLE_MODELS[lock.lock_type]
        # The raw value stays findable (device info: model ID).
        assert device.model_id == lock.lock_type
        assert device.manufacturer == "Salto"
        assert device.serial_number == lock.mac
        assert device.via_device_id == iq_device.id
        assert hass.states.get(lock_entity_id(hass, lock.id)) is not None


@pytest.mark.parametrize("fault", ["500", "503", "timeout", "malformed"])
async def test_setup_retry_on_api_failure(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry, fault: str
) -> None:
    """A failing roster listing at setup is temporary: SETUP_RETRY, no reauth."""
    salto_sim.inject_fault("locks", fault, delay=30 if fault == "timeout" else None)
    await setup_entry(hass, mock_config_entry, check_loaded=False)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not reauth_flows(hass)


async def test_setup_retry_when_cloud_unreachable(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
) -> None:
    """Nothing listening at the API / identity server: SETUP_RETRY."""
    closed = {**entry_data, CONF_API_BASE: CLOSED_URL, CONF_AUTH_URL: f"{CLOSED_URL}/connect/token"}
    entry = site_entry(str(mock_config_entry.unique_id), closed, dict(mock_config_entry.options))
    await setup_entry(hass, entry, check_loaded=False)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not reauth_flows(hass)


async def test_setup_wrong_secret_starts_reauth(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Credentials refused by the identity server: SETUP_ERROR and a reauth flow."""
    salto_sim.set_credentials(client_secret="revoked-secret")
    await setup_entry(hass, mock_config_entry, check_loaded=False)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = reauth_flows(hass)
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_setup_token_endpoint_5xx_is_not_auth_failure(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry, fault: str
) -> None:
    """A broken identity server is not a credential problem: SETUP_RETRY, no reauth."""
    salto_sim.inject_fault("token", fault)
    await setup_entry(hass, mock_config_entry, check_loaded=False)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not reauth_flows(hass)
    assert salto_sim.counters.get("locks", 0) == 0


async def test_unload_leaves_nothing_behind(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Unload: NOT_LOADED, entities unavailable, no coordinator listener, no issue, no more polling."""
    entry = init_integration
    roster = entry.runtime_data.roster
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    # A pending "released" timer must go with the entity.
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": lock_entity_id(hass, lock_id)}, blocking=True
    )
    # And a repair issue with the entry.
    salto_sim.remove_user(caller_site_user_id(salto_sim))
    await async_refresh_roster(hass, entry)
    assert issue_registry.async_get_issue(DOMAIN, issue_id(ISSUE_PERMISSION_DENIED, entry.entry_id))

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not roster._listeners
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]
    for state in hass.states.async_all():
        assert state.state == STATE_UNAVAILABLE


async def test_options_change_reloads(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Changed options reload the entry; an unrelated data update does not."""
    entry = init_integration
    roster = entry.runtime_data.roster
    assert roster.update_interval is not None
    assert roster.update_interval.total_seconds() == 60

    hass.config_entries.async_update_entry(entry, title="Renamed site")
    await hass.async_block_till_done()
    assert entry.runtime_data.roster is roster

    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_STATUS_INTERVAL: 300}
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.roster is not roster
    new_interval = entry.runtime_data.roster.update_interval
    assert new_interval is not None
    assert new_interval.total_seconds() == 300


async def test_api_not_enabled_after_setup_raises_repair_issue(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The tenant loses the grant: a non-fixable repair issue, gone after the next good poll."""
    entry = init_integration
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    key = issue_id(ISSUE_API_NOT_ENABLED, entry.entry_id)

    salto_sim.tenant.grants.discard("password")
    salto_sim.tenant.grants.discard("refresh_token")
    salto_sim.expire_tokens()
    entry.runtime_data.client.invalidate_token()
    await async_refresh_roster(hass, entry)
    issue = issue_registry.async_get_issue(DOMAIN, key)
    assert issue is not None
    assert not issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == ISSUE_API_NOT_ENABLED
    assert hass.states.get(lock_entity_id(hass, lock_id)).state == STATE_UNAVAILABLE
    assert entry.state is ConfigEntryState.LOADED
    assert not reauth_flows(hass)

    salto_sim.tenant.grants.update({"password", "refresh_token"})
    await async_refresh_roster(hass, entry)
    assert issue_registry.async_get_issue(DOMAIN, key) is None
    assert hass.states.get(lock_entity_id(hass, lock_id)).state != STATE_UNAVAILABLE


async def test_permission_denied_after_setup_raises_repair_issue(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The KS user leaves the site (403): repair issue until a poll succeeds again."""
    entry = init_integration
    key = issue_id(ISSUE_PERMISSION_DENIED, entry.entry_id)
    site_user_id = caller_site_user_id(salto_sim)
    site_user = salto_sim.state.site_users[site_user_id]

    salto_sim.remove_user(site_user_id)
    await async_refresh_roster(hass, entry)
    issue = issue_registry.async_get_issue(DOMAIN, key)
    assert issue is not None
    assert issue.translation_key == ISSUE_PERMISSION_DENIED
    assert not issue.is_fixable

    salto_sim.state.site_users[site_user_id] = site_user
    await async_refresh_roster(hass, entry)
    assert issue_registry.async_get_issue(DOMAIN, key) is None


async def test_auth_failure_after_setup_starts_reauth(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Credentials revoked while running: the next poll starts a reauth flow."""
    entry = init_integration
    salto_sim.set_credentials(password="changed-password")
    salto_sim.expire_tokens()
    entry.runtime_data.client.invalidate_token()
    await async_refresh_roster(hass, entry)
    assert len(reauth_flows(hass)) == 1


async def test_remove_entry_deletes_issues_and_devices(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Removing the entry leaves no issue, device or entity of it."""
    entry = init_integration
    salto_sim.remove_user(caller_site_user_id(salto_sim))
    await async_refresh_roster(hass, entry)
    assert [i for i in issue_registry.issues.values() if i.domain == DOMAIN]

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]
    assert not dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert not er.async_entries_for_config_entry(entity_registry, entry.entry_id)


async def test_token_rejected_is_transient(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The API refuses even a fresh token: entities unavailable, but no reauth (not a credential issue)."""
    entry = init_integration
    lock_id = salto_sim.state.locks_of(salto_sim.site_id)[0].id
    salto_sim.tenant.token_lifetime = 0
    salto_sim.expire_tokens()
    await async_refresh_roster(hass, entry)
    roster = entry.runtime_data.roster
    assert not roster.last_update_success
    assert roster.last_exception is not None
    assert roster.last_exception.translation_key == "token_rejected"
    assert hass.states.get(lock_entity_id(hass, lock_id)).state == STATE_UNAVAILABLE
    assert not reauth_flows(hass)


async def test_setup_rate_limited_waits_for_retry_after(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A 429 at setup: SETUP_RETRY, and the setup retries send nothing before Retry-After."""
    retry_after = 100
    salto_sim.inject_fault("locks", "429", retry_after=retry_after, times=1)
    await setup_entry(hass, mock_config_entry, check_loaded=False)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "100" in (mock_config_entry.reason or "")
    salto_sim.reset_counters()

    waited = 0
    while mock_config_entry.state is not ConfigEntryState.LOADED and waited < 400:
        freezer.tick(timedelta(seconds=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        waited += 5
        if waited < retry_after:
            assert salto_sim.counters.get("locks", 0) == 0, f"request {waited} s after the 429"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert waited >= retry_after


async def test_setup_api_not_enabled_retries_with_issue(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The tenant refuses the grant at setup: SETUP_RETRY, a repair issue, no reauth."""
    salto_sim.tenant.grants.clear()
    await setup_entry(hass, mock_config_entry, check_loaded=False)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert issue_registry.async_get_issue(
        DOMAIN, issue_id(ISSUE_API_NOT_ENABLED, mock_config_entry.entry_id)
    )
    assert not reauth_flows(hass)

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]


@pytest.mark.parametrize("iqs_fail", [False, True])
@pytest.mark.parametrize("action", ["reload", "remove"])
async def test_roster_poll_outliving_its_entry_is_inert(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
    action: str,
    iqs_fail: bool,
) -> None:
    """get_status waits on a slow cloud while the entry reloads or goes: its poll changes nothing.

    The late answer (or, with ``iqs_fail``, the late failure) adds no entity through the torn-down
    platforms (no "does not generate unique IDs"), binds no entity to the dead coordinator, raises no
    repair issue, logs no error, and the action fails translated.
    """
    entry = init_integration
    old_roster = entry.runtime_data.roster
    lock_ids = [lock.id for lock in salto_sim.state.locks_of(salto_sim.site_id)]
    # A lock added meanwhile: the late answer is the first to list it.
    new_lock_id = salto_sim.add_lock(name="Late door")
    salto_sim.inject_fault("locks", "timeout", delay=2, times=1)
    if iqs_fail:
        salto_sim.inject_fault("iqs", "403", times=1)
    salto_sim.reset_counters()
    call = hass.async_create_task(
        hass.services.async_call(DOMAIN, "get_status", {}, blocking=True, return_response=True)
    )
    for _ in range(500):
        if salto_sim.counters.get("locks"):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the status poll never reached the simulator")
    if action == "reload":
        assert await hass.config_entries.async_reload(entry.entry_id)
    else:
        assert await hass.config_entries.async_remove(entry.entry_id)
    assert not call.done(), "the simulator answered before the entry was gone"
    with pytest.raises(HomeAssistantError) as err:
        await call
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "entry_reloaded"
    assert entry.title in str(err.value)
    await hass.async_block_till_done()

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "does not generate unique IDs" not in caplog.text
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    component = hass.data[LOCK_DATA_COMPONENT]
    entities = [entity for entity in component.entities if entity.platform.config_entry is not None]
    if action == "remove":
        assert not entities
        assert not er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        return
    assert entry.state is ConfigEntryState.LOADED
    new_roster = entry.runtime_data.roster
    assert new_roster is not old_roster
    assert sorted(entity.unique_id for entity in entities) == sorted([*lock_ids, new_lock_id])
    assert all(entity.coordinator is new_roster for entity in entities)


async def test_a_stream_url_stored_by_hand_that_is_no_host_root(
    hass: HomeAssistant,
    salto_sim: Simulator,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The entry loads and polls the access log alone; one warning says why there is no stream."""
    entry = site_entry(
        salto_sim.site_id,
        {**entry_data, CONF_STREAM_URL: f"{salto_sim.url}/?site=1"},
        entry_options,
    )
    await setup_entry(hass, entry)
    assert entry.runtime_data.stream is None
    assert entry.runtime_data.audit is not None
    assert "Not using the event stream of Simulated site" in caplog.text
    assert salto_sim.stream.counter("negotiations") == 0
