"""The salto_ks actions' descriptions and schemas: UI call forms, REST status codes, edge values."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.const import ATTR_AREA_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.salto_ks.const import DOMAIN
from custom_components.salto_ks.service_targets import ATTR_CONFIG_ENTRY_ID
from custom_components.salto_ks.services import (
    ATTR_LIMIT,
    ATTR_SECONDS,
    ATTR_SINCE,
    SERVICE_GET_EVENTS,
    SERVICE_GET_STATUS,
    SERVICE_UNLOCK,
)
from simulator import Simulator

from .conftest import TEN_KB, call_action, get_device, lock_entity_id

SITE_WIDE_SERVICES = (SERVICE_GET_EVENTS, SERVICE_GET_STATUS)


async def _response(hass: HomeAssistant, service: str, data: dict[str, Any]) -> dict[str, Any]:
    result = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert result is not None
    return dict(result)


def _lock_ids_of(service: str, response: dict[str, Any]) -> set[str]:
    rows = response["events"] if service == SERVICE_GET_EVENTS else response["locks"]
    return {row["lock_id"] for row in rows}


def _normalized(filters: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An entity selector's filter as newer HA versions return it (a list, domains as lists)."""
    return [
        {**one, "domain": one["domain"] if isinstance(one["domain"], list) else [one["domain"]]}
        for one in (filters if isinstance(filters, list) else [filters])
    ]


# --- Developer tools -> Actions: the site-wide form -----------------------------------------------


async def test_site_wide_actions_have_no_required_target(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """get_events and get_status describe their locks as an optional field, not a target.

    The frontend refuses to call an action with a ``target`` block and no target; unlock always
    needs one and keeps it.
    """
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    for service in SITE_WIDE_SERVICES:
        assert "target" not in descriptions[service], service
        field = descriptions[service]["fields"][ATTR_ENTITY_ID]
        assert field["required"] is False
        selector = field["selector"]["entity"]
        assert selector["multiple"] is True
        assert _normalized(selector["filter"]) == [{"integration": DOMAIN, "domain": ["lock"]}]
        assert descriptions[service]["fields"][ATTR_CONFIG_ENTRY_ID]["required"] is False
    assert descriptions[SERVICE_UNLOCK]["target"] == {
        "entity": [{"integration": DOMAIN, "domain": ["lock"]}]
    }


@pytest.mark.parametrize("service", SITE_WIDE_SERVICES)
async def test_site_wide_and_targeted_call_forms(
    hass: HomeAssistant,
    *,
    area_registry: ar.AreaRegistry,
    device_registry: dr.DeviceRegistry,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
    service: str,
) -> None:
    """No target (nor empty ones) reads the whole site; entity, device and area ids narrow it."""
    front, back = lock_ids[0], lock_ids[1]
    salto_sim.add_entry(lock_id=front, event_category="lock_opened", access_by="tag")
    salto_sim.add_entry(lock_id=back, event_category="lock_opened", access_by="tag")
    site = _lock_ids_of(service, await _response(hass, service, {}))
    assert {front, back} <= site
    for empty in ({ATTR_ENTITY_ID: []}, {ATTR_ENTITY_ID: "none"}, {ATTR_DEVICE_ID: []}):
        assert _lock_ids_of(service, await _response(hass, service, empty)) == site, empty
    entry_id = init_integration.entry_id
    by_entity = {ATTR_ENTITY_ID: lock_entity_id(hass, front)}
    assert _lock_ids_of(service, await _response(hass, service, by_entity)) == {front}
    by_list = {ATTR_ENTITY_ID: [lock_entity_id(hass, front)], ATTR_CONFIG_ENTRY_ID: entry_id}
    assert _lock_ids_of(service, await _response(hass, service, by_list)) == {front}
    device = get_device(hass, entry_id, back)
    assert device is not None
    by_device = {ATTR_DEVICE_ID: device.id}
    assert _lock_ids_of(service, await _response(hass, service, by_device)) == {back}
    area = area_registry.async_create("Hall")
    device_registry.async_update_device(device.id, area_id=area.id)
    by_area = {ATTR_AREA_ID: area.id}
    assert _lock_ids_of(service, await _response(hass, service, by_area)) == {back}


# --- REST: bad input is a 400, not a 500 ----------------------------------------------------------


async def _post(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, service: str, data: dict[str, Any]
) -> HTTPStatus:
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    query = "?return_response" if service != SERVICE_UNLOCK else ""
    response = await client.post(f"/api/services/{DOMAIN}/{service}{query}", json=data)
    return HTTPStatus(response.status)


@pytest.mark.parametrize(
    ("service", "data"),
    [
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: 999}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: 0}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: -5}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: 1e300}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: 12.5}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: True}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: "many"}),
        (SERVICE_GET_EVENTS, {ATTR_SINCE: "yesterday"}),
        (SERVICE_GET_EVENTS, {ATTR_SINCE: 1700000000}),
        (SERVICE_GET_EVENTS, {ATTR_SINCE: "2026-01-01T00:00:00+99:00"}),
        (SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: "sensor.front_door_battery"}),
        (SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: "all"}),
        (SERVICE_GET_EVENTS, {ATTR_ENTITY_ID: "not an entity"}),
        (SERVICE_GET_EVENTS, {ATTR_CONFIG_ENTRY_ID: ["a", "b"]}),
        (SERVICE_GET_STATUS, {ATTR_ENTITY_ID: ["lock.front_door", "switch.hall"]}),
        (SERVICE_UNLOCK, {}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "none"}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: []}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "sensor.front_door_battery"}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", ATTR_SECONDS: "soon"}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", ATTR_SECONDS: "inf"}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", "code": ["1", "2"]}),
    ],
)
async def test_rest_bad_input_is_400(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
) -> None:
    """What the schema can check answers 400 on every supported HA version; nothing is sent."""
    salto_sim.reset_counters()
    assert await _post(hass, hass_client, service, data) == HTTPStatus.BAD_REQUEST
    assert not salto_sim.counters


