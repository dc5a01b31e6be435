"""The sign-in pages of the identity server: discovery, ``/connect/authorize``, login, consent.

``GET /connect/authorize`` checks the request (``oidc.Oidc.check_authorize``): an unknown client or
an unregistered ``redirect_uri`` gets an HTML error page (400), never a redirect; other problems
go back to the redirect URI as ``error=…&state=…``. A good request gets the login page (a KS
user's e-mail and password; a wrong one re-renders it with an error), then the consent page;
"allow" redirects with ``code`` and ``state``, "deny" with ``error=access_denied``. The pages
carry only the pending request's random ``request_id``, never a password or a code.
Stable element ids for a browser: ``#username``, ``#password``, ``#login``, ``#allow``, ``#deny``.
"""

from __future__ import annotations

import html
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from .identity import KNOWN_GRANTS
from .oidc import Pending

if TYPE_CHECKING:
    from .world import World

AUTHORIZE_PATH = "/connect/authorize"
LOGIN_PATH = "/connect/authorize/login"
CONSENT_PATH = "/connect/authorize/consent"
_STYLE = (
    "body{font-family:sans-serif;max-width:28rem;margin:3rem auto}"
    "label,input,button{display:block;margin:.4rem 0}.error{color:#b00}"
)


def issuer(request: web.Request) -> str:
    """The identity server's own URL, as the caller reached it."""
    return str(request.url.origin())


async def discovery(sim: World, request: web.Request) -> web.Response:
    """``GET /.well-known/openid-configuration``."""
    base = issuer(request)
    return web.json_response(
        {
            "issuer": base,
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + "/connect/token",
            "scopes_supported": sorted(sim.tenant.scopes),
            "grant_types_supported": sorted(KNOWN_GRANTS),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
            "claims_supported": ["sub", "identity_id"],
        }
    )


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def error_page(error: str, description: str) -> web.Response:
    """IdentityServer's error page (status 400): no redirect to an unchecked URI."""
    request_id = secrets.token_hex(8)
    return _page(
        "Error",
        "<p class='error'>Sorry, there was an error : "
        f"<strong id='error'>{html.escape(error)}</strong></p>"
        f"<p id='error_description'>{html.escape(description)}</p>"
        f"<p>Request Id: {request_id}</p>",
        status=400,
    )


def _redirect(redirect_uri: str, params: dict[str, str | None]) -> web.Response:
    """302 to the client's (registered) redirect URI with ``params`` added to its query."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _login_page(
    request_id: str, pending: Pending, username: str = "", error: str = ""
) -> web.Response:
    problem = f"<p class='error' id='login_error'>{html.escape(error)}</p>" if error else ""
    return _page(
        "Salto KS sign in",
        f"<p>Sign in to continue to <strong>{html.escape(pending.client_id)}</strong>.</p>"
        f"{problem}"
        f"<form method='post' action='{LOGIN_PATH}'>"
        f"<input type='hidden' name='request_id' value='{html.escape(request_id)}'>"
        "<label for='username'>E-mail</label>"
        "<input type='email' id='username' name='username' autocomplete='username' "
        f"value='{html.escape(username)}' required>"
        "<label for='password'>Password</label>"
        "<input type='password' id='password' name='password' "
        "autocomplete='current-password' required>"
        "<button type='submit' id='login' name='button' value='login'>Sign in</button>"
        "</form>",
    )


def _consent_page(request_id: str, pending: Pending, email: str) -> web.Response:
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in pending.scope.split())
    return _page(
        "Allow access",
        f"<p>Signed in as <strong id='signed_in_as'>{html.escape(email)}</strong>.</p>"
        f"<p><strong>{html.escape(pending.client_id)}</strong> asks for:</p><ul>{scopes}</ul>"
        f"<form method='post' action='{CONSENT_PATH}'>"
        f"<input type='hidden' name='request_id' value='{html.escape(request_id)}'>"
        "<button type='submit' id='allow' name='decision' value='allow'>Allow</button>"
        "<button type='submit' id='deny' name='decision' value='deny'>Deny</button>"
        "</form>",
    )


async def _form(request: web.Request) -> dict[str, str]:
    posted = await request.post()
    return {k: v for k, v in posted.items() if isinstance(v, str)}


def _pending(sim: World, form: dict[str, str]) -> tuple[str, Pending] | web.Response:
    request_id = form.get("request_id", "")
    pending = sim.oidc.pending_request(request_id, sim.now())
    if pending is None:
        return error_page("invalid_request", "The sign-in request is unknown or expired")
    return request_id, pending


async def authorize(sim: World, request: web.Request) -> web.Response:
    """``GET /connect/authorize``: the login page, an error page or an error redirect."""
    query = dict(request.query)
    problem = sim.oidc.check_authorize(query, sim.clients, sim.tenant.scopes, sim.tenant.grants)
    if problem is not None:
        sim.oidc.count("authorize_refusals")
        if not problem.redirect:
            return error_page(problem.error, problem.description)
        return _redirect(
            query["redirect_uri"],
            {
                "error": problem.error,
                "error_description": problem.description,
                "state": query.get("state"),
            },
        )
    request_id = sim.oidc.begin(query, sim.now())
    return _login_page(request_id, sim.oidc.pending[request_id])


async def login(sim: World, request: web.Request) -> web.Response:
    """``POST /connect/authorize/login``: check the e-mail and password, then ask for consent."""
    form = await _form(request)
    found = _pending(sim, form)
    if isinstance(found, web.Response):
        return found
    request_id, pending = found
    username = form.get("username", "")
    user = sim.state.user_by_email(username)
    password = form.get("password", "")
    if (
        user is None
        or user.password is None
        or not secrets.compare_digest(user.password.encode(), password.encode())
    ):
        sim.oidc.count("login_failures")
        return _login_page(request_id, pending, username, "Invalid username or password")
    sim.oidc.count("logins")
    pending.user_id = user.id
    return _consent_page(request_id, pending, user.email or username)


async def consent(sim: World, request: web.Request) -> web.Response:
    """``POST /connect/authorize/consent``: allow → a code; deny → ``access_denied``."""
    form = await _form(request)
    found = _pending(sim, form)
    if isinstance(found, web.Response):
        return found
    request_id, pending = found
    if pending.user_id is None:
        return error_page("invalid_request", "Sign in first")
    decision = form.get("decision")
    if decision not in {"allow", "deny"}:
        return error_page("invalid_request", "No decision")
    sim.oidc.finish(request_id)
    if decision == "deny":
        sim.oidc.count("consents_denied")
        return _redirect(
            pending.redirect_uri,
            {
                "error": "access_denied",
                "error_description": "The user denied the request",
                "state": pending.state,
            },
        )
    sim.oidc.count("consents_allowed")
    code = sim.oidc.issue_code(pending, sim.now(), sim.tenant.code_lifetime)
    return _redirect(
        pending.redirect_uri, {"code": code, "scope": pending.scope, "state": pending.state}
    )
