"""The identity server: ``POST /connect/token`` (and the legacy profile's ``/oauth2/token``).

Clients authenticate with HTTP Basic or with ``client_id``/``client_secret`` in the form body.
Errors are ``{"error", "error_description"}`` with status 400, ``invalid_client`` included (as
IdentityServer answers every token error [inferred: the record shows no invalid_client answer]).
Password and client_credentials tokens are opaque random strings; authorization-code tokens are
JWT-shaped with ``sub``/``identity_id`` (``tokens.py``). The password grant issues a refresh token
only when ``tenant.refresh_tokens`` is on (the record's token response has none); the
authorization-code grant issues one when the scope has ``offline_access``. Refresh tokens are
one-time (rotated on use), and a consumed one presented again revokes its chain.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from .oidc import Code, CodeReplayError, OidcError
from .tenant import LEGACY_SCOPES

if TYPE_CHECKING:
    from .world import World

DEFAULT_SCOPE = "user_api.full_access"
KNOWN_GRANTS = frozenset({"password", "client_credentials", "refresh_token", "authorization_code"})


class IdentityError(Exception):
    """An OAuth error answer."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error = error
        self.description = description

    def response(self) -> web.Response:
        return web.json_response(
            {"error": self.error, "error_description": self.description},
            status=400,
            headers={"Cache-Control": "no-store"},
        )


def basic_client_id(request: web.Request) -> str:
    """The client id of an HTTP Basic header, ``?`` without one (for ``sim.monitor``)."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return "?"
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        return "?"
    login, sep, _ = decoded.partition(":")
    return unquote(login) if sep else "?"


def _client_from_request(request: web.Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, binascii.Error):
            decoded = ""
        login, sep, secret = decoded.partition(":")
        if not sep:
            raise IdentityError("invalid_client", "Malformed Basic credentials")
        return unquote(login), unquote(secret)
    client_id = form.get("client_id", "")
    if not client_id:
        raise IdentityError("invalid_client", "No client credentials")
    return client_id, form.get("client_secret", "")


def _check_scope(sim: World, requested: str | None, legacy: bool) -> str:
    if not requested:
        return DEFAULT_SCOPE
    allowed = set(sim.tenant.scopes) | (LEGACY_SCOPES if legacy else set())
    asked = requested.split()
    if not set(asked) <= allowed:
        raise IdentityError("invalid_scope", "The client is not allowed to ask for this scope")
    return " ".join(asked)


def grant(
    sim: World, form: dict[str, str], client_id: str, legacy: bool, issuer: str = ""
) -> dict[str, Any]:
    """Run one grant for an authenticated client; the token response body.

    ``issuer`` is the identity server's own URL (the ``iss`` of JWT-shaped tokens).
    """
    grant_type = form.get("grant_type", "")
    if grant_type not in KNOWN_GRANTS:
        raise IdentityError("unsupported_grant_type", "The grant type is not supported")
    if grant_type not in sim.tenant.grants:
        raise IdentityError("unauthorized_client", "The grant type is not enabled for this client")
    now = sim.clock().timestamp()
    refresh = False
    chain = ""
    jwt = False
    if grant_type == "password":
        scope = _check_scope(sim, form.get("scope"), legacy)
        user = sim.state.user_by_email(form.get("username", ""))
        password = form.get("password", "")
        if (
            user is None
            or user.password is None
            or not secrets.compare_digest(user.password.encode(), password.encode())
        ):
            raise IdentityError("invalid_grant", "invalid_username_or_password")
        user_id: str | None = user.id
        refresh = sim.tenant.refresh_tokens
    elif grant_type == "client_credentials":
        scope = _check_scope(sim, form.get("scope"), legacy)
        user_id = None
    elif grant_type == "refresh_token":
        value = form.get("refresh_token", "")
        live = sim.tokens.refresh.get(value)
        if live is not None and live.client_id != client_id:
            raise IdentityError("invalid_grant", "The refresh token is invalid or expired")
        old = sim.tokens.consume_refresh(value)
        if old is None:
            if value in sim.tokens.used_refresh:
                sim.oidc.count("refresh_replays")
            raise IdentityError("invalid_grant", "The refresh token is invalid or expired")
        scope, user_id, chain, jwt = old.scope, old.user_id, old.chain, old.jwt
        # A chain of the authorization-code flow keeps rotating; the password grant's follows
        # the tenant switch.
        refresh = jwt or sim.tenant.refresh_tokens
        if form.get("scope"):
            scope = _check_scope(sim, form["scope"], legacy)
            if not set(scope.split()) <= set(old.scope.split()):
                raise IdentityError("invalid_scope", "Scope exceeds the original grant")
        sim.oidc.count("refresh_rotations")
    else:
        code = _redeem_code(sim, form, client_id, now)
        scope, user_id, chain, jwt = code.scope, code.user_id, code.chain, True
        refresh = "offline_access" in scope.split()
    token = sim.tokens.issue(
        client_id,
        user_id,
        scope,
        now,
        sim.tenant.token_lifetime,
        chain=chain,
        jwt_issuer=issuer if jwt else None,
    )
    body: dict[str, Any] = {
        "access_token": token.value,
        "expires_in": sim.tenant.token_lifetime,
        "token_type": "Bearer",
        "scope": scope,
    }
    if refresh:
        body["refresh_token"] = sim.tokens.issue_refresh(token)
    if jwt and "openid" in scope.split():
        body["id_token"] = sim.tokens.id_token(token, now, issuer)
    return body


def _redeem_code(sim: World, form: dict[str, str], client_id: str, now: float) -> Code:
    """The authorization code of the form, checked and consumed, or IdentityError."""
    try:
        return sim.oidc.redeem(
            form.get("code", ""),
            client_id,
            form.get("redirect_uri", ""),
            form.get("code_verifier", ""),
            now,
        )
    except CodeReplayError as err:
        sim.tokens.revoke_chain(err.chain)
        raise IdentityError(err.error, err.description) from err
    except OidcError as err:
        raise IdentityError(err.error, err.description) from err


async def token_endpoint(sim: World, request: web.Request, *, legacy: bool) -> web.Response:
    """Handle ``POST /connect/token`` (legacy=False) or ``POST /oauth2/token`` (legacy=True)."""
    try:
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        client_id, client_secret = _client_from_request(request, form)
        known = sim.clients.get(client_id)
        if known is None or not secrets.compare_digest(known.encode(), client_secret.encode()):
            raise IdentityError("invalid_client", "Invalid client")
        body = grant(sim, form, client_id, legacy, issuer=str(request.url.origin()))
    except IdentityError as err:
        return err.response()
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
