"""The salto_ks service actions against the simulator: responses, timing, every error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.const import (
    CONF_EVENT_POLL_INTERVAL,
    CONF_RELEASED_STATE,
    CONF_STATUS_INTERVAL,
    CONF_UNLOCK_SECONDS,
    DEFAULT_STATUS_INTERVAL,
    DOMAIN,
    OTP_DOCS_URL,
)
from custom_components.salto_ks.guest_services import (
    SERVICE_CREATE_GUEST,
    SERVICE_GET_ACCESS_GROUPS,
    SERVICE_GET_GUESTS,
    SERVICE_REMOVE_GUEST,
)
from custom_components.salto_ks.office_mode_services import (
    SERVICE_SET_EASY_OFFICE_MODE,
    SERVICE_SET_OFFICE_MODE,
)
from custom_components.salto_ks.service_targets import ATTR_CONFIG_ENTRY_ID
from custom_components.salto_ks.services import (
    ATTR_LIMIT,
    ATTR_SECONDS,
    ATTR_SINCE,
    SERVICE_GET_EVENTS,
    SERVICE_GET_LOCKS,
    SERVICE_GET_SITES,
    SERVICE_GET_STATUS,
    SERVICE_GET_USERS,
    SERVICE_REFRESH_TOKEN,
    SERVICE_UNLOCK,
)
from simulator import Simulator

from .conftest import (
    ENTRY_SERVICES,
    action_error,
    async_refresh_roster,
    call_action,
    caller_site_user_id,
    lock_entity_id,
    tick,
)

LOCKED = "locked"
UNLOCKED = "unlocked"

OFFICE_MODE_SERVICES = (SERVICE_SET_OFFICE_MODE, SERVICE_SET_EASY_OFFICE_MODE)
GUEST_SERVICES = (
    SERVICE_CREATE_GUEST,
    SERVICE_REMOVE_GUEST,
    SERVICE_GET_ACCESS_GROUPS,
    SERVICE_GET_GUESTS,
)
ALL_SERVICES = (SERVICE_UNLOCK, *OFFICE_MODE_SERVICES, *ENTRY_SERVICES, *GUEST_SERVICES)


def _sim_rows(sim: Simulator, site_id: str | None = None) -> list[dict[str, Any]]:
    """The simulator's audit rows of a site, newest first."""
    rows = sim.state.entries[site_id or sim.site_id]
    return [row.data for row in sorted(rows, key=lambda row: (row.utc, row.seq), reverse=True)]


# --- registration ---------------------------------------------------------------------------------


async def test_actions_registered_without_entry(hass: HomeAssistant) -> None:
    """async_setup registers every action; with no entry loaded they explain why they cannot work."""
    assert await async_setup_component(hass, DOMAIN, {})
    for service in ALL_SERVICES:
        assert hass.services.has_service(DOMAIN, service), service
    for service in ENTRY_SERVICES:
        await action_error(hass, service, {}, "no_entry_loaded")
    with pytest.raises(vol.Invalid, match="at least one Salto KS lock"):
        await call_action(hass, SERVICE_UNLOCK, {})


async def test_services_yaml_loads(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Home Assistant reads services.yaml: every action with its fields, targets and selectors."""
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == set(ALL_SERVICES)
    assert set(descriptions[SERVICE_UNLOCK]["fields"]) == {ATTR_SECONDS, "code", "otp"}
    # Newer HA versions add the text selector's defaults (multiline, multiple).
    assert descriptions[SERVICE_UNLOCK]["fields"]["code"]["selector"]["text"]["type"] == "password"
    assert descriptions[SERVICE_UNLOCK]["fields"][ATTR_SECONDS]["selector"]["number"]["max"] == 60
    assert set(descriptions[SERVICE_GET_EVENTS]["fields"]) == {
        ATTR_ENTITY_ID,
        ATTR_CONFIG_ENTRY_ID,
        ATTR_LIMIT,
        ATTR_SINCE,
    }
    assert descriptions[SERVICE_UNLOCK]["target"] == {
        "entity": [{"integration": DOMAIN, "domain": ["lock"]}]
    }
    for service in ENTRY_SERVICES:
        selector = descriptions[service]["fields"][ATTR_CONFIG_ENTRY_ID]["selector"]
        assert selector == {"config_entry": {"integration": DOMAIN}}


async def test_actions_survive_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """Unloading the entry keeps the actions; calls name the unloaded entry."""
    entity_id = lock_entity_id(hass, lock_id)
    await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    for service in ALL_SERVICES:
        assert hass.services.has_service(DOMAIN, service)
    err = await action_error(
        hass,
        SERVICE_GET_LOCKS,
        {ATTR_CONFIG_ENTRY_ID: init_integration.entry_id},
        "entry_not_loaded",
    )
    assert init_integration.title in str(err)
    await action_error(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, "entry_not_loaded")
    await action_error(hass, SERVICE_GET_SITES, {}, "no_entry_loaded")


# --- salto_ks.unlock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown_for"),
    [(10, 10), (2.5, 2.5), (600, 60), (0, 1)],
    ids=["10s", "fraction", "clamped-high", "clamped-low"],
)
async def test_unlock_with_seconds(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    seconds: float,
    shown_for: float,
) -> None:
    """One remote opening; HA shows the lock unlocked for ``seconds`` (clamped to 1-60), then locked."""
    entity_id = lock_entity_id(hass, lock_id)
    # The simulated lock relocks after 1 s, so what HA shows is only the released time.
    salto_sim.set_lock(lock_id, open_time=1)
    salto_sim.reset_counters()

    await call_action(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id, ATTR_SECONDS: seconds})
    assert salto_sim.counters.get("locking") == 1
    last = salto_sim.state.entries[salto_sim.site_id][-1].data
    assert (last["lock_id"], last["event_category"], last["access_by"]) == (
        lock_id,
        "lock_opened",
        "remote",
    )
    assert hass.states.get(entity_id).state == UNLOCKED

    # HA's timers fire up to a second early in tests (the lock tests keep a second's margin too).
    await tick(hass, freezer, shown_for - 1)
    assert hass.states.get(entity_id).state == UNLOCKED

    # The simulated lock relocked long ago; the released time alone decides what HA shows.
    await tick(hass, freezer, 2)
    assert hass.states.get(entity_id).state == LOCKED


@pytest.mark.parametrize(
    "entry_options",
    [
        {
            CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
            CONF_EVENT_POLL_INTERVAL: 0,
            CONF_UNLOCK_SECONDS: 9,
            CONF_RELEASED_STATE: 2,
        }
    ],
)
async def test_unlock_default_is_unlock_seconds_option(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """Without ``seconds`` the entry's unlock_seconds option (9 s) applies, not released_state (2 s)."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.set_lock(lock_id, open_time=1)
    await call_action(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id})
    assert hass.states.get(entity_id).state == UNLOCKED
    await tick(hass, freezer, 8)
    assert hass.states.get(entity_id).state == UNLOCKED
    await tick(hass, freezer, 2)
    assert hass.states.get(entity_id).state == LOCKED

    # lock.unlock keeps using released_state.
    await hass.services.async_call("lock", "unlock", {ATTR_ENTITY_ID: entity_id}, blocking=True)
    await tick(hass, freezer, 3)
    assert hass.states.get(entity_id).state == LOCKED


async def test_unlock_one_target_fails_others_open(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """Every targeted lock is tried; the failure of one is reported after the others opened."""
    front, back, _ = lock_ids
    salto_sim.set_lock(front, online=False)  # the roster still says online: the cloud answers 422
    salto_sim.reset_counters()
    err = await action_error(
        hass,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: [lock_entity_id(hass, front), lock_entity_id(hass, back)]},
        "lock_offline",
        HomeAssistantError,
    )
    assert salto_sim.state.locks[front].name in str(err)
    assert salto_sim.counters.get("locking") == 2
    assert hass.states.get(lock_entity_id(hass, back)).state == UNLOCKED
    assert hass.states.get(lock_entity_id(hass, front)).state == LOCKED


