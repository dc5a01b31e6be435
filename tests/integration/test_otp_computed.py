"""OTPs Home Assistant computes (opt-in) through HA against the simulator: one repair issue per OTP
IQ, its fix flow (secret, PIN mail, typed PIN, activation), commands without a typed code, codes on a
frozen clock across the 3-minute validity, the secret rotated by the Salto app (repair, nothing more
sent, no block), a blocked IQ, and the secret and PIN kept out of logs and diagnostics."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import LockState
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.api import (
    ApiNotEnabledError,
    AuthenticationError,
    CommunicationError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    TokenRejectedError,
)
from custom_components.salto_ks.api.otp import compute_otp
from custom_components.salto_ks.const import CONF_OTP_ACTIVATIONS, DOMAIN
from custom_components.salto_ks.diagnostics import async_get_config_entry_diagnostics
from custom_components.salto_ks.errors import form_error
from custom_components.salto_ks.issues import (
    IQ_ISSUES,
    ISSUE_OTP_ACTIVATION,
    ISSUE_OTP_REACTIVATION,
    iq_issue_id,
)
from custom_components.salto_ks.otp import computed_otp, needs_reactivation
from simulator import Simulator

from .conftest import async_refresh_roster, lock_entity_id, setup_entry, tick


@pytest.fixture
async def otp_entry(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry, iq_id: str
) -> MockConfigEntry:
    """The small site with its IQ asking for an OTP, set up in HA (with the repairs integration)."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    assert await async_setup_component(hass, "repairs", {})
    return await setup_entry(hass, mock_config_entry)


def _issue(hass: HomeAssistant, kind: str, entry: ConfigEntry, iq_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, iq_issue_id(kind, entry.entry_id, iq_id))


async def _start_fix(hass: HomeAssistant, issue_id: str) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return dict(await manager.async_init(DOMAIN, data={"issue_id": issue_id}))


async def _fix_step(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]
) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = dict(await manager.async_configure(flow_id, user_input))
    await hass.async_block_till_done()
    return result


def _office_mode_switch(hass: HomeAssistant, lock_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{lock_id}_manual_office_mode"
    )
    assert entity_id is not None
    return entity_id


def _mailed_pin(sim: Simulator, iq_id: str) -> str:
    return str(sim.pin_mails(iq_id)[-1]["pin"])


async def _activate(hass: HomeAssistant, sim: Simulator, entry: ConfigEntry, iq_id: str) -> None:
    """Run the fix flow of the IQ's activation issue to its end."""
    result = await _start_fix(hass, iq_issue_id(ISSUE_OTP_ACTIVATION, entry.entry_id, iq_id))
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    assert result["step_id"] == "pin"
    result = await _fix_step(hass, result["flow_id"], {"pin": _mailed_pin(sim, iq_id)})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def _unlock(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call("lock", "unlock", {"entity_id": entity_id}, blocking=True)


async def test_one_repair_issue_per_otp_iq(
    hass: HomeAssistant, salto_sim: Simulator, otp_entry: MockConfigEntry, iq_id: str
) -> None:
    issue = _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id)
    assert issue is not None
    assert issue.is_fixable is True
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {"title": otp_entry.title, "iq": "IQ 01"}
    # A second OTP IQ gets its own issue; an IQ without OTP gets none.
    plain = salto_sim.add_iq(name="IQ 02")
    second = salto_sim.add_iq(name="IQ 03", otp_enabled=True)
    await async_refresh_roster(hass, otp_entry)
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, second) is not None
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, plain) is None
    # An IQ that stops asking for an OTP, or is gone, loses its issue.
    salto_sim.set_iq(iq_id, otp_enabled=False)
    salto_sim.remove_iq(second)
    await async_refresh_roster(hass, otp_entry)
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is None
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, second) is None
    salto_sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, otp_entry)
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is not None
    # Unloading the entry takes its issues with it.
    assert await hass.config_entries.async_unload(otp_entry.entry_id)
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is None


@pytest.mark.usefixtures("no_error_logged")
async def test_fix_flow_activates_and_commands_need_no_code(
    hass: HomeAssistant,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    lock_id: str,
) -> None:
    entity_id = lock_entity_id(hass, lock_id)
    issue_id = iq_issue_id(ISSUE_OTP_ACTIVATION, otp_entry.entry_id, iq_id)
    result = await _start_fix(hass, issue_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "init")
    assert result["description_placeholders"]["username"] == salto_sim.username
    # Nothing is fetched or mailed before the user accepts.
    assert salto_sim.pin_mails() == []
    result = await _fix_step(hass, result["flow_id"], {"accept": False})
    assert result["errors"] == {"accept": "accept_required"}
    assert salto_sim.pin_mails() == []

    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "pin")
    pin = _mailed_pin(salto_sim, iq_id)
    result = await _fix_step(hass, result["flow_id"], {"pin": "12a"})
    assert result["errors"] == {"pin": "invalid_pin"}
    wrong = "0000" if pin != "0000" else "1111"
    result = await _fix_step(hass, result["flow_id"], {"pin": wrong})
    assert result["errors"] == {"pin": "wrong_pin"}
    assert otp_entry.data.get(CONF_OTP_ACTIVATIONS) is None  # stored only after the activation
    result = await _fix_step(hass, result["flow_id"], {"pin": f" {pin} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is None
    assert salto_sim.iq_activation(iq_id)["activated"] is True
    assert otp_entry.data[CONF_OTP_ACTIVATIONS][iq_id]["pin"] == pin
    # A roster poll does not raise the issue again.
    await async_refresh_roster(hass, otp_entry)
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is None

    # Opening and locking behind the OTP IQ now work with no typed code.
    await _unlock(hass, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "unlocked"
    await hass.services.async_call("lock", "lock", {"entity_id": entity_id}, blocking=True)
    assert salto_sim.state.locks[lock_id].locked_state == "locked"
    assert hass.states.get(entity_id).state == LockState.LOCKED
    # The activation survives a reload (it lives in the entry's data).
    assert await hass.config_entries.async_reload(otp_entry.entry_id)
    await hass.async_block_till_done()
    assert computed_otp(otp_entry, iq_id) is not None
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is None


async def test_computed_codes_across_the_three_minute_boundary(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    lock_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to("2026-08-25T07:25:00+00:00")
    await _activate(hass, salto_sim, otp_entry, iq_id)
    entity_id = lock_entity_id(hass, lock_id)
    secret = salto_sim.iq_activation(iq_id)["secret"]
    pin = _mailed_pin(salto_sim, iq_id)
    first = computed_otp(otp_entry, iq_id)
    assert first is not None
    from_record = compute_otp(secret, pin, salto_sim.clock())
    assert first == from_record  # the record's algorithm, at the second of the request
    await _unlock(hass, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "unlocked"

    # 179 s later the first code would still pass; Home Assistant sends the code of now anyway.
    await tick(hass, freezer, 179)
    assert computed_otp(otp_entry, iq_id) != first
    assert salto_sim.otp.accepts(secret, pin, first, salto_sim.now())
    await tick(hass, freezer, 10)  # the door relocked
    # Past the 3 minutes the first code is refused, and a command still works.
    assert not salto_sim.otp.accepts(secret, pin, first, salto_sim.now())
    salto_sim.set_lock(lock_id, locked_state="locked")
    await _unlock(hass, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "unlocked"
    assert salto_sim.state.iqs[iq_id].otp_failures == 0


async def test_rotated_secret_raises_the_repair_and_sends_no_more_codes(
    hass: HomeAssistant,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    lock_id: str,
) -> None:
    await _activate(hass, salto_sim, otp_entry, iq_id)
    entity_id = lock_entity_id(hass, lock_id)
    # The same KS user is activated on the IQ in the Salto app: the secret rotates.
    salto_sim.rotate_iq_secret(iq_id)
    with pytest.raises(HomeAssistantError):
        await _unlock(hass, entity_id)
    assert salto_sim.state.iqs[iq_id].otp_failures == 1
    assert needs_reactivation(otp_entry, iq_id)
    assert computed_otp(otp_entry, iq_id) is None
    issue = _issue(hass, ISSUE_OTP_REACTIVATION, otp_entry, iq_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is None
    # Further commands without a typed code are refused unsent: no attempt counts towards
    # otp_blocked, and the message says what to do.
    salto_sim.reset_counters()
    for _ in range(10):
        with pytest.raises(HomeAssistantError) as err:
            await _unlock(hass, entity_id)
        assert err.value.translation_key == "otp_reactivation_required"
        assert "IQ 01" in str(err.value)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch",
            "turn_on",
            {"entity_id": _office_mode_switch(hass, lock_id)},
            blocking=True,
        )
    assert err.value.translation_key == "otp_reactivation_required"
    assert salto_sim.counters.get("locking", 0) == 0
    assert salto_sim.state.iqs[iq_id].otp_failures == 1
    assert salto_sim.state.iqs[iq_id].otp_blocked_until is None
    # A code typed from the Salto app (whose secret it is now) still goes through.
    await hass.services.async_call(
        "lock",
        "unlock",
        {"entity_id": entity_id, "code": salto_sim.valid_otp(iq_id)},
        blocking=True,
    )
    assert salto_sim.counters["locking"] == 1
    assert salto_sim.entries()[-1]["access_by"] == "remote"
    # The state survives a reload and a roster poll.
    assert await hass.config_entries.async_reload(otp_entry.entry_id)
    await hass.async_block_till_done()
    await async_refresh_roster(hass, otp_entry)
    assert _issue(hass, ISSUE_OTP_REACTIVATION, otp_entry, iq_id) is not None
    assert computed_otp(otp_entry, iq_id) is None

    # Activating again: the cloud hands out no secret to an activated user.
    issue_id = iq_issue_id(ISSUE_OTP_REACTIVATION, otp_entry.entry_id, iq_id)
    result = await _start_fix(hass, issue_id)
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_activated")
    assert _issue(hass, ISSUE_OTP_REACTIVATION, otp_entry, iq_id) is not None
    # Once an admin removed the activation, the flow works and so do commands.
    salto_sim.deactivate_iq(iq_id)
    result = await _start_fix(hass, issue_id)
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    result = await _fix_step(hass, result["flow_id"], {"pin": _mailed_pin(salto_sim, iq_id)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _issue(hass, ISSUE_OTP_REACTIVATION, otp_entry, iq_id) is None
    assert not needs_reactivation(otp_entry, iq_id)
    await _unlock(hass, entity_id)
    assert salto_sim.state.locks[lock_id].locked_state == "unlocked"


async def test_a_user_activated_in_the_app_cannot_activate(
    hass: HomeAssistant, salto_sim: Simulator, otp_entry: MockConfigEntry, iq_id: str
) -> None:
    salto_sim.valid_otp(iq_id)  # the system user opens the Salto app on the IQ
    result = await _start_fix(hass, iq_issue_id(ISSUE_OTP_ACTIVATION, otp_entry.entry_id, iq_id))
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_activated")
    assert result["description_placeholders"]["iq"] == "IQ 01"
    assert salto_sim.pin_mails() == []
    assert _issue(hass, ISSUE_OTP_ACTIVATION, otp_entry, iq_id) is not None


async def test_a_blocked_iq_says_until_when(
    hass: HomeAssistant,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to("2026-08-25T07:25:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    result = await _start_fix(hass, iq_issue_id(ISSUE_OTP_ACTIVATION, otp_entry.entry_id, iq_id))
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    salto_sim.state.iqs[iq_id].otp_blocked_until = salto_sim.now() + 20 * 60
    result = await _fix_step(hass, result["flow_id"], {"pin": _mailed_pin(salto_sim, iq_id)})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "otp_blocked")
    assert result["description_placeholders"]["until"] == "07:45"
    assert otp_entry.data.get(CONF_OTP_ACTIVATIONS) is None


async def test_a_blocked_iq_seen_by_a_command_stops_the_fix_flow_unsent(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    lock_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A block a command saw is remembered: the fix flow fetches no secret and mails no PIN."""
    freezer.move_to("2026-08-25T07:25:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    salto_sim.state.iqs[iq_id].otp_blocked_until = salto_sim.now() + 20 * 60
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "lock",
            "unlock",
            {"entity_id": lock_entity_id(hass, lock_id), "code": "00000"},
            blocking=True,
        )
    assert err.value.translation_key == "otp_blocked"
    freezer.tick(60)
    salto_sim.reset_counters()
    result = await _start_fix(hass, iq_issue_id(ISSUE_OTP_ACTIVATION, otp_entry.entry_id, iq_id))
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "otp_blocked")
    assert result["description_placeholders"]["until"] == "07:45"
    assert salto_sim.counters.get("iq_secret", 0) == 0
    assert salto_sim.pin_mails() == []
    # Once it ended, the flow runs.
    freezer.move_to("2026-08-25T07:45:01+00:00")
    await _activate(hass, salto_sim, otp_entry, iq_id)
    assert computed_otp(otp_entry, iq_id) is not None


async def test_three_wrong_pins_stop_the_flow(
    hass: HomeAssistant, salto_sim: Simulator, otp_entry: MockConfigEntry, iq_id: str
) -> None:
    result = await _start_fix(hass, iq_issue_id(ISSUE_OTP_ACTIVATION, otp_entry.entry_id, iq_id))
    result = await _fix_step(hass, result["flow_id"], {"accept": True})
    wrong = "0000" if _mailed_pin(salto_sim, iq_id) != "0000" else "1111"
    for _ in range(2):
        result = await _fix_step(hass, result["flow_id"], {"pin": wrong})
        assert result["errors"] == {"pin": "wrong_pin"}
    result = await _fix_step(hass, result["flow_id"], {"pin": wrong})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "too_many_attempts")
    assert salto_sim.state.iqs[iq_id].otp_blocked_until is None  # 3 of the 8 it takes


async def test_secret_and_pin_stay_out_of_logs_and_diagnostics(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    lock_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await _activate(hass, salto_sim, otp_entry, iq_id)
    secret = salto_sim.iq_activation(iq_id)["secret"]
    pin = _mailed_pin(salto_sim, iq_id)
    code = computed_otp(otp_entry, iq_id)
    assert code is not None
    await _unlock(hass, lock_entity_id(hass, lock_id))
    salto_sim.rotate_iq_secret(iq_id)
    with pytest.raises(HomeAssistantError) as err:
        await _unlock(hass, lock_entity_id(hass, lock_id))
    diagnostics = await async_get_config_entry_diagnostics(hass, otp_entry)
    assert diagnostics["entry"]["data"][CONF_OTP_ACTIVATIONS] == "**REDACTED**"
    dumped = json.dumps(diagnostics, default=str)
    for value in (secret, code):
        assert value not in caplog.text
        assert value not in dumped
        assert value not in str(err.value)
        assert value not in repr(otp_entry.runtime_data.client)
    assert f"'{pin}'" not in caplog.text
    for state in hass.states.async_all():
        assert secret not in str(state.attributes)
    # Removing the entry removes its data with the secret.
    assert await hass.config_entries.async_remove(otp_entry.entry_id)
    assert hass.config_entries.async_get_entry(otp_entry.entry_id) is None
    assert _issue(hass, ISSUE_OTP_REACTIVATION, otp_entry, iq_id) is None


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "nl"])
def test_every_key_the_fix_flow_can_show_is_translated(language: str) -> None:
    path = (
        Path(__file__).parents[2] / "custom_components/salto_ks/translations" / f"{language}.json"
    )
    issues = json.loads(path.read_text(encoding="utf-8"))["issues"]
    errors = [
        TokenRejectedError("x"),
        AuthenticationError("x"),
        ApiNotEnabledError("x"),
        PermissionDeniedError("x"),
        RateLimitedError("x"),
        InvalidRequestError("x"),
        CommunicationError("x"),
        ValueError("x"),
    ]
    form_keys = {form_error(err, has_user=has_user) for err in errors for has_user in (True, False)}
    for kind in IQ_ISSUES:
        flow = issues[kind]["fix_flow"]
        assert {"title", "description"} <= set(issues[kind])
        assert set(flow["step"]) == {"init", "pin"}
        assert set(flow["step"]["init"]["data"]) == {"accept"}
        assert set(flow["step"]["pin"]["data"]) == {"pin"}
        assert form_keys | {"accept_required", "invalid_pin", "wrong_pin"} <= set(flow["error"])
        assert set(flow["abort"]) == {
            "entry_not_loaded",
            "already_activated",
            "otp_blocked",
            "too_many_attempts",
        }
