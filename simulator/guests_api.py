"""Connect API handlers of guest access: guests, user removal, PIN, keys, access groups, time
schedules, the subscription. The verbs live in the world (``guests.GuestAccess``); a refusal there
(``GuestAccessError``) becomes the Connect error answer here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .connect_api import ApiError, paged, site_for
from .guests import GuestAccessError

if TYPE_CHECKING:
    from .tokens import Token
    from .world import World

Handler = Callable[["World", web.Request, "Token"], Awaitable[web.Response]]


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except ValueError:
        raise ApiError(400, 1100, "The request body is not valid JSON") from None


def _answers(handler: Handler) -> Handler:
    """Turn the world's refusals into Connect error answers."""

    async def wrapped(sim: World, request: web.Request, caller: Token) -> web.Response:
        try:
            return await handler(sim, request, caller)
        except GuestAccessError as err:
            raise ApiError(err.status, err.code, err.message) from None

    return wrapped


def _v11_only(request: web.Request) -> None:
    # Time schedules are a v1.1 resource in the record [the 405 elsewhere is inferred].
    if request.match_info["version"] != "v1.1":
        raise ApiError(405, 1100, "Time schedules are served under /v1.1")


@_answers
async def post_guest(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    guest = sim.guest_access.create_guest(site.id, await _body(request), sim.clock())
    return web.json_response(guest.to_json(), status=201)


@_answers
async def delete_user(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    sim.guest_access.delete_user(site.id, request.match_info["user_id"])
    return web.Response(status=202)


@_answers
async def put_pin(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    body = await _body(request)
    pin = sim.guest_access.set_pin(site.id, request.match_info["user_id"], body, sim.clock())
    return web.json_response(pin)  # a bare JSON string, as observed


@_answers
async def get_keys(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    return web.json_response(
        sim.guest_access.keys_json(site.id, request.match_info["user_id"], sim.clock())
    )


@_answers
async def get_subscription(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    return web.json_response(sim.guest_access.subscription_json(site.id))


@_answers
async def get_access_groups(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    items = [g.to_json() for g in sim.guest_access.groups_of(site.id)]
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


@_answers
async def get_access_group(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    return web.json_response(sim.guest_access.group(site.id, request.match_info["ag"]).to_json())


@_answers
async def get_group_locks(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    group = sim.guest_access.group(site.id, request.match_info["ag"])
    now = sim.now()
    items = [
        sim.state.lock_json(sim.state.locks[lock_id], now)
        for lock_id in group.lock_ids
        if lock_id in sim.state.locks
    ]
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


@_answers
async def get_time_schedules(sim: World, request: web.Request, caller: Token) -> web.Response:
    _v11_only(request)
    site = site_for(sim, request, caller)
    group = sim.guest_access.group(site.id, request.match_info["ag"])
    items = [s.to_json() for s in group.schedules.values()]
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


@_answers
async def post_time_schedule(sim: World, request: web.Request, caller: Token) -> web.Response:
    _v11_only(request)
    site = site_for(sim, request, caller)
    group = sim.guest_access.group(site.id, request.match_info["ag"])
    body = await _body(request)
    if not isinstance(body, dict):
        raise ApiError(400, 1100, "The request body is not valid")
    return web.json_response(sim.guest_access.add_schedule(group.id, body), status=201)


@_answers
async def post_group_user(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    sim.guest_access.add_member(
        site.id, request.match_info["ag"], await _body(request), sim.clock()
    )
    return web.Response(status=201)


@_answers
async def delete_group_user(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    sim.guest_access.remove_member(site.id, request.match_info["ag"], request.match_info["uid"])
    return web.Response(status=202)