async def test_unlock_offline_lock(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """Offline lock: reported by the cloud (422) and, once the roster knows, without a request."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.set_lock(lock_id, online=False)
    salto_sim.reset_counters()
    await action_error(
        hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, "lock_offline", HomeAssistantError
    )
    assert salto_sim.counters.get("locking") == 1

    await async_refresh_roster(hass, init_integration)
    salto_sim.reset_counters()
    await action_error(
        hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, "lock_offline", HomeAssistantError
    )
    assert salto_sim.counters.get("locking", 0) == 0
    assert hass.states.get(entity_id).state == LOCKED


async def test_unlock_offline_iq(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> None:
    """An offline IQ (422 from the cloud) names the IQ."""
    salto_sim.set_iq(iq_id, online=False)
    err = await action_error(
        hass,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id)},
        "iq_offline",
        HomeAssistantError,
    )
    assert err.translation_placeholders["iq"] == salto_sim.state.iqs[iq_id].name


async def test_unlock_otp_iq(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    iq_id: str,
) -> None:
    """An OTP-protected IQ refuses the opening; the message links the README's OTP section."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    entity_id = lock_entity_id(hass, lock_id)
    err = await action_error(
        hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, "otp_required", HomeAssistantError
    )
    assert OTP_DOCS_URL in str(err)
    assert hass.states.get(entity_id).state == LOCKED


async def test_unlock_permission_denied(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """403 on the locking endpoint (injected, and a user without remote access)."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.inject_fault("locking", "403", times=1)
    await action_error(
        hass,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: entity_id},
        "action_permission_denied",
        HomeAssistantError,
    )
    salto_sim.set_user(caller_site_user_id(salto_sim), remote_access=False)
    await action_error(
        hass,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: entity_id},
        "action_permission_denied",
        HomeAssistantError,
    )
    assert hass.states.get(entity_id).state == LOCKED


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_unlock_cloud_down(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    fault: str,
) -> None:
    """A 5xx: cannot_connect, the lock stays locked in HA."""
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.inject_fault("locking", fault)
    await action_error(
        hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id}, "cannot_connect", HomeAssistantError
    )
    assert hass.states.get(entity_id).state == LOCKED


async def test_unlock_rate_limited(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """A 429 gives rate_limited with the server's wait."""
    salto_sim.inject_fault("locking", "429", retry_after=40, times=1)
    err = await action_error(
        hass,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id)},
        "rate_limited",
        HomeAssistantError,
    )
    assert err.translation_placeholders["seconds"] == "40"
    assert "40" in str(err)


async def test_unlock_unsupported_lock_type(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """Unlocking works on the lock that cannot lock remotely (only locking is unsupported)."""
    storage = lock_ids[2]
    await call_action(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: lock_entity_id(hass, storage)})
    assert hass.states.get(lock_entity_id(hass, storage)).state == UNLOCKED


async def test_unlock_invalid_seconds_rejected_by_schema(
    hass: HomeAssistant, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """A duration that is not a number fails validation before anything is sent."""
    with pytest.raises(Exception, match="seconds"):
        await call_action(
            hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id), ATTR_SECONDS: "x"}
        )


# --- salto_ks.get_events --------------------------------------------------------------------------


@pytest.fixture
def recent_rows(salto_sim: Simulator, lock_ids: list[str]) -> list[dict[str, Any]]:
    """Five openings 50 to 10 minutes ago, alternating between the first two locks."""
    users = [su for su in salto_sim.state.users_of(salto_sim.site_id) if su.user.tag_number]
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        salto_sim.open_by(
            lock_ids[index % 2], users[0].user.id, utc=now - timedelta(minutes=50 - index * 10)
        )
        for index in range(5)
    ]


