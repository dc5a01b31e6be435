"""Connect API handlers of the caller's IQ activation (the OTP secret and PIN, otp.py).

- ``GET /v1.2/sites/{site}/iqs/{iq}/secret`` → 200, the 16-character secret as a bare JSON string
  [envelope inferred]; once the caller is activated on the IQ, 403 2203 "Cannot get first secret
  for an already activated Iq." (the record's words).
- ``GET …/iqs/{iq}/pin?send_email=true`` → 204, the PIN "mailed" (``GET /_sim/mails``); once
  activated 403 ``command_forbidden`` (the record); without ``send_email=true`` 400 1100 [inferred].
- ``PUT …/iqs/{iq}/pin {"otp", "delta"}`` → 204 (the activation); a wrong code counts towards the
  IQ's block as a locking one does.
- ``GET /v1.2/me/{site}/activated_iqs`` → the caller's activations ``{iq_id, activation_date,
  activated}`` on the site's IQs, as a bare JSON array [envelope inferred].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .connect_api import ApiError, not_found, otp_user, site_for
from .models import Iq, Site
from .otp import OtpError

if TYPE_CHECKING:
    from .tokens import Token
    from .world import World


def _iq_for(sim: World, site: Site, request: web.Request) -> Iq:
    iq = sim.state.iqs.get(request.match_info["iq_id"])
    if iq is None or iq.site_id != site.id:
        raise not_found("IQ")
    return iq


def _user(sim: World, caller: Token) -> str:
    user_id = otp_user(sim, caller)
    if user_id is None:
        raise ApiError(404, "2202", "User not found")
    return user_id


async def get_secret(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    iq = _iq_for(sim, site, request)
    try:
        secret = sim.otp.first_secret(iq.id, _user(sim, caller))
    except OtpError as err:
        raise ApiError(err.status, err.code, err.message) from None
    return web.json_response(secret)


async def get_pin(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    iq = _iq_for(sim, site, request)
    if request.query.get("send_email", "").lower() != "true":
        raise ApiError(400, 1100, "The send_email field is required.")
    user_id = _user(sim, caller)
    email = sim.state.platform_user(user_id).email or ""
    try:
        sim.otp.mail_pin(iq.id, user_id, email, sim.now())
    except OtpError as err:
        raise ApiError(err.status, err.code, err.message) from None
    return web.Response(status=204)


async def put_pin(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    iq = _iq_for(sim, site, request)
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, 1100, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, 1100, "The request body must be a JSON object")
    try:
        sim.otp.activate(iq, _user(sim, caller), body.get("otp"), body.get("delta"), sim.now())
    except OtpError as err:
        raise ApiError(err.status, err.code, err.message) from None
    return web.Response(status=204)


async def get_activated_iqs(sim: World, request: web.Request, caller: Token) -> web.Response:
    site = site_for(sim, request, caller)
    iq_ids = [iq.id for iq in sim.state.iqs_of(site.id)]
    return web.json_response(sim.otp.activated_iqs(_user(sim, caller), iq_ids))
