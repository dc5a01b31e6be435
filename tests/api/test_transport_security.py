"""Credentials never travel with TLS checks off, to a redirect or to an unsafe next page link (URL rules: test_urls.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from aiohttp import web
from yarl import URL

from custom_components.salto_ks import api
from custom_components.salto_ks.api import (
    AuthenticationError,
    CommunicationError,
    InvalidResponseError,
)

from .conftest import RunClient
from .helpers import URL_PASSWORD
from .hostile import Server, start_app

API_DIR = Path(api.__file__).parent


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
