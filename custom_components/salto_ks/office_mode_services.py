"""Office mode actions: ``salto_ks.set_office_mode`` (manual office mode on or off, with the unlock
PIN and a typed OTP) and ``salto_ks.set_easy_office_mode`` (set or clear a lock's schedule; admin
only, it decides when a door stays open). Registered from services.py.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, Final

import voluptuous as vol
from homeassistant.components.lock import DATA_COMPONENT as LOCK_DATA_COMPONENT
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_CODE
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service

from .api import SaltoKSError
from .api.fields import WEEKDAYS
from .const import DOMAIN
from .errors import SCHEDULE_KEYS, action_error, raise_if_rate_limited
from .lock import SaltoLock
from .lock_commands import LockCommands, is_otp
from .service_targets import TargetLock, lock_schema, resolve_locks, validation_error

SERVICE_SET_OFFICE_MODE: Final = "set_office_mode"
SERVICE_SET_EASY_OFFICE_MODE: Final = "set_easy_office_mode"

ATTR_OTP: Final = "otp"
ATTR_ENABLED: Final = "enabled"
ATTR_CLEAR: Final = "clear"
ATTR_DAYS: Final = "days"
ATTR_AUTO_START: Final = "auto_start"
ATTR_START_TIME: Final = "start_time"
ATTR_END_TIME: Final = "end_time"
ATTR_START_DATE: Final = "start_date"
ATTR_END_DATE: Final = "end_date"


def otp_field(value: object) -> str:
    """A typed one-time code: 5 hexadecimal characters (the message never repeats the value)."""
    if not is_otp(value):
        raise vol.Invalid("a one-time code is 5 characters 0-9 and a-f")
    assert isinstance(value, str)
    return value


def _set_or_clear(data: dict[str, Any]) -> dict[str, Any]:
    """Either ``clear: true`` alone or a schedule with ``days``."""
    schedule_fields = {ATTR_DAYS, ATTR_START_TIME, ATTR_END_TIME, ATTR_START_DATE, ATTR_END_DATE}
    if data.get(ATTR_CLEAR):
        # auto_start false is the form's default, not a schedule.
        if schedule_fields & set(data) or data.get(ATTR_AUTO_START):
            raise vol.Invalid("clear takes no schedule fields")
        return data
    if not data.get(ATTR_DAYS):
        raise vol.Invalid("choose the days of the schedule, or clear it")
    return data


SET_OFFICE_MODE_SCHEMA: Final = lock_schema(
    {
        vol.Required(ATTR_ENABLED): cv.boolean,
        vol.Optional(ATTR_CODE): vol.All(cv.string, vol.Length(max=64)),
        vol.Optional(ATTR_OTP): otp_field,
    }
)
SET_EASY_OFFICE_MODE_SCHEMA: Final = lock_schema(
    {
        vol.Optional(ATTR_CLEAR): cv.boolean,
        vol.Optional(ATTR_DAYS): vol.All(
            cv.ensure_list, vol.Length(max=len(WEEKDAYS)), [vol.In(WEEKDAYS)]
        ),
        # No default: ``clear`` takes no schedule field, and a default would be one.
        vol.Optional(ATTR_AUTO_START): cv.boolean,
        vol.Optional(ATTR_START_TIME): cv.time,
        vol.Optional(ATTR_END_TIME): cv.time,
        vol.Optional(ATTR_START_DATE): cv.date,
        vol.Optional(ATTR_END_DATE): cv.date,
    },
    _set_or_clear,
)


def _lock_entities(hass: HomeAssistant, call: ServiceCall) -> list[SaltoLock]:
    component = hass.data.get(LOCK_DATA_COMPONENT)
    entities: list[SaltoLock] = []
    for target in resolve_locks(hass, call):
        entity = component.get_entity(target.entity_id) if component is not None else None
        if not isinstance(entity, SaltoLock):
            # Registered but not set up (disabled, or its platform is not loaded).
            raise validation_error("lock_not_available", entity_id=target.entity_id)
        entities.append(entity)
    return entities


async def async_set_office_mode(call: ServiceCall) -> None:
    """Start or end manual office mode on the targeted locks (PIN first, for every entry)."""
    entities = _lock_entities(call.hass, call)
    code: str | None = call.data.get(ATTR_CODE)
    checked: set[str | None] = set()
    for entity in entities:
        if entity.pin_hash not in checked:
            await entity.async_check_code(code)
            checked.add(entity.pin_hash)
    failure: HomeAssistantError | None = None
    for entity in entities:
        try:
            await entity.async_set_office_mode(call.data[ATTR_ENABLED], call.data.get(ATTR_OTP))
        except HomeAssistantError as err:
            failure = failure or err
    if failure is not None:
        raise failure


def _check_schedule(data: dict[str, Any]) -> None:
    """Refuse times and dates that cannot make a schedule, before any request."""
    start: time | None = data.get(ATTR_START_TIME)
    end: time | None = data.get(ATTR_END_TIME)
    if (start is None) != (end is None) or (start is not None and end is not None and start >= end):
        raise validation_error("schedule_times")
    first: date | None = data.get(ATTR_START_DATE)
    last: date | None = data.get(ATTR_END_DATE)
    if first is not None and last is not None and first > last:
        raise validation_error("schedule_dates")


async def _async_write_schedule(
    hass: HomeAssistant, target: TargetLock, data: dict[str, Any]
) -> None:
    entry = target.entry
    roster = entry.runtime_data.roster
    commands = LockCommands(roster, target.lock_id)
    raise_if_rate_limited(roster.client, commands.placeholders())
    client = roster.client
    try:
        if data.get(ATTR_CLEAR):
            await client.clear_easy_office_mode_schedule(roster.site_id, target.lock_id)
        else:
            await client.set_easy_office_mode_schedule(
                roster.site_id,
                target.lock_id,
                days=data[ATTR_DAYS],
                auto_start=data.get(ATTR_AUTO_START, False),
                start_time=data.get(ATTR_START_TIME),
                end_time=data.get(ATTR_END_TIME),
                start_date=data.get(ATTR_START_DATE),
                end_date=data.get(ATTR_END_DATE),
            )
    except SaltoKSError as err:
        raise action_error(
            err,
            hass=hass,
            entry=entry,
            grace=roster,
            keys=SCHEDULE_KEYS,
            placeholders=commands.placeholders(),
        ) from err


async def async_set_easy_office_mode(call: ServiceCall) -> None:
    """Set or clear the easy office mode schedule of the targeted locks, then poll their rosters."""
    hass = call.hass
    data = dict(call.data)
    if not data.get(ATTR_CLEAR):
        _check_schedule(data)
    failure: HomeAssistantError | None = None
    written: dict[str, ConfigEntry] = {}
    for target in resolve_locks(hass, call):
        try:
            await _async_write_schedule(hass, target, data)
        except HomeAssistantError as err:
            failure = failure or err
        else:
            written[target.entry.entry_id] = target.entry
    # A direct poll of each entry written to, not the debounced request: its cooldown would leave
    # the old schedule showing after a quick second call (set, then clear).
    for entry in written.values():
        await entry.runtime_data.roster.async_refresh()
    if failure is not None:
        raise failure


@callback
def async_setup_office_mode_services(hass: HomeAssistant) -> None:
    """Register the office mode actions."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_OFFICE_MODE, async_set_office_mode, schema=SET_OFFICE_MODE_SCHEMA
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_SET_EASY_OFFICE_MODE,
        async_set_easy_office_mode,
        schema=SET_EASY_OFFICE_MODE_SCHEMA,
    )
