"""Credentials travel only over TLS (or to loopback), never inside a URL, never with TLS checks off."""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from custom_components.salto_ks import api
from custom_components.salto_ks.api import (
    AuthenticationError,
    CommunicationError,
    InvalidResponseError,
    SaltoKSClient,
    TokenManager,
)
from custom_components.salto_ks.api.urls import insecure_reason, is_loopback_host

from .hostile import Server, start_app

RunClient = Callable[..., Awaitable[SaltoKSClient]]
API_DIR = Path(api.__file__).parent
URL_PASSWORD = "pw-in-url-5e4d"

ALLOWED = [
    "https://connect.my-clay.com",
    "https://identity.eu.my-clay.com/connect/token",
    "http://127.0.0.1:8787",
    "http://127.1.2.3/connect/token",
    "http://[::1]:8787/connect/token",
]
REFUSED = [
    ("http://connect.my-clay.com", "plain http"),
    ("http://localhost:8787", "plain http"),  # a name, resolved like any other: refused
    ("http://192.168.1.10", "plain http"),
    ("http://[::ffff:8.8.8.8]", "plain http"),
    ("ftp://127.0.0.1/token", "scheme"),
    ("ws://127.0.0.1/token", "scheme"),
    ("https://user@connect.my-clay.com", "user name or password"),
    (f"https://user:{URL_PASSWORD}@connect.my-clay.com", "user name or password"),
    (f"http://u:{URL_PASSWORD}@127.0.0.1:8787", "user name or password"),
    ("connect.my-clay.com", "absolute"),
    ("https://", "absolute"),
    ("https://[::1", "valid URL"),
]


@pytest.mark.parametrize("url", ALLOWED)
async def test_allowed_urls(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        SaltoKSClient(session, api_base=url, auth_url=url, client_id="c", client_secret="s")


@pytest.mark.parametrize(("url", "reason"), REFUSED)
@pytest.mark.parametrize("argument", ["api_base", "auth_url"])
async def test_refused_urls(url: str, reason: str, argument: str) -> None:
    async with aiohttp.ClientSession() as session:
        urls: dict[str, Any] = {argument: url}
        with pytest.raises(ValueError, match=reason) as err:
            SaltoKSClient(session, client_id="c", client_secret="s", **urls)
        with pytest.raises(ValueError, match=reason):
            TokenManager(session, auth_url=url, client_id="c", client_secret="s", request_timeout=5)
    message = str(err.value)
    assert message.startswith(argument)
    assert URL_PASSWORD not in message


def test_loopback_is_a_literal_address() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("127.255.255.254")
    assert is_loopback_host("::1")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("localhost")
    assert not is_loopback_host("128.0.0.1")
    assert not is_loopback_host("127.0.0.1.example.com")
    assert not is_loopback_host(None)
    assert not is_loopback_host("")
    assert insecure_reason(URL("https://connect.my-clay.com/v1.2/x?$top=1")) is None


def _tls_weakenings(tree: ast.AST) -> list[str]:
    found: list[str] = []
    banned_keywords = {
        "ssl",
        "verify_ssl",
        "ssl_context",
        "verify",
        "fingerprint",
        "check_hostname",
    }
    banned_names = {"CERT_NONE", "_create_unverified_context", "TCPConnector", "check_hostname"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += [f"{kw.arg}=" for kw in node.keywords if kw.arg in banned_keywords]
        if isinstance(node, ast.Attribute) and node.attr in banned_names:
            found.append(node.attr)
        if isinstance(node, ast.Name) and node.id in banned_names:
            found.append(node.id)
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.append(node.module)
            found += [f"import {m}" for m in modules if m.split(".")[0] == "ssl"]
    return found


def test_client_never_touches_tls_settings() -> None:
    """No ssl=/verify_ssl= anywhere, no own connector, no ssl module: the session's defaults verify."""
    files = sorted(API_DIR.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        assert _tls_weakenings(ast.parse(path.read_text(encoding="utf-8"))) == [], path.name
    sample = ast.parse("session.get(url, ssl=False)\nimport ssl\nc = ssl.CERT_NONE")
    assert sorted(_tls_weakenings(sample)) == ["CERT_NONE", "import ssl", "ssl="]


@pytest.mark.parametrize(
    "link",
    [
        "http://connect.my-clay.com/v1.2/sites/S/locks?p=2",  # plain http, foreign
        "https://{host}:{port}/v1.2/sites/S/locks?p=2",  # same host and port, other scheme
        "http://user:" + URL_PASSWORD + "@{host}:{port}/v1.2/sites/S/locks?p=2",  # user info
        "//{host}.example.com/v1.2/sites/S/locks?p=2",  # scheme-relative, another host
    ],
)
async def test_unsafe_next_page_link_is_refused(
    server: tuple[Server, web.Application], run: RunClient, link: str
) -> None:
    state, app = server

    async def locks(request: web.Request) -> web.Response:
        url = URL(state.url)
        target = link.format(host=url.host, port=url.port)
        return web.json_response({"items": [{"id": "L1"}], "next_page_link": target})

    app.router.add_get("/v1.2/sites/S/locks", locks)
    client = await run()
    with pytest.raises(InvalidResponseError, match="refusing to follow it") as err:
        await client.get_locks("S")
    assert len(state.requests) == 1
    assert URL_PASSWORD not in str(err.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_token_endpoint_redirect_is_not_followed(
    server: tuple[Server, web.Application], run: RunClient, status: int
) -> None:
    """A redirect (307/308 would re-post the password) goes nowhere and is not a credential error."""
    _state, app = server
    stolen: list[str] = []

    async def steal(request: web.Request) -> web.Response:
        stolen.append(await request.text())
        return web.json_response({"access_token": "x", "expires_in": 3600})

    foreign = web.Application()
    foreign.router.add_route("*", "/{tail:.*}", steal)
    foreign_runner, foreign_url = await start_app(foreign)

    async def redirecting(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": f"{foreign_url}/token"})

    app.router.add_post("/moved/token", redirecting)
    try:
        client = await run(auth_path="/moved/token")
        with pytest.raises(CommunicationError) as err:
            await client.authenticate()
    finally:
        await foreign_runner.cleanup()
    assert err.value.status == status
    assert not isinstance(err.value, AuthenticationError)
    assert stolen == []
