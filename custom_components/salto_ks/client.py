"""Build the API client for a config entry's connection data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import SaltoKSClient
from .const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_PASSWORD,
    CONF_USERNAME,
)


def create_client(hass: HomeAssistant, data: Mapping[str, Any]) -> SaltoKSClient:
    """Return a client on HA's shared session; password grant when a KS user is given."""
    return SaltoKSClient(
        async_get_clientsession(hass),
        api_base=data[CONF_API_BASE],
        auth_url=data[CONF_AUTH_URL],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
    )
