"""The event entity per lock (event.py): attributes, one firing per row, restore, translations.

The row -> event type mapping is tested in test_audit_rows.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_OPEN
from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.salto_ks import event as event_module
from custom_components.salto_ks.audit_rows import (
    EVENT_TYPES,
)
from custom_components.salto_ks.const import DEFAULT_EVENT_POLL_INTERVAL, DOMAIN
from simulator import Simulator

from .conftest import lock_entity_id, snapshot_platform, tick

PACKAGE = Path(__file__).parents[2] / "custom_components" / "salto_ks"
POLL = timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)


# --- the entity -----------------------------------------------------------------------------------


def _event_entity_id(hass: HomeAssistant, lock_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{lock_id}_access")
    assert entity_id is not None
    return entity_id


@pytest.fixture
def user_id(salto_sim: Simulator) -> str:
    """A platform user of the site other than the login user."""
    return next(
        su.user.id
        for su in salto_sim.state.site_users.values()
        if su.site_id == salto_sim.site_id and su.user.email != salto_sim.username
    )


@pytest.mark.parametrize("platforms", [[Platform.EVENT]])
async def test_event_entities_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    setup_integration: MockConfigEntry,
) -> None:
    """One event entity per lock, named Access, with every type; no event yet."""
    await snapshot_platform(hass, entity_registry, snapshot, setup_integration.entry_id)
    assert event_module.PARALLEL_UPDATES == 0


@pytest.mark.parametrize(
    ("make_row", "expected_type", "expected_last_event"),
    [
        (lambda sim, lock, user: sim.open_by(lock, user, "pin_code"), "opened", "lock_opened"),
        (lambda sim, lock, user: sim.reject(lock, user), "rejected", "lock_rejected/no_access"),
        (
            lambda sim, lock, user: sim.office_mode(lock, user_id=user),
            "office_mode_started",
            "easy_office_mode/start",
        ),
        (
            lambda sim, lock, user: sim.office_mode(lock, start=False, easy=False),
            "office_mode_ended",
            "office_mode/end",
        ),
        (lambda sim, lock, user: sim.door_left_open(lock), "door_left_open", "door_left_open"),
        (lambda sim, lock, user: sim.intrusion(lock), "intrusion", "intrusion"),
        (lambda sim, lock, user: sim.tamper(lock), "tamper", "tamper"),
        (lambda sim, lock, user: sim.low_battery(lock), "low_battery", "low_battery"),
        (
            lambda sim, lock, user: sim.privacy_mode(lock, user_id=user),
            "privacy_mode_started",
            "privacy_mode/start",
        ),
        (
            lambda sim, lock, user: sim.privacy_mode(lock, on=False),
            "privacy_mode_ended",
            "privacy_mode/end",
        ),
        (
            lambda sim, lock, user: sim.add_entry(
                lock_id=lock, event_category="fire_door_released", event_detail="zone_3"
            ),
            "other",
            "fire_door_released/zone_3",
        ),
    ],
)
async def test_row_becomes_event(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    user_id: str,
    make_row: object,
    expected_type: str,
    expected_last_event: str,
) -> None:
    """Each simulator helper's row fires its translated type with seed 000's attributes."""
    assert callable(make_row)
    row = make_row(salto_sim, lock_id, user_id)
    await tick(hass, freezer, POLL)
    state = hass.states.get(_event_entity_id(hass, lock_id))
    assert state.attributes["event_type"] == expected_type
    assert state.attributes["last_event"] == expected_last_event
    assert state.attributes["entry_id"] == row["id"]
    assert state.attributes["access_by"] == row["access_by"]
    assert state.attributes["access_detail"] == row["access_detail"]
    assert state.attributes["last_event_at"] == (
        datetime.fromisoformat(row["utc_date_time"]).isoformat()
    )
    if row["user_first_name"]:
        assert state.attributes["last_event_user"] == (
            f"{row['user_first_name']} {row['user_last_name']}"
        )
    else:
        assert state.attributes["last_event_user"] is None


async def test_remote_opening_is_opened_remotely(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """Opening from Home Assistant comes back from the access log as opened_remotely."""
    await hass.services.async_call(
        LOCK_DOMAIN, SERVICE_OPEN, {ATTR_ENTITY_ID: lock_entity_id(hass, lock_id)}, blocking=True
    )
    await tick(hass, freezer, POLL)
    state = hass.states.get(_event_entity_id(hass, lock_id))
    assert state.attributes["event_type"] == "opened_remotely"
    assert state.attributes["access_by"] == "remote"


async def test_several_rows_of_one_poll_each_fire(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
    user_id: str,
) -> None:
    """Three rows of one lock in one poll: three state writes, oldest first; other locks untouched."""
    entity_id = _event_entity_id(hass, lock_id)
    other = _event_entity_id(hass, salto_sim.state.locks_of(salto_sim.site_id)[1].id)
    fired: list[tuple[str, str]] = []

    @callback
    def _record(event: Event) -> None:
        new_state = event.data["new_state"]
        if event.data["entity_id"] in (entity_id, other) and new_state is not None:
            fired.append((event.data["entity_id"], new_state.attributes["entry_id"]))

    hass.bus.async_listen(EVENT_STATE_CHANGED, _record)
    rows = [
        salto_sim.open_by(lock_id, user_id),
        salto_sim.reject(lock_id),
        salto_sim.open_by(lock_id, None, "inside_handle"),
    ]
    await tick(hass, freezer, POLL)
    assert fired == [(entity_id, row["id"]) for row in rows]
    await tick(hass, freezer, POLL)
    assert len(fired) == 3


async def test_event_entity_restores_its_last_event(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    lock_id: str,
) -> None:
    """After a reload the entity shows the last row again without firing it anew."""
    row = salto_sim.tamper(lock_id)
    await tick(hass, freezer, POLL)
    entity_id = _event_entity_id(hass, lock_id)
    before = hass.states.get(entity_id)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    after = hass.states.get(entity_id)
    assert after.state == before.state
    assert after.attributes["entry_id"] == row["id"]
    assert after.attributes["event_type"] == "tamper"


def test_translations_and_icons_cover_every_type() -> None:
    """Name, every event type's state and the exception keys of the feed are translated."""
    strings = json.loads((PACKAGE / "translations" / "en.json").read_text(encoding="utf-8"))
    access = strings["entity"]["event"]["access"]
    assert access["name"]
    assert set(access["state_attributes"]["event_type"]["state"]) == set(EVENT_TYPES)
    for key in ("audit_permission_denied", "invalid_auth", "cannot_connect", "rate_limited"):
        assert strings["exceptions"][key]["message"]
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
    icon_states = icons["entity"]["event"]["access"]["state_attributes"]["event_type"]["state"]
    assert set(icon_states) <= set(EVENT_TYPES)
