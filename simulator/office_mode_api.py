"""Connect API handlers of a lock's easy office mode schedule (``…/easy_office_mode_schedule``).

``PUT`` sets the schedule (body: ``eom_auto_start``, ``monday`` … ``sunday``, ``start_time``,
``end_time``, ``start_date``, ``end_date``, as Salto documents it), ``DELETE`` removes it. What is
checked, in this order, and how it is refused (all [inferred] unless the record names it):

- the caller's site role: only a ``site_admin`` may change a lock's schedule (403 2203);
- the body: a JSON object (400 1100) without unknown fields (400 1100); ``eom_auto_start`` and the
  weekdays booleans when present (400 1101); at least one weekday (400 1101 "At least one day
  should be selected", the record's wording of the time schedules); ``start_time`` / ``end_time``
  ``HH:MM:SS``, both or neither, start before end (400 1101); ``start_date`` / ``end_date``
  ``YYYY-MM-DDTHH:MM:SS`` (or with a space) or null, start not after end (400 1101).

Left-out times mean any hour, left-out dates until removed (Salto's documentation). ``PUT``
answers 200 with the lock object, ``DELETE`` 204; neither needs an OTP nor writes an entry row.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .connect_api import ApiError, lock_for, site_for

if TYPE_CHECKING:
    from .tokens import Token
    from .world import World

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FIELDS: Final = frozenset(
    {"eom_auto_start", *WEEKDAYS, "start_time", "end_time", "start_date", "end_date"}
)


def _require_admin(sim: World, site_id: str, caller: Token) -> None:
    if caller.user_id is None:
        return  # a legacy client_credentials token acts for the whole tenant
    member = sim.state.membership(site_id, caller.user_id)
    if member is None or "site_admin" not in member.roles or member.blocked:
        raise ApiError(403, 2203, "User does not have permission to perform this operation")


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, 1101, f"Invalid value for {name}")
    return value


def _time(body: dict[str, Any], name: str) -> time | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 8:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        raise ApiError(400, 1101, f"Invalid value for {name}") from None


def _date(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 19:
            raise ValueError
        return datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise ApiError(400, 1101, f"Invalid value for {name}") from None


def parse_schedule(body: object) -> dict[str, Any]:
    """The stored schedule for a ``PUT`` body, or ``ApiError`` for a body the cloud refuses."""
    if not isinstance(body, dict):
        raise ApiError(400, 1100, "The request body must be an object")
    if unknown := sorted(set(body) - FIELDS):
        raise ApiError(400, 1100, f"Unknown fields: {', '.join(map(str, unknown))}")
    schedule: dict[str, Any] = {"eom_auto_start": _bool(body, "eom_auto_start")}
    schedule.update({day: _bool(body, day) for day in WEEKDAYS})
    if not any(schedule[day] for day in WEEKDAYS):
        raise ApiError(400, 1101, "At least one day should be selected")
    start, end = _time(body, "start_time"), _time(body, "end_time")
    if (start is None) != (end is None):
        raise ApiError(400, 1101, "start_time and end_time go together")
    if start is not None and end is not None and start >= end:
        raise ApiError(400, 1101, "start_time must be before end_time")
    first, last = _date(body, "start_date"), _date(body, "end_date")
    if first is not None and last is not None and first > last:
        raise ApiError(400, 1101, "start_date must not be after end_date")
    schedule.update(
        {
            "start_time": body.get("start_time"),
            "end_time": body.get("end_time"),
            "start_date": None if first is None else first.isoformat(),
            "end_date": None if last is None else last.isoformat(),
        }
    )
    return schedule


async def put_schedule(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    lock = lock_for(sim, site, request.match_info["lock_id"])
    _require_admin(sim, site.id, caller)
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, 1100, "The request body is not valid JSON") from None
    lock.easy_office_mode_schedule = parse_schedule(body)
    return web.json_response(sim.state.lock_json(lock, sim.now()))


async def delete_schedule(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    lock = lock_for(sim, site, request.match_info["lock_id"])
    _require_admin(sim, site.id, caller)
    lock.easy_office_mode_schedule = None
    return web.Response(status=204)
