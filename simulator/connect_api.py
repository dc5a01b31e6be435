"""Connect API handlers (``/v1.1`` and ``/v1.2``): sites, locks, locking, IQs, users, entries.

Each handler gets the simulator, the request and the caller's access token (already checked by
``app.guard``) and returns a response or raises ``ApiError`` (body ``{"ErrorCode", "Message"}``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import INCIDENT_CATEGORIES, Lock, Site
from .odata import ODataError, parse_query, parse_top
from .otp import OtpError

if TYPE_CHECKING:
    from .tokens import Token
    from .world import World

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CONTINUATION_HEADER = "CLP-Continuation-Token"


class ApiError(Exception):
    """A Connect API error answer."""

    def __init__(self, status: int, code: int | str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return web.json_response(
            {"ErrorCode": self.code, "Message": self.message}, status=self.status
        )


def route_not_found() -> web.Response:
    """The bare 404 of a path the server does not know (aiohttp's own text, no Connect body)."""
    return web.Response(status=404, text="404: Not Found")


def not_found(what: str) -> ApiError:
    """404 for an unknown id (the record has no body for it; 2202 is kept for OTP/users)."""
    return ApiError(404, 1100, f"The {what} was not found")


# helpers ---------------------------------------------------------------------------------
def otp_user(sim: World, caller: Token) -> str | None:
    """Whose IQ activation a request uses: the caller's; a legacy client_credentials token acts
    as the scenario's system user [inferred]."""
    if caller.user_id is not None:
        return caller.user_id
    user = sim.state.user_by_email(sim.username)
    return user.id if user is not None else None


def site_for(sim: World, request: web.Request, caller: Token) -> Site:
    """The path's site, checked against the caller's memberships."""
    site_id = request.match_info["site_id"]
    site = sim.state.sites.get(site_id)
    if site is None:
        if any(s.site_uid == site_id for s in sim.state.sites.values()):
            raise ApiError(400, 1100, "The site id must be the site UUID, not the site UID")
        if not _UUID.match(site_id):
            raise ApiError(400, 1100, "The value of site_id is not valid")
        raise not_found("site")
    if caller.user_id is not None and sim.state.membership(site.id, caller.user_id) is None:
        raise ApiError(403, 2203, "User does not have permission to access this site")
    return site


def lock_for(sim: World, site: Site, lock_id: str) -> Lock:
    lock = sim.state.locks.get(lock_id)
    if lock is None or lock.site_id != site.id:
        raise not_found("lock")
    return lock


def paged(
    request: web.Request, items: list[Any], default_size: int, max_top: int
) -> dict[str, Any]:
    """``{items, next_page_link, count}`` for one page; ``next_page_link`` is absolute."""
    try:
        top = parse_top(request.query.get("$top"), max_top) or default_size
        skip = int(request.query.get("$skip", "0"))
    except (ODataError, ValueError) as err:
        raise ApiError(400, 1102, f"Invalid OData query: {err}") from None
    if skip < 0:
        raise ApiError(400, 1102, "Invalid OData query: $skip")
    page = items[skip : skip + top]
    link = None
    if skip + top < len(items):
        query = dict(request.query)
        query.update({"$top": str(top), "$skip": str(skip + top)})
        link = str(request.url.with_query(query))
    return {"items": page, "next_page_link": link, "count": None}


# sites -----------------------------------------------------------------------------------
async def get_sites(sim: World, request: web.Request, caller: Token) -> web.Response:
    sites = [
        s
        for s in sim.state.sites.values()
        if caller.user_id is None or sim.state.membership(s.id, caller.user_id) is not None
    ]
    wanted = request.query.get("$filter")
    if wanted:
        m = re.match(r"^\s*site_uid\s+eq\s+'([^']*)'\s*$", wanted)
        if not m:
            raise ApiError(400, 1102, "Only $filter=site_uid eq '…' is supported on sites")
        sites = [s for s in sites if s.site_uid == m.group(1)]
    items = [sim.state.site_json(s) for s in sites]
    if request.match_info["version"] == "v1.2":
        return web.json_response(items)
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


async def get_site(sim: World, request: web.Request, caller: Token) -> web.Response:
    return web.json_response(sim.state.site_json(site_for(sim, request, caller)))


# locks -----------------------------------------------------------------------------------
async def get_locks(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    now = sim.now()
    items = [sim.state.lock_json(lock, now) for lock in sim.state.locks_of(site.id)]
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


async def get_lock(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    lock = lock_for(sim, site, request.match_info["lock_id"])
    return web.json_response(sim.state.lock_json(lock, sim.now()))


async def patch_locking(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    lock = lock_for(sim, site, request.match_info["lock_id"])
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, 1100, "The request body is not valid JSON") from None
    if not isinstance(body, dict) or "locked_state" not in body:
        raise ApiError(400, 1100, "The locked_state field is required.")
    wanted = body["locked_state"]
    if wanted not in {"unlocked", "locked", "office_mode"}:
        raise ApiError(400, 1101, f"Invalid value for locked_state: {wanted!r}")
    if caller.user_id is not None:
        member = sim.state.membership(site.id, caller.user_id)
        if member is None or not member.remote_access or member.blocked:
            raise ApiError(403, 2203, "User does not have permission to perform this operation")
        if office_mode_change(lock, wanted) and not member.toggle_manual_office_mode:
            raise ApiError(403, 2203, "User does not have permission to toggle office mode")
    now = sim.now()
    iq = sim.state.iqs.get(lock.iq_id) if lock.iq_id else None
    if iq is not None and iq.otp_enabled:
        try:
            sim.otp.check_blocked(iq, now)
            if "otp" not in body:
                raise ApiError(404, "2202", "Otp is invalid")
            otp = body["otp"]
            if not otp:
                raise ApiError(400, 1100, "The otp field is required.")
            sim.otp.check_locking(iq, otp_user(sim, caller), str(otp), now)
        except OtpError as err:
            raise ApiError(err.status, err.code, err.message) from None
    if lock.iq_id is not None and (iq is None or not iq.online):
        raise offline(sim, "The IQ is offline")
    if iq is None or not lock.online:
        raise offline(sim, "The lock is offline")
    lock.settle(now)
    if wanted == "unlocked":
        lock.locked_state = "unlocked"
        lock.opened_until = now + lock.open_time
        sim.state.add_entry(
            sim.clock(),
            site.id,
            lock_id=lock.id,
            event_category="lock_opened",
            access_by="remote",
            user_id=caller.user_id,
        )
    elif wanted == "locked":
        if not lock.supports_remote_lock:
            raise ApiError(422, 1101, "The lock does not support this operation")
        if lock.locked_state == "office_mode":
            _office_entry(sim, site, lock, caller, "end")
        lock.locked_state = "locked"
        lock.opened_until = None
    else:
        if lock.locked_state != "office_mode":
            _office_entry(sim, site, lock, caller, "start")
        lock.locked_state = "office_mode"
        lock.opened_until = None
    return web.json_response(sim.state.lock_json(lock, now))


def office_mode_change(lock: Lock, wanted: str) -> bool:
    """Whether a locking request starts or ends manual office mode (needs the user right)."""
    return wanted == "office_mode" or (wanted == "locked" and lock.locked_state == "office_mode")


def offline(sim: World, message: str) -> ApiError:
    """The refusal of an offline lock or IQ, as ``tenant.offline_answer`` models it [inferred]."""
    if sim.tenant.offline_answer == "403":
        return ApiError(403, 2203, "Operation cannot be executed")
    return ApiError(422, 2203, message)


def _office_entry(sim: World, site: Site, lock: Lock, caller: Token, detail: str) -> None:
    sim.state.add_entry(
        sim.clock(),
        site.id,
        lock_id=lock.id,
        event_category="office_mode",
        event_detail=detail,
        access_by="remote",
        user_id=caller.user_id,
    )


# iqs and users ---------------------------------------------------------------------------
async def get_iqs(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    items = [sim.state.iq_json(iq) for iq in sim.state.iqs_of(site.id)]
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


async def get_iq(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    iq = sim.state.iqs.get(request.match_info["iq_id"])
    if iq is None or iq.site_id != site.id:
        raise not_found("IQ")
    return web.json_response(sim.state.iq_json(iq))


async def get_users(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    items = [su.to_json() for su in sim.state.users_of(site.id)]
    if sim.tenant.users_envelope == "array":
        try:
            top = parse_top(request.query.get("$top"), sim.tenant.max_top)
        except ODataError as err:
            raise ApiError(400, 1102, f"Invalid OData query: {err}") from None
        return web.json_response(items[:top])
    return web.json_response(paged(request, items, sim.tenant.page_size, sim.tenant.max_top))


async def get_user(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    su = sim.state.site_users.get(request.match_info["user_id"])
    if su is None or su.site_id != site.id:
        raise ApiError(404, "2202", "User not found")
    return web.json_response(su.to_json())


# entries ---------------------------------------------------------------------------------
def _read_token(request: web.Request) -> dict[str, Any] | None:
    raw = request.headers.get(CONTINUATION_HEADER)
    if not raw:
        return None
    try:
        token = json.loads(raw)
    except ValueError:
        token = None
    if not isinstance(token, dict) or not isinstance(token.get("NextRowKey"), str | None):
        raise ApiError(400, 1100, "The continuation token is not valid")
    return token


def _row_key(key: tuple[str, int]) -> str:
    return f"{key[0]}|{key[1]}"


def _parse_row_key(text: str) -> tuple[str, int]:
    value, _, seq = text.rpartition("|")
    try:
        return value, int(seq)
    except ValueError:
        raise ApiError(400, 1100, "The continuation token is not valid") from None


async def get_entries(
    sim: World, request: web.Request, caller: Token, *, kind: str
) -> web.Response:
    """Entries (``kind`` = entries | audit-trails | audit/log) or incidents; v1.1 only."""
    if request.match_info["version"] != "v1.1":
        return web.Response(status=405)
    if kind not in {"incidents", sim.tenant.served_audit_path}:
        return route_not_found()
    site = site_for(sim, request, caller)
    v3 = request.headers.get("CLP-disable-odata-v3-conversion", "").lower() != "true"
    try:
        query = parse_query(request.query, max_top=sim.tenant.max_top, v3_allowed=v3)
    except ODataError as err:
        raise ApiError(400, 1102, f"Invalid OData query: {err}") from None
    token = _read_token(request)
    now = sim.now()
    rows = [
        e
        for e in sim.state.entries.get(site.id, [])
        if sim.stream.readable(e.seq, now)  # a ``lead`` fault hides a pushed row a while
        and all(c.matches(e) for c in query.conditions)
        and (kind != "incidents" or e.data["event_category"] in INCIDENT_CATEGORIES)
    ]
    rows.sort(key=query.sort_key, reverse=True)
    if token is not None and token.get("NextRowKey") is not None:
        after = _parse_row_key(token["NextRowKey"])
        rows = [e for e in rows if query.sort_key(e) < after]
    size = min(query.top or sim.tenant.entries_page_size, sim.tenant.entries_page_size)
    next_token: dict[str, Any] | None = None
    if sim.tenant.entries_empty_pages and rows and not (token or {}).get("EmptyServed"):
        page: list[Any] = []
        next_token = {
            "NextPartitionKey": site.id,
            "NextRowKey": None if token is None else token.get("NextRowKey"),
            "EmptyServed": True,
        }
    else:
        page = rows[:size]
        if len(rows) > size:
            next_token = {
                "NextPartitionKey": site.id,
                "NextRowKey": _row_key(query.sort_key(page[-1])),
                "EmptyServed": False,
            }
    body = {
        "items": [dict(e.data) for e in page],
        "continuation_token": None
        if next_token is None
        else json.dumps(next_token, separators=(",", ":")),
    }
    return web.json_response(body)
