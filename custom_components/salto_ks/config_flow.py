"""Config flow for Salto KS: sign-in method, endpoint and credentials, site, reauth, reconfigure, options.

The first step is a menu of three sign-in methods: a Salto account (OAuth2 authorization code with
PKCE through application credentials, then Salto's login page: HA's ``AbstractOAuth2FlowHandler``
steps ``pick_implementation``, ``auth``, ``creation``), a KS system user (password grant) and an API
client alone (client_credentials). Every method takes the same endpoint presets or custom endpoint.
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
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.config_entry_oauth2_flow import (
    AbstractOAuth2FlowHandler,
    async_get_implementations,
)
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
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
from .api.urls import require_stream_base
from .client import create_client, entry_retry_gate, is_oauth_entry, new_retry_gate
from .const import (
    AUTH_API_CLIENT,
    AUTH_KS_USER,
    AUTH_OAUTH,
    CONF_ACCOUNT,
    CONF_API_BASE,
    CONF_AUTH_METHOD,
    CONF_AUTH_URL,
    CONF_AUTHORIZE_URL,
    CONF_CLEAR_PIN,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_EVENT_STREAM,
    CONF_MANAGE_GUESTS,
    CONF_PASSWORD,
    CONF_PIN_HASH,
    CONF_RELEASED_STATE,
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    CONF_STREAM_URL,
    CONF_UNLOCK_PIN,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_EVENT_STREAM,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    ENDPOINT_ACCEPT,
    ENDPOINT_CUSTOM,
    ENDPOINT_LEGACY,
    ENDPOINT_PRODUCTION,
    LOGGER,
    MAX_EVENT_POLL_INTERVAL,
    MAX_RELEASED_STATE,
    MAX_STATUS_INTERVAL,
    MAX_UNLOCK_SECONDS,
    MIN_RELEASED_STATE,
    MIN_STATUS_INTERVAL,
    MIN_UNLOCK_SECONDS,
)
from .errors import form_error
from .flow_validation import parse_credentials, parse_options, text, url_error
from .oauth import (
    ClientRefusedError,
    SaltoOAuth2Implementation,
    authorize_url_for,
    static_token_source,
    token_subject,
)
from .pin import hash_pin

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

# Errors the user fixes on the credentials form (the others concern the endpoint).
CREDENTIAL_ERRORS = frozenset(
    {"invalid_auth", "api_not_enabled", "missing_permission", "ks_user_required"}
)

DEFAULT_OPTIONS: dict[str, int] = {
    CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
    CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
    CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
    CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
}

_TEXT = TextSelector()
_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_EMAIL = TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username"))
_SECRET = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
)
_PIN = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off"))
_ENDPOINT = SelectSelector(
    SelectSelectorConfig(
        options=[ENDPOINT_PRODUCTION, ENDPOINT_ACCEPT, ENDPOINT_LEGACY, ENDPOINT_CUSTOM],
        translation_key=CONF_ENDPOINT,
        mode=SelectSelectorMode.DROPDOWN,
    )
)
# The legacy endpoint has no authorize URL (its token URL is not IdentityServer's).
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


def _seconds(minimum: int, maximum: int) -> NumberSelector:
    """Return a box-mode number selector in seconds."""
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            mode=NumberSelectorMode.BOX,
            unit_of_measurement="s",
        )
    )


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_STATUS_INTERVAL): _seconds(MIN_STATUS_INTERVAL, MAX_STATUS_INTERVAL),
        # 0 is allowed (audit loop off); 1-4 are rejected in the step with a field error.
        vol.Required(CONF_EVENT_POLL_INTERVAL): _seconds(0, MAX_EVENT_POLL_INTERVAL),
        vol.Required(CONF_UNLOCK_SECONDS): _seconds(MIN_UNLOCK_SECONDS, MAX_UNLOCK_SECONDS),
        vol.Required(CONF_RELEASED_STATE): _seconds(MIN_RELEASED_STATE, MAX_RELEASED_STATE),
        # Stored only when turned off (no key: on), so options saved before it existed mean "on".
        vol.Optional(CONF_EVENT_STREAM, default=DEFAULT_EVENT_STREAM): BooleanSelector(),
        # Guest access actions may create and remove Salto users; stored only when on.
        vol.Optional(CONF_MANAGE_GUESTS, default=False): BooleanSelector(),
        # Unlock PIN: never prefilled; empty keeps the current PIN. clear_pin is shown only
        # while a PIN is set (see _options_schema).
        vol.Optional(CONF_UNLOCK_PIN): _PIN,
        vol.Optional(CONF_CLEAR_PIN, default=False): BooleanSelector(),
    }
)
# Form fields that are never stored in entry.options nor echoed back into the form.
PIN_FORM_FIELDS = frozenset({CONF_UNLOCK_PIN, CONF_CLEAR_PIN})


def _options_schema(*, pin_set: bool) -> vol.Schema:
    """The options form; the "remove PIN" box only while a PIN is set."""
    if pin_set:
        return OPTIONS_SCHEMA
    return vol.Schema(
        {key: value for key, value in OPTIONS_SCHEMA.schema.items() if key != CONF_CLEAR_PIN}
    )


def _credentials_schema(step_id: str) -> vol.Schema:
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


def _grant_method(data: Mapping[str, Any]) -> str:
    """The sign-in method of credentials without OAuth: a KS user means the password grant."""
    return AUTH_KS_USER if data.get(CONF_USERNAME) else AUTH_API_CLIENT


def _suggestions(values: Mapping[str, Any]) -> dict[str, Any]:
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


class SaltoKSConfigFlow(AbstractOAuth2FlowHandler, domain=DOMAIN):
    """Set up a Salto KS site: sign-in method, endpoint, credentials or Salto's login, then the site."""

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 1

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

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SaltoKSOptionsFlow:
        """Return the options flow (saving reloads the entry through its update listener)."""
        return SaltoKSOptionsFlow()

    @property
    def _method(self) -> str:
        """The sign-in method this flow is setting up."""
        return str(self._data.get(CONF_AUTH_METHOD, AUTH_KS_USER))

    # ---- user: the sign-in method --------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask how to sign in."""
        return self.async_show_menu(
            step_id=STEP_USER, menu_options=[STEP_OAUTH, STEP_KS_USER, STEP_API_CLIENT]
        )

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

    # ---- password / client_credentials: endpoint and credentials ---------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change endpoint or credentials of an entry; the site must stay the same."""
        entry = self._get_reconfigure_entry()
        if is_oauth_entry(entry.data):
            return await self.async_step_oauth(user_input)
        return await self._async_step_credentials(STEP_RECONFIGURE, user_input, stored=entry.data)

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
        self._data = {CONF_ENDPOINT: endpoint, **data, CONF_AUTH_METHOD: _grant_method(data)}
        if endpoint == ENDPOINT_CUSTOM:
            return await self.async_step_custom_endpoint()
        self._data[CONF_API_BASE], self._data[CONF_AUTH_URL] = PRESET_ENDPOINTS[endpoint]
        return await self._async_connect(step_id)

    def _show_credentials_form(
        self, step_id: str, suggested: Mapping[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult:
        schema = _credentials_schema(step_id)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, _suggestions(suggested)),
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
        if self._method == AUTH_OAUTH:
            oauth_urls, oauth_errors = self._authorize_url(user_input, urls[CONF_AUTH_URL])
            urls.update(oauth_urls)
            errors = {**oauth_errors, **errors}
        if errors:
            return self._show_custom_form(user_input, errors)
        self._custom_urls = urls
        self._data.update(urls)
        if self._method == AUTH_OAUTH:
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
        if self._method == AUTH_OAUTH:
            schema = schema.extend({vol.Optional(CONF_AUTHORIZE_URL): _URL})
        return self.async_show_form(
            step_id=STEP_CUSTOM_ENDPOINT,
            data_schema=self.add_suggested_values_to_schema(schema, _suggestions(suggested)),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )

    # ---- Salto account (OAuth2 authorization code) -------------------------------------------

    async def async_step_oauth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the identity server, then sign in on Salto's login page."""
        if user_input is None:
            suggested: Mapping[str, Any] = {}
            if self.source == SOURCE_RECONFIGURE:
                suggested = self._get_reconfigure_entry().data
            return self.async_show_form(
                step_id=STEP_OAUTH,
                data_schema=self.add_suggested_values_to_schema(
                    OAUTH_ENDPOINT_SCHEMA, _suggestions(suggested)
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

    # ---- connection test and site --------------------------------------------------------

    async def _async_fetch_sites(self, data: Mapping[str, Any]) -> str | None:
        """Request a token (or use the OAuth one) and list the sites; an error key, or None."""
        if data.get(CONF_AUTH_METHOD) == AUTH_OAUTH:
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
            has_user = bool(data.get(CONF_USERNAME)) or data.get(CONF_AUTH_METHOD) == AUTH_OAUTH
            return form_error(err, has_user=has_user)
        self._sites = {site.id: site for site in sites}
        return None

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

    # ---- reauth --------------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The stored credentials were refused: ask for new ones, or send to Salto's login again."""
        if is_oauth_entry(entry_data):
            return await self.async_step_reauth_oauth()
        return await self.async_step_reauth_confirm()

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
                self._data = {**entry.data, **data, CONF_AUTH_METHOD: _grant_method(data)}
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
                vol.Schema(fields), _suggestions(user_input or entry.data)
            ),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )


class SaltoKSOptionsFlow(OptionsFlow):
    """Polling cadence, unlock behaviour and the optional unlock PIN.

    The PIN field is a password field that is never prefilled. Saving with it empty keeps the current
    PIN; a new PIN (4-12 digits) replaces it; the "remove PIN" box (shown while a PIN is set) removes
    it. Only a salted hash is stored (``pin_hash``, see pin.py).
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options."""
        errors: dict[str, str] = {}
        stored_hash: str | None = self.config_entry.options.get(CONF_PIN_HASH) or None
        if user_input is not None:
            checked = parse_options(user_input, DEFAULT_OPTIONS)
            errors = checked.errors
            if not errors:
                options: dict[str, Any] = dict(checked.options)
                if user_input.get(CONF_EVENT_STREAM) is False:
                    options[CONF_EVENT_STREAM] = False
                if user_input.get(CONF_MANAGE_GUESTS) is True:
                    options[CONF_MANAGE_GUESTS] = True
                if checked.pin:
                    options[CONF_PIN_HASH] = await self.hass.async_add_executor_job(
                        hash_pin, checked.pin
                    )
                elif stored_hash and not checked.clear_pin:
                    options[CONF_PIN_HASH] = stored_hash
                return self.async_create_entry(data=options)
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        suggested = {
            key: value
            for key, value in (user_input or current).items()
            if key not in PIN_FORM_FIELDS and key != CONF_PIN_HASH
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                _options_schema(pin_set=stored_hash is not None), suggested
            ),
            errors=errors,
        )