async def test_get_events_newest_first(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    recent_rows: list[dict[str, Any]],
) -> None:
    """Default: up to 50 rows of the site, newest first, as plain JSON (Entry.as_dict)."""
    salto_sim.reset_counters()
    response = await call_action(hass, SERVICE_GET_EVENTS)
    assert salto_sim.counters.get("entries") == 1
    events = response["events"]
    expected = _sim_rows(salto_sim)
    assert len(expected) == 8  # 3 from the scenario, 5 from the fixture
    assert [event["id"] for event in events] == [row["id"] for row in expected]
    newest = events[0]
    assert newest["id"] == recent_rows[-1]["id"]
    assert newest["event_category"] == "lock_opened"
    assert newest["access_by"] == "tag"
    assert newest["lock_id"] == recent_rows[-1]["lock_id"]
    assert newest["user_id"] == recent_rows[-1]["user_id"]
    assert dt_util.parse_datetime(newest["utc_date_time"]) == dt_util.parse_datetime(
        recent_rows[-1]["utc_date_time"]
    )
    times = [dt_util.parse_datetime(event["utc_date_time"]) for event in events]
    assert times == sorted(times, reverse=True)


async def test_get_events_limit_and_since(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    recent_rows: list[dict[str, Any]],
) -> None:
    """limit caps the rows; since keeps only rows at or after it (aware, or naive = local time)."""
    response = await call_action(hass, SERVICE_GET_EVENTS, {ATTR_LIMIT: 2})
    assert [event["id"] for event in response["events"]] == [
        row["id"] for row in reversed(recent_rows[-2:])
    ]

    since = dt_util.parse_datetime(recent_rows[2]["utc_date_time"])
    response = await call_action(hass, SERVICE_GET_EVENTS, {ATTR_SINCE: since.isoformat()})
    assert [event["id"] for event in response["events"]] == [
        row["id"] for row in reversed(recent_rows[2:])
    ]
    # The UI's datetime selector sends Home Assistant's local time without a zone.
    naive_local = dt_util.as_local(since).replace(tzinfo=None)
    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_SINCE: naive_local.strftime("%Y-%m-%d %H:%M:%S")}
    )
    assert len(response["events"]) == 3

    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_SINCE: since.isoformat(), ATTR_LIMIT: 1}
    )
    assert [event["id"] for event in response["events"]] == [recent_rows[-1]["id"]]

    future = datetime.now(UTC) + timedelta(hours=1)
    response = await call_action(hass, SERVICE_GET_EVENTS, {ATTR_SINCE: future.isoformat()})
    assert response == {"events": [], "truncated": False}


async def test_get_events_filtered_by_lock(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    recent_rows: list[dict[str, Any]],
    lock_ids: list[str],
) -> None:
    """Targeted locks: only their rows, newest first, at most limit."""
    back = lock_ids[1]
    expected = [row["id"] for row in _sim_rows(salto_sim) if row["lock_id"] == back]
    assert len(expected) >= 2
    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: lock_entity_id(hass, back)}
    )
    assert [event["id"] for event in response["events"]] == expected
    assert {event["lock_id"] for event in response["events"]} == {back}

    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: lock_entity_id(hass, back), ATTR_LIMIT: 1}
    )
    assert [event["id"] for event in response["events"]] == expected[:1]

    both = [lock_entity_id(hass, lock) for lock in lock_ids[:2]]
    response = await call_action(
        hass,
        SERVICE_GET_EVENTS,
        {ATTR_ENTITY_ID: both, ATTR_CONFIG_ENTRY_ID: init_integration.entry_id},
    )
    assert [event["id"] for event in response["events"]] == [
        row["id"] for row in _sim_rows(salto_sim) if row["lock_id"] in lock_ids[:2]
    ]


def _add_rows(
    sim: Simulator, lock_id: str, times: list[datetime], category: str = "lock_opened"
) -> list[str]:
    """One audit row of ``lock_id`` at each time; their ids."""
    return [
        sim.add_entry(lock_id=lock_id, event_category=category, access_by="tag", utc=when)["id"]
        for when in times
    ]


