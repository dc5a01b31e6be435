"""Config flow for Salto KS: endpoint and credentials, site, reauth, reconfigure and options."""

from __future__ import annotations

import ipaddress
import math
import unicodedata
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
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
from yarl import URL

from .api import (
    ACCEPT_API,
    ACCEPT_AUTH_URL,
    LEGACY_API_BASE,
    LEGACY_AUTH_URL,
    PRODUCTION_API,
    PRODUCTION_AUTH_URL,
    ApiNotEnabledError,
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSError,
    Site,
    TokenRejectedError,
)
from .client import create_client
from .const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLEAR_PIN,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_PASSWORD,
    CONF_PIN_HASH,
    CONF_RELEASED_STATE,
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    CONF_UNLOCK_PIN,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DEFAULT_EVENT_POLL_INTERVAL,
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
    MAX_INPUT_LENGTH,
    MAX_RELEASED_STATE,
    MAX_STATUS_INTERVAL,
    MAX_UNLOCK_SECONDS,
    MIN_EVENT_POLL_INTERVAL,
    MIN_RELEASED_STATE,
    MIN_STATUS_INTERVAL,
    MIN_UNLOCK_SECONDS,
)
from .coordinator import DEFAULT_RETRY_AFTER
from .pin import hash_pin, is_valid_pin

STEP_USER = "user"
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

CUSTOM_ENDPOINT_SCHEMA = vol.Schema(
    {vol.Required(CONF_API_BASE): _URL, vol.Required(CONF_AUTH_URL): _URL}
)


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


def _credentials_schema(*, secrets_required: bool) -> vol.Schema:
    """Endpoint choice and credentials; secrets are optional when a stored one can be kept."""
    secret_marker = vol.Required if secrets_required else vol.Optional
    return vol.Schema(
        {
            vol.Required(CONF_ENDPOINT, default=ENDPOINT_PRODUCTION): _ENDPOINT,
            vol.Required(CONF_CLIENT_ID): _TEXT,
            secret_marker(CONF_CLIENT_SECRET): _SECRET,
            vol.Optional(CONF_USERNAME): _EMAIL,
            vol.Optional(CONF_PASSWORD): _SECRET,
        }
    )


