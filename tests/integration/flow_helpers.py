"""How a test reaches the credentials form of a new config flow (one place, so the first step can change)."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant

from custom_components.salto_ks.const import DOMAIN


async def start_credentials_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Start a user flow and return the form that asks for the KS user's credentials."""
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
