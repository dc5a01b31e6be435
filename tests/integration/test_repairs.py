"""The fix flow of an OTP IQ's repair issue (repairs.py) when the cloud or the entry fails it, through
Home Assistant's repairs flow manager against the simulator: a refused or rate-limited secret request,
a refused activation, and the entry unloaded while the flow is open. The flow's happy path and the
PIN's refusals are in test_otp_computed.py."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.issues import ISSUE_OTP_ACTIVATION, iq_issue_id
from simulator import Simulator

from .conftest import setup_entry


@pytest.fixture
async def otp_entry(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry, iq_id: str
) -> MockConfigEntry:
    """The small site with its IQ asking for an OTP, set up with the repairs integration."""
    salto_sim.set_iq(iq_id, otp_enabled=True)
    assert await async_setup_component(hass, "repairs", {})
    return await setup_entry(hass, mock_config_entry)


async def _start(hass: HomeAssistant, entry: MockConfigEntry, iq_id: str) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    issue_id = iq_issue_id(ISSUE_OTP_ACTIVATION, entry.entry_id, iq_id)
    return dict(await manager.async_init("salto_ks", data={"issue_id": issue_id}))


async def _step(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = dict(await manager.async_configure(flow_id, user_input))
    await hass.async_block_till_done()
    return result


async def _at_pin_step(
    hass: HomeAssistant, entry: MockConfigEntry, iq_id: str
) -> tuple[str, dict[str, Any]]:
    result = await _start(hass, entry, iq_id)
    result = await _step(hass, result["flow_id"], {"accept": True})
    assert result["step_id"] == "pin"
    return result["flow_id"], result


async def test_a_rate_limited_secret_request_says_how_long_to_wait(
    hass: HomeAssistant, salto_sim: Simulator, otp_entry: MockConfigEntry, iq_id: str
) -> None:
    salto_sim.inject_fault("iq_secret", "429", times=1, retry_after=90)
    result = await _start(hass, otp_entry, iq_id)
    result = await _step(hass, result["flow_id"], {"accept": True})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {"base": "rate_limited"}
    assert 85 <= int(result["description_placeholders"]["seconds"]) <= 90
    assert salto_sim.pin_mails(iq_id) == []


async def test_an_unreachable_cloud_keeps_the_form(
    hass: HomeAssistant, salto_sim: Simulator, otp_entry: MockConfigEntry, iq_id: str
) -> None:
    salto_sim.inject_fault("iq_pin_email", "503", times=1)
    result = await _start(hass, otp_entry, iq_id)
    result = await _step(hass, result["flow_id"], {"accept": True})
    assert result["errors"] == {"base": "cannot_connect"}
    # Accepting again works once the cloud answers.
    result = await _step(hass, result["flow_id"], {"accept": True})
    assert result["step_id"] == "pin"


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [("403", "already_activated"), ("500", "cannot_connect")],
)
async def test_a_refused_activation(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    otp_entry: MockConfigEntry,
    iq_id: str,
    kind: str,
    outcome: str,
) -> None:
    """A 403 means the KS user is activated already (abort); another failure keeps the PIN form."""
    flow_id, _ = await _at_pin_step(hass, otp_entry, iq_id)
    pin = str(salto_sim.pin_mails(iq_id)[-1]["pin"])
    salto_sim.inject_fault("iq_activation", kind, times=1)
    result = await _step(hass, flow_id, {"pin": pin})
    if outcome == "already_activated":
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_activated"
    else:
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": outcome}
        # The mailed PIN still works once the cloud answers.
        result = await _step(hass, flow_id, {"pin": pin})
        assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_the_entry_unloaded_while_the_flow_is_open(
    hass: HomeAssistant, salto_sim: Simulator, otp_entry: MockConfigEntry, iq_id: str
) -> None:
    """Each step finds the entry gone and aborts, sending nothing."""
    first = await _start(hass, otp_entry, iq_id)
    flow_id, _ = await _at_pin_step(hass, otp_entry, iq_id)
    assert await hass.config_entries.async_unload(otp_entry.entry_id)
    salto_sim.reset_counters()
    result = await _step(hass, first["flow_id"], {"accept": True})
    assert result["reason"] == "entry_not_loaded"
    result = await _step(hass, flow_id, {"pin": "1234"})
    assert result["reason"] == "entry_not_loaded"
    assert salto_sim.counters == {}
