"""Fixtures of the API client tests: a session, clients bound to the simulator, a hostile loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.salto_ks.api import SaltoKSClient
from simulator import Simulator

from .hostile import PASSWORD, SECRET, Handler, Server, start_app

MakeClient = Callable[..., SaltoKSClient]
RunClient = Callable[..., Awaitable[SaltoKSClient]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session the test owns (the client never closes it)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def make_client(salto_sim: Simulator, session: aiohttp.ClientSession) -> MakeClient:
    """Build a client for the simulator; keyword arguments override the defaults."""

    def _make(**overrides: Any) -> SaltoKSClient:
        kwargs: dict[str, Any] = {
            "api_base": salto_sim.api_base,
            "auth_url": salto_sim.auth_url,
            "client_id": salto_sim.client_id,
            "client_secret": salto_sim.client_secret,
            "username": salto_sim.username,
            "password": salto_sim.password,
            "request_timeout": 5.0,
        }
        kwargs.update(overrides)
        return SaltoKSClient(session, **kwargs)

    return _make


@pytest.fixture
def client(make_client: MakeClient) -> SaltoKSClient:
    """A password-grant client with valid credentials."""
    return make_client()


@pytest.fixture
async def server(socket_enabled: None) -> tuple[Server, web.Application]:
    """A server with a working token endpoint; tests add API routes before the first request."""
    state = Server()

    async def token(request: web.Request) -> web.Response:
        form = dict(await request.post())
        state.auth_headers.append(request.headers.get("Authorization", ""))
        state.forms.append({k: str(v) for k, v in form.items()})
        if form.get("grant_type") == "refresh_token" and state.refresh_failures:
            return web.Response(status=state.refresh_failures.pop(0), text="<html>busy</html>")
        if form.get("grant_type") == "refresh_token" and state.refuse_refresh:
            return web.json_response({"error": "invalid_grant"}, status=400)
        state.tokens_issued += 1
        body: dict[str, Any] = {
            "access_token": f"hostile-access-{state.tokens_issued}",
            "expires_in": state.expires_in,
            "token_type": "Bearer",
        }
        if state.refresh_token:
            body["refresh_token"] = f"{state.refresh_token}-{state.tokens_issued}"
        return web.json_response(body)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != "/connect/token":
            state.requests.append(request)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_post("/connect/token", token)
    return state, app


@pytest.fixture
async def run(
    server: tuple[Server, web.Application],
) -> AsyncIterator[RunClient]:
    """Start the server and return a client for it (``auth_path`` picks another token route)."""
    state, app = server
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def _run(auth_path: str = "/connect/token") -> SaltoKSClient:
        runner, state.url = await start_app(app)
        runners.append(runner)
        return SaltoKSClient(
            session,
            api_base=state.url,
            auth_url=f"{state.url}{auth_path}",
            client_id="hostile-client",
            client_secret=SECRET,
            username="user@example.com",
            password=PASSWORD,
            request_timeout=5,
        )

    yield _run
    await session.close()
    for runner in runners:
        await runner.cleanup()
