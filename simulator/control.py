"""The control API under ``/_sim/`` (JSON): the HTTP mirror of ``Simulator``'s methods.

| route | effect |
|---|---|
| ``GET /_sim/state`` | everything (sites, IQs with their valid ``otp``, locks, users, entry counts, …) |
| ``GET /_sim/credentials`` | URLs and the scenario's valid credentials |
| ``POST /_sim/sites`` | ``add_site`` → ``{"id"}`` |
| ``POST/PATCH/DELETE /_sim/iqs[/{id}]`` | ``add_iq`` → ``{"id"}`` / ``set_iq`` / ``remove_iq`` |
| ``POST/PATCH/DELETE /_sim/locks[/{id}]`` | ``add_lock`` → ``{"id"}`` / ``set_lock`` / ``remove_lock`` |
| ``POST/PATCH/DELETE /_sim/users[/{id}]`` | ``add_user`` / ``set_user`` → site-user JSON / ``remove_user`` |
| ``POST /_sim/entries`` | ``add_entry`` → entry JSON |
| ``POST /_sim/events`` | ``{"kind": "open_by"|"reject"|"door_left_open"|"intrusion"|"tamper"|"low_battery"|"office_mode"|"privacy_mode", …kwargs}`` |
| ``POST /_sim/faults``, ``DELETE /_sim/faults[?endpoint=]`` | ``inject_fault`` / ``clear_faults`` |
| ``GET /_sim/counters``, ``POST /_sim/counters/reset`` | ``counters`` / ``reset_counters`` |
| ``GET /_sim/monitor`` | ``monitor.as_dict()``: 429s answered, requests before their Retry-After, parked requests |
| ``POST /_sim/tokens/expire`` | ``expire_tokens`` (body ``{"refresh": true}`` also drops refresh tokens) |
| ``POST /_sim/credentials`` | ``set_credentials`` |
| ``GET/PATCH /_sim/tenant`` | the tenant profile |

Errors: 400 ``{"error"}`` for bad input, 404 ``{"error"}`` for an unknown id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .state import NotFoundError

if TYPE_CHECKING:
    from .world import World

ControlHandler = Callable[["World", web.Request, dict[str, Any]], Any]
EVENT_KINDS = frozenset(
    {
        "open_by",
        "reject",
        "door_left_open",
        "intrusion",
        "tamper",
        "low_battery",
        "office_mode",
        "privacy_mode",
    }
)


def _wrap(
    sim: World, handler: ControlHandler, status: int = 200
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        body: dict[str, Any] = {}
        if request.can_read_body:
            try:
                raw = await request.json()
            except ValueError:
                return web.json_response({"error": "body is not JSON"}, status=400)
            if not isinstance(raw, dict):
                return web.json_response({"error": "body must be a JSON object"}, status=400)
            body = raw
        try:
            result = handler(sim, request, body)
        except NotFoundError as err:
            return web.json_response({"error": f"not found: {err.args[0]}"}, status=404)
        except (ValueError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)
        if result is None:
            return web.json_response({"ok": True}, status=status)
        return web.json_response(result, status=status)

    return wrapped


def _id(request: web.Request) -> str:
    return request.match_info["id"]


def _event(sim: World, body: dict[str, Any]) -> dict[str, Any] | None:
    args = dict(body)
    kind = args.pop("kind", None)
    if kind not in EVENT_KINDS:
        raise ValueError(f"kind must be one of {sorted(EVENT_KINDS)}")
    method: Callable[..., dict[str, Any] | None] = getattr(sim, kind)
    return method(**args)


def _fault(sim: World, body: dict[str, Any]) -> dict[str, Any]:
    args = dict(body)
    endpoint = args.pop("endpoint", None)
    if not isinstance(endpoint, str):
        raise ValueError("endpoint is required")
    sim.inject_fault(endpoint, **args)
    return {"faults": [f.as_dict() for f in sim.faults.faults]}


def _clear_faults(sim: World, request: web.Request) -> None:
    sim.clear_faults(request.query.get("endpoint"))


def _reset_counters(sim: World) -> dict[str, int]:
    before = dict(sim.counters)
    sim.reset_counters()
    return before


def _set_tenant(sim: World, body: dict[str, Any]) -> dict[str, Any]:
    sim.tenant.update(**body)
    return sim.tenant.as_dict()


def add_control_routes(app: web.Application, sim: World) -> None:
    """Register ``/_sim/…``."""
    table: list[tuple[str, str, ControlHandler, int]] = [
        ("GET", "/_sim/state", lambda s, r, b: s.snapshot(), 200),
        ("GET", "/_sim/credentials", lambda s, r, b: s.credentials(), 200),
        ("POST", "/_sim/credentials", lambda s, r, b: s.set_credentials(**b), 200),
        ("POST", "/_sim/sites", lambda s, r, b: {"id": s.add_site(**b)}, 201),
        ("POST", "/_sim/iqs", lambda s, r, b: {"id": s.add_iq(**b)}, 201),
        ("PATCH", "/_sim/iqs/{id}", lambda s, r, b: s.set_iq(_id(r), **b), 200),
        ("DELETE", "/_sim/iqs/{id}", lambda s, r, b: s.remove_iq(_id(r)), 200),
        ("GET", "/_sim/iqs/{id}/otp", lambda s, r, b: {"otp": s.valid_otp(_id(r))}, 200),
        ("POST", "/_sim/locks", lambda s, r, b: {"id": s.add_lock(**b)}, 201),
        ("PATCH", "/_sim/locks/{id}", lambda s, r, b: s.set_lock(_id(r), **b), 200),
        ("DELETE", "/_sim/locks/{id}", lambda s, r, b: s.remove_lock(_id(r)), 200),
        ("POST", "/_sim/users", lambda s, r, b: s.add_user(**b), 201),
        ("PATCH", "/_sim/users/{id}", lambda s, r, b: s.set_user(_id(r), **b), 200),
        ("DELETE", "/_sim/users/{id}", lambda s, r, b: s.remove_user(_id(r)), 200),
        ("POST", "/_sim/entries", lambda s, r, b: s.add_entry(**b), 201),
        ("POST", "/_sim/events", lambda s, r, b: _event(s, b), 201),
        ("POST", "/_sim/faults", lambda s, r, b: _fault(s, b), 201),
        ("DELETE", "/_sim/faults", lambda s, r, b: _clear_faults(s, r), 200),
        ("GET", "/_sim/counters", lambda s, r, b: dict(s.counters), 200),
        ("POST", "/_sim/counters/reset", lambda s, r, b: _reset_counters(s), 200),
        ("GET", "/_sim/monitor", lambda s, r, b: s.monitor.as_dict(), 200),
        ("POST", "/_sim/tokens/expire", lambda s, r, b: s.expire_tokens(**b), 200),
        ("GET", "/_sim/tenant", lambda s, r, b: s.tenant.as_dict(), 200),
        ("PATCH", "/_sim/tenant", lambda s, r, b: _set_tenant(s, b), 200),
    ]
    for method, path, handler, status in table:
        app.router.add_route(method, path, _wrap(sim, handler, status))
