"""Guest-access actions: ``create_guest``, ``remove_guest``, ``get_access_groups``, ``get_guests``.

Admin-only (``compat.register_admin_service``) and refused unless the entry's option "Manage guests
from Home Assistant" is on. Refusals that need no request (option off, unknown group, a group
without a time schedule, a time in the past) say so before anything is created in Salto.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import voluptuous as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .api import AccessGroup
from .compat import register_admin_service
from .const import CONF_MANAGE_GUESTS, DOMAIN, LOGGER
from .coordinator import SaltoConfigEntry
from .errors import async_action_call, translated_error
from .guests import GuestBook, guest_book
from .service_targets import ENTRY_SCHEMA, entry_from_call, entry_schema, validation_error

SERVICE_CREATE_GUEST: Final = "create_guest"
SERVICE_REMOVE_GUEST: Final = "remove_guest"
SERVICE_GET_ACCESS_GROUPS: Final = "get_access_groups"
SERVICE_GET_GUESTS: Final = "get_guests"

ATTR_NAME: Final = "name"
ATTR_ACCESS_GROUPS: Final = "access_groups"
ATTR_VALID_UNTIL: Final = "valid_until"
ATTR_REFERENCE: Final = "reference"
ATTR_GUEST_ID: Final = "guest_id"
MAX_NAME_LENGTH: Final = 100
MAX_GROUPS: Final = 20

_REFERENCE: Final = vol.All(cv.string, vol.Length(min=1, max=255))


def _name(value: object) -> str:
    text = cv.string(value).strip()
    if not text or len(text) > MAX_NAME_LENGTH:
        raise vol.Invalid(f"expected a name of 1-{MAX_NAME_LENGTH} characters")
    return text


def _one_of(*keys: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(data: dict[str, Any]) -> dict[str, Any]:
        if sum(key in data for key in keys) != 1:
            raise vol.Invalid(f"give exactly one of {', '.join(keys)}")
        return data

    return check


CREATE_GUEST_SCHEMA: Final = entry_schema(
    {
        vol.Required(ATTR_NAME): _name,
        vol.Required(ATTR_ACCESS_GROUPS): vol.All(
            cv.ensure_list,
            [vol.All(cv.string, vol.Length(min=1, max=255))],
            vol.Length(min=1, max=MAX_GROUPS),
        ),
        vol.Required(ATTR_VALID_UNTIL): cv.datetime,
        vol.Optional(ATTR_REFERENCE): _REFERENCE,
    }
)
REMOVE_GUEST_SCHEMA: Final = entry_schema(
    {
        vol.Optional(ATTR_GUEST_ID): vol.All(cv.string, vol.Length(min=1, max=255)),
        vol.Optional(ATTR_REFERENCE): _REFERENCE,
    },
    _one_of(ATTR_GUEST_ID, ATTR_REFERENCE),
)


def _managed_entry(call: ServiceCall) -> tuple[SaltoConfigEntry, GuestBook]:
    """The call's entry and its guest book; refused while the option is off."""
    entry = entry_from_call(call.hass, call)
    book = guest_book(call.hass, entry.entry_id)
    if not entry.options.get(CONF_MANAGE_GUESTS) or book is None:
        raise validation_error("guests_disabled", title=entry.title)
    return entry, book


def _local_time(value: datetime) -> datetime:
    """A time without a time zone is Home Assistant's local time."""
    return (
        value if value.tzinfo is not None else value.replace(tzinfo=dt_util.get_default_time_zone())
    )


async def _groups_with_schedules(entry: SaltoConfigEntry, wanted: list[str]) -> list[AccessGroup]:
    """The named groups (by id or name, case-insensitive); each must have a time schedule."""
    client = entry.runtime_data.client
    site = entry.runtime_data.roster.site_id
    groups = await client.get_access_groups(site)
    chosen: list[AccessGroup] = []
    for key in wanted:
        match = next((g for g in groups if g.id == key), None) or next(
            (g for g in groups if (g.name or "").casefold() == key.strip().casefold()), None
        )
        if match is None:
            known = ", ".join(sorted(g.name or g.id for g in groups)) or "-"
            raise validation_error("unknown_access_group", group=key, known=known)
        if match not in chosen:
            chosen.append(match)
    for group in chosen:
        if not await client.get_time_schedules(site, group.id):
            LOGGER.warning(
                "Salto KS access group %s has no time schedule: it grants nothing at the door",
                group.name or group.id,
            )
            raise validation_error("access_group_without_schedule", group=group.name or group.id)
    return chosen


async def _async_create_guest(call: ServiceCall) -> ServiceResponse:
    """Create a guest in its groups with a PIN; the response is the only place the PIN goes."""
    hass = call.hass
    entry, book = _managed_entry(call)
    valid_until = _local_time(call.data[ATTR_VALID_UNTIL])
    if valid_until <= dt_util.utcnow():
        raise validation_error("valid_until_in_past")
    reference: str | None = call.data.get(ATTR_REFERENCE)
    if reference is not None and book.find(reference) is not None:
        raise validation_error("guest_reference_exists", reference=reference)
    client = entry.runtime_data.client
    site = entry.runtime_data.roster.site_id

    async def create() -> dict[str, Any]:
        if await client.site_pins_enabled(site) is False:
            raise translated_error("site_without_pins", {"title": entry.title})
        groups = await _groups_with_schedules(entry, call.data[ATTR_ACCESS_GROUPS])
        return await book.async_create(call.data[ATTR_NAME], groups, valid_until, reference)

    return await async_action_call(hass, entry, create)


async def _async_remove_guest(call: ServiceCall) -> ServiceResponse:
    """Remove a guest Home Assistant created (out of its groups, then the user)."""
    entry, book = _managed_entry(call)
    key = call.data.get(ATTR_GUEST_ID) or call.data[ATTR_REFERENCE]
    record = book.find(key)
    if record is None:
        raise validation_error("guest_not_found", guest=key)
    if await async_action_call(call.hass, entry, lambda: book.async_remove(record)):
        LOGGER.info("Removed Salto KS guest %s (%s)", record.name, record.guest_id)
    return {"guest_id": record.guest_id, "user_id": record.user_id, "removed": True}


async def _async_get_access_groups(call: ServiceCall) -> ServiceResponse:
    """The site's access groups with their locks and whether a time schedule lets them open."""
    entry, _book = _managed_entry(call)
    client = entry.runtime_data.client
    site = entry.runtime_data.roster.site_id

    async def read() -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        for group in await client.get_access_groups(site):
            locks = await client.get_access_group_locks(site, group.id)
            schedules = await client.get_time_schedules(site, group.id)
            rows.append(
                {
                    "id": group.id,
                    "name": group.name,
                    "locks": [{"id": lock.id, "name": lock.name} for lock in locks],
                    "time_schedules": [s.as_dict() for s in schedules],
                    # Without a time schedule a group grants nothing at the door.
                    "grants_access": bool(schedules),
                }
            )
        subscription = await client.get_subscription(site)
        return {
            "access_groups": rows,
            "pin_enabled": await client.site_pins_enabled(site),
            "seats": subscription.user_amount,
            "features": list(subscription.features),
        }

    return await async_action_call(call.hass, entry, read)


async def _async_get_guests(call: ServiceCall) -> ServiceResponse:
    """The guests Home Assistant created for the entry (from its store; never a PIN)."""
    _entry, book = _managed_entry(call)
    now = dt_util.utcnow()
    return {"guests": [{**r.as_dict(), "expired": r.expires <= now} for r in book.guests]}


def async_setup_guest_services(hass: HomeAssistant) -> None:
    """Register the guest-access actions (admin only)."""
    for name, handler, schema, response in (
        (SERVICE_CREATE_GUEST, _async_create_guest, CREATE_GUEST_SCHEMA, SupportsResponse.OPTIONAL),
        (SERVICE_REMOVE_GUEST, _async_remove_guest, REMOVE_GUEST_SCHEMA, SupportsResponse.OPTIONAL),
        (
            SERVICE_GET_ACCESS_GROUPS,
            _async_get_access_groups,
            ENTRY_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (SERVICE_GET_GUESTS, _async_get_guests, ENTRY_SCHEMA, SupportsResponse.ONLY),
    ):
        register_admin_service(
            hass, DOMAIN, name, handler, schema=schema, supports_response=response
        )
