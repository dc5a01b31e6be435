"""The lock entity: state mapping, remote opening/locking and every failure, released timing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import (
    DOMAIN as LOCK_DOMAIN,
)
from homeassistant.components.lock import (
    SERVICE_LOCK,
    SERVICE_OPEN,
    SERVICE_UNLOCK,
    LockEntityFeature,
)
from homeassistant.const import (
    ATTR_CODE,
    ATTR_ENTITY_ID,
    ATTR_SUPPORTED_FEATURES,
    EVENT_STATE_CHANGED,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.salto_ks.api import (
    InvalidRequestError,
    LockUnavailableError,
    PermissionDeniedError,
)
from custom_components.salto_ks.const import (
    CONF_PIN_HASH,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DOMAIN,
    OTP_DOCS_URL,
)
from custom_components.salto_ks.lock import mentions_iq
from custom_components.salto_ks.pin import hash_pin
from simulator import Simulator, connect_api
from simulator.connect_api import ApiError

from .conftest import (
    async_refresh_roster,
    caller_site_user_id,
    lock_entity_id,
    snapshot_platform,
)

LOCKED = "locked"
UNLOCKED = "unlocked"
OPEN = "open"
SERVICES = [SERVICE_UNLOCK, SERVICE_OPEN, SERVICE_LOCK]


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the lock platform (used by setup_integration; init_integration sets up all)."""
    return [Platform.LOCK]


