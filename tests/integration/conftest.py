"""Fixtures for tests that run the integration inside Home Assistant against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks.const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_PASSWORD,
    CONF_RELEASED_STATE,
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    ENDPOINT_CUSTOM,
)
from simulator import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Iterator[None]:
    """Let Home Assistant load custom_components/salto_ks in every test here."""
    yield


@pytest.fixture
def entry_data(salto_sim: Simulator) -> dict[str, Any]:
    """Connection data of a config entry pointed at the simulator (password grant)."""
    return {
        CONF_ENDPOINT: ENDPOINT_CUSTOM,
        CONF_API_BASE: salto_sim.api_base,
        CONF_AUTH_URL: salto_sim.auth_url,
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_CLIENT_SECRET: salto_sim.client_secret,
        CONF_USERNAME: salto_sim.username,
        CONF_PASSWORD: salto_sim.password,
        CONF_SITE_ID: salto_sim.site_id,
    }


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Default options; tests override single values."""
    return {
        CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
        CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
        CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
        CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
    }


@pytest.fixture
def mock_config_entry(
    salto_sim: Simulator, entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> MockConfigEntry:
    """A config entry for the simulator's first site (not yet added to hass)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Simulated site",
        data=entry_data,
        options=entry_options,
        unique_id=salto_sim.site_id,
    )


@pytest.fixture
async def init_integration(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """Set the entry up and wait until Home Assistant is idle."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry
