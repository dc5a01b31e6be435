"""The calendar blueprint (blueprints/automation/salto_ks/calendar_guest_access.yaml) in Home Assistant:
it validates with HA's blueprint and automation schemas, and runs end to end against the simulator with a
calendar entity: the guest is created before the event with its PIN sent to a notify action, and removed
after the event ends."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.blueprint.errors import MissingInput
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
    setup_test_component_platform,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.salto_ks import guests as guests_module
from custom_components.salto_ks.const import CONF_MANAGE_GUESTS
from simulator import Simulator

from .conftest import tick

BLUEPRINT_PATH = "salto_ks/calendar_guest_access.yaml"
BLUEPRINT_FILE = Path(__file__).parents[2] / "blueprints" / "automation" / BLUEPRINT_PATH
CALENDAR = "calendar.bookings"
GROUP = "Apartment"
# At most the calendar trigger's 15-minute look-ahead, so no event falls between two of its reads.
STEP = timedelta(minutes=10)


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    """Guest management on; no access-log polls and one lock-status poll a day while the clock runs."""
    return {
        **entry_options,
        CONF_MANAGE_GUESTS: True,
        "event_poll_interval": 0,
        "status_interval": 86_400,
    }


@pytest.fixture(autouse=True)
def guest_timing(monkeypatch: pytest.MonkeyPatch, salto_sim: Simulator) -> None:
    """No consistency window (the frozen clock would hold it open; the retries are tested in
    test_guests.py), and no expiry cleanup while the clock runs."""
    salto_sim.configure_guest_access(consistency_seconds=0)
    monkeypatch.setattr(guests_module, "SETTLE_DELAY", 0.01)
    # The expiry cleanup would remove the guest at the moment the automation does (tested in
    # test_guests.py): here only the automation may remove it.
    monkeypatch.setattr(guests_module, "CLEANUP_INTERVAL", timedelta(days=30))


@pytest.fixture
def blueprint_dir(hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration folder holding the repository's blueprint where Home Assistant looks for it."""
    target = tmp_path / "blueprints" / "automation" / BLUEPRINT_PATH
    target.parent.mkdir(parents=True)
    shutil.copyfile(BLUEPRINT_FILE, target)
    monkeypatch.setattr(hass.config, "config_dir", str(tmp_path))
    return target


@pytest.fixture
async def stop_automations(hass: HomeAssistant) -> AsyncIterator[None]:
    """Detach the automations' calendar triggers at the end (their refresh timers would linger)."""
    yield
    await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)
    await hass.async_block_till_done()


class BookingCalendar(CalendarEntity):
    """A calendar holding a fixed list of events."""

    _attr_name = "Bookings"

    def __init__(self, events: list[CalendarEvent]) -> None:
        self._events = events

    @property
    def event(self) -> CalendarEvent | None:
        now = dt_util.now()
        upcoming = [e for e in self._events if e.end_datetime_local > now]
        return min(upcoming, key=lambda e: e.start_datetime_local, default=None)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        return [
            e
            for e in self._events
            if e.start_datetime_local < end_date and e.end_datetime_local > start_date
        ]


async def _setup_calendar(hass: HomeAssistant, events: list[CalendarEvent]) -> None:
    setup_test_component_platform(hass, "calendar", [BookingCalendar(events)])
    assert await async_setup_component(hass, "calendar", {"calendar": {"platform": "test"}})
    await hass.async_block_till_done()
    assert hass.states.get(CALENDAR) is not None


def _automation(**inputs: Any) -> dict[str, Any]:
    return {
        "id": "guest_pins",
        "alias": "Guest PINs",
        "use_blueprint": {
            "path": BLUEPRINT_PATH,
            "input": {
                "calendar": CALENDAR,
                "access_groups": [GROUP],
                "notify_action": "notify.guest_phone",
                **inputs,
            },
        },
    }


def _site_guests(sim: Simulator) -> list[Any]:
    return [su for su in sim.state.site_users.values() if "site_guest" in su.roles]


async def _type_pin(hass: HomeAssistant, sim: Simulator, pin: str) -> dict[str, Any]:
    """Type a PIN at the Front Door through the simulator's control API."""
    lock = next(lock.id for lock in sim.state.locks.values() if lock.name == "Front Door")
    session = async_get_clientsession(hass)
    async with session.post(f"{sim.url}/_sim/locks/{lock}/pin", json={"pin": pin}) as resp:
        assert resp.status == 201
        row: dict[str, Any] = await resp.json()
    return row


