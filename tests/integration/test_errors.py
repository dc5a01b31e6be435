"""errors.py inside Home Assistant, against the simulator's identity server: the one mapping of
client errors to HA errors, and the auth grace.

- An API 401 with a token the client still thinks valid is renewed once: no reauth, entities stay.
- A token-endpoint 5xx or timeout is a transient UpdateFailed: the entry stays loaded, no reauth.
- Only the identity server refusing the credentials starts reauth - at once, unless Salto failed
  transiently less than AUTH_REFUSAL_GRACE ago (then it is retried; reauth once the grace ran out).
- Lock commands follow the same grace.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_UNLOCK
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.const import DEFAULT_STATUS_INTERVAL
from custom_components.salto_ks.errors import AUTH_REFUSAL_GRACE
from simulator import Simulator

from .conftest import async_refresh_roster, reauth_flows, tick


def _failure_key(entry: MockConfigEntry) -> str | None:
    roster = entry.runtime_data.roster
    assert not roster.last_update_success
    return roster.last_exception.translation_key  # type: ignore[no-any-return,union-attr]


async def test_api_401_renews_once(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_entity: str
) -> None:
    """The server forgot the token (401): one token request, the poll succeeds, no reauth."""
    salto_sim.expire_tokens()
    salto_sim.reset_counters()
    await async_refresh_roster(hass, init_integration)
    assert init_integration.runtime_data.roster.last_update_success
    assert salto_sim.counters["token"] == 1
    assert hass.states.get(lock_entity).state == "locked"
    assert not reauth_flows(hass)


@pytest.mark.parametrize("fault", ["500", "502", "503", "malformed", "drop"])
async def test_token_endpoint_failure_is_transient(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_entity: str,
    fault: str,
) -> None:
    """Token endpoint broken while the token must be renewed: UpdateFailed, loaded, no reauth."""
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", fault, times=10)
    await async_refresh_roster(hass, init_integration)
    assert _failure_key(init_integration) == "cannot_connect"
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(lock_entity).state == STATE_UNAVAILABLE
    assert not reauth_flows(hass)

    salto_sim.clear_faults()
    await async_refresh_roster(hass, init_integration)
    assert init_integration.runtime_data.roster.last_update_success
    assert hass.states.get(lock_entity).state == "locked"
    assert not reauth_flows(hass)


async def test_token_endpoint_timeout_is_transient(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A token request that times out is transient too (client timeout shortened for the test)."""
    init_integration.runtime_data.client._auth._timeout = aiohttp.ClientTimeout(total=0.2)
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", "timeout", delay=1.0, times=10)
    await async_refresh_roster(hass, init_integration)
    assert _failure_key(init_integration) == "cannot_connect"
    assert init_integration.state is ConfigEntryState.LOADED
    assert not reauth_flows(hass)
    salto_sim.clear_faults()
    await async_refresh_roster(hass, init_integration)
    assert init_integration.runtime_data.roster.last_update_success


