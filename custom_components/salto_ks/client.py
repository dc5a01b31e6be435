"""Build the API client for a config entry's connection data, and keep each entry's Retry-After gate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .api import RetryGate, SaltoKSClient
from .const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_PASSWORD,
    CONF_USERNAME,
    DOMAIN,
)

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
    hass: HomeAssistant, data: Mapping[str, Any], *, retry_gate: RetryGate
) -> SaltoKSClient:
    """Return a client on HA's shared session; password grant when a KS user is given."""
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
