"""Config flow steps of a KS system user (password grant) and an API client alone (client_credentials).

Both take an endpoint preset or a custom endpoint (``custom_endpoint``, shared with the Salto account's
custom identity server); reconfigure of such an entry and its reauth form are here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlowResult
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .api import PRODUCTION_API, PRODUCTION_AUTH_URL
from .api.urls import require_stream_base
from .client import is_oauth_entry
from .const import (
    AUTH_API_CLIENT,
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_AUTHORIZE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_PASSWORD,
    CONF_STREAM_URL,
    CONF_USERNAME,
    ENDPOINT_ACCEPT,
    ENDPOINT_CUSTOM,
    ENDPOINT_LEGACY,
    ENDPOINT_PRODUCTION,
)
from .flow_base import (
    PRESET_ENDPOINTS,
    STEP_API_CLIENT,
    STEP_CUSTOM_ENDPOINT,
    STEP_KS_USER,
    STEP_REAUTH_CONFIRM,
    STEP_RECONFIGURE,
    SaltoFlowBase,
    suggestions,
)
from .flow_validation import parse_credentials, text, url_error
from .oauth import authorize_url_for

# Errors the user fixes on the credentials form (the others concern the endpoint).
CREDENTIAL_ERRORS = frozenset(
    {"invalid_auth", "api_not_enabled", "missing_permission", "ks_user_required"}
)

_TEXT = TextSelector()
_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_EMAIL = TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username"))
_SECRET = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
)
_ENDPOINT = SelectSelector(
    SelectSelectorConfig(
        options=[ENDPOINT_PRODUCTION, ENDPOINT_ACCEPT, ENDPOINT_LEGACY, ENDPOINT_CUSTOM],
        translation_key=CONF_ENDPOINT,
        mode=SelectSelectorMode.DROPDOWN,
    )
)
# The legacy endpoint has no authorize URL (its token URL is not IdentityServer's).

CUSTOM_ENDPOINT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_API_BASE): _URL,
        vol.Required(CONF_AUTH_URL): _URL,
        # The event stream's host; empty: no stream (the access log is polled alone).
        vol.Optional(CONF_STREAM_URL): _URL,
    }
)


def _stream_url_error(url: str) -> str | None:
    """The stream URL is a host root: no query or fragment (the client's one check)."""
    try:
        require_stream_base(url, CONF_STREAM_URL)
    except ValueError:
        return "invalid_url"
    return None


def credentials_schema(step_id: str) -> vol.Schema:
    """Endpoint choice and credentials of a step.

    ``ks_user`` asks for the KS user, ``api_client`` for none; ``reconfigure`` keeps stored secrets
    when left empty and takes the KS user as optional (clearing it switches to client_credentials).
    """
    secret_marker = vol.Optional if step_id == STEP_RECONFIGURE else vol.Required
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_ENDPOINT, default=ENDPOINT_PRODUCTION): _ENDPOINT,
        vol.Required(CONF_CLIENT_ID): _TEXT,
        secret_marker(CONF_CLIENT_SECRET): _SECRET,
    }
    if step_id == STEP_KS_USER:
        fields[vol.Required(CONF_USERNAME)] = _EMAIL
        fields[vol.Required(CONF_PASSWORD)] = _SECRET
    elif step_id == STEP_RECONFIGURE:
        fields[vol.Optional(CONF_USERNAME)] = _EMAIL
        fields[vol.Optional(CONF_PASSWORD)] = _SECRET
    return vol.Schema(fields)


