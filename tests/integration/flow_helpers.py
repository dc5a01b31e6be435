"""How a test reaches the credentials form of a new config flow (one place, so the first step can change)."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.salto_ks.const import AUTH_KS_USER, DOMAIN


async def start_credentials_flow(
    hass: HomeAssistant, method: str = AUTH_KS_USER
) -> ConfigFlowResult:
    """Start a user flow and return the form that asks for the credentials of ``method``.

    The first step is the sign-in menu; ``ks_user`` (the default) is the KS system user's form
    (password grant), ``api_client`` the form without a user (client_credentials).
    """
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": method}
    )