def _suggestions(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values to prefill a form with: everything the user gave except secrets and blanks."""
    return {
        key: value
        for key, value in values.items()
        if key not in SECRET_KEYS and value not in (None, "")
    }


def _text(user_input: Mapping[str, Any], key: str) -> str:
    """Return a text field stripped of surrounding whitespace ('' when absent)."""
    value = user_input.get(key)
    return str(value).strip() if value is not None else ""


def _has_control_chars(value: str, *, format_chars: bool = False) -> bool:
    """True when ``value`` holds a control character (NUL, newline, ...), or a format character
    (bidi override, zero-width space, ...) when ``format_chars``.

    Credentials may contain format characters (emoji sequences use the zero-width joiner); URLs not.
    """
    refused = ("Cc", "Cf") if format_chars else ("Cc",)
    return any(unicodedata.category(char) in refused for char in value)


def _is_loopback(host: str) -> bool:
    """Return True for a literal loopback address (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_error(url: str) -> str | None:
    """Check a URL entered by the user; return an error key or None when acceptable.

    https is required, except plain http to a loopback address (a local test server or proxy).
    Credentials inside the URL are refused so they never end up in logs or diagnostics.
    """
    if len(url) > MAX_INPUT_LENGTH:
        return "too_long"
    if not url or any(char.isspace() for char in url):
        return "invalid_url"
    if _has_control_chars(url, format_chars=True):
        return "invalid_url"
    try:
        parsed = URL(url)
    except ValueError:
        return "invalid_url"
    if (
        not parsed.is_absolute()
        or not parsed.host
        or parsed.user is not None
        or parsed.password is not None
    ):
        return "invalid_url"
    if parsed.scheme == "https" or (parsed.scheme == "http" and _is_loopback(parsed.host)):
        return None
    return "invalid_url"


def _parse_credentials(
    user_input: Mapping[str, Any],
    *,
    stored: Mapping[str, Any] | None = None,
    require_user: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Strip and check client_id/client_secret and the optional KS system user.

    With ``stored`` (reconfigure), an empty secret keeps the stored one. Returns the cleaned values
    (username/password None for the client_credentials grant) and field errors.
    """
    keys = (CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_USERNAME, CONF_PASSWORD)
    values = {key: _text(user_input, key) for key in keys}
    errors = {key: "too_long" for key, value in values.items() if len(value) > MAX_INPUT_LENGTH}
    for key, value in values.items():
        if _has_control_chars(value):
            errors.setdefault(key, "invalid_characters")
    if stored is not None:
        if not values[CONF_CLIENT_SECRET]:
            values[CONF_CLIENT_SECRET] = stored.get(CONF_CLIENT_SECRET) or ""
        if values[CONF_USERNAME] and not values[CONF_PASSWORD]:
            values[CONF_PASSWORD] = stored.get(CONF_PASSWORD) or ""
    for key in (CONF_CLIENT_ID, CONF_CLIENT_SECRET):
        if not values[key]:
            errors.setdefault(key, "value_required")
    if values[CONF_USERNAME] and not values[CONF_PASSWORD]:
        errors.setdefault(CONF_PASSWORD, "password_required")
    if (values[CONF_PASSWORD] or require_user) and not values[CONF_USERNAME]:
        errors.setdefault(CONF_USERNAME, "username_required")
    data: dict[str, Any] = {
        CONF_CLIENT_ID: values[CONF_CLIENT_ID],
        CONF_CLIENT_SECRET: values[CONF_CLIENT_SECRET],
        CONF_USERNAME: values[CONF_USERNAME] or None,
        CONF_PASSWORD: values[CONF_PASSWORD] or None,
    }
    return data, errors


def _site_title(site: Site) -> str:
    """Name of a site for entry titles."""
    return site.name or site.site_uid or site.id


def _site_label(site: Site) -> str:
    """Label of a site in the picker: 'name (site_uid)'."""
    return f"{_site_title(site)} ({site.site_uid})" if site.site_uid else _site_title(site)


class SaltoKSConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Salto KS site: endpoint, API credentials, then the site."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._data: dict[str, Any] = {}
        self._sites: dict[str, Site] = {}
        self._custom_urls: dict[str, str] = {}  # last custom URLs entered in this flow
        # Loop time before which Salto's Retry-After forbids another attempt. Each attempt builds a
        # new client, which knows nothing of an earlier 429, so the flow has to remember it.
        self._retry_at: float | None = None

    def _rate_limit_remaining(self) -> float | None:
        """Seconds left of the last 429's Retry-After, None when a request may be sent."""
        if self._retry_at is None:
            return None
        if (remaining := self._retry_at - self.hass.loop.time()) <= 0:
            self._retry_at = None
            return None
        return remaining

    def _error_placeholders(self, errors: Mapping[str, str]) -> dict[str, str] | None:
        """The rate_limited error's wait; form errors take the step's description placeholders."""
        if "rate_limited" not in errors.values():
            return None
        return {"seconds": str(math.ceil(self._rate_limit_remaining() or 0))}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SaltoKSOptionsFlow:
        """Return the options flow (saving reloads the entry through its update listener)."""
        return SaltoKSOptionsFlow()

    # ---- user / reconfigure: endpoint and credentials -------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the endpoint and the API credentials."""
        return await self._async_step_credentials(STEP_USER, user_input, stored=None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change endpoint or credentials of an entry; the site must stay the same."""
        entry = self._get_reconfigure_entry()
        return await self._async_step_credentials(STEP_RECONFIGURE, user_input, stored=entry.data)

    async def _async_step_credentials(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        *,
        stored: Mapping[str, Any] | None,
    ) -> ConfigFlowResult:
        """Shared body of the user and reconfigure steps."""
        if user_input is None:
            return self._show_credentials_form(step_id, stored or {}, {})
        data, errors = _parse_credentials(user_input, stored=stored)
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
        schema = _credentials_schema(secrets_required=step_id == STEP_USER)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, _suggestions(suggested)),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )

    @property
    def _credentials_step(self) -> str:
        return STEP_RECONFIGURE if self.source == SOURCE_RECONFIGURE else STEP_USER

    async def async_step_custom_endpoint(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API base and token URL of a custom endpoint."""
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
        urls = {key: _text(user_input, key) for key in (CONF_API_BASE, CONF_AUTH_URL)}
        errors = {key: error for key, value in urls.items() if (error := _url_error(value))}
        if errors:
            return self._show_custom_form(user_input, errors)
        self._custom_urls = urls
        self._data.update(urls)
        return await self._async_connect(STEP_CUSTOM_ENDPOINT)

    def _show_custom_form(
        self, suggested: Mapping[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=STEP_CUSTOM_ENDPOINT,
            data_schema=self.add_suggested_values_to_schema(
                CUSTOM_ENDPOINT_SCHEMA, _suggestions(suggested)
            ),
            errors=errors,
            description_placeholders=self._error_placeholders(errors),
        )

    # ---- connection test and site --------------------------------------------------------

    async def _async_fetch_sites(self, data: Mapping[str, Any]) -> str | None:
        """Request a token and list the sites; return an error key, or None on success."""
        if self._rate_limit_remaining() is not None:
            return "rate_limited"
        client = create_client(self.hass, data)
        try:
            await client.authenticate()
            sites = await client.get_sites()
        except TokenRejectedError as err:
            LOGGER.debug("The API refused a fresh token: %r", err)
            # The Connect API acts for a KS user: it refuses a token issued to the client alone
            # (client_credentials). With a user, a refusal means API and token URL do not match.
            return "token_rejected" if data.get(CONF_USERNAME) else "ks_user_required"
        except AuthenticationError as err:
            LOGGER.debug("The identity server refused the credentials: %r", err)
            return "invalid_auth"
        except ApiNotEnabledError as err:
            LOGGER.debug("The grant or scope was refused: %r", err)
            return "api_not_enabled"
        except PermissionDeniedError as err:
            LOGGER.debug("Permission denied listing sites: %r", err)
            return "missing_permission"
        except RateLimitedError as err:
            LOGGER.debug("Rate limited: %r", err)
            wait = (
                err.retry_after if err.retry_after and err.retry_after > 0 else DEFAULT_RETRY_AFTER
            )
            self._retry_at = self.hass.loop.time() + wait
            return "rate_limited"
        except InvalidRequestError as err:
            LOGGER.debug("The request was refused as invalid: %r", err)
            return "invalid_request"
        except SaltoKSError as err:
            LOGGER.debug("Cannot reach Salto KS: %r", err)
            return "cannot_connect"
        except Exception:
            LOGGER.exception("Unexpected error while testing the Salto KS connection")
            return "unknown"
        self._sites = {site.id: site for site in sites}
        return None

    async def _async_connect(self, step_id: str) -> ConfigFlowResult:
        """Test self._data; show the error on the form that can fix it, else go on."""
        if error := await self._async_fetch_sites(self._data):
            if step_id == STEP_CUSTOM_ENDPOINT and error not in CREDENTIAL_ERRORS:
                return self._show_custom_form(self._data, {"base": error})
            return self._show_credentials_form(self._credentials_step, self._data, {"base": error})
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if entry.unique_id not in self._sites:
                return self.async_abort(
                    reason="wrong_site", description_placeholders={"site": entry.title}
                )
            return self.async_update_reload_and_abort(entry, data_updates=self._data)
        if not self._sites:
            return self.async_abort(reason="no_sites")
        if len(self._sites) == 1:
            return await self._async_create_site_entry(next(iter(self._sites.values())))
        configured = self._async_current_ids(include_ignore=False)
        if all(site_id in configured for site_id in self._sites):
            return self.async_abort(reason="already_configured")
        return await self.async_step_site()

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
        """The stored credentials were refused: ask for new ones."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the secret and the KS user's password (a user may be added to an entry without one)."""
        entry = self._get_reauth_entry()
        password_grant = bool(entry.data.get(CONF_USERNAME))
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _parse_credentials(user_input, require_user=password_grant)
            if not errors:
                self._data = {**entry.data, **data}
                if error := await self._async_fetch_sites(self._data):
                    errors["base"] = error
                elif entry.unique_id not in self._sites:
                    return self.async_abort(
                        reason="wrong_site", description_placeholders={"site": entry.title}
                    )
                else:
                    return self.async_update_reload_and_abort(entry, data=self._data)
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


def _whole_seconds(value: Any) -> int | None:
    """A finite whole number of seconds (30 or 30.0) as int; None for NaN, infinity or 30.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


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
            options: dict[str, Any] = {}
            for key in DEFAULT_OPTIONS:
                if (seconds := _whole_seconds(user_input.get(key))) is None:
                    errors[key] = "whole_seconds"
                else:
                    options[key] = seconds
            if 0 < options.get(CONF_EVENT_POLL_INTERVAL, 0) < MIN_EVENT_POLL_INTERVAL:
                errors[CONF_EVENT_POLL_INTERVAL] = "event_poll_interval_too_short"
            pin = _text(user_input, CONF_UNLOCK_PIN)
            clear = user_input.get(CONF_CLEAR_PIN) is True
            if pin and clear:
                errors[CONF_CLEAR_PIN] = "pin_and_clear"
            elif pin and not is_valid_pin(pin):
                errors[CONF_UNLOCK_PIN] = "invalid_pin"
            if not errors:
                if pin:
                    options[CONF_PIN_HASH] = await self.hass.async_add_executor_job(hash_pin, pin)
                elif stored_hash and not clear:
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
