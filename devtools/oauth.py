"""A Salto account (OAuth2 authorization code) entry for a development Home Assistant.

Home Assistant without the ``my`` integration sends the identity server its own callback
(``{ha}/auth/external/callback``) as the redirect URI, so that URI is registered for the
simulator's client first. The simulator's client id and secret become an application credential;
the config flow's external step (the simulator's login and consent pages) is answered here the way
a browser would: the pages are plain HTML forms with a hidden ``request_id``.
Nothing here prints the authorization code, a token or a password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from devtools.common import DOMAIN, DevToolsError
from devtools.rest import HomeAssistant
from devtools.sim_control import SimulatorControl

CALLBACK_PATH = "/auth/external/callback"
LOGIN_PATH = "/connect/authorize/login"
CONSENT_PATH = "/connect/authorize/consent"
_REQUEST_ID = re.compile(r"name=['\"]request_id['\"] value=['\"]([^'\"]+)['\"]")


def _request_id(page: str, what: str) -> str:
    found = _REQUEST_ID.search(page)
    if found is None:
        raise DevToolsError(f"the simulator's {what} page has no sign-in request")
    return found.group(1)


async def sign_in(
    session: aiohttp.ClientSession, authorize_url: str, username: str, password: str
) -> str:
    """Sign in on the simulator's login page and allow access; where it redirects to."""
    parts = urlsplit(authorize_url)
    base = f"{parts.scheme}://{parts.netloc}"
    async with session.get(authorize_url, allow_redirects=False) as resp:
        page = await resp.text()
        if resp.status != 200:
            raise DevToolsError(f"the simulator's authorize page answered HTTP {resp.status}")
    form = {"request_id": _request_id(page, "login"), "username": username, "password": password}
    async with session.post(base + LOGIN_PATH, data=form, allow_redirects=False) as resp:
        consent = await resp.text()
    if "decision" not in consent:
        raise DevToolsError("the simulator refused the sign-in (wrong user or password?)")
    choice = {"request_id": _request_id(consent, "consent"), "decision": "allow"}
    async with session.post(base + CONSENT_PATH, data=choice, allow_redirects=False) as resp:
        await resp.read()
        location = resp.headers.get("Location")
        if resp.status != 302 or not location:
            raise DevToolsError(f"the simulator's consent page answered HTTP {resp.status}")
    return location


async def ensure_application_credential(ha: HomeAssistant, client_id: str, secret: str) -> None:
    """An application credential of the Salto KS domain with this client id (added if missing)."""
    async with ha.websocket() as ws:
        existing: list[dict[str, Any]] = await ws.command("application_credentials/list")
        if any(c.get("domain") == DOMAIN and c.get("client_id") == client_id for c in existing):
            return
        await ws.command(
            "application_credentials/create",
            domain=DOMAIN,
            client_id=client_id,
            client_secret=secret,
            name="Salto KS simulator",
        )
    print(f"[develop] added the application credential {client_id!r}", flush=True)


async def add_oauth_entry(
    ha: HomeAssistant, sim: SimulatorControl, credentials: Mapping[str, str]
) -> dict[str, Any]:
    """Run the Salto-account config flow against the simulator; the created entry."""
    callback = ha.base_url + CALLBACK_PATH
    await sim.register_redirect_uri(credentials["client_id"], callback)
    await ensure_application_credential(ha, credentials["client_id"], credentials["client_secret"])

    async def external(url: str) -> None:
        location = await sign_in(ha.session, url, credentials["username"], credentials["password"])
        if not location.startswith(callback + "?"):
            raise DevToolsError(f"the sign-in went back to an unexpected place ({callback=})")
        error = parse_qs(urlsplit(location).query).get("error")
        if error:
            raise DevToolsError(f"the simulator's sign-in answered error={error[0]}")
        async with ha.session.get(location) as resp:
            await resp.read()
            if resp.status != 200:
                raise DevToolsError(f"Home Assistant's OAuth callback answered HTTP {resp.status}")

    answers: dict[str, Any] = {
        "user": "oauth",  # the first step's menu: sign in with a Salto account
        "endpoint": "custom",
        "api_base": credentials["api_base"],
        "auth_url": credentials["auth_url"],
        "authorize_url": credentials.get("authorize_url"),
    }
    if credentials.get("site_id"):
        answers["site_id"] = credentials["site_id"]
    return await ha.add_config_entry(DOMAIN, answers, on_external=external)
