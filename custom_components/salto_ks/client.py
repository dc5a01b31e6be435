"""Build the API client for a config entry's connection data, and keep each entry's Retry-After gate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import async_get_config_entry_implementation
from homeassistant.util.hass_dict import HassKey

from .api import RetryGate, SaltoKSClient
from .api.auth import TokenSource
from .compat import OAUTH_IMPLEMENTATION_UNAVAILABLE
from .const import (
    AUTH_OAUTH,
    CONF_API_BASE,
    CONF_AUTH_METHOD,
    CONF_AUTH_URL,
    CONF_AUTHORIZE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_PASSWORD,
    CONF_USERNAME,
    DOMAIN,
)
from .oauth import EntryTokenSource, SaltoOAuth2Implementation

# Per config entry id: the one Retry-After gate of its polls, commands, actions, reauth and
# reconfigure flows. Kept in hass.data so that a setup retry or reload (a new client) honours it too.
RETRY_GATES: HassKey[dict[str, RetryGate]] = HassKey(f"{DOMAIN}_retry_gates")


def new_retry_gate() -> RetryGate:
    """A Retry-After gate for one account (one config entry, or one user flow)."""
    return RetryGate("Salto KS cloud")


def entry_retry_gate(hass: HomeAssistant, entry_id: str) -> RetryGate:
    """The Retry-After gate of a config entry (created on first use)."""
    gates = hass.data.setdefault(RETRY_GATES, {})
    if (gate := gates.get(entry_id)) is None:
        gate = gates[entry_id] = new_retry_gate()
    return gate


def forget_retry_gate(hass: HomeAssistant, entry_id: str) -> None:
    """Drop the gate of a removed config entry."""
    if (gates := hass.data.get(RETRY_GATES)) is not None:
        gates.pop(entry_id, None)


def create_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    retry_gate: RetryGate,
    token_source: TokenSource | None = None,
) -> SaltoKSClient:
    """Return a client on HA's shared session; password grant when a KS user is given.

    With ``token_source`` (a Salto-account entry) the tokens come from it instead of a grant.
    """
    if token_source is not None:
        return SaltoKSClient(
            async_get_clientsession(hass),
            api_base=data[CONF_API_BASE],
            auth_url=data[CONF_AUTH_URL],
            retry_gate=retry_gate,
            token_source=token_source,
        )
    return SaltoKSClient(
        async_get_clientsession(hass),
        api_base=data[CONF_API_BASE],
        auth_url=data[CONF_AUTH_URL],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        retry_gate=retry_gate,
    )


def is_oauth_entry(data: Mapping[str, Any]) -> bool:
    """Whether entry data (an entry's, or what a flow has gathered) signs in with a Salto account."""
    return data.get(CONF_AUTH_METHOD) == AUTH_OAUTH


async def async_oauth_implementation(
    hass: HomeAssistant, entry: ConfigEntry
) -> SaltoOAuth2Implementation:
    """The entry's application credential bound to the entry's identity server.

    A credential that is gone (removed under Application credentials) starts reauth, where the user
    picks or enters one again; one whose provider is down only retries the setup.
    """
    try:
        implementation = await async_get_config_entry_implementation(hass, entry)
    except OAUTH_IMPLEMENTATION_UNAVAILABLE as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="oauth_credential_missing"
        ) from err
    except ValueError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="oauth_credential_missing"
        ) from err
    if not isinstance(implementation, SaltoOAuth2Implementation):
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="oauth_credential_missing"
        )
    return implementation.for_endpoint(
        authorize_url=entry.data[CONF_AUTHORIZE_URL], token_url=entry.data[CONF_AUTH_URL]
    )


async def async_create_entry_client(
    hass: HomeAssistant, entry: ConfigEntry, *, retry_gate: RetryGate
) -> SaltoKSClient:
    """The client of a config entry: tokens from HA's OAuth2 session for a Salto-account entry."""
    if not is_oauth_entry(entry.data):
        return create_client(hass, entry.data, retry_gate=retry_gate)
    implementation = await async_oauth_implementation(hass, entry)
    source = EntryTokenSource(hass, entry, implementation)
    return create_client(hass, entry.data, retry_gate=retry_gate, token_source=source)
