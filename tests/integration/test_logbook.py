"""The logbook: one line per access-log row, at the row's time, read through the recorder and the websocket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.salto_ks import logbook as salto_logbook
from custom_components.salto_ks.const import DEFAULT_EVENT_POLL_INTERVAL, DOMAIN
from custom_components.salto_ks.logbook import row_message
from simulator import Simulator

from .conftest import lock_entity_id

POLL = timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant's other fixtures, then allow custom integrations."""


@pytest.fixture
async def logbook(hass: HomeAssistant) -> AsyncIterator[None]:
    """The logbook (on the in-memory recorder), set up before the integration.

    Its HTTP dependency binds no socket (as the newer test plugin's ``disable_http_server`` does);
    the websocket client talks to the app in process.
    """
    with patch("homeassistant.components.http.HomeAssistantHTTP.start"):
        assert await async_setup_component(hass, "logbook", {})
        yield


@pytest.fixture
def alice(salto_sim: Simulator) -> str:
    """The platform user id of Alice Example, a new user of the site."""
    site_user = salto_sim.add_user(first_name="Alice", last_name="Example")
    return str(site_user["user"]["id"])


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(POLL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def _logbook(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, since: datetime
) -> list[dict[str, Any]]:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": since.isoformat(),
            "end_time": (dt_util.utcnow() + timedelta(minutes=1)).isoformat(),
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    return list(response["result"])


def _row_time(row: dict[str, Any]) -> float:
    return datetime.fromisoformat(row["utc_date_time"]).timestamp()


async def test_one_line_per_row_at_its_time(
    hass: HomeAssistant,
    *,
    logbook: None,
    hass_ws_client: WebSocketGenerator,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    alice: str,
) -> None:
    """Each row of a poll is one salto_ks line saying who did what, stamped with the row's time.

    A later poll and a reload add no line. The Access entity's own state change ("detected an event")
    is Home Assistant's: its logbook lists every event entity's state changes.
    """
    now = dt_util.utcnow().replace(microsecond=0)
    since = now - timedelta(hours=1)
    rows = [
        salto_sim.open_by(
            lock_id, alice, "tag", utc=now - timedelta(minutes=3), access_detail="04A1B2C3"
        ),
        salto_sim.open_by(lock_id, None, "inside_handle", utc=now - timedelta(minutes=2)),
        salto_sim.reject(lock_id, utc=now - timedelta(minutes=1)),
        salto_sim.office_mode(lock_id, utc=now - timedelta(seconds=40)),
        salto_sim.door_left_open(lock_id, utc=now - timedelta(seconds=20)),
    ]
    await _poll(hass, freezer)
    event_entity = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{lock_id}_access")
    lock_name = salto_sim.state.lock(lock_id).name
    expected = [
        {
            "name": lock_name,
            "message": message,
            "domain": DOMAIN,
            "entity_id": event_entity,
            "when": _row_time(row),
        }
        for row, message in zip(
            rows,
            [
                "opened by Alice Example (tag)",
                "opened (inside handle)",
                "rejected: no access (PIN code)",
                "office mode started",
                "door left open",
            ],
            strict=True,
        )
    ]

    lines = [line for line in await _logbook(hass, hass_ws_client, since) if "state" not in line]
    assert [
        {key: line.get(key) for key in ("name", "message", "domain", "entity_id", "when")}
        for line in lines
    ] == expected
    # Nothing secret or identifying beyond the name: the tag number stays out of the line.
    assert all("04A1B2C3" not in line["message"] for line in lines)

    await _poll(hass, freezer)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await _poll(hass, freezer)
    again = [line for line in await _logbook(hass, hass_ws_client, since) if "state" not in line]
    assert len([line for line in again if line.get("domain") == DOMAIN]) == len(rows)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"event_type": "opened", "user_name": "Alice Example", "access_by": "tag"},
            "opened by Alice Example (tag)",
        ),
        ({"event_type": "opened", "access_by": "inside_handle"}, "opened (inside handle)"),
        ({"event_type": "opened"}, "opened"),
        (
            {"event_type": "opened_remotely", "user_name": "Bob Baker", "access_by": "remote"},
            "opened remotely by Bob Baker",
        ),
        ({"event_type": "opened_remotely", "access_by": "remote"}, "opened remotely"),
        (
            {"event_type": "rejected", "event_detail": "no_access", "access_by": "pin_code"},
            "rejected: no access (PIN code)",
        ),
        (
            {
                "event_type": "rejected",
                "user_name": "Alice Example",
                "event_detail": "suspended",
                "access_by": "tag",
            },
            "rejected Alice Example: suspended (tag)",
        ),
        (
            {"event_type": "office_mode_started", "user_name": "Alice Example", "access_by": "tag"},
            "office mode started by Alice Example (tag)",
        ),
        ({"event_type": "office_mode_ended"}, "office mode ended"),
        ({"event_type": "privacy_mode_started"}, "privacy mode started"),
        ({"event_type": "privacy_mode_ended", "user_name": " "}, "privacy mode ended"),
        ({"event_type": "door_left_open"}, "door left open"),
        ({"event_type": "intrusion"}, "intrusion alarm"),
        ({"event_type": "tamper"}, "tamper alarm"),
        ({"event_type": "low_battery"}, "battery low"),
        (
            {
                "event_type": "other",
                "event_category": "fire_door_released",
                "event_detail": "zone_3",
            },
            "reported fire door released: zone 3",
        ),
        ({"event_type": 7, "event_category": None, "user_name": 3}, "reported an unknown event"),
        ({}, "reported an unknown event"),
    ],
)
def test_row_message_wording(data: dict[str, Any], message: str) -> None:
    """Every event type reads as a short English phrase; odd or missing fields never raise."""
    assert row_message({"access_detail": "04A1B2C3", **data}) == message


async def test_line_name_follows_the_device(
    hass: HomeAssistant,
    *,
    logbook: None,
    init_integration: MockConfigEntry,
    salto_sim: Simulator,
    lock_id: str,
) -> None:
    """The name is the lock's device name as the user set it, else the entity's, else Salto KS."""
    described: dict[str, Callable[[Any], dict[str, Any]]] = {}
    salto_logbook.async_describe_events(
        hass, lambda domain, event_type, describe: described.setdefault(event_type, describe)
    )
    describe = described[f"{DOMAIN}_event"]
    event_entity = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{lock_id}_access")
    lock_entity = er.async_get(hass).async_get(lock_entity_id(hass, lock_id))
    assert lock_entity is not None
    assert lock_entity.device_id is not None
    assert event_entity is not None

    def name(data: dict[str, Any]) -> str:
        return str(describe(SimpleNamespace(data=data))["name"])

    assert name({"lock_id": lock_id}) == salto_sim.state.lock(lock_id).name
    dr.async_get(hass).async_update_device(lock_entity.device_id, name_by_user="Front door (staff)")
    assert name({"lock_id": lock_id, "entity_id": event_entity}) == "Front door (staff)"
    gone = {"lock_id": "gone", "entity_id": event_entity}
    assert name(gone) == hass.states.get(event_entity).name
    assert name({"lock_id": None, "entity_id": None}) == "Salto KS"
