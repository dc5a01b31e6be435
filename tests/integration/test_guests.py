"""Guest access through Home Assistant against the simulator: create_guest, remove_guest,
get_access_groups, get_guests, the expiry cleanup, refusals that leave nothing behind, and the PIN
that appears only in the action's response."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.salto_ks import guests as guests_module
from custom_components.salto_ks.const import CONF_MANAGE_GUESTS, DOMAIN
from custom_components.salto_ks.guests import guest_book
from custom_components.salto_ks.options_flow import DEFAULT_OPTIONS
from simulator import Simulator

from .conftest import action_error, setup_entry, tick

GROUP = "Apartment"
NO_SCHEDULE_GROUP = "Storage"


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    """Guest management on, the access log off (no entries polls in these tests)."""
    return {**entry_options, CONF_MANAGE_GUESTS: True, "event_poll_interval": 0}


@pytest.fixture(autouse=True)
def fast_settle(monkeypatch: pytest.MonkeyPatch, salto_sim: Simulator) -> None:
    """No consistency window unless a test sets one; retries 50 ms apart."""
    salto_sim.configure_guest_access(consistency_seconds=0)
    monkeypatch.setattr(guests_module, "SETTLE_DELAY", 0.05)


def _lock(sim: Simulator, name: str) -> str:
    return next(lock.id for lock in sim.state.locks.values() if lock.name == name)


def _group(sim: Simulator, name: str) -> Any:
    return next(g for g in sim.guest_access.groups.values() if g.name == name)


def _site_guests(sim: Simulator) -> list[Any]:
    return [su for su in sim.state.site_users.values() if "site_guest" in su.roles]


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, **kwargs
    )
    assert isinstance(response, dict)
    return response


def _create_data(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Guest Greta",
        "access_groups": [GROUP],
        "valid_until": (dt_util.utcnow() + timedelta(days=1)).isoformat(),
        **overrides,
    }


async def _create(hass: HomeAssistant, **overrides: Any) -> dict[str, Any]:
    return await _call(hass, "create_guest", _create_data(**overrides))


async def test_create_then_pin_opens_and_remove_refuses_it(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    guest = await _create(hass)
    assert len(guest["pin"]) == 6
    assert guest["pin"].isdigit()
    assert guest["guest_id"] != guest["user_id"]
    assert [g["name"] for g in guest["access_groups"]] == [GROUP]
    assert dt_util.parse_datetime(guest["expires_at"]) > dt_util.utcnow()
    assert guest["user_id"] in _group(salto_sim, GROUP).members
    front = _lock(salto_sim, "Front Door")
    opened = salto_sim.type_pin(front, guest["pin"])
    assert (opened["event_category"], opened["access_by"], opened["user_id"]) == (
        "lock_opened",
        "pin_code",
        guest["user_id"],
    )
    listed = await _call(hass, "get_guests", {})
    assert [g["guest_id"] for g in listed["guests"]] == [guest["guest_id"]]
    assert "pin" not in listed["guests"][0]
    assert listed["guests"][0]["expired"] is False

    removed = await _call(hass, "remove_guest", {"guest_id": guest["guest_id"]})
    assert removed["removed"] is True
    assert _site_guests(salto_sim) == []
    assert _group(salto_sim, GROUP).members == []
    refused = salto_sim.type_pin(front, guest["pin"])
    assert refused["event_category"] == "lock_rejected"
    assert (await _call(hass, "get_guests", {}))["guests"] == []


async def test_group_by_id_and_remove_by_reference(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    group = _group(salto_sim, GROUP)
    guest = await _create(hass, access_groups=[group.id], reference="calendar.x|2026-12-24")
    assert guest["access_groups"] == [{"id": group.id, "name": GROUP}]
    with pytest.raises(ServiceValidationError) as dup:
        await _create(hass, reference="calendar.x|2026-12-24")
    assert dup.value.translation_key == "guest_reference_exists"
    await _call(hass, "remove_guest", {"reference": "calendar.x|2026-12-24"})
    assert _site_guests(salto_sim) == []


@pytest.mark.parametrize("keys", [(), ("guest_id", "reference")])
async def test_remove_guest_takes_exactly_one_key(
    hass: HomeAssistant,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    keys: tuple[str, ...],
) -> None:
    guest = await _create(hass, reference="calendar.x|2026-12-24")
    salto_sim.reset_counters()
    with pytest.raises(vol.Invalid, match="exactly one of guest_id, reference"):
        await _call(hass, "remove_guest", {key: guest[key] for key in keys})
    assert not salto_sim.counters
    assert len(_site_guests(salto_sim)) == 1


async def test_retries_through_the_consistency_window(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.configure_guest_access(consistency_seconds=0.3)
    salto_sim.reset_counters()
    guest = await _create(hass)
    assert guest["user_id"] in _group(salto_sim, GROUP).members
    # Membership was refused (403/2203) at least once before it was accepted, then the PIN at once.
    assert salto_sim.counters["access_group_users"] >= 2
    assert salto_sim.counters["pin"] >= 1
    assert salto_sim.guest_access.pins[guest["guest_id"]].code == guest["pin"]


async def test_pin_request_is_retried_while_salto_refuses_it(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The PIN call is retried too: 403/2203 about the new guest, twice, then the PIN."""
    salto_sim.inject_fault("pin", "403", times=2)
    salto_sim.reset_counters()
    guest = await _create(hass)
    assert salto_sim.counters["pin"] == 3
    assert salto_sim.guest_access.pins[guest["guest_id"]].code == guest["pin"]