async def _run_until(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    """Move the clock to ``when`` in steps, so the calendar trigger's timers fire on the way."""
    while dt_util.utcnow() + STEP <= when:
        await tick(hass, freezer, STEP)
    await tick(hass, freezer, when - dt_util.utcnow())


def test_blueprint_matches_the_blueprint_schema() -> None:
    blueprint = Blueprint(
        load_yaml_dict(str(BLUEPRINT_FILE)),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {
        "calendar",
        "access_groups",
        "notify_action",
        "before_start",
        "after_end",
        "config_entry",
        "stored_traces",
    }
    # Offsets are calendar-trigger time strings: before the start is negative, after the end not.
    before = blueprint.inputs["before_start"]
    after = blueprint.inputs["after_end"]
    assert before["default"] == "-00:30:00"
    assert after["default"] == "00:30:00"
    options = before["selector"]["select"]["options"]
    assert all(o["value"] == "00:00:00" or o["value"].startswith("-") for o in options)
    assert not any(o["value"].startswith("-") for o in after["selector"]["select"]["options"])


async def test_automation_from_the_blueprint_validates(
    hass: HomeAssistant, init_integration: MockConfigEntry, blueprint_dir: Path
) -> None:
    await _setup_calendar(hass, [])
    assert await async_setup_component(hass, "automation", {})
    validated = await async_validate_config_item(
        hass, "guest_pins", _automation(before_start="-01:00:00")
    )
    assert validated is not None
    # Newer Home Assistant moves a trigger's fields under "options".
    triggers = [t.get("options", t) for t in validated["triggers"]]
    assert [(t["event"], t["offset"]) for t in triggers] == [
        ("start", timedelta(hours=-1)),
        ("end", timedelta(minutes=30)),
    ]
    assert validated["trace"]["stored_traces"] == 5

    incomplete = _automation()
    del incomplete["use_blueprint"]["input"]["access_groups"]
    with pytest.raises(MissingInput, match="access_groups"):
        await async_validate_config_item(hass, "guest_pins", incomplete)


@pytest.mark.usefixtures("no_error_logged")
async def test_calendar_event_creates_then_removes_the_guest(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    blueprint_dir: Path,
    freezer: FrozenDateTimeFactory,
    stop_automations: None,
) -> None:
    start = dt_util.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    end = start + timedelta(hours=3)
    booking = CalendarEvent(start=start, end=end, summary="Greta Gast", uid="booking-1")
    await _setup_calendar(hass, [booking])
    notified: list[ServiceCall] = async_mock_service(hass, "notify", "guest_phone")
    assert await async_setup_component(hass, "automation", {"automation": [_automation()]})
    await hass.async_block_till_done()
    assert hass.states.get("automation.guest_pins").state == "on"

    await _run_until(hass, freezer, start - timedelta(minutes=31))
    assert _site_guests(salto_sim) == []
    assert notified == []

    await _run_until(hass, freezer, start - timedelta(minutes=29))
    [guest] = _site_guests(salto_sim)
    assert guest.alias == "Greta Gast"
    [call] = notified
    pin = salto_sim.guest_access.pins[guest.id].code
    assert pin in call.data["message"]
    assert "Greta Gast" in call.data["title"]
    # The PIN expires with the removal, 30 minutes after the end.
    expiry = salto_sim.guest_access.pins[guest.id].expiry
    assert expiry is not None
    assert dt_util.as_utc(expiry) == dt_util.as_utc(end + timedelta(minutes=30))

    await _run_until(hass, freezer, start + timedelta(minutes=5))
    opened = await _type_pin(hass, salto_sim, pin)
    assert (opened["event_category"], opened["access_by"], opened["user_id"]) == (
        "lock_opened",
        "pin_code",
        guest.user.id,
    )

    await _run_until(hass, freezer, end + timedelta(minutes=29))
    assert len(_site_guests(salto_sim)) == 1

    await _run_until(hass, freezer, end + timedelta(minutes=31))
    assert _site_guests(salto_sim) == []
    refused = await _type_pin(hass, salto_sim, pin)
    assert refused["event_category"] == "lock_rejected"
    assert len(notified) == 1


@pytest.mark.parametrize("stored_traces", [5, 0])
async def test_traces_hold_the_pin_unless_none_are_kept(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    blueprint_dir: Path,
    freezer: FrozenDateTimeFactory,
    stop_automations: None,
    caplog: pytest.LogCaptureFixture,
    hass_ws_client: WebSocketGenerator,
    stored_traces: int,
) -> None:
    """What the README says: a trace keeps the action's response (the PIN); "Traces to keep" 0
    keeps none. No log line holds the PIN, at DEBUG either."""
    caplog.set_level(logging.DEBUG)
    start = dt_util.now().replace(second=0, microsecond=0) + timedelta(minutes=40)
    booking = CalendarEvent(start=start, end=start + timedelta(hours=1), summary="Greta Gast")
    await _setup_calendar(hass, [booking])
    notified = async_mock_service(hass, "notify", "guest_phone")
    automation = _automation(stored_traces=stored_traces)
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    await _run_until(hass, freezer, start - timedelta(minutes=29))
    [guest] = _site_guests(salto_sim)
    pin = salto_sim.guest_access.pins[guest.id].code
    assert len(notified) == 1
    assert all(pin not in record.getMessage() for record in caplog.records)

    # Reading a trace back as the frontend does (websocket_api logs what it sends at DEBUG).
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "trace/list", "domain": "automation", "item_id": "guest_pins"}
    )
    listed = await client.receive_json()
    assert listed["success"]
    runs = [run["run_id"] for run in listed["result"]]
    dumped = ""
    for run_id in runs:
        await client.send_json_auto_id(
            {"type": "trace/get", "domain": "automation", "item_id": "guest_pins", "run_id": run_id}
        )
        dumped += json.dumps((await client.receive_json())["result"])
    if stored_traces:
        assert len(runs) == 1
        assert pin in dumped
    else:
        assert runs == []

    caplog.clear()
    # Past the end (the calendar's and the triggers' timers all ran): removed, nothing logged.
    await _run_until(hass, freezer, booking.end + timedelta(minutes=31))
    assert _site_guests(salto_sim) == []
    assert caplog.records
    assert all(pin not in record.getMessage() for record in caplog.records)


