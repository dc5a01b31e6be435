"""A request the cloud refuses as invalid (400 ErrorCode 1100/1101/1102/2210) is permanent: every place
that maps client errors names it ``invalid_request`` instead of a transient ``cannot_connect``."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks import flow_base
from custom_components.salto_ks.const import (
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_PASSWORD,
    CONF_USERNAME,
    DOMAIN,
    ENDPOINT_PRODUCTION,
)
from simulator import Simulator

from .conftest import async_refresh_roster
from .flow_helpers import start_credentials_flow


def _assert_invalid_request(failure: BaseException | None) -> None:
    assert isinstance(failure, UpdateFailed)
    assert failure.translation_domain == DOMAIN
    assert failure.translation_key == "invalid_request"
    assert failure.translation_placeholders == {"code": "2210"}


async def test_roster_poll(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.inject_fault("locks", "400", times=1)
    roster = init_integration.runtime_data.roster
    await async_refresh_roster(hass, init_integration)
    _assert_invalid_request(roster.last_exception)
    await async_refresh_roster(hass, init_integration)
    assert roster.last_update_success


async def test_audit_feed_poll(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    audit = init_integration.runtime_data.audit
    assert audit is not None
    salto_sim.inject_fault("entries", "400", times=1)
    await audit.async_refresh()
    _assert_invalid_request(audit.last_exception)


async def test_read_action(
    hass: HomeAssistant, salto_sim: Simulator, init_integration: MockConfigEntry
) -> None:
    salto_sim.inject_fault("locks", "400", times=1)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_locks",
            {"config_entry_id": init_integration.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_request"
    assert err.value.translation_placeholders == {"code": "2210"}


@pytest.fixture
def no_setup() -> Iterator[None]:
    """Keep the integration itself out of the flow test: entries are created, not set up."""
    with patch("custom_components.salto_ks.async_setup_entry", return_value=True):
        yield


async def test_config_flow(
    hass: HomeAssistant,
    salto_sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    no_setup: None,
) -> None:
    monkeypatch.setitem(
        flow_base.PRESET_ENDPOINTS, ENDPOINT_PRODUCTION, (salto_sim.api_base, salto_sim.auth_url)
    )
    salto_sim.inject_fault("sites", "400", times=1)
    result = await start_credentials_flow(hass)
    user_input = {
        CONF_ENDPOINT: ENDPOINT_PRODUCTION,
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_CLIENT_SECRET: salto_sim.client_secret,
        CONF_USERNAME: salto_sim.username,
        CONF_PASSWORD: salto_sim.password,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_request"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