async def test_get_events_lock_rows_older_than_200_site_rows(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """A lock's rows behind 250 newer rows of another lock are found by reading older pages.

    Five rows share each second, so a page ends inside a second: its other rows come on the next
    page, none lost or repeated.
    """
    # The scenario has no rows of the storage room.
    front, back = lock_ids[0], lock_ids[2]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    back_ids = _add_rows(salto_sim, back, [start + timedelta(seconds=n) for n in range(3)])
    _add_rows(salto_sim, front, [start + timedelta(minutes=1, seconds=n // 5) for n in range(250)])
    back_entity = lock_entity_id(hass, back)

    salto_sim.reset_counters()
    response = await call_action(hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: back_entity})
    expected = [row["id"] for row in _sim_rows(salto_sim) if row["lock_id"] == back]
    assert expected == back_ids[::-1]
    assert [event["id"] for event in response["events"]] == expected
    assert response["truncated"] is False
    # Every row of the site, by continuation token, in the simulator's pages of 50.
    assert salto_sim.counters["entries"] == 6

    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: back_entity, ATTR_SINCE: start.isoformat()}
    )
    assert [event["id"] for event in response["events"]] == back_ids[::-1]

    # Every row of the other lock, across the page break, exactly once.
    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: lock_entity_id(hass, front), ATTR_LIMIT: 200}
    )
    ids = [event["id"] for event in response["events"]]
    assert ids == [row["id"] for row in _sim_rows(salto_sim) if row["lock_id"] == front][:200]
    assert len(set(ids)) == 200
    assert response["truncated"] is False


async def test_get_events_lock_scan_cap(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """The search reads about 1,000 rows at most and says so with truncated: true."""
    # The scenario has no rows of the storage room.
    front, back = lock_ids[0], lock_ids[2]
    salto_sim.tenant.entries_page_size = 200
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    _add_rows(salto_sim, back, [start])
    _add_rows(salto_sim, front, [start + timedelta(seconds=1 + n) for n in range(1100)])
    back_entity = lock_entity_id(hass, back)

    salto_sim.reset_counters()
    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: back_entity, ATTR_SINCE: start.isoformat()}
    )
    assert response == {"events": [], "truncated": True}
    assert salto_sim.counters["entries"] == 5

    # Rows matching before the cap: no flag.
    response = await call_action(
        hass, SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: lock_entity_id(hass, front), ATTR_LIMIT: 5}
    )
    assert len(response["events"]) == 5
    assert response["truncated"] is False