def test_readme_import_link_and_source_url_name_this_file() -> None:
    """The README's "Import blueprint" link and the blueprint's source_url point at this file."""
    relative = BLUEPRINT_FILE.relative_to(Path(__file__).parents[2]).as_posix()
    raw = f"https://raw.githubusercontent.com/salto-ks-ha/salto_ks/main/{relative}"
    link = (
        "https://my.home-assistant.io/create-link/?redirect=blueprint_import&blueprint_url="
        + quote(raw, safe="")
    )
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert link in readme
    source = load_yaml_dict(str(BLUEPRINT_FILE))["blueprint"]["source_url"]
    assert source == f"https://github.com/salto-ks-ha/salto_ks/blob/main/{relative}"


@pytest.mark.usefixtures("no_error_logged")
async def test_all_day_event_gets_a_guest_until_the_day_after(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    blueprint_dir: Path,
    freezer: FrozenDateTimeFactory,
    stop_automations: None,
) -> None:
    """An all-day event: dates, not times; the guest comes the evening before (1 hour before
    midnight) and its PIN expires 30 minutes after the last day, in Home Assistant's time zone."""
    tomorrow = dt_util.now().date() + timedelta(days=1)
    await _run_until(
        hass, freezer, dt_util.start_of_local_day(tomorrow) - timedelta(hours=1, minutes=5)
    )
    booking = CalendarEvent(start=tomorrow, end=tomorrow + timedelta(days=1), summary="Day pass")
    await _setup_calendar(hass, [booking])
    notified = async_mock_service(hass, "notify", "guest_phone")
    automation = _automation(before_start="-01:00:00")
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    await _run_until(hass, freezer, dt_util.start_of_local_day(tomorrow) - timedelta(minutes=59))
    [guest] = _site_guests(salto_sim)
    assert guest.alias == "Day pass"
    assert len(notified) == 1
    expiry = salto_sim.guest_access.pins[guest.id].expiry
    assert expiry is not None
    day_after = dt_util.start_of_local_day(tomorrow + timedelta(days=1))
    assert dt_util.as_utc(expiry) == dt_util.as_utc(day_after + timedelta(minutes=30))

    await _run_until(hass, freezer, day_after + timedelta(minutes=31))
    assert _site_guests(salto_sim) == []
