"""The Salto KS integration: a Salto KS site (Connect API) in Home Assistant."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .audit import SaltoAuditCoordinator, audit_store
from .client import async_create_entry_client, entry_retry_gate
from .const import (
    CONF_EVENT_POLL_INTERVAL,
    CONF_MANAGE_GUESTS,
    DEFAULT_EVENT_POLL_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .coordinator import (
    SaltoConfigEntry,
    SaltoRosterCoordinator,
    SaltoRuntimeData,
    async_forget_entry,
)
from .entity_budget import async_delete_budget_issues, async_setup_budget_issue
from .guests import async_remove_guest_store, async_setup_guest_book
from .issues import async_delete_entry_issues, async_delete_iq_issues
from .otp import async_setup_otp_issues
from .services import async_setup_services
from .stream import EventStreamManager, entry_stream_url

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.LOCK,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: register its service actions once, for every config entry."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SaltoConfigEntry) -> bool:
    """Set up a Salto KS site: fetch the roster once, then add devices and entities."""
    client = await async_create_entry_client(
        hass, entry, retry_gate=entry_retry_gate(hass, entry.entry_id)
    )
    roster = SaltoRosterCoordinator(hass, entry, client)
    # ConfigEntryNotReady on connection errors, ConfigEntryAuthFailed (→ reauth) on refused credentials.
    await roster.async_config_entry_first_refresh()

    audit: SaltoAuditCoordinator | None = None
    if (interval := entry.options.get(CONF_EVENT_POLL_INTERVAL, DEFAULT_EVENT_POLL_INTERVAL)) > 0:
        audit = SaltoAuditCoordinator(hass, entry, client, roster, interval)
        await audit.async_load()
    else:
        # The audit loop is off: no entries request at all. Forget the cursor, so that turning the
        # loop on again starts after the newest entry instead of replaying the time it was off.
        await audit_store(hass, entry.entry_id).async_remove()

    stream: EventStreamManager | None = None
    if audit is not None and (stream_url := entry_stream_url(entry)) is not None:
        try:
            stream = EventStreamManager(
                hass, entry, client, audit=audit, roster=roster, stream_url=stream_url
            )
        except ValueError as err:  # a stream URL stored by hand; the config flow checks its own
            LOGGER.warning("Not using the event stream of %s: %s", entry.title, err)
    entry.runtime_data = SaltoRuntimeData(
        client=client, roster=roster, audit=audit, options=dict(entry.options), stream=stream
    )
    await roster.async_start_device_tracking()
    async_setup_otp_issues(hass, entry)
    async_setup_budget_issue(entry)
    if entry.options.get(CONF_MANAGE_GUESTS):
        entry.async_on_unload(
            await async_setup_guest_book(hass, entry.entry_id, client, roster.site_id)
        )
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if audit is not None:
        # First poll once the event entities listen: it places the cursor (first start) or delivers
        # what happened while Home Assistant was down. A failure is logged and retried at the interval;
        # it never fails the setup (the feed is not needed for the locks to work).
        await audit.async_refresh()
        # Poll at the interval even when no entity listens (e.g. every event entity disabled).
        entry.async_on_unload(audit.async_add_listener(_keep_polling))
    if stream is not None:
        # After the first audit poll: the cursor is placed, so every pushed row finds it.
        stream.async_start()
    return True


@callback
def _keep_polling() -> None:
    """Listener that keeps the audit coordinator polling; the deliveries are its real output."""


async def _async_update_listener(hass: HomeAssistant, entry: SaltoConfigEntry) -> None:
    """Reload when the options changed (a reauth/reconfigure reloads by itself)."""
    if dict(entry.options) != entry.runtime_data.options:
        await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: SaltoConfigEntry) -> bool:
    """Unload a config entry; timers and listeners go with entry.async_on_unload / the entities."""
    if (stream := entry.runtime_data.stream) is not None:
        # Before the coordinators: a pushed row must not reach a feed being shut down.
        await stream.async_stop()
    # First, so that a roster poll still running (e.g. a get_status action's) cannot add entities
    # through platforms being torn down or bind them to this coordinator.
    await entry.runtime_data.roster.async_shutdown()
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        async_delete_entry_issues(hass, entry.entry_id)
        async_delete_iq_issues(hass, entry.entry_id)
        async_delete_budget_issues(hass, entry.entry_id)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: SaltoConfigEntry) -> None:
    """Delete what the entry left behind when the user removes it.

    Anything the entry persists (the ``Store`` with the audit cursor) must be removed here.
    """
    async_forget_entry(hass, entry.entry_id)
    await audit_store(hass, entry.entry_id).async_remove()
    await async_remove_guest_store(hass, entry.entry_id, entry.title)
