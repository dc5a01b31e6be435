"""Application credentials: the client id and secret Salto issues for the authorization-code sign-in."""

from __future__ import annotations

from homeassistant.components.application_credentials import ClientCredential
from homeassistant.core import HomeAssistant
from homeassistant.helpers.config_entry_oauth2_flow import (
    MY_AUTH_CALLBACK_PATH,
    AbstractOAuth2Implementation,
)

from .api import PRODUCTION_AUTH_URL
from .oauth import SaltoOAuth2Implementation, authorize_url_for

README_URL = "https://github.com/salto-ks-ha/salto_ks#sign-in-with-a-salto-account"


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> AbstractOAuth2Implementation:
    """The credential against the production identity server (a flow or an entry rebinds its endpoint)."""
    authorize_url = authorize_url_for(PRODUCTION_AUTH_URL)
    assert authorize_url is not None
    return SaltoOAuth2Implementation(
        hass,
        auth_domain,
        client_id=credential.client_id,
        client_secret=credential.client_secret,
        authorize_url=authorize_url,
        token_url=PRODUCTION_AUTH_URL,
        name=credential.name or "Salto KS",
    )


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """What the credentials dialog tells the user: the redirect URI to ask Salto to register."""
    return {"redirect_uri": MY_AUTH_CALLBACK_PATH, "more_info_url": README_URL}
