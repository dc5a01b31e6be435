"""Fixtures for tests that run the integration inside Home Assistant against the simulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from enum import IntEnum, IntFlag, StrEnum
from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.salto_ks import PLATFORMS
from custom_components.salto_ks.api import Entry
from custom_components.salto_ks.compat import DEVICE_PER_ENTRY
from custom_components.salto_ks.const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_PASSWORD,
    CONF_RELEASED_STATE,
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    ENDPOINT_CUSTOM,
)
from custom_components.salto_ks.services import (
    SERVICE_GET_EVENTS,
    SERVICE_GET_LOCKS,
    SERVICE_GET_SITES,
    SERVICE_GET_STATUS,
    SERVICE_GET_USERS,
    SERVICE_REFRESH_TOKEN,
)
from simulator import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/salto_ks in every test here."""


# A value far beyond any field's limit.
TEN_KB = "x" * 10_240

# The actions that take a config_entry_id.
ENTRY_SERVICES = (
    SERVICE_GET_EVENTS,
    SERVICE_GET_STATUS,
    SERVICE_GET_SITES,
    SERVICE_GET_LOCKS,
    SERVICE_GET_USERS,
    SERVICE_REFRESH_TOKEN,
)


@pytest.fixture
def entry_data(salto_sim: Simulator) -> dict[str, Any]:
    """Connection data of a config entry pointed at the simulator (password grant)."""
    return {
        CONF_ENDPOINT: ENDPOINT_CUSTOM,
        CONF_API_BASE: salto_sim.api_base,
        CONF_AUTH_URL: salto_sim.auth_url,
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_CLIENT_SECRET: salto_sim.client_secret,
        CONF_USERNAME: salto_sim.username,
        CONF_PASSWORD: salto_sim.password,
        CONF_SITE_ID: salto_sim.site_id,
    }


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Default options; tests override single values."""
    return {
        CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
        CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
        CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
        CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
    }


@pytest.fixture
def mock_config_entry(
    salto_sim: Simulator, entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> MockConfigEntry:
    """A config entry for the simulator's first site (not yet added to hass)."""
    return site_entry(salto_sim.site_id, entry_data, entry_options)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set the entry up and wait until Home Assistant is idle."""
    return await setup_entry(hass, mock_config_entry, check_loaded=False)


@pytest.fixture
def lock_ids(salto_sim: Simulator) -> list[str]:
    """The simulated site's locks: Front Door, Back Door, Storage Room (the third cannot lock
    remotely)."""
    return [lock.id for lock in salto_sim.state.locks_of(salto_sim.site_id)]


@pytest.fixture
def lock_id(lock_ids: list[str]) -> str:
    """The first lock of the simulated site."""
    return lock_ids[0]


@pytest.fixture
def lock_entity(hass: HomeAssistant, init_integration: MockConfigEntry, lock_id: str) -> str:
    """Entity id of the first lock, with the integration set up."""
    return lock_entity_id(hass, lock_id)


@pytest.fixture
def iq_id(salto_sim: Simulator) -> str:
    """The simulated site's IQ."""
    return salto_sim.state.iqs_of(salto_sim.site_id)[0].id


# --- integration-core helpers -------------------------------------------------------------------


class _SnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshot extension, writing to ``snapshots/`` beside the tests like core."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(Path(test_location.filepath).parent / "snapshots")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshot assertion stored in tests/integration/snapshots/."""
    return snapshot.use_extension(_SnapshotExtension)


@pytest.fixture
def platforms() -> list[Platform]:
    """Platforms the integration sets up; platform tests narrow this to one."""
    return list(PLATFORMS)


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, platforms: list[Platform]
) -> AsyncIterator[MockConfigEntry]:
    """Like init_integration, limited to ``platforms`` for the whole test (setup, reload, unload)."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.salto_ks.PLATFORMS", platforms):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        yield mock_config_entry


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, including the ones disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


AUDIT_T0 = datetime(2026, 8, 19, 12, 50, 38, tzinfo=UTC)


def audit_row(
    entry_id: str = "e1",
    category: str = "lock_opened",
    detail: str | None = None,
    when: datetime = AUDIT_T0,
    **fields: str | None,
) -> Entry:
    """One access-log row as the client parses it (for the pure audit_rows / audit_feed tests)."""
    return Entry.from_dict(
        {
            "id": entry_id,
            "event_category": category,
            "event_detail": detail,
            "utc_date_time": when.isoformat(),
            "lock_id": "lock-1",
            **fields,
        }
    )


def site_entry(
    site_id: str,
    data: dict[str, Any],
    options: dict[str, Any],
    *,
    title: str = "Simulated site",
) -> MockConfigEntry:
    """A config entry of one site (not yet added to hass); ``data`` as the ``entry_data`` fixture."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        data={**data, CONF_SITE_ID: site_id},
        options=options,
        unique_id=site_id,
    )


async def setup_entry(
    hass: HomeAssistant, entry: MockConfigEntry, *, check_loaded: bool = True
) -> MockConfigEntry:
    """Add the entry to hass (unless it is there already), set it up and let HA settle.

    ``check_loaded`` False: the caller checks the outcome itself (a setup meant to fail or retry).
    """
    if entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries(DOMAIN)}:
        entry.add_to_hass(hass)
    result = await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    if check_loaded:
        assert result
        assert entry.state is ConfigEntryState.LOADED
    return entry