async def test_rest_good_input_is_200(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
) -> None:
    """The same REST path answers 200 for valid calls (numbers as text included)."""
    front = lock_entity_id(hass, lock_ids[0])
    for data in ({}, {ATTR_LIMIT: "20"}, {ATTR_LIMIT: 20.0, ATTR_ENTITY_ID: front}):
        assert await _post(hass, hass_client, SERVICE_GET_EVENTS, data) == HTTPStatus.OK, data


# --- values no JSON body can carry (templates, scripts, Python callers) --------------------------


@pytest.mark.parametrize(
    ("service", "data"),
    [
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: float("inf")}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: float("-inf")}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: float("nan")}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: 10**400}),
        (SERVICE_GET_EVENTS, {ATTR_LIMIT: "1e400"}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", ATTR_SECONDS: 10**400}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", ATTR_SECONDS: float("nan")}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", ATTR_SECONDS: "-inf"}),
        (SERVICE_UNLOCK, {ATTR_ENTITY_ID: "lock.front_door", ATTR_SECONDS: [5]}),
    ],
)
async def test_unrepresentable_numbers_fail_the_schema(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
) -> None:
    """Infinite, NaN and huge numbers are a validation error (no OverflowError), nothing is sent."""
    salto_sim.reset_counters()
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=service != SERVICE_UNLOCK
        )
    assert not salto_sim.counters


# --- since at the ends of the datetime range ------------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "since", "everything"),
    [
        # Local 9999-12-31 23:59:59 behind UTC is after 9999-12-31 UTC: nothing is newer.
        ("America/New_York", "9999-12-31 23:59:59", False),
        ("America/New_York", "9999-12-31T23:59:59-05:00", False),
        # Local 0001-01-01 east of UTC is before 0001-01-01 UTC: every row is newer.
        ("Europe/Berlin", "0001-01-01 00:00:00", True),
        ("Asia/Tokyo", "0001-01-01T00:00:00+09:00", True),
    ],
)
@pytest.mark.parametrize("targeted", [False, True])
async def test_get_events_since_at_the_datetime_range_ends(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_ids: list[str],
    time_zone: str,
    since: str,
    everything: bool,
    targeted: bool,
) -> None:
    """A since with no UTC value is clamped: the end of time keeps no row, the start keeps all."""
    await hass.config.async_set_time_zone(time_zone)
    data: dict[str, Any] = {}
    if targeted:
        data[ATTR_ENTITY_ID] = [lock_entity_id(hass, lock_id) for lock_id in lock_ids]
    every = (await _response(hass, SERVICE_GET_EVENTS, data))["events"]
    assert every
    response = await _response(hass, SERVICE_GET_EVENTS, {**data, ATTR_SINCE: since})
    assert response["events"] == (every if everything else [])
    assert response["truncated"] is False


@pytest.mark.parametrize("service", SITE_WIDE_SERVICES)
async def test_lock_of_another_integration_is_a_validation_error(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    service: str,
) -> None:
    """A lock entity id passes the schema; the registry shows it is not ours: not_salto_lock.

    The schema cannot see the registry. HA 2025.4's REST API answers this ServiceValidationError
    with 500, newer versions with 400 and the message (README, Service actions).
    """
    other = entity_registry.async_get_or_create("lock", "demo", "other-lock")
    salto_sim.reset_counters()
    with pytest.raises(ServiceValidationError) as err:
        await _response(hass, service, {ATTR_ENTITY_ID: other.entity_id})
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "not_salto_lock"
    assert not salto_sim.counters


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("unlock", {"seconds": "abc"}),
        ("unlock", {"seconds": "nan"}),
        ("unlock", {"seconds": "inf"}),
        ("unlock", {"seconds": [1]}),
        ("unlock", {"code": "1" * 65}),
        ("unlock", {"entity_id": "not an entity id"}),
        ("unlock", {"entity_id": "lock." + TEN_KB + "\x00"}),
        ("get_events", {"limit": "x"}),
        ("get_events", {"limit": "1e3"}),
        ("get_events", {"limit": None}),
        ("get_events", {"limit": 0}),
        ("get_events", {"limit": 201}),
        ("get_events", {"limit": -5}),
        ("get_events", {"limit": 1e9}),
        ("get_events", {"limit": "1000000000000000000000"}),
        ("get_events", {"since": "not a date"}),
        ("get_events", {"since": "2025-13-45 25:61:00"}),
        ("get_events", {"since": TEN_KB}),
        ("get_events", {"unknown_field": 1}),
        ("get_sites", {"config_entry_id": None}),
        ("get_sites", {"config_entry_id": ["a", "b"]}),
    ],
    ids=repr,
)
async def test_actions_schema_errors(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_entity: str,
    service: str,
    data: dict[str, Any],
) -> None:
    """Wrong types and limits out of range fail HA's schema validation (vol.Invalid); nothing is sent."""
    salto_sim.reset_counters()
    if service != "get_sites":
        data = {ATTR_ENTITY_ID: lock_entity, **data}
    with pytest.raises(vol.Invalid):
        await call_action(hass, service, data)
    assert sum(salto_sim.counters.values()) == 0
