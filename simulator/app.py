"""The aiohttp application: routes, and the guard every identity/Connect request passes.

Guard order: count the request → injected fault → bearer token (401; a token without a user too,
outside the legacy profile) → rate limit (429) → handler. Around it, ``sim.monitor`` (a measuring
hook) sees every request and every 429 answered. The control API (``/_sim/…``) passes none of these;
the event hub (``hub.py``) counts and takes faults like an endpoint but checks its own token and
rights, with no rate limit (the real hub is another host); the monitor sees it on channel ``hub``.
Routes only the legacy profile has answer a bare 404 elsewhere, before the guard, like a path the
server does not know. Every request (control API included) is logged at INFO on the ``simulator``
logger: method, path and status only (never a query string, a header or a body).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from . import authorize as sign_in
from . import connect_api as api
from . import office_mode_api, otp_api
from .control import add_control_routes
from .faults import FaultAction
from .guests_api import (
    delete_group_user,
    delete_user,
    get_access_group,
    get_access_groups,
    get_group_locks,
    get_keys,
    get_subscription,
    get_time_schedules,
    post_group_user,
    post_guest,
    post_time_schedule,
    put_pin,
)
from .hub import HUB_ENDPOINTS, add_hub_routes
from .identity import basic_client_id, token_endpoint
from .monitor import CHANNEL_API, CHANNEL_HUB, CHANNEL_TOKEN
from .tokens import Token

if TYPE_CHECKING:
    from .world import World

Handler = Callable[["World", web.Request, Token], Awaitable[web.Response]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_LOGGER = logging.getLogger(__package__)
MALFORMED_BODY = b'{"items": [{"id": "4d77312f-4a87-41db-a97b-f9d948dcc908", "customer_refer'
PROXY_BODIES = {
    502: b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    503: b"<html><body><h1>503 Service Unavailable</h1></body></html>",
}


@dataclass(frozen=True)
class Route:
    """One Connect API route; ``endpoint`` names it for counters and faults."""

    method: str
    path: str
    endpoint: str
    handler: Handler
    legacy: bool = False  # served only by the legacy profile (a bare 404 elsewhere)


_SITE = "/{version:v1\\.[12]}/sites/{site_id}"
API_ROUTES = (
    Route("GET", "/{version:v1\\.[12]}/sites", "sites", api.get_sites),
    Route("GET", _SITE, "site", api.get_site),
    Route("GET", _SITE + "/locks", "locks", api.get_locks),
    Route("GET", _SITE + "/locks/{lock_id}", "lock", api.get_lock),
    Route("PATCH", _SITE + "/locks/{lock_id}/locking", "locking", api.patch_locking),
    Route(
        "PUT",
        _SITE + "/locks/{lock_id}/easy_office_mode_schedule",
        "easy_office_mode_schedule",
        office_mode_api.put_schedule,
    ),
    Route(
        "DELETE",
        _SITE + "/locks/{lock_id}/easy_office_mode_schedule",
        "easy_office_mode_schedule_delete",
        office_mode_api.delete_schedule,
    ),
    Route("GET", _SITE + "/iqs", "iqs", api.get_iqs),
    Route("GET", _SITE + "/iqs/{iq_id}", "iq", api.get_iq),
    # the caller's IQ activation (otp_api.py)
    Route("GET", _SITE + "/iqs/{iq_id}/secret", "iq_secret", otp_api.get_secret),
    Route("GET", _SITE + "/iqs/{iq_id}/pin", "iq_pin_email", otp_api.get_pin),
    Route("PUT", _SITE + "/iqs/{iq_id}/pin", "iq_activation", otp_api.put_pin),
    Route(
        "GET",
        "/{version:v1\\.[12]}/me/{site_id}/activated_iqs",
        "activated_iqs",
        otp_api.get_activated_iqs,
    ),
    Route("GET", _SITE + "/users", "users", api.get_users),
    Route("GET", _SITE + "/users/{user_id}", "user", api.get_user),
    # guest access (guests_api.py)
    Route("POST", _SITE + "/guests", "guests", post_guest),
    Route("DELETE", _SITE + "/users/{user_id}", "user_delete", delete_user),
    Route("PUT", _SITE + "/users/{user_id}/pin", "pin", put_pin),
    Route("GET", _SITE + "/users/{user_id}/keys", "keys", get_keys),
    Route("GET", _SITE + "/subscription", "subscription", get_subscription),
    Route("GET", _SITE + "/access_groups", "access_groups", get_access_groups),
    Route("GET", _SITE + "/access_groups/{ag}", "access_group", get_access_group),
    Route("GET", _SITE + "/access_groups/{ag}/locks", "access_group_locks", get_group_locks),
    Route(
        "GET", _SITE + "/access_groups/{ag}/time_schedules", "time_schedules", get_time_schedules
    ),
    Route(
        "POST", _SITE + "/access_groups/{ag}/time_schedules", "time_schedule", post_time_schedule
    ),
    Route("POST", _SITE + "/access_groups/{ag}/users", "access_group_users", post_group_user),
    Route(
        "DELETE",
        _SITE + "/access_groups/{ag}/users/{uid}",
        "access_group_user",
        delete_group_user,
    ),
    Route("GET", _SITE + "/entries", "entries", partial(api.get_entries, kind="entries")),
    Route(
        "GET",
        _SITE + "/audit-trails",
        "audit_trails",
        partial(api.get_entries, kind="audit-trails"),
        legacy=True,
    ),
    Route(
        "GET",
        _SITE + "/audit/log",
        "audit_log",
        partial(api.get_entries, kind="audit/log"),
        legacy=True,
    ),
    Route("GET", _SITE + "/incidents", "incidents", partial(api.get_entries, kind="incidents")),
)
# The identity endpoint (``/connect/token``, legacy ``/oauth2/token``) counts as one; so do the
# sign-in pages (``/connect/authorize`` and its login and consent posts).
TOKEN_ENDPOINT = "token"
AUTHORIZE_ENDPOINT = "authorize"
ENDPOINTS = frozenset(
    {TOKEN_ENDPOINT, AUTHORIZE_ENDPOINT, *HUB_ENDPOINTS, *(route.endpoint for route in API_ROUTES)}
)
PageHandler = Callable[["World", web.Request], Awaitable[web.Response]]


async def apply_fault(
    sim: World, stopping: asyncio.Event, request: web.Request, action: FaultAction
) -> web.StreamResponse | None:
    """Answer a faulted request, or None to go on (after a ``timeout`` delay)."""
    kind = action.kind
    if kind == "timeout":
        parked = sim.monitor.park(sim.now())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), action.delay)
        finally:
            sim.monitor.unpark(parked)
        return None
    if kind == "drop":
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=200)
    if kind == "malformed":
        return web.Response(body=MALFORMED_BODY, content_type="application/json")
    if kind == "429":
        return web.Response(status=429, headers={"Retry-After": _seconds(action.retry_after)})
    status = int(kind)
    if status == 400:
        return web.json_response({"ErrorCode": 2210, "Message": "Site not released"}, status=400)
    if status == 401:
        return unauthorized(expired=False)
    if status == 403:
        return web.json_response(
            {"ErrorCode": 2203, "Message": "User does not have permission to do this"}, status=403
        )
    if status == 500:
        return web.json_response(
            {"ErrorCode": 2201, "Message": "An internal error occurred"}, status=500
        )
    return web.Response(status=status, body=PROXY_BODIES[status], content_type="text/html")


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _connection(request: web.Request) -> str:
    """The client end of the TCP connection (host:port), to tell keep-alive reuse apart."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "?"