async def test_revoked_secret_starts_reauth(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The identity server refuses the credentials themselves (no glitch before): reauth at once."""
    salto_sim.set_credentials(client_secret="new")
    await async_refresh_roster(hass, init_integration)
    flows = reauth_flows(hass)
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id


async def test_short_identity_outage_recovers_without_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_entity: str,
) -> None:
    """Token endpoint 503 for a few polls while tokens expire: never reauth, recovers by itself."""
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", "503", times=3)
    roster = init_integration.runtime_data.roster
    failed = 0
    for _ in range(6):
        await tick(hass, freezer, DEFAULT_STATUS_INTERVAL)
        failed += not roster.last_update_success
        assert not reauth_flows(hass)
    assert failed >= 1
    assert roster.last_update_success
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(lock_entity).state == "locked"


async def test_refusal_right_after_glitch_waits_for_grace(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A refusal within the grace after a transient failure is retried; reauth once it ran out."""
    roster = init_integration.runtime_data.roster
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", "503", times=10)
    await async_refresh_roster(hass, init_integration)
    assert _failure_key(init_integration) == "cannot_connect"

    # The identity server answers again, but refuses the credentials (spurious or real).
    salto_sim.clear_faults()
    salto_sim.set_credentials(client_secret="new")
    await async_refresh_roster(hass, init_integration)
    assert _failure_key(init_integration) == "auth_refused_retrying"
    assert not reauth_flows(hass)

    # Polling goes on through the grace (the coordinator did not stop on an auth failure).
    salto_sim.reset_counters()
    await tick(hass, freezer, AUTH_REFUSAL_GRACE / 2)
    assert salto_sim.counters.get("token", 0) >= 1
    assert _failure_key(init_integration) == "auth_refused_retrying"
    assert not reauth_flows(hass)

    # Still refused after the grace: now it is trusted.
    for _ in range(int(AUTH_REFUSAL_GRACE / DEFAULT_STATUS_INTERVAL) + 1):
        await tick(hass, freezer, DEFAULT_STATUS_INTERVAL)
        if reauth_flows(hass):
            break
    assert len(reauth_flows(hass)) == 1
    assert not roster.last_update_success


async def test_spurious_refusal_after_glitch_heals(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_entity: str,
) -> None:
    """The refusal was spurious (the secret still works a poll later): no reauth ever."""
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", "503", times=10)
    await async_refresh_roster(hass, init_integration)
    salto_sim.clear_faults()
    original = salto_sim.client_secret
    salto_sim.set_credentials(client_secret="temporarily-refused")
    await async_refresh_roster(hass, init_integration)
    assert _failure_key(init_integration) == "auth_refused_retrying"
    salto_sim.set_credentials(client_secret=original)
    await async_refresh_roster(hass, init_integration)
    assert init_integration.runtime_data.roster.last_update_success
    assert hass.states.get(lock_entity).state == "locked"
    assert not reauth_flows(hass)


async def test_good_poll_ends_the_grace(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Glitch, then a good poll, then a refusal: the refusal is trusted at once."""
    salto_sim.inject_fault("locks", "503", times=1)
    await async_refresh_roster(hass, init_integration)
    assert _failure_key(init_integration) == "cannot_connect"
    await async_refresh_roster(hass, init_integration)
    assert init_integration.runtime_data.roster.last_update_success
    salto_sim.set_credentials(client_secret="new")
    await async_refresh_roster(hass, init_integration)
    assert len(reauth_flows(hass)) == 1


async def test_lock_command_follows_the_grace(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_entity: str,
) -> None:
    """A refused unlock right after a glitch is a connection error without reauth; later, reauth."""
    salto_sim.expire_tokens()
    salto_sim.inject_fault("token", "503", times=10)
    await async_refresh_roster(hass, init_integration)
    salto_sim.clear_faults()
    salto_sim.set_credentials(client_secret="new")
    # The roster is unavailable; the command is still tried (it decides nothing from the roster).
    init_integration.runtime_data.roster.async_set_updated_data(
        init_integration.runtime_data.roster.data
    )
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN, SERVICE_UNLOCK, {ATTR_ENTITY_ID: lock_entity}, blocking=True
        )
    assert err.value.translation_key == "cannot_connect"
    assert not reauth_flows(hass)

    freezer.tick(timedelta(seconds=AUTH_REFUSAL_GRACE + 1))
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN, SERVICE_UNLOCK, {ATTR_ENTITY_ID: lock_entity}, blocking=True
        )
    assert err.value.translation_key == "action_invalid_auth"
    await hass.async_block_till_done()
    assert len(reauth_flows(hass)) == 1


async def test_lock_command_with_a_rejected_token_is_transient(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_entity: str
) -> None:
    """The API refuses the renewed token too (a second 401): cannot_connect, no reauth, loaded."""
    salto_sim.inject_fault("locking", "401", times=2)
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN, SERVICE_UNLOCK, {ATTR_ENTITY_ID: lock_entity}, blocking=True
        )
    assert err.value.translation_key == "cannot_connect"
    assert "TokenRejectedError" in str(err.value)
    assert salto_sim.counters["token"] == 1
    assert salto_sim.counters["locking"] == 2
    assert init_integration.state is ConfigEntryState.LOADED
    assert not reauth_flows(hass)
