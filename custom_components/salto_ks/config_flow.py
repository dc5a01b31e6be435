"""Config flow for Salto KS: sign-in method, endpoint and credentials, site, reauth, reconfigure, options.

The first step is a menu of three sign-in methods: a Salto account (OAuth2 authorization code with
PKCE through application credentials, then Salto's login page: HA's ``AbstractOAuth2FlowHandler``
steps ``pick_implementation``, ``auth``, ``creation``), a KS system user (password grant) and an API
client alone (client_credentials). Every method takes the same endpoint presets or custom endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.core import callback

from .client import is_oauth_entry
from .const import DOMAIN
from .flow_base import STEP_API_CLIENT, STEP_KS_USER, STEP_OAUTH, STEP_RECONFIGURE, STEP_USER
from .flow_oauth import OAuthSteps
from .options_flow import SaltoKSOptionsFlow


class SaltoKSConfigFlow(OAuthSteps, domain=DOMAIN):
    """Set up a Salto KS site: sign-in method, endpoint, credentials or Salto's login, then the site."""

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SaltoKSOptionsFlow:
        """Return the options flow (saving reloads the entry through its update listener)."""
        return SaltoKSOptionsFlow()

    # ---- user: the sign-in method --------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask how to sign in."""
        return self.async_show_menu(
            step_id=STEP_USER, menu_options=[STEP_OAUTH, STEP_KS_USER, STEP_API_CLIENT]
        )

    # ---- password / client_credentials: endpoint and credentials ---------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change endpoint or credentials of an entry; the site must stay the same."""
        entry = self._get_reconfigure_entry()
        if is_oauth_entry(entry.data):
            return await self.async_step_oauth(user_input)
        return await self._async_step_credentials(STEP_RECONFIGURE, user_input, stored=entry.data)

    # ---- reauth --------------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The stored credentials were refused: ask for new ones, or send to Salto's login again."""
        if is_oauth_entry(entry_data):
            return await self.async_step_reauth_oauth()
        return await self.async_step_reauth_confirm()
