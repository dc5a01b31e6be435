"""The event entity per lock: type mapping (pure), attributes, one firing per row, translations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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
from custom_components.salto_ks.api import Entry, EventCategory
from custom_components.salto_ks.audit_feed import (
    Cursor,
    entry_from_store,
    entry_to_store,
    select_new,
)
from custom_components.salto_ks.audit_rows import (
    EVENT_TYPES,
    entry_event_type,
    event_type,
    last_event,
    user_name,
)
from custom_components.salto_ks.const import DEFAULT_EVENT_POLL_INTERVAL, DOMAIN
from simulator import Simulator

from .conftest import lock_entity_id, snapshot_platform, tick

PACKAGE = Path(__file__).parents[2] / "custom_components" / "salto_ks"
POLL = timedelta(seconds=DEFAULT_EVENT_POLL_INTERVAL)
T0 = datetime(2026, 8, 19, 12, 50, 38, tzinfo=UTC)


def _entry(
    entry_id: str = "e1",
    category: str = "lock_opened",
    detail: str | None = None,
    when: datetime = T0,
    **fields: str | None,
) -> Entry:
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


# --- the pure mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "detail", "access_by", "expected"),
    [
        ("lock_opened", None, "tag", "opened"),
        ("lock_opened", "inside_handle", "inside_handle", "opened"),
        ("lock_opened", "offline", "pin_code", "opened"),
        ("lock_opened", None, None, "opened"),
        ("lock_opened", None, "remote", "opened_remotely"),
        ("LOCK_OPENED", None, "Remote", "opened_remotely"),
        ("lock_rejected", "no_access", "pin_code", "rejected"),
        ("lock_rejected", "suspended", "tag", "rejected"),
        ("easy_office_mode", "start", "tag", "office_mode_started"),
        ("easy_office_mode", "end", None, "office_mode_ended"),
        ("office_mode", "start", None, "office_mode_started"),
        ("office_mode", "end", None, "office_mode_ended"),
        ("office_mode", "paused", None, "other"),
        ("privacy_mode", "start", None, "privacy_mode_started"),
        ("privacy_mode", "end", None, "privacy_mode_ended"),
        ("privacy_mode", None, None, "other"),
        ("door_left_open", None, None, "door_left_open"),
        ("intrusion", None, None, "intrusion"),
        ("tamper", None, None, "tamper"),
        ("low_battery", None, None, "low_battery"),
        ("fire_alarm", "start", None, "other"),
        ("", None, None, "other"),
    ],
)
def test_event_type_mapping(
    category: str, detail: str | None, access_by: str | None, expected: str
) -> None:
    """Every row maps to one of the entity's types; unknown ones to ``other``."""
    assert event_type(category, detail, access_by) == expected
    assert expected in EVENT_TYPES


def test_every_known_category_has_a_type() -> None:
    """No category the client knows falls through to ``other`` with its usual detail."""
    for category in EventCategory:
        assert event_type(category, "start", None) != "other", category


def test_user_name_and_last_event() -> None:
    """Names: first + last, else alias, else None; last_event is category/detail."""
    named = _entry(user_first_name="Ana", user_last_name="Ruiz", user_alias="ana")
    assert user_name(named) == "Ana Ruiz"
    assert user_name(_entry(user_first_name="Ana")) == "Ana"
    assert user_name(_entry(user_first_name=" ", user_alias="Cleaner")) == "Cleaner"
    assert user_name(_entry(user_alias="")) is None
    assert last_event(_entry(category="lock_rejected", detail="no_access")) == (
        "lock_rejected/no_access"
    )
    assert last_event(_entry(category="tamper")) == "tamper"
    assert entry_event_type(_entry(category="mystery", detail="x")) == "other"


def test_cursor_dedup_and_round_trip() -> None:
    """The cursor keeps rows at its instant apart by id, orders rows, and survives JSON."""
    later = T0 + timedelta(seconds=1)
    limit = T0 + timedelta(days=1)
    a, b, c = _entry("a"), _entry("b"), _entry("c", when=later)
    cursor = Cursor(T0 - timedelta(hours=1)).advance([a], limit)
    assert cursor == Cursor(T0, frozenset({"a"}))
    assert select_new(cursor, [c, a, b, b]) == [b, c]
    assert cursor.advance([b], limit) == Cursor(T0, frozenset({"a", "b"}))
    assert cursor.advance([c, b], limit) == Cursor(later, frozenset({"c"}))
    assert not cursor.is_new(_entry("z", when=T0 - timedelta(seconds=1)))
    assert Cursor.from_dict(json.loads(json.dumps(cursor.as_dict()))) == cursor
    stored = _entry("s", lock_customer_reference="Front door", user_first_name="Ana")
    assert entry_from_store(json.loads(json.dumps(entry_to_store(stored)))) == stored
    with pytest.raises(TypeError):
        Cursor.from_dict({"timestamp": T0.isoformat(), "ids": [1]})
    with pytest.raises(TypeError):
        Cursor.from_dict({"timestamp": T0.isoformat(), "ahead": ["x"]})


def test_cursor_stays_below_its_limit() -> None:
    """A row dated beyond the limit is handled by id: the cursor stays, the row is never new again,
    and its id is forgotten once the cursor passes its time."""
    ahead = _entry("ahead", when=T0 + timedelta(days=30))
    cursor = Cursor(T0).advance([ahead], T0 + timedelta(minutes=5))
    assert cursor.timestamp == T0
    assert not cursor.is_new(ahead)
    assert cursor.is_new(_entry("now", when=T0 + timedelta(seconds=1)))
    assert Cursor.from_dict(json.loads(json.dumps(cursor.as_dict()))) == cursor
    passed = cursor.advance([_entry("next", when=T0 + timedelta(days=31))], T0 + timedelta(days=32))
    assert passed == Cursor(T0 + timedelta(days=31), frozenset({"next"}))


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