async def test_locks_snapshot(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Registry entries and states of every lock entity."""
    await snapshot_platform(hass, entity_registry, snapshot, setup_integration.entry_id)


async def _call(hass: HomeAssistant, service: str, entity_id: str) -> None:
    await hass.services.async_call(LOCK_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True)


@pytest.mark.parametrize(
    ("locked_state", "expected", "office_mode"),
    [
        ("locked", LOCKED, "off"),
        ("unlocked", UNLOCKED, "off"),
        ("office_mode", UNLOCKED, "on"),
        ("uncertain", STATE_UNKNOWN, STATE_UNKNOWN),
        ("none", STATE_UNKNOWN, STATE_UNKNOWN),
    ],
)
async def test_state_follows_locked_state(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    locked_state: str,
    expected: str,
    office_mode: str,
) -> None:
    """locked_state maps to the lock state; office mode shows as unlocked plus its binary sensor."""
    entity_id = lock_entity_id(hass, lock_id)
    state = hass.states.get(entity_id)
    assert state.state == LOCKED
    assert state.attributes[ATTR_SUPPORTED_FEATURES] == LockEntityFeature.OPEN
    assert state.name == salto_sim.state.locks[lock_id].name

    salto_sim.set_lock(lock_id, locked_state=locked_state)
    await async_refresh_roster(hass, init_integration)
    assert hass.states.get(entity_id).state == expected
    assert hass.states.get(lock_entity_id(hass, lock_id, "office_mode")).state == office_mode


@pytest.mark.parametrize(("service", "shown"), [(SERVICE_UNLOCK, UNLOCKED), (SERVICE_OPEN, OPEN)])
async def test_open_shows_released_then_locked(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
    shown: str,
) -> None:
    """unlock/open send one remote opening, show it for released_state s, then locked again."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.reset_counters()

    await _call(hass, service, entity_id)
    assert salto_sim.counters.get("locking") == 1
    entries = salto_sim.state.entries[salto_sim.site_id]
    assert entries[-1].data["event_category"] == "lock_opened"
    assert entries[-1].data["access_by"] == "remote"
    assert hass.states.get(entity_id).state == shown

    freezer.tick(timedelta(seconds=DEFAULT_RELEASED_STATE - 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == shown
    assert salto_sim.counters.get("locks", 0) == 0

    # The simulated lock relocks after its open time (7 s); HA's released time (5 s) is shorter,
    # so move past both before the refresh that follows the release.
    freezer.tick(timedelta(seconds=4))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == LOCKED
    # The release asked the roster to confirm.
    assert salto_sim.counters.get("locks") == 1


async def test_unlock_after_release_reflects_roster(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """When the roster says the lock is still open after the released time, HA shows that."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.set_lock(lock_id, open_time=60)
    await _call(hass, SERVICE_UNLOCK, entity_id)
    freezer.tick(timedelta(seconds=DEFAULT_RELEASED_STATE + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == UNLOCKED


def _record_states(hass: HomeAssistant, entity_id: str) -> list[str]:
    """The states written for one entity from now on, in order."""
    states: list[str] = []

    @callback
    def _record(event: Event) -> None:
        if event.data["entity_id"] == entity_id and event.data["new_state"] is not None:
            states.append(event.data["new_state"].state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, _record)
    return states


@pytest.mark.parametrize(("service", "shown"), [(SERVICE_UNLOCK, UNLOCKED), (SERVICE_OPEN, OPEN)])
async def test_release_end_writes_only_the_polled_state(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
    shown: str,
) -> None:
    """When the released time ends, the lock shows the fresh poll, never the stale cached state.

    The roster last said "locked" (before the opening); the door is still open when the released
    time ends, so the poll says "unlocked". A "locked" in between would be a false trigger.
    """
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.set_lock(lock_id, open_time=60)
    states = _record_states(hass, entity_id)
    await _call(hass, service, entity_id)
    freezer.tick(timedelta(seconds=DEFAULT_RELEASED_STATE + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert states == ([shown] if shown == UNLOCKED else [shown, UNLOCKED])
    # The lock relocks by itself; the next interval poll shows it.
    freezer.tick(timedelta(seconds=DEFAULT_STATUS_INTERVAL + 10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert states[-1] == LOCKED
    assert states.count(LOCKED) == 1


async def test_wrong_pin_names_the_lock(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """The wrong-PIN message names the lock as the user knows it, like every other message."""
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, CONF_PIN_HASH: hash_pin("2468")}
    )
    await hass.async_block_till_done()
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.reset_counters()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN,
            SERVICE_UNLOCK,
            {ATTR_ENTITY_ID: entity_id, ATTR_CODE: "1357"},
            blocking=True,
        )
    assert err.value.translation_key == "wrong_pin"
    name = salto_sim.state.locks[lock_id].name
    assert name in str(err.value)
    assert entity_id not in str(err.value)
    assert salto_sim.counters.get("locking", 0) == 0


async def test_lock_sends_locked(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """lock.lock ends office mode in the cloud and the refreshed roster shows locked."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.set_lock(lock_id, locked_state="office_mode")
    await async_refresh_roster(hass, init_integration)
    assert hass.states.get(entity_id).state == UNLOCKED

    salto_sim.reset_counters()
    await _call(hass, SERVICE_LOCK, entity_id)
    assert salto_sim.counters.get("locking") == 1
    assert salto_sim.state.locks[lock_id].locked_state == "locked"
    assert hass.states.get(entity_id).state == LOCKED


async def _assert_error(
    hass: HomeAssistant,
    salto_sim: Simulator,
    service: str,
    entity_id: str,
    key: str,
    *,
    requests: int,
) -> HomeAssistantError:
    salto_sim.reset_counters()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, service, entity_id)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert salto_sim.counters.get("locking", 0) == requests
    # The message is translated (no raw key) and names the lock.
    assert key not in str(err.value)
    return err.value


@pytest.mark.parametrize("service", SERVICES)
async def test_offline_lock_in_roster_fails_without_request(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """The roster already says the lock is offline: precise error, no request, entity available."""
    salto_sim.set_lock(lock_id, online=False)
    await async_refresh_roster(hass, init_integration)
    entity_id = lock_entity_id(hass, lock_id)
    assert hass.states.get(entity_id).state == LOCKED
    assert hass.states.get(lock_entity_id(hass, lock_id, "online")).state == "off"
    err = await _assert_error(hass, salto_sim, service, entity_id, "lock_offline", requests=0)
    assert salto_sim.state.locks[lock_id].name in str(err)


@pytest.mark.parametrize("service", SERVICES)
async def test_offline_lock_reported_by_cloud(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """The roster is stale; the cloud's 422 'lock is offline' gives the same message."""
    salto_sim.set_lock(lock_id, online=False)
    await _assert_error(
        hass, salto_sim, service, lock_entity_id(hass, lock_id), "lock_offline", requests=1
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_offline_iq_in_roster_fails_without_request(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
    service: str,
) -> None:
    """The roster says the IQ is offline: iq_offline naming the IQ, no request."""
    salto_sim.set_iq(iq_id, online=False)
    await async_refresh_roster(hass, init_integration)
    err = await _assert_error(
        hass, salto_sim, service, lock_entity_id(hass, lock_id), "iq_offline", requests=0
    )
    assert err.translation_placeholders["iq"] == salto_sim.state.iqs[iq_id].name


@pytest.mark.parametrize("service", SERVICES)
async def test_offline_iq_reported_by_cloud(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
    service: str,
) -> None:
    """The cloud's 422 'IQ is offline' maps to iq_offline."""
    salto_sim.set_iq(iq_id, online=False)
    err = await _assert_error(
        hass, salto_sim, service, lock_entity_id(hass, lock_id), "iq_offline", requests=1
    )
    assert err.translation_placeholders["iq"] == salto_sim.state.iqs[iq_id].name


@pytest.mark.parametrize("service", SERVICES)
async def test_lock_offline_answer_with_iq_offline_in_roster(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
    service: str,
) -> None:
    """The cloud blames the lock, but the roster polled meanwhile shows its IQ offline: iq_offline.

    The command is held in the simulator while the roster sees the IQ go offline; by the time the
    cloud answers, the IQ is back and the lock is offline, so the answer says "The lock is offline".
    """
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.inject_fault("locking", "timeout", delay=3, times=1)
    salto_sim.reset_counters()
    command = hass.async_create_task(_call(hass, service, entity_id))
    for _ in range(1000):
        if salto_sim.counters.get("locking"):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the command never reached the simulator")
    salto_sim.set_iq(iq_id, online=False)
    # Not async_refresh_roster: waiting for HA to settle would wait for the held command.
    await init_integration.runtime_data.roster.async_refresh()
    salto_sim.set_iq(iq_id, online=True)
    salto_sim.set_lock(lock_id, online=False)
    assert not command.done(), "the simulator answered before the roster caught up"
    with pytest.raises(HomeAssistantError) as err:
        await command
    assert err.value.translation_key == "iq_offline"
    assert err.value.translation_placeholders["iq"] == salto_sim.state.iqs[iq_id].name
    assert isinstance(err.value.__cause__, LockUnavailableError)
    assert "lock is offline" in str(err.value.__cause__)


async def _error_after_roster_poll(
    hass: HomeAssistant,
    salto_sim: Simulator,
    entry: MockConfigEntry,
    service: str,
    entity_id: str,
    *,
    lock_id: str,
    iq_id: str,
    offline: str,
) -> HomeAssistantError:
    """Hold a command in the simulator while the lock or IQ goes offline and the roster polls.

    The simulator then answers the command for the offline device; returns the command's error.
    """
    salto_sim.inject_fault("locking", "timeout", delay=3, times=1)
    salto_sim.reset_counters()
    command = hass.async_create_task(_call(hass, service, entity_id))
    for _ in range(1000):
        if salto_sim.counters.get("locking"):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the command never reached the simulator")
    if offline == "lock":
        salto_sim.set_lock(lock_id, online=False)
    else:
        salto_sim.set_iq(iq_id, online=False)
    # Not async_refresh_roster: waiting for HA to settle would wait for the held command.
    await entry.runtime_data.roster.async_refresh()
    assert not command.done(), "the simulator answered before the roster caught up"
    with pytest.raises(HomeAssistantError) as err:
        await command
    return err.value


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("offline", "key"), [("lock", "lock_offline"), ("iq", "iq_offline")])
async def test_offline_403_answer_named_from_roster(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
    service: str,
    offline: str,
    key: str,
) -> None:
    """A tenant refusing an offline device with 403 2203 "Operation cannot be executed": the
    roster, which shows the device offline, makes it the offline message, not a permission one."""
    salto_sim.tenant.update(offline_answer="403")
    err = await _error_after_roster_poll(
        hass,
        salto_sim,
        init_integration,
        service,
        lock_entity_id(hass, lock_id),
        lock_id=lock_id,
        iq_id=iq_id,
        offline=offline,
    )
    assert err.translation_key == key
    assert isinstance(err.__cause__, PermissionDeniedError)
    assert err.__cause__.status == 403
    assert err.__cause__.error_code == "2203"
    assert salto_sim.state.locks[lock_id].name in str(err)
    if offline == "iq":
        assert err.translation_placeholders["iq"] == salto_sim.state.iqs[iq_id].name


@pytest.mark.parametrize("service", SERVICES)
async def test_offline_403_answer_with_online_roster_is_permission(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """The same 403 while the roster shows lock and IQ online: the permission message."""
    salto_sim.tenant.update(offline_answer="403")
    salto_sim.set_lock(lock_id, online=False)
    await _assert_error(
        hass,
        salto_sim,
        service,
        lock_entity_id(hass, lock_id),
        "action_permission_denied",
        requests=1,
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_invalid_request_is_permanent(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
) -> None:
    """A permanent 400 (here: site not released, ErrorCode 2210): command_invalid, not a glitch.

    The simulator has no switch for it, so its refusal of an offline lock is swapped for that 400.
    """
    monkeypatch.setattr(
        connect_api, "offline", lambda _sim, _message: ApiError(400, 2210, "Site is not released")
    )
    salto_sim.set_lock(lock_id, online=False)
    err = await _assert_error(
        hass, salto_sim, service, lock_entity_id(hass, lock_id), "command_invalid", requests=1
    )
    assert isinstance(err.__cause__, InvalidRequestError)
    assert salto_sim.state.locks[lock_id].name in str(err)
    # Not counted as a transient failure: a credential refusal right after it is trusted.
    assert init_integration.runtime_data.roster.auth_refusal_is_trusted()


@pytest.mark.parametrize(
    ("message", "names_iq"),
    [
        ("The IQ is offline", True),
        ("IQ offline", True),
        ("The lock's iq is offline", True),
        ("IQ-link lost, device offline", True),
        ("The lock is offline", False),
        ("Unique lock reference is offline", False),
        ("Lock offline (liquid damage)", False),
        ("", False),
    ],
)
def test_mentions_iq_matches_a_whole_word(message: str, names_iq: bool) -> None:
    """Only "IQ" as a word names the IQ; "unique" or "liquid" do not."""
    assert mentions_iq(message) is names_iq


@pytest.mark.parametrize("service", SERVICES)
async def test_otp_protected_iq(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
    service: str,
) -> None:
    """An OTP-protected IQ refuses the command; the message names the IQ and what the code is
    for (locking is not opening) and points to the README's OTP section."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    key = "otp_required_lock" if service == SERVICE_LOCK else "otp_required"
    err = await _assert_error(
        hass, salto_sim, service, lock_entity_id(hass, lock_id), key, requests=1
    )
    assert OTP_DOCS_URL in str(err)
    assert salto_sim.state.iqs[iq_id].name in str(err)
    assert ("locking" in str(err)) == (service == SERVICE_LOCK)


async def test_lock_not_supported(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """A lock that cannot lock remotely (422): unsupported (opening is not affected)."""
    salto_sim.state.locks[lock_id].supports_remote_lock = False
    err = await _assert_error(
        hass, salto_sim, SERVICE_LOCK, lock_entity_id(hass, lock_id), "unsupported", requests=1
    )
    assert "XS4" in str(err)


@pytest.mark.parametrize("service", SERVICES)
async def test_no_remote_access(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """The KS user lacks remote access (403): action_permission_denied."""
    salto_sim.set_user(caller_site_user_id(salto_sim), remote_access=False)
    await _assert_error(
        hass,
        salto_sim,
        service,
        lock_entity_id(hass, lock_id),
        "action_permission_denied",
        requests=1,
    )


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("fault", ["500", "503", "drop"])
async def test_cloud_down(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    fault: str,
    service: str,
) -> None:
    """A failing cloud: cannot_connect, and the lock keeps its state."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.inject_fault("locking", fault)
    await _assert_error(hass, salto_sim, service, entity_id, "cannot_connect", requests=1)
    assert hass.states.get(entity_id).state == LOCKED


@pytest.mark.parametrize("service", SERVICES)
async def test_rate_limited_action(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """A 429 on a command: rate_limited; the next command waits for Retry-After without a request."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.inject_fault("locking", "429", retry_after=30, times=1)
    err = await _assert_error(hass, salto_sim, service, entity_id, "rate_limited", requests=1)
    assert err.translation_placeholders["seconds"] == "30"
    await _assert_error(hass, salto_sim, service, entity_id, "rate_limited", requests=0)

    freezer.tick(timedelta(seconds=31))
    salto_sim.reset_counters()
    await _call(hass, service, entity_id)
    assert salto_sim.counters.get("locking") == 1


@pytest.mark.parametrize("service", SERVICES)
async def test_rate_limited_poll_keeps_commands_failing_loudly(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """A poll's 429 keeps the recent roster shown, so a command raises rate_limited, sending nothing.

    An unavailable entity would be skipped by Home Assistant: the automation would succeed having
    opened nothing. Once the data is too old (one interval plus 10 minutes), the entities are
    unavailable.
    """
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.inject_fault("locks", "429", retry_after=3600, times=1)
    await async_refresh_roster(hass, init_integration)
    assert not init_integration.runtime_data.roster.last_update_success
    assert hass.states.get(entity_id).state == LOCKED
    err = await _assert_error(hass, salto_sim, service, entity_id, "rate_limited", requests=0)
    assert int(err.translation_placeholders["seconds"]) > 3500

    freezer.tick(timedelta(seconds=DEFAULT_STATUS_INTERVAL + 600))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE


@pytest.mark.parametrize("service", SERVICES)
async def test_revoked_credentials_on_action_start_reauth(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """Credentials refused during a command: translated error and a reauth flow."""
    salto_sim.set_credentials(password="changed")
    salto_sim.expire_tokens()
    init_integration.runtime_data.client.invalidate_token()
    await _assert_error(
        hass,
        salto_sim,
        service,
        lock_entity_id(hass, lock_id),
        "action_invalid_auth",
        requests=0,
    )
    await hass.async_block_till_done()
    assert any(
        flow["context"]["source"] == "reauth"
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_lock_removed_from_cloud(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    service: str,
) -> None:
    """The roster is stale and the cloud no longer knows the lock (404): lock_not_found."""
    entity_id = lock_entity_id(hass, lock_id)
    name = salto_sim.state.locks[lock_id].name
    salto_sim.remove_lock(lock_id)
    err = await _assert_error(hass, salto_sim, service, entity_id, "lock_not_found", requests=1)
    assert name in str(err)


async def test_lock_without_an_iq_is_not_blamed_on_another_iq(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """A lock the roster shows without an IQ is not stopped by the other IQs being offline or
    asking for a code: the command is sent, and the cloud's 422 (nothing reaches the lock) is
    lock_offline."""
    for iq in salto_sim.state.iqs_of(salto_sim.site_id):
        salto_sim.set_iq(iq.id, otp_enabled=True, online=False)
    salto_sim.set_lock(lock_id, iq_id=None)
    await async_refresh_roster(hass, init_integration)
    await _assert_error(
        hass, salto_sim, SERVICE_OPEN, lock_entity_id(hass, lock_id), "lock_offline", requests=1
    )