async def add_second_site(
    hass: HomeAssistant, sim: Simulator, entry_data: dict[str, Any], options: dict[str, Any]
) -> tuple[MockConfigEntry, str]:
    """Set up a second site (its own KS user: the Connect API needs one); return it and its lock."""
    site_id = sim.add_site("Branch office", site_uid="DE0000000002")
    iq = sim.add_iq(site_id, name="IQ 02")
    lock = sim.add_lock(site_id, name="Branch Door", iq_id=iq)
    branch = {CONF_USERNAME: "branch@salto-sim.example", CONF_PASSWORD: "branch-password"}
    sim.add_user(
        site_id,
        first_name="Branch",
        last_name="Admin",
        email=branch[CONF_USERNAME],
        password=branch[CONF_PASSWORD],
        roles=("site_admin",),
    )
    entry = site_entry(site_id, {**entry_data, **branch}, options, title="Branch office")
    return await setup_entry(hass, entry), lock


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta | float
) -> None:
    """Move the clock (HA's and the simulator's) by ``delta`` (seconds or a timedelta) and run
    whatever falls due; scheduled refreshes run as background tasks, so wait for those too."""
    freezer.tick(delta if isinstance(delta, timedelta) else timedelta(seconds=delta))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """The integration's reauth flows in progress."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def call_action(
    hass: HomeAssistant, service: str, data: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Call a salto_ks action; the ``get_*`` ones return their response."""
    response = service.startswith("get_")
    result = await hass.services.async_call(
        DOMAIN, service, data or {}, blocking=True, return_response=response
    )
    return dict(result) if response and result is not None else None


async def action_error(
    hass: HomeAssistant,
    service: str,
    data: dict[str, Any] | None,
    key: str,
    kind: type[HomeAssistantError] = ServiceValidationError,
) -> HomeAssistantError:
    """Call an action that must fail with the translated error ``key`` of type ``kind``."""
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, service, data)
    assert type(err.value) is kind
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    # The message is the translated text, not the bare key.
    assert str(err.value)
    assert str(err.value) != key
    return err.value


@pytest.fixture
def no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test when anything logs an error (an unhandled exception in a flow or an action)."""
    caplog.set_level(logging.DEBUG)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage()[:200] for r in errors]


async def async_refresh_roster(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Poll the roster now (what the interval timer would do) and let HA settle."""
    await entry.runtime_data.roster.async_refresh()
    await hass.async_block_till_done()


def lock_entity_id(hass: HomeAssistant, lock_id: str, key: str | None = None) -> str:
    """Entity id of a lock's entity (``key`` None: the lock entity) from its unique id."""
    registry = er.async_get(hass)
    unique_id = lock_id if key is None else f"{lock_id}_{key}"
    for domain in ("lock", "sensor", "binary_sensor"):
        if key is None and domain != "lock":
            continue
        if entity_id := registry.async_get_entity_id(domain, DOMAIN, unique_id):
            return entity_id
    raise AssertionError(f"no entity with unique id {unique_id}")


# Registry-entry fields that exist on every supported Home Assistant version; the snapshot must not
# depend on the target (newer versions add fields such as object_id_base).
_ENTRY_FIELDS = (
    "entity_id",
    "unique_id",
    "platform",
    "domain",
    "device_class",
    "original_device_class",
    "original_name",
    "original_icon",
    "translation_key",
    "has_entity_name",
    "entity_category",
    "disabled_by",
    "hidden_by",
    "capabilities",
    "supported_features",
    "unit_of_measurement",
)


def _plain(value: Any) -> Any:
    """Enums as their plain values (newer HA keys state attributes with StrEnums)."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, IntFlag | IntEnum):
        return int(value)
    return value


def get_device(hass: HomeAssistant, entry_id: str, salto_id: str) -> dr.DeviceEntry | None:
    """The entry's device of a lock or IQ (the lookup API differs between HA versions)."""
    registry = dr.async_get(hass)
    identifier = (DOMAIN, salto_id)
    if DEVICE_PER_ENTRY:
        return registry.async_get_device_by_identifier(identifier, entry_id)  # type: ignore[no-any-return]
    return registry.async_get_device(identifiers={identifier})


async def snapshot_platform(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """Snapshot every entity of one platform: its registry entry and its state (target independent)."""
    entity_entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert entity_entries
    assert len({entry.domain for entry in entity_entries}) == 1, "limit the test to one platform"
    for entity_entry in sorted(entity_entries, key=lambda e: e.entity_id):
        assert entity_entry.disabled_by is None, "enable all entities"
        serialized = {name: getattr(entity_entry, name) for name in _ENTRY_FIELDS}
        serialized["capabilities"] = (
            dict(entity_entry.capabilities) if entity_entry.capabilities else None
        )
        assert _plain(serialized) == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = hass.states.get(entity_entry.entity_id)
        assert state, f"state not found for {entity_entry.entity_id}"
        assert {"state": state.state, "attributes": _plain(dict(state.attributes))} == snapshot(
            name=f"{entity_entry.entity_id}-state"
        )


def caller_site_user_id(sim: Simulator) -> str:
    """Site-user id of the simulator user the integration logs in as."""
    for site_user in sim.state.site_users.values():
        if site_user.user.email == sim.username and site_user.site_id == sim.site_id:
            return str(site_user.id)
    raise AssertionError("the simulator's login user is not a member of its site")