async def test_window_longer_than_the_retries_fails_and_leaves_nothing(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    salto_sim.configure_guest_access(consistency_seconds=600)
    monkeypatch.setattr(guests_module, "SETTLE_ATTEMPTS", 3)
    with pytest.raises(HomeAssistantError) as err:
        await _create(hass)
    assert err.value.translation_key == "action_not_permitted"
    assert _site_guests(salto_sim) == []
    assert salto_sim.counters["access_group_users"] == 3


async def test_no_seat_is_an_error_and_leaves_nothing(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.configure_guest_access(
        seat_limit=salto_sim.guest_access.seats_used(salto_sim.site_id)
    )
    with pytest.raises(HomeAssistantError) as err:
        await _create(hass)
    assert err.value.translation_key == "guest_no_seat"
    assert _site_guests(salto_sim) == []
    assert (await _call(hass, "get_guests", {}))["guests"] == []


async def test_failure_after_creation_removes_the_guest(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.inject_fault("pin", "500", times=1)
    with pytest.raises(HomeAssistantError) as err:
        await _create(hass)
    assert err.value.translation_key == "cannot_connect"
    assert _site_guests(salto_sim) == []
    assert _group(salto_sim, GROUP).members == []


@pytest.mark.parametrize(
    ("groups", "key"),
    [
        (["Penthouse"], "unknown_access_group"),
        ([NO_SCHEDULE_GROUP], "access_group_without_schedule"),
    ],
)
async def test_bad_group_is_refused_before_anything_is_created(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    groups: list[str],
    key: str,
) -> None:
    salto_sim.reset_counters()
    with pytest.raises(ServiceValidationError) as err:
        await _create(hass, access_groups=[GROUP, *groups])
    assert err.value.translation_key == key
    assert salto_sim.counters.get("guests", 0) == 0
    if key == "access_group_without_schedule":
        assert "grants nothing at the door" in caplog.text


async def test_site_without_pins_is_refused(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.configure_guest_access(pin_enabled=False)
    with pytest.raises(HomeAssistantError) as err:
        await _create(hass)
    assert err.value.translation_key == "site_without_pins"
    assert _site_guests(salto_sim) == []


async def test_valid_until_in_the_past_is_refused(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    past = (dt_util.utcnow() - timedelta(minutes=1)).isoformat()
    with pytest.raises(ServiceValidationError) as err:
        await _create(hass, valid_until=past)
    assert err.value.translation_key == "valid_until_in_past"


async def test_remove_refuses_a_guest_home_assistant_did_not_create(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    alice = next(su for su in salto_sim.state.site_users.values() if su.user.first_name == "Alice")
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "remove_guest", {"guest_id": alice.id})
    assert err.value.translation_key == "guest_not_found"
    assert alice.id in salto_sim.state.site_users


async def test_get_access_groups_tells_which_grant_access(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    answer = await _call(hass, "get_access_groups", {})
    groups = {g["name"]: g for g in answer["access_groups"]}
    assert groups[GROUP]["grants_access"] is True
    assert {lock["name"] for lock in groups[GROUP]["locks"]} == {"Front Door", "Back Door"}
    assert groups[NO_SCHEDULE_GROUP]["grants_access"] is False
    assert groups[NO_SCHEDULE_GROUP]["time_schedules"] == []
    assert answer["pin_enabled"] is True
    assert answer["seats"] == salto_sim.guest_access.seat_limit


@pytest.mark.parametrize(
    "service", ["create_guest", "remove_guest", "get_access_groups", "get_guests"]
)
async def test_option_off_refuses_every_action(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    service: str,
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={k: v for k, v in mock_config_entry.options.items() if k != CONF_MANAGE_GUESTS},
    )
    await setup_entry(hass, mock_config_entry)
    data = {
        "create_guest": _create_data(),
        "remove_guest": {"guest_id": "x"},
    }.get(service, {})
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, data)
    assert err.value.translation_key == "guests_disabled"
    assert _site_guests(salto_sim) == []


@pytest.mark.parametrize(
    "service", ["create_guest", "remove_guest", "get_access_groups", "get_guests"]
)
async def test_non_admin_is_refused(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    hass_read_only_user: User,
    service: str,
) -> None:
    data = {"create_guest": _create_data(), "remove_guest": {"guest_id": "x"}}.get(service, {})
    with pytest.raises(Unauthorized):
        await _call(hass, service, data, context=Context(user_id=hass_read_only_user.id))
    assert _site_guests(salto_sim) == []


async def test_admin_user_may_call(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    hass_admin_user: User,
) -> None:
    guest = await _call(
        hass, "create_guest", _create_data(), context=Context(user_id=hass_admin_user.id)
    )
    assert guest["guest_id"] in salto_sim.state.site_users


async def test_expired_guests_are_removed_and_logged_without_the_pin(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    until = dt_util.utcnow() + timedelta(hours=1)
    guest = await _create(hass, valid_until=until.isoformat())
    await tick(hass, freezer, timedelta(minutes=30))
    assert guest["guest_id"] in salto_sim.state.site_users
    await tick(hass, freezer, timedelta(minutes=35))
    assert guest["guest_id"] not in salto_sim.state.site_users
    assert (await _call(hass, "get_guests", {}))["guests"] == []
    assert f"Removed the expired Salto KS guest Guest Greta ({guest['guest_id']})" in caplog.text
    assert guest["pin"] not in caplog.text


async def test_expired_guest_left_in_the_store_is_removed_at_setup(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    guest = await _create(hass, valid_until=(dt_util.utcnow() + timedelta(hours=1)).isoformat())
    await hass.config_entries.async_unload(init_integration.entry_id)
    freezer.tick(timedelta(hours=2))
    await setup_entry(hass, init_integration)
    assert guest["guest_id"] not in salto_sim.state.site_users


async def test_pin_only_in_the_response(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    salto_sim.configure_guest_access(consistency_seconds=0.2)
    guest = await _create(hass)
    pin = guest["pin"]
    await _call(hass, "get_guests", {})
    await _call(hass, "get_access_groups", {})
    salto_sim.inject_fault("user_delete", "500", times=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "remove_guest", {"guest_id": guest["guest_id"]})
    for text in (str(err.value), repr(err.value), repr(vars(err.value))):
        assert pin not in text
    await hass.async_block_till_done()
    assert caplog.records
    assert all(pin not in record.getMessage() for record in caplog.records)
    for state in hass.states.async_all():
        assert pin not in json.dumps(state.as_dict(), default=str)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert pin not in json.dumps(diagnostics, default=str)
    assert pin not in json.dumps(hass_storage, default=str)


async def test_cleanup_and_remove_at_once_remove_the_guest_once(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The blueprint removes a guest when its PIN expires, which is when the cleanup removes it."""
    guest = await _create(hass, valid_until=(dt_util.utcnow() + timedelta(hours=1)).isoformat())
    book = guest_book(hass, init_integration.entry_id)
    assert book is not None
    freezer.tick(timedelta(hours=1, seconds=1))
    salto_sim.reset_counters()
    removed, cleaned = await asyncio.gather(
        _call(hass, "remove_guest", {"guest_id": guest["guest_id"]}), book.async_remove_expired()
    )
    assert removed["removed"] is True
    assert cleaned == 0
    assert salto_sim.counters["user_delete"] == 1
    assert _site_guests(salto_sim) == []
    assert "Removed the expired Salto KS guest" not in caplog.text


async def test_options_flow_turns_guest_management_on_and_off(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The option in the options flow: on, the actions work after the reload; off, they are refused
    with a message that names the option."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options=dict(DEFAULT_OPTIONS))
    await setup_entry(hass, mock_config_entry)

    async def set_option(value: bool) -> None:
        result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
        assert result["type"] is FlowResultType.FORM
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**DEFAULT_OPTIONS, CONF_MANAGE_GUESTS: value}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        assert mock_config_entry.state is ConfigEntryState.LOADED

    await set_option(True)
    assert mock_config_entry.options[CONF_MANAGE_GUESTS] is True
    guest = await _create(hass)
    assert guest["guest_id"] in salto_sim.state.site_users
    await _call(hass, "remove_guest", {"guest_id": guest["guest_id"]})

    await set_option(False)
    assert CONF_MANAGE_GUESTS not in mock_config_entry.options
    err = await action_error(hass, "create_guest", _create_data(), "guests_disabled")
    assert "Manage guests from Home Assistant" in str(err)
    assert mock_config_entry.title in str(err)
    assert _site_guests(salto_sim) == []
