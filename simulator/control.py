"""The control API under ``/_sim/`` (JSON): the HTTP mirror of ``Simulator``'s methods.

| route | effect |
|---|---|
| ``GET /_sim/state`` | everything (sites, IQs with the system user's ``otp`` now or null before its activation, locks, users, entry counts, …) |
| ``GET /_sim/credentials`` | URLs and the scenario's valid credentials |
| ``POST /_sim/sites`` | ``add_site`` → ``{"id"}`` |
| ``POST/PATCH/DELETE /_sim/iqs[/{id}]`` | ``add_iq`` → ``{"id"}`` / ``set_iq`` / ``remove_iq`` |
| ``GET /_sim/iqs/{id}/otp`` | ``valid_otp``: the system user's code now, as the Salto app shows it |
| ``GET/DELETE /_sim/iqs/{id}/activation[?user_id=]`` | ``iq_activation`` (secret, PIN, state) / ``deactivate_iq`` |
| ``POST /_sim/iqs/{id}/rotate`` | ``rotate_iq_secret`` (body ``{"user_id"}`` optional): the Salto app activates |
| ``GET /_sim/mails[?iq_id=]`` | ``pin_mails``: the IQ PIN mails sent → ``{"mails": [{to, user_id, iq_id, pin, sent_at}]}`` |
| ``POST/PATCH/DELETE /_sim/locks[/{id}]`` | ``add_lock`` → ``{"id"}`` / ``set_lock`` / ``remove_lock`` |
| ``POST/PATCH/DELETE /_sim/users[/{id}]`` | ``add_user`` / ``set_user`` → site-user JSON / ``remove_user`` |
| ``POST /_sim/entries`` | ``add_entry`` → entry JSON |
| ``POST /_sim/events`` | ``{"kind": "open_by"|"reject"|"door_left_open"|"intrusion"|"tamper"|"low_battery"|"office_mode"|"privacy_mode", …kwargs}`` |
| ``POST /_sim/faults``, ``DELETE /_sim/faults[?endpoint=]`` | ``inject_fault`` / ``clear_faults`` |
| ``GET /_sim/counters``, ``POST /_sim/counters/reset`` | ``counters`` / ``reset_counters`` |
| ``GET /_sim/monitor`` | ``monitor.as_dict()``: 429s answered, requests before their Retry-After, parked requests |
| ``GET/PATCH /_sim/stream`` | the event hub (``sim.stream``): settings, faults, open connections, counters per site; PATCH ``keepalive``, ``client_timeout``, ``handshake_timeout``, ``stall``, ``delay``, ``duplicate``, ``lead`` |
| ``POST /_sim/stream/drop``, ``POST /_sim/stream/close`` | abort open hub connections (1006) / close them with a close message (body ``{"site_id"?, "error"?, "allow_reconnect"?}``) |
| ``POST /_sim/stream/refuse`` | the next ``times`` hub connects answer ``status`` (401 or 403) |
| ``POST /_sim/stream/clear``, ``POST /_sim/stream/counters/reset`` | no hub fault, default timers / hub counters to zero |
| ``POST /_sim/tokens/expire`` | ``expire_tokens`` (body ``{"refresh": true}`` also drops refresh tokens) |
| ``POST /_sim/tokens/revoke_refresh`` | ``revoke_refresh_tokens`` (body ``{"client_id"?, "user_id"?}``) → ``{"revoked"}`` |
| ``POST /_sim/credentials`` | ``set_credentials`` |
| ``GET /_sim/clients/{id}`` | ``client_info``: the client's registered redirect URIs |
| ``POST/DELETE /_sim/clients/{id}/redirect_uris`` | ``register_redirect_uri`` / ``unregister_redirect_uri`` (body ``{"uri"}``) |
| ``GET /_sim/oidc`` | sign-in counters, open sign-ins and codes (counts), clients' redirect URIs |
| ``GET/PATCH /_sim/tenant`` | the tenant profile |
| ``GET/PATCH /_sim/guest_access`` | ``configure_guest_access``: ``seat_limit``, ``features``, ``pin_enabled``, ``consistency_seconds`` |
| ``POST /_sim/access_groups`` | ``add_access_group`` (``name``, ``lock_ids``, ``schedule``) → the group |
| ``POST /_sim/access_groups/{id}/time_schedules`` | ``add_time_schedule`` → the schedule |
| ``POST /_sim/locks/{id}/pin`` | ``type_pin`` (body ``{"pin"}``): someone types a PIN at the keypad → the entry row |

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


def _uri(sim: World, request: web.Request, body: dict[str, Any], *, add: bool) -> dict[str, Any]:
    uri = body.get("uri")
    if not isinstance(uri, str):
        raise ValueError("uri is required")
    if add:
        return sim.register_redirect_uri(_id(request), uri)
    return sim.unregister_redirect_uri(_id(request), uri)


def _type_pin(sim: World, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    pin = body.get("pin")
    if not isinstance(pin, str | int) or isinstance(pin, bool):
        raise ValueError("pin is required")
    return sim.type_pin(_id(request), str(pin))


def _activation(sim: World, request: web.Request) -> dict[str, Any]:
    return sim.iq_activation(_id(request), request.query.get("user_id"))


def _deactivate(sim: World, request: web.Request) -> None:
    sim.deactivate_iq(_id(request), request.query.get("user_id"))


def _reset_counters(sim: World) -> dict[str, int]:
    before = dict(sim.counters)
    sim.reset_counters()
    return before


def _stream_update(sim: World, body: dict[str, Any]) -> dict[str, Any]:
    sim.stream.update(**body)
    return sim.stream.as_dict()


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
        ("GET", "/_sim/iqs/{id}/activation", lambda s, r, b: _activation(s, r), 200),
        ("POST", "/_sim/iqs/{id}/rotate", lambda s, r, b: s.rotate_iq_secret(_id(r), **b), 200),
        ("DELETE", "/_sim/iqs/{id}/activation", lambda s, r, b: _deactivate(s, r), 200),
        ("GET", "/_sim/mails", lambda s, r, b: {"mails": s.pin_mails(r.query.get("iq_id"))}, 200),
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
        ("GET", "/_sim/stream", lambda s, r, b: s.stream.as_dict(), 200),
        ("PATCH", "/_sim/stream", lambda s, r, b: _stream_update(s, b), 200),
        ("POST", "/_sim/stream/drop", lambda s, r, b: {"dropped": s.stream.drop(**b)}, 200),
        ("POST", "/_sim/stream/close", lambda s, r, b: {"closed": s.stream.close(**b)}, 200),
        ("POST", "/_sim/stream/refuse", lambda s, r, b: s.stream.refuse(**b), 200),
        ("POST", "/_sim/stream/clear", lambda s, r, b: s.stream.clear(), 200),
        ("POST", "/_sim/stream/counters/reset", lambda s, r, b: s.stream.reset_counters(), 200),
        ("POST", "/_sim/tokens/expire", lambda s, r, b: s.expire_tokens(**b), 200),
        ("POST", "/_sim/tokens/revoke_refresh", lambda s, r, b: s.revoke_refresh_tokens(**b), 200),
        ("GET", "/_sim/clients/{id}", lambda s, r, b: s.client_info(_id(r)), 200),
        ("POST", "/_sim/clients/{id}/redirect_uris", lambda s, r, b: _uri(s, r, b, add=True), 200),
        (
            "DELETE",
            "/_sim/clients/{id}/redirect_uris",
            lambda s, r, b: _uri(s, r, b, add=False),
            200,
        ),
        ("GET", "/_sim/oidc", lambda s, r, b: s.oidc.as_dict(sorted(s.clients)), 200),
        ("GET", "/_sim/tenant", lambda s, r, b: s.tenant.as_dict(), 200),
        ("PATCH", "/_sim/tenant", lambda s, r, b: _set_tenant(s, b), 200),
        ("GET", "/_sim/guest_access", lambda s, r, b: s.guest_access.settings(), 200),
        ("PATCH", "/_sim/guest_access", lambda s, r, b: s.configure_guest_access(**b), 200),
        ("POST", "/_sim/access_groups", lambda s, r, b: s.add_access_group(**b), 201),
        (
            "POST",
            "/_sim/access_groups/{id}/time_schedules",
            lambda s, r, b: s.add_time_schedule(_id(r), **b),
            201,
        ),
        ("POST", "/_sim/locks/{id}/pin", _type_pin, 201),
    ]
    for method, path, handler, status in table:
        app.router.add_route(method, path, _wrap(sim, handler, status))
