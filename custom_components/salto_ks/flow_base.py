"""What every sign-in method of the config flow shares: the connection test, the site step, the entry.

``SaltoFlowBase`` holds the flow's state and its Retry-After gate, lists the sites the new sign-in sees and
creates (or, for reauth and reconfigure, updates) the entry of one site. The steps that ask for the sign-in
are in ``flow_credentials.py`` (API client, KS user, custom endpoint) and ``flow_oauth.py`` (Salto account).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
)
from homeassistant.helpers.config_entry_oauth2_flow import AbstractOAuth2FlowHandler
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .api import (
    ACCEPT_API,
    ACCEPT_AUTH_URL,
    LEGACY_API_BASE,
    LEGACY_AUTH_URL,
    PRODUCTION_API,
    PRODUCTION_AUTH_URL,
    RetryGate,
    Site,
)
from .client import create_client, entry_retry_gate, is_oauth_entry, new_retry_gate
from .const import (
    AUTH_API_CLIENT,
    AUTH_KS_USER,
    AUTH_OAUTH,
    CONF_AUTH_METHOD,
    CONF_CLIENT_SECRET,
    CONF_PASSWORD,
    CONF_SITE_ID,
    CONF_USERNAME,
    ENDPOINT_ACCEPT,
    ENDPOINT_LEGACY,
    ENDPOINT_PRODUCTION,
    LOGGER,
)
from .errors import form_error
from .oauth import static_token_source
from .options_flow import DEFAULT_OPTIONS

STEP_USER = "user"
STEP_KS_USER = AUTH_KS_USER
STEP_API_CLIENT = AUTH_API_CLIENT
STEP_OAUTH = AUTH_OAUTH
STEP_REAUTH_OAUTH = "reauth_oauth"
STEP_CUSTOM_ENDPOINT = "custom_endpoint"
STEP_SITE = "site"
STEP_REAUTH_CONFIRM = "reauth_confirm"
STEP_RECONFIGURE = "reconfigure"

# (api_base, auth_url) of the endpoints offered as presets.
PRESET_ENDPOINTS: dict[str, tuple[str, str]] = {
    ENDPOINT_PRODUCTION: (PRODUCTION_API, PRODUCTION_AUTH_URL),
    ENDPOINT_ACCEPT: (ACCEPT_API, ACCEPT_AUTH_URL),
    ENDPOINT_LEGACY: (LEGACY_API_BASE, LEGACY_AUTH_URL),
}

# Fields never echoed back into a form as suggested values.
SECRET_KEYS = frozenset({CONF_CLIENT_SECRET, CONF_PASSWORD})


def suggestions(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values to prefill a form with: everything the user gave except secrets and blanks."""
    return {
        key: value
        for key, value in values.items()
        if key not in SECRET_KEYS and value not in (None, "")
    }


def _site_title(site: Site) -> str:
    """Name of a site for entry titles."""
    return site.name or site.site_uid or site.id


def _site_label(site: Site) -> str:
    """Label of a site in the picker: 'name (site_uid)'."""
    return f"{_site_title(site)} ({site.site_uid})" if site.site_uid else _site_title(site)


class SaltoFlowBase(AbstractOAuth2FlowHandler):
    """The state of a Salto KS config flow, its connection test and its site step."""

    def __init__(self) -> None:
        """Start with nothing entered."""
        super().__init__()
        self._data: dict[str, Any] = {}
        self._sites: dict[str, Site] = {}
        self._custom_urls: dict[str, str] = {}  # last custom URLs entered in this flow
        # Salto's Retry-After for the attempts of a new entry: each attempt builds a new client, and
        # all of them honour this gate. Reauth and reconfigure use their entry's gate instead.
        self._user_gate = new_retry_gate()

    @property
    def logger(self) -> logging.Logger:
        """The logger of HA's OAuth2 steps."""
        return LOGGER

    def _retry_gate(self) -> RetryGate:
        """The Retry-After gate of this flow's account: its entry's, or the user flow's own."""
        if self.source == SOURCE_REAUTH:
            return entry_retry_gate(self.hass, self._get_reauth_entry().entry_id)
        if self.source == SOURCE_RECONFIGURE:
            return entry_retry_gate(self.hass, self._get_reconfigure_entry().entry_id)
        return self._user_gate

    def _error_placeholders(self, errors: Mapping[str, str]) -> dict[str, str] | None:
        """The rate_limited error's wait; form errors take the step's description placeholders."""
        if "rate_limited" not in errors.values():
            return None
        return {"seconds": str(math.ceil(self._retry_gate().remaining() or 0))}

    @property
    def _method(self) -> str:
        """The sign-in method this flow is setting up."""
        return str(self._data.get(CONF_AUTH_METHOD, AUTH_KS_USER))

    # ---- connection test and site --------------------------------------------------------

    async def _async_fetch_sites(self, data: Mapping[str, Any]) -> str | None:
        """Request a token (or use the OAuth one) and list the sites; an error key, or None."""
        if is_oauth_entry(data):
            source = static_token_source(str(data["token"]["access_token"]))
            client = create_client(
                self.hass, data, retry_gate=self._retry_gate(), token_source=source
            )
        else:
            client = create_client(self.hass, data, retry_gate=self._retry_gate())
        try:
            await client.authenticate()
            sites = await client.get_sites()
        except Exception as err:
            has_user = bool(data.get(CONF_USERNAME)) or is_oauth_entry(data)
            return form_error(err, has_user=has_user)
        self._sites = {site.id: site for site in sites}
        return None

    async def _async_sites_found(self) -> ConfigFlowResult:
        """The sites are listed: update the reconfigured entry, or create one for a site."""
        if self.source == SOURCE_RECONFIGURE:
            return self._async_update_site_entry(self._get_reconfigure_entry())
        if not self._sites:
            return self.async_abort(reason="no_sites")
        if len(self._sites) == 1:
            return await self._async_create_site_entry(next(iter(self._sites.values())))
        configured = self._async_current_ids(include_ignore=False)
        if all(site_id in configured for site_id in self._sites):
            return self.async_abort(reason="already_configured")
        return await self.async_step_site()

    def _async_update_site_entry(self, entry: ConfigEntry) -> ConfigFlowResult:
        """Store the new sign-in in ``entry`` if it still sees the entry's site, and reload it."""
        if entry.unique_id not in self._sites:
            return self.async_abort(
                reason="wrong_site", description_placeholders={"site": entry.title}
            )
        return self.async_update_reload_and_abort(entry, data_updates=self._data)

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of several visible sites (sites already set up are not offered)."""
        if user_input is not None:
            return await self._async_create_site_entry(self._sites[user_input[CONF_SITE_ID]])
        configured = self._async_current_ids(include_ignore=False)
        options = [
            SelectOptionDict(value=site.id, label=_site_label(site))
            for site in sorted(self._sites.values(), key=_site_label)
            if site.id not in configured
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_SITE_ID): SelectSelector(
                    SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                )
            }
        )
        return self.async_show_form(
            step_id=STEP_SITE,
            data_schema=schema,
            description_placeholders={"count": str(len(self._sites))},
        )

    async def _async_create_site_entry(self, site: Site) -> ConfigFlowResult:
        await self.async_set_unique_id(site.id)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=_site_title(site),
            data={**self._data, CONF_SITE_ID: site.id},
            options=dict(DEFAULT_OPTIONS),
        )