def _bearer_client(sim: World, request: web.Request) -> str:
    """The client id behind a bearer token (also an expired one), for the monitor."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = sim.tokens.access.get(header[7:].strip())
        if token is not None:
            return token.client_id
    return "?"


def _monitored(
    sim: World,
    endpoint: str,
    channel: str,
    client_of: Callable[[web.Request], str],
    inner: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Tell ``sim.monitor`` about each request and each 429 answer (measuring hook)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        client = client_of(request)
        connection = _connection(request)
        sim.monitor.request(client, channel, endpoint, sim.now(), connection)
        answer = await inner(request)
        if answer.status == 429:
            retry = answer.headers.get("Retry-After", "")
            try:
                seconds = float(retry)
            except ValueError:
                seconds = 0.0
            sim.monitor.answered_429(
                client,
                channel=channel,
                endpoint=endpoint,
                now=sim.now(),
                retry_after=seconds,
                connection=connection,
            )
        return answer

    return wrapped


@web.middleware
async def log_request(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
    """One INFO line per request: method, path (no query string: it may carry a token), status."""
    try:
        response = await handler(request)
    except web.HTTPException as err:  # aiohttp's own answers, e.g. an unknown route
        _LOGGER.info("%s %s %s", request.method, request.url.raw_path, err.status)
        raise
    _LOGGER.info("%s %s %s", request.method, request.url.raw_path, response.status)
    return response


def legacy_only(sim: World, inner: RouteHandler) -> RouteHandler:
    """A route that exists only in the legacy profile (a bare 404 elsewhere, nothing counted)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not sim.tenant.legacy:
            return api.route_not_found()
        return await inner(request)

    return wrapped


