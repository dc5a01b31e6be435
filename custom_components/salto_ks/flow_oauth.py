"""Config flow steps of a Salto account: OAuth2 authorization code with PKCE (application credentials).

HA's ``AbstractOAuth2FlowHandler`` runs ``pick_implementation``, ``auth`` (Salto's login page) and
``creation``; these steps choose the identity server before and check the account and its sites after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_RECONFIGURE, ConfigFlowResult
from homeassistant.helpers.config_entry_oauth2_flow import async_get_implementations
from homeassistant.helpers.selector import SelectSelector, SelectSelectorConfig, SelectSelectorMode

from .const import (
    AUTH_OAUTH,
    CONF_ACCOUNT,
    CONF_API_BASE,
    CONF_AUTH_METHOD,
    CONF_AUTH_URL,
    CONF_AUTHORIZE_URL,
    CONF_ENDPOINT,
    DOMAIN,
    ENDPOINT_ACCEPT,
    ENDPOINT_CUSTOM,
    ENDPOINT_PRODUCTION,
    LOGGER,
)
from .flow_base import PRESET_ENDPOINTS, STEP_OAUTH, STEP_REAUTH_OAUTH, suggestions
from .flow_credentials import CredentialSteps
from .oauth import ClientRefusedError, SaltoOAuth2Implementation, authorize_url_for, token_subject

_OAUTH_ENDPOINT = SelectSelector(
    SelectSelectorConfig(
        options=[ENDPOINT_PRODUCTION, ENDPOINT_ACCEPT, ENDPOINT_CUSTOM],
        translation_key=CONF_ENDPOINT,
        mode=SelectSelectorMode.DROPDOWN,
    )
)
OAUTH_ENDPOINT_SCHEMA = vol.Schema(
    {vol.Required(CONF_ENDPOINT, default=ENDPOINT_PRODUCTION): _OAUTH_ENDPOINT}
)


class OAuthSteps(CredentialSteps):
    """Sign-in with a Salto account (a custom identity server goes through ``custom_endpoint``)."""

    async def async_step_oauth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the identity server, then sign in on Salto's login page."""
        if user_input is None:
            suggested: Mapping[str, Any] = {}
            if self.source == SOURCE_RECONFIGURE:
                suggested = self._get_reconfigure_entry().data
            return self.async_show_form(
                step_id=STEP_OAUTH,
                data_schema=self.add_suggested_values_to_schema(
                    OAUTH_ENDPOINT_SCHEMA, suggestions(suggested)
                ),
            )
        endpoint = user_input[CONF_ENDPOINT]
        self._data = {CONF_ENDPOINT: endpoint, CONF_AUTH_METHOD: AUTH_OAUTH}
        if endpoint == ENDPOINT_CUSTOM:
            return await self.async_step_custom_endpoint()
        api_base, token_url = PRESET_ENDPOINTS[endpoint]
        authorize_url = authorize_url_for(token_url)
        assert authorize_url is not None  # the OAuth presets are IdentityServer token URLs
        self._data.update(
            {CONF_API_BASE: api_base, CONF_AUTH_URL: token_url, CONF_AUTHORIZE_URL: authorize_url}
        )
        return await self.async_step_pick_implementation()

    async def async_step_auth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Send the user to the chosen identity server's login page (HA's external step)."""
        if user_input is None:
            implementation = self.flow_impl
            if not isinstance(implementation, SaltoOAuth2Implementation):
                return self.async_abort(reason="oauth_implementation_unsupported")
            authorize_url = self._data[CONF_AUTHORIZE_URL]
            token_url = self._data[CONF_AUTH_URL]
            if (implementation.authorize_url, implementation.token_url) != (
                authorize_url,
                token_url,
            ):
                self.flow_impl = implementation.for_endpoint(
                    authorize_url=authorize_url, token_url=token_url
                )
        return await super().async_step_auth(user_input)

    async def async_step_creation(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """HA's code redemption; a refused client is the same abort on every HA version."""
        try:
            return await super().async_step_creation(user_input)
        except ClientRefusedError:
            LOGGER.debug("The identity server refused the application credential")
            return self.async_abort(reason="oauth_unauthorized")

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Salto's token is here: check the account and the sites, then create or update the entry."""
        token: dict[str, Any] = data["token"]
        self._data.update(
            {
                "auth_implementation": data["auth_implementation"],
                "token": token,
                CONF_ACCOUNT: token_subject(str(token["access_token"])),
            }
        )
        if self.source == SOURCE_REAUTH:
            entry = self._get_reauth_entry()
            stored = entry.data.get(CONF_ACCOUNT)
            if stored and stored != self._data[CONF_ACCOUNT]:
                return self.async_abort(
                    reason="wrong_account", description_placeholders={"site": entry.title}
                )
        if error := await self._async_fetch_sites(self._data):
            return self.async_abort(
                reason=error, description_placeholders=self._error_placeholders({"base": error})
            )
        if self.source == SOURCE_REAUTH:
            return self._async_update_site_entry(self._get_reauth_entry())
        return await self._async_sites_found()

    async def async_step_reauth_oauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm, then sign in on Salto's login page with the entry's Salto account."""
        entry = self._get_reauth_entry()
        if user_input is None:
            return self.async_show_form(
                step_id=STEP_REAUTH_OAUTH, description_placeholders={"name": entry.title}
            )
        self._data = {
            key: entry.data[key]
            for key in (CONF_ENDPOINT, CONF_API_BASE, CONF_AUTH_URL, CONF_AUTHORIZE_URL)
        }
        self._data[CONF_AUTH_METHOD] = AUTH_OAUTH
        # The entry's credential when it still exists; else the user picks or adds one.
        stored = entry.data.get("auth_implementation")
        if stored in await async_get_implementations(self.hass, DOMAIN):
            return await self.async_step_pick_implementation({"implementation": stored})
        return await self.async_step_pick_implementation()