class CredentialSteps(SaltoFlowBase):
    """The endpoint and credential forms of the password and client_credentials grants."""

    async def async_step_ks_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Endpoint, API credentials and a KS system user (password grant)."""
        return await self._async_step_credentials(STEP_KS_USER, user_input, stored=None)

    async def async_step_api_client(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Endpoint and API credentials alone (client_credentials grant)."""
        return await self._async_step_credentials(STEP_API_CLIENT, user_input, stored=None)

    async def _async_step_credentials(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        *,
        stored: Mapping[str, Any] | None,
    ) -> ConfigFlowResult:
        """Shared body of the ks_user, api_client and reconfigure steps."""
        if user_input is None:
            return self._show_credentials_form(step_id, stored or {}, {})
        data, errors = parse_credentials(
            user_input, stored=stored, require_user=step_id == STEP_KS_USER
        )
        if errors:
            return self._show_credentials_form(step_id, user_input, errors)
        endpoint = user_input[CONF_ENDPOINT]
        self._data = {CONF_ENDPOINT: endpoint, **data}
        if endpoint == ENDPOINT_CUSTOM:
            return await self.async_step_custom_endpoint()
        self._data[CONF_API_BASE], self._data[CONF_AUTH_URL] = PRESET_ENDPOINTS[endpoint]
        return await self._async_connect(step_id)

    def _show_credentials_form(
        self, step_id: str, suggested: Mapping[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult:
        schema = credentials_schema(step_id)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggestions(suggested)),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )

    @property
    def _credentials_step(self) -> str:
        if self.source == SOURCE_RECONFIGURE:
            return STEP_RECONFIGURE
        return STEP_API_CLIENT if self._method == AUTH_API_CLIENT else STEP_KS_USER

    async def async_step_custom_endpoint(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API base and token URL of a custom endpoint (and the authorize URL for OAuth)."""
        if user_input is None:
            suggested: dict[str, Any] = {
                CONF_API_BASE: PRODUCTION_API,
                CONF_AUTH_URL: PRODUCTION_AUTH_URL,
            }
            if self.source == SOURCE_RECONFIGURE:
                entry = self._get_reconfigure_entry()
                if entry.data.get(CONF_ENDPOINT) == ENDPOINT_CUSTOM:
                    suggested = dict(entry.data)
            if self._custom_urls:  # back here after a failed attempt
                suggested = self._custom_urls
            return self._show_custom_form(suggested, {})
        urls = {key: text(user_input, key) for key in (CONF_API_BASE, CONF_AUTH_URL)}
        errors = {key: error for key, value in urls.items() if (error := url_error(value))}
        if stream_url := text(user_input, CONF_STREAM_URL):
            if stream_error := url_error(stream_url) or _stream_url_error(stream_url):
                errors[CONF_STREAM_URL] = stream_error
            urls[CONF_STREAM_URL] = stream_url
        if is_oauth_entry(self._data):
            oauth_urls, oauth_errors = self._authorize_url(user_input, urls[CONF_AUTH_URL])
            urls.update(oauth_urls)
            errors = {**oauth_errors, **errors}
        if errors:
            return self._show_custom_form(user_input, errors)
        self._custom_urls = urls
        self._data.update(urls)
        if is_oauth_entry(self._data):
            return await self.async_step_pick_implementation()
        return await self._async_connect(STEP_CUSTOM_ENDPOINT)

    @staticmethod
    def _authorize_url(
        user_input: Mapping[str, Any], token_url: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The entered authorize URL, else the one next to the token URL; or the field's error."""
        entered = text(user_input, CONF_AUTHORIZE_URL)
        if entered:
            if error := url_error(entered):
                return {}, {CONF_AUTHORIZE_URL: error}
            return {CONF_AUTHORIZE_URL: entered}, {}
        if (derived := authorize_url_for(token_url)) is None:
            return {}, {CONF_AUTHORIZE_URL: "authorize_url_required"}
        return {CONF_AUTHORIZE_URL: derived}, {}

    def _show_custom_form(
        self, suggested: Mapping[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult:
        schema = CUSTOM_ENDPOINT_SCHEMA
        if is_oauth_entry(self._data):
            schema = schema.extend({vol.Optional(CONF_AUTHORIZE_URL): _URL})
        return self.async_show_form(
            step_id=STEP_CUSTOM_ENDPOINT,
            data_schema=self.add_suggested_values_to_schema(schema, suggestions(suggested)),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )

    async def _async_connect(self, step_id: str) -> ConfigFlowResult:
        """Test self._data; show the error on the form that can fix it, else go on."""
        if error := await self._async_fetch_sites(self._data):
            if step_id == STEP_CUSTOM_ENDPOINT and error not in CREDENTIAL_ERRORS:
                return self._show_custom_form(self._data, {"base": error})
            form_step = self._credentials_step
            if error == "ks_user_required" and form_step == STEP_API_CLIENT:
                form_step = STEP_KS_USER  # the form where the KS user is entered
            return self._show_credentials_form(form_step, self._data, {"base": error})
        return await self._async_sites_found()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the secret and the KS user's password (a user may be added to an entry without one)."""
        entry = self._get_reauth_entry()
        password_grant = bool(entry.data.get(CONF_USERNAME))
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = parse_credentials(user_input, require_user=password_grant)
            if not errors:
                self._data = {**entry.data, **data}
                if error := await self._async_fetch_sites(self._data):
                    errors["base"] = error
                else:
                    return self._async_update_site_entry(entry)
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_CLIENT_ID): _TEXT,
            vol.Required(CONF_CLIENT_SECRET): _SECRET,
        }
        # Optional without a user: the API may refuse the client alone (ks_user_required).
        user_marker = vol.Required if password_grant else vol.Optional
        fields[user_marker(CONF_USERNAME)] = _EMAIL
        fields[user_marker(CONF_PASSWORD)] = _SECRET
        return self.async_show_form(
            step_id=STEP_REAUTH_CONFIRM,
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields), suggestions(user_input or entry.data)
            ),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )
