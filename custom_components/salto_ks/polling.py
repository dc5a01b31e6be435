"""The base of the roster and audit coordinators: one site of one client, polled at an interval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .api import SaltoKSClient
from .const import CONF_SITE_ID, DOMAIN, LOGGER


class SaltoCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Poll the entry's site every ``interval`` seconds; listeners hear only of changed data."""

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: ConfigEntry[Any],
        client: SaltoKSClient,
        *,
        name: str,
        interval: float,
    ) -> None:
        """Initialise the coordinator ``salto_ks <name>`` of the entry's site."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} {name}",
            update_interval=timedelta(seconds=interval),
            always_update=False,
        )
        self.client = client
        self.site_id: str = config_entry.data[CONF_SITE_ID]