async def test_get_events_lock_row_behind_a_crowded_second(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """A lock's row behind more than a page of another lock's rows in the same second is found:
    the continuation token pages past them."""
    front, back = lock_ids[0], lock_ids[2]
    salto_sim.tenant.entries_page_size = 200
    crowded = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    back_ids = _add_rows(salto_sim, back, [crowded])
    _add_rows(salto_sim, front, [crowded] * 250)
    salto_sim.reset_counters()
    response = await call_action(
        hass,
        SERVICE_GET_EVENTS,
        {
            ATTR_ENTITY_ID: lock_entity_id(hass, back),
            ATTR_SINCE: (crowded - timedelta(minutes=1)).isoformat(),
        },
    )
    assert [event["id"] for event in response["events"]] == back_ids
    assert response["truncated"] is False
    assert salto_sim.counters["entries"] == 2


async def test_get_events_since_with_milliseconds(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """The API filters since in whole seconds; a row before a sub-second since is dropped."""
    front = lock_ids[0]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    before, after = _add_rows(salto_sim, front, [start, start + timedelta(seconds=1)])
    since = (start + timedelta(milliseconds=500)).isoformat()
    assert "." in since
    for target in ({}, {ATTR_ENTITY_ID: lock_entity_id(hass, front)}):
        response = await call_action(hass, SERVICE_GET_EVENTS, {**target, ATTR_SINCE: since})
        assert [event["id"] for event in response["events"]] == [after]
    # A since on the row's own time keeps it.
    response = await call_action(hass, SERVICE_GET_EVENTS, {ATTR_SINCE: start.isoformat()})
    assert [event["id"] for event in response["events"]] == [after, before]


@pytest.mark.parametrize("limit", [0, -1, 201, 1000])
async def test_get_events_limit_out_of_range(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, limit: int
) -> None:
    """A limit outside 1-200 fails the schema before any request."""
    salto_sim.reset_counters()
    with pytest.raises(vol.Invalid, match="limit"):
        await call_action(hass, SERVICE_GET_EVENTS, {ATTR_LIMIT: limit})
    assert salto_sim.counters.get("entries", 0) == 0


async def test_get_events_cloud_errors(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Entries endpoint failures map to translated HomeAssistantErrors."""
    salto_sim.inject_fault("entries", "503", times=1)
    err = await action_error(hass, SERVICE_GET_EVENTS, {}, "cannot_connect", HomeAssistantError)
    assert err.translation_placeholders == {"error": "CommunicationError"}
    salto_sim.inject_fault("entries", "403", times=1)
    err = await action_error(
        hass, SERVICE_GET_EVENTS, {}, "action_not_permitted", HomeAssistantError
    )
    assert init_integration.title in str(err)


# --- get_sites / get_locks / get_users ------------------------------------------------------------


async def test_get_sites(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The sites the KS user belongs to."""
    salto_sim.add_site("Not a member", site_uid="DE0000000077")
    response = await call_action(hass, SERVICE_GET_SITES)
    site = salto_sim.state.sites[salto_sim.site_id]
    assert response == {
        "sites": [
            {
                "id": salto_sim.site_id,
                "site_uid": site.site_uid,
                "name": site.name,
                "time_zone": site.time_zone,
            }
        ]
    }


async def test_get_locks(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """The site's locks as the cloud reports them now (not the roster's last poll)."""
    salto_sim.set_lock(lock_ids[1], battery_level="low", online=False)
    salto_sim.reset_counters()
    response = await call_action(
        hass, SERVICE_GET_LOCKS, {ATTR_CONFIG_ENTRY_ID: init_integration.entry_id}
    )
    assert salto_sim.counters.get("locks") == 1
    locks = {lock["id"]: lock for lock in response["locks"]}
    assert list(locks) == lock_ids
    for lock_id in lock_ids:
        sim_lock = salto_sim.state.locks[lock_id]
        assert locks[lock_id]["name"] == sim_lock.name
        assert locks[lock_id]["lock_type"] == sim_lock.lock_type
        assert locks[lock_id]["iq"]["id"] == salto_sim.state.iqs_of(salto_sim.site_id)[0].id
    assert locks[lock_ids[1]]["battery_level"] == "low"
    assert locks[lock_ids[1]]["online"] is False
    assert locks[lock_ids[0]]["online"] is True


async def test_get_users(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The site's users, read only."""
    added = salto_sim.add_user(first_name="Dora", last_name="Dunn", email="dora@example.com")
    response = await call_action(hass, SERVICE_GET_USERS)
    users = {user["id"]: user for user in response["users"]}
    assert set(users) == {su.id for su in salto_sim.state.users_of(salto_sim.site_id)}
    dora = users[added["id"]]
    assert (dora["first_name"], dora["last_name"], dora["email"]) == (
        "Dora",
        "Dunn",
        "dora@example.com",
    )
    bob = next(user for user in users.values() if user["first_name"] == "Bob")
    assert bob["remote_access"] is False


@pytest.mark.parametrize(
    ("service", "endpoint"),
    [(SERVICE_GET_SITES, "sites"), (SERVICE_GET_LOCKS, "locks"), (SERVICE_GET_USERS, "users")],
)
async def test_read_actions_cloud_errors(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    service: str,
    endpoint: str,
) -> None:
    """5xx, 403 and 429 become translated errors; after a 429 no request is sent until it expires."""
    salto_sim.inject_fault(endpoint, "500", times=1)
    await action_error(hass, service, {}, "cannot_connect", HomeAssistantError)
    salto_sim.inject_fault(endpoint, "403", times=1)
    await action_error(hass, service, {}, "action_not_permitted", HomeAssistantError)
    salto_sim.inject_fault(endpoint, "429", retry_after=30, times=1)
    err = await action_error(hass, service, {}, "rate_limited", HomeAssistantError)
    assert err.translation_placeholders == {"seconds": "30"}
    salto_sim.reset_counters()
    await action_error(hass, service, {}, "rate_limited", HomeAssistantError)
    assert salto_sim.counters.get(endpoint, 0) == 0


# --- get_status -----------------------------------------------------------------------------------


async def test_get_status(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    recent_rows: list[dict[str, Any]],
    lock_ids: list[str],
    iq_id: str,
) -> None:
    """Per lock: fresh online/battery/state from a roster poll, and its newest audit row.

    The rows are older than the audit feed's first start, so the feed has none of them: one
    entries read finds them.
    """
    front, back, storage = lock_ids
    salto_sim.set_lock(storage, online=False, battery_level="critical")
    salto_sim.reset_counters()
    response = await call_action(hass, SERVICE_GET_STATUS)
    assert salto_sim.counters.get("locks") == 1
    assert salto_sim.counters.get("entries") == 1
    rows = {row["lock_id"]: row for row in response["locks"]}
    assert list(rows) == sorted(lock_ids)
    newest = {}
    for row in _sim_rows(salto_sim):
        newest.setdefault(row["lock_id"], row)
    for lock_id in lock_ids:
        sim_lock = salto_sim.state.locks[lock_id]
        row = rows[lock_id]
        assert row["name"] == sim_lock.name
        assert row["entity_id"] == lock_entity_id(hass, lock_id)
        assert row["config_entry_id"] == init_integration.entry_id
        assert row["iq"]["id"] == iq_id
        last = row["last_event"]
        if lock_id in newest:
            assert last["id"] == newest[lock_id]["id"]
        else:
            assert last is None
    assert rows[front]["last_event"]["id"] == recent_rows[4]["id"]
    assert rows[back]["last_event"]["id"] == recent_rows[3]["id"]
    assert (rows[storage]["online"], rows[storage]["battery_level"]) == (False, "critical")
    assert (rows[front]["online"], rows[front]["battery_level"]) == (True, "fresh")
    assert (rows[front]["locked_state"], rows[front]["state"]) == ("locked", LOCKED)
    # The poll updated the entities as well.
    assert hass.states.get(lock_entity_id(hass, storage, "online")).state == "off"

    response = await call_action(
        hass, SERVICE_GET_STATUS, {ATTR_ENTITY_ID: lock_entity_id(hass, back)}
    )
    assert [row["lock_id"] for row in response["locks"]] == [back]


async def test_get_status_uses_audit_feed(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """A row the audit feed delivered is the last event, without reading the cloud's log."""
    users = [su for su in salto_sim.state.users_of(salto_sim.site_id) if su.user.tag_number]
    row = salto_sim.open_by(lock_id, users[0].user.id)
    audit = init_integration.runtime_data.audit
    assert audit is not None
    # One audit poll (what its interval timer does).
    await audit.async_refresh()
    await hass.async_block_till_done()
    assert audit.last_entry(lock_id) is not None
    salto_sim.reset_counters()
    response = await call_action(
        hass, SERVICE_GET_STATUS, {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id)}
    )
    (status,) = response["locks"]
    assert status["last_event"]["id"] == row["id"]
    assert status["last_event"]["user_id"] == users[0].user.id
    assert salto_sim.counters.get("entries", 0) == 0
    assert salto_sim.counters.get("locks") == 1


@pytest.mark.parametrize(
    "entry_options",
    [
        {
            CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
            CONF_EVENT_POLL_INTERVAL: 0,
            CONF_UNLOCK_SECONDS: 5,
            CONF_RELEASED_STATE: 5,
        }
    ],
)
async def test_get_status_audit_off_reads_no_entries(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    recent_rows: list[dict[str, Any]],
    lock_ids: list[str],
) -> None:
    """Access log interval 0: no entries request ever, so last_event is None (rows exist)."""
    assert init_integration.runtime_data.audit is None
    response = await call_action(hass, SERVICE_GET_STATUS)
    assert [row["lock_id"] for row in response["locks"]] == sorted(lock_ids)
    assert all(row["last_event"] is None for row in response["locks"])
    response = await call_action(
        hass, SERVICE_GET_STATUS, {ATTR_ENTITY_ID: lock_entity_id(hass, recent_rows[0]["lock_id"])}
    )
    assert response["locks"][0]["last_event"] is None
    assert salto_sim.counters.get("locks", 0) >= 2
    for endpoint in ("entries", "audit_trails", "audit_log"):
        assert salto_sim.counters.get(endpoint, 0) == 0


async def test_get_status_shows_release(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """Right after salto_ks.unlock the lock is unlocked in the cloud and in HA, last event remote."""
    entity_id = lock_entity_id(hass, lock_id)
    await call_action(hass, SERVICE_UNLOCK, {ATTR_ENTITY_ID: entity_id, ATTR_SECONDS: 30})
    response = await call_action(hass, SERVICE_GET_STATUS, {ATTR_ENTITY_ID: entity_id})
    (row,) = response["locks"]
    assert (row["locked_state"], row["state"]) == ("unlocked", UNLOCKED)
    assert row["last_event"]["access_by"] == "remote"
    assert row["last_event"]["id"] == salto_sim.state.entries[salto_sim.site_id][-1].data["id"]


async def test_get_status_errors(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry, lock_id: str
) -> None:
    """A failing poll is reported with the coordinator's translated reason; a vanished lock too."""
    salto_sim.inject_fault("locks", "503", times=1)
    err = await action_error(hass, SERVICE_GET_STATUS, {}, "cannot_connect", HomeAssistantError)
    assert "CommunicationError" in str(err)
    name = salto_sim.state.locks[lock_id].name
    entity_id = lock_entity_id(hass, lock_id)
    salto_sim.remove_lock(lock_id)
    await action_error(
        hass, SERVICE_GET_STATUS, {ATTR_ENTITY_ID: entity_id}, "lock_not_found", HomeAssistantError
    )
    # Without a target the remaining locks are listed.
    response = await call_action(hass, SERVICE_GET_STATUS)
    assert name not in {row["name"] for row in response["locks"]}
    assert len(response["locks"]) == 2


# --- refresh_token --------------------------------------------------------------------------------


async def test_refresh_token(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Exactly one new token request, and later calls use the new token without another."""
    client = init_integration.runtime_data.client
    await client.authenticate()  # a valid token is cached
    salto_sim.reset_counters()
    await call_action(
        hass, SERVICE_REFRESH_TOKEN, {ATTR_CONFIG_ENTRY_ID: init_integration.entry_id}
    )
    assert salto_sim.counters.get("token") == 1
    await call_action(hass, SERVICE_GET_LOCKS)
    assert salto_sim.counters.get("token") == 1
    assert salto_sim.counters.get("locks") == 1


async def test_refresh_token_refused(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Revoked credentials: translated error and a reauth flow."""
    salto_sim.set_credentials(password="changed")
    await action_error(hass, SERVICE_REFRESH_TOKEN, {}, "action_invalid_auth", HomeAssistantError)
    await hass.async_block_till_done()
    assert any(
        flow["context"]["source"] == "reauth"
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    )
    salto_sim.inject_fault("token", "503", times=2)
    salto_sim.set_credentials(password=salto_sim.password)
    await action_error(hass, SERVICE_REFRESH_TOKEN, {}, "cannot_connect", HomeAssistantError)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize(("seconds", "shown"), [(-1, 1), (0, 1), (1e9, 60), ("30", 30)])
async def test_unlock_seconds_out_of_range_are_clamped(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_entity: str,
    seconds: Any,
    shown: float,
) -> None:
    """Finite numbers outside 1-60 are clamped (documented in services.yaml), never a crash."""
    with patch("custom_components.salto_ks.lock.async_call_later") as call_later:
        await call_action(hass, "unlock", {ATTR_ENTITY_ID: lock_entity, "seconds": seconds})
    assert call_later.call_args.args[1] == shown
    assert salto_sim.counters["locking"] == 1