def unauthorized(expired: bool) -> web.Response:
    """401 with an empty body, as observed."""
    header = "Bearer"
    if expired:
        header = 'Bearer error="invalid_token", error_description="The access token expired"'
    return web.Response(status=401, headers={"WWW-Authenticate": header})


def guard(
    sim: World, stopping: asyncio.Event, endpoint: str, handler: Handler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a Connect API handler: counters, faults, bearer auth, rate limit, ApiError."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sim.counters[endpoint] = sim.counters.get(endpoint, 0) + 1
        action = sim.faults.pick(endpoint)
        if action is not None:
            answer = await apply_fault(sim, stopping, request, action)
            if answer is not None:
                return answer
        header = request.headers.get("Authorization", "")
        if header[:7].lower() != "bearer ":
            return unauthorized(expired=False)
        value = header[7:].strip()
        token = sim.tokens.valid(value, sim.now())
        if token is None:
            return unauthorized(expired=value in sim.tokens.access)
        if token.user_id is None and not sim.tenant.legacy:
            # A client_credentials token has no user; the Connect API needs one [inferred].
            return unauthorized(expired=False)
        retry = sim.rate_limiter.check(token.client_id, sim.now(), sim.tenant.rate_limit_per_minute)
        if retry is not None:
            return web.Response(status=429, headers={"Retry-After": str(retry)})
        try:
            return await handler(sim, request, token)
        except api.ApiError as err:
            return err.response()

    return _monitored(sim, endpoint, CHANNEL_API, partial(_bearer_client, sim), wrapped)


def token_guard(
    sim: World, stopping: asyncio.Event, *, legacy: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The identity endpoint with counters and faults (endpoint name ``token``)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sim.counters[TOKEN_ENDPOINT] = sim.counters.get(TOKEN_ENDPOINT, 0) + 1
        action = sim.faults.pick(TOKEN_ENDPOINT)
        if action is not None:
            answer = await apply_fault(sim, stopping, request, action)
            if answer is not None:
                return answer
            if request.transport is None or request.transport.is_closing():
                # The caller gave up during a timeout fault: its form body can no longer be read.
                return web.Response(status=499)
        return await token_endpoint(sim, request, legacy=legacy)

    return _monitored(sim, TOKEN_ENDPOINT, CHANNEL_TOKEN, basic_client_id, wrapped)


def authorize_guard(
    sim: World, stopping: asyncio.Event, handler: PageHandler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A sign-in page with counters and faults (endpoint name ``authorize``)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sim.counters[AUTHORIZE_ENDPOINT] = sim.counters.get(AUTHORIZE_ENDPOINT, 0) + 1
        action = sim.faults.pick(AUTHORIZE_ENDPOINT)
        if action is not None:
            answer = await apply_fault(sim, stopping, request, action)
            if answer is not None:
                return answer
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)
        return await handler(sim, request)

    return _monitored(
        sim,
        AUTHORIZE_ENDPOINT,
        CHANNEL_TOKEN,
        lambda request: request.query.get("client_id", "?"),
        wrapped,
    )


def build_app(sim: World, stopping: asyncio.Event) -> web.Application:
    """All routes of one world; ``stopping`` cuts a ``timeout`` fault's wait short."""
    app = web.Application(middlewares=[log_request])
    r = app.router
    r.add_post("/connect/token", token_guard(sim, stopping, legacy=False))
    r.add_post("/oauth2/token", legacy_only(sim, token_guard(sim, stopping, legacy=True)))
    r.add_get("/.well-known/openid-configuration", partial(sign_in.discovery, sim))
    r.add_get(sign_in.AUTHORIZE_PATH, authorize_guard(sim, stopping, sign_in.authorize))
    r.add_post(sign_in.LOGIN_PATH, authorize_guard(sim, stopping, sign_in.login))
    r.add_post(sign_in.CONSENT_PATH, authorize_guard(sim, stopping, sign_in.consent))
    for route in API_ROUTES:
        handler = guard(sim, stopping, route.endpoint, route.handler)
        r.add_route(
            route.method, route.path, legacy_only(sim, handler) if route.legacy else handler
        )
    add_hub_routes(
        app,
        sim,
        partial(apply_fault, sim, stopping),
        lambda endpoint, inner: _monitored(
            sim, endpoint, CHANNEL_HUB, partial(_bearer_client, sim), inner
        ),
    )
    add_control_routes(app, sim)
    return app
