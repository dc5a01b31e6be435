"""Auth resilience: only a refusal of the credentials is an AuthenticationError; everything else recovers
or is a CommunicationError (so Home Assistant retries instead of asking the user to re-authenticate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    ApiNotEnabledError,
    AuthenticationError,
    CommunicationError,
    SaltoKSClient,
    TokenRejectedError,
)
from simulator import Simulator

from .conftest import MakeClient, RunClient
from .hostile import Server


async def test_401_with_a_valid_token_renews_once_and_retries_once(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    await client.get_sites()
    salto_sim.expire_tokens()  # the client still believes its token is valid
    salto_sim.reset_counters()
    assert [lock.name for lock in await client.get_locks(salto_sim.site_id)]
    assert salto_sim.counters == {"locks": 2, "token": 1}
    await client.get_iqs(salto_sim.site_id)  # the new token is kept
    assert salto_sim.counters == {"locks": 2, "token": 1, "iqs": 1}


async def test_401_then_success_on_a_hostile_server(
    server: tuple[Server, web.Application], run: RunClient
) -> None:
    state, app = server

    async def sites(request: web.Request) -> web.Response:
        if request.headers["Authorization"] == "Bearer hostile-access-1":
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        return web.json_response([])

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    assert await client.get_sites() == []
    assert state.tokens_issued == 2
    assert [r.headers["Authorization"] for r in state.requests] == [
        "Bearer hostile-access-1",
        "Bearer hostile-access-2",
    ]


@pytest.mark.parametrize("kind", ["500", "502", "503", "malformed", "drop", "timeout"])
@pytest.mark.parametrize("during", ["authenticate", "renewal after a 401"])
async def test_broken_token_endpoint_is_a_communication_error(
    salto_sim: Simulator, make_client: MakeClient, kind: str, during: str
) -> None:
    client = make_client(request_timeout=0.5)
    call: Callable[[], Awaitable[object]]
    if during == "authenticate":
        call = client.authenticate
    else:
        await client.get_sites()
        salto_sim.expire_tokens(refresh=True)
        call = client.get_sites
    salto_sim.inject_fault("token", kind, times=1, delay=2)
    with pytest.raises(CommunicationError) as err:
        await call()
    assert not isinstance(err.value, AuthenticationError | ApiNotEnabledError)
    await call()  # the fault was one-shot: the next attempt works


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, "<html>Sign in to the Wi-Fi</html>", "text/html"),
        (200, '{"token_type": "Bearer"}', "application/json"),
        (200, '{"access_token": "t", "expires_in": "soon"}', "application/json"),
        (200, "", "application/json"),
        (502, "<html><body>502 Bad Gateway</body></html>", "text/html"),
        (403, "<html>Request blocked by the firewall</html>", "text/html"),
        (404, "Not Found", "text/plain"),
        (408, "", "text/plain"),
    ],
)
async def test_odd_token_answers_are_communication_errors(
    server: tuple[Server, web.Application],
    run: RunClient,
    status: int,
    body: str,
    content_type: str,
) -> None:
    _state, app = server

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    app.router.add_post("/broken/token", broken)
    client = await run(auth_path="/broken/token")
    with pytest.raises(CommunicationError) as err:
        await client.authenticate()
    assert not isinstance(err.value, AuthenticationError)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant"}),
        (400, {"error": "invalid_client"}),
        (401, {"error": "invalid_client"}),
        (401, None),
    ],
)
async def test_only_refusals_are_authentication_errors(
    server: tuple[Server, web.Application], run: RunClient, status: int, body: object
) -> None:
    _state, app = server

    async def refuse(request: web.Request) -> web.Response:
        if body is None:
            return web.Response(status=status)
        return web.json_response(body, status=status)

    app.router.add_post("/refuse/token", refuse)
    client = await run(auth_path="/refuse/token")
    with pytest.raises(AuthenticationError) as err:
        await client.authenticate()
    assert not isinstance(err.value, TokenRejectedError)
    assert err.value.status == status


async def test_refused_refresh_falls_back_before_failing(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """Refresh refused, then the password grant: only its refusal is an AuthenticationError."""
    salto_sim.tenant.update(refresh_tokens=True)
    await client.get_sites()
    salto_sim.expire_tokens(refresh=True)
    salto_sim.set_credentials(password="changed-password-3c2b")
    salto_sim.reset_counters()
    with pytest.raises(AuthenticationError) as err:
        await client.get_sites()
    assert err.value.error_code == "invalid_grant"
    assert salto_sim.counters == {"sites": 1, "token": 2}  # the 401, refresh, password


async def test_refresh_lost_to_a_5xx_uses_the_primary_grant_next(
    server: tuple[Server, web.Application], run: RunClient
) -> None:
    state, _app = server
    state.refresh_token = "hostile-refresh"
    client = await run()
    await client.authenticate()
    # The refresh request fails (as behind a proxy): refresh tokens are one-time, so it is not reused.
    state.refresh_failures = [503]
    with pytest.raises(CommunicationError) as err:
        await client.authenticate(force=True)
    assert err.value.status == 503
    await client.authenticate()
    assert [form["grant_type"] for form in state.forms] == ["password", "refresh_token", "password"]


async def test_invalidate_token_then_one_fresh_token(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    await client.get_sites()
    client.invalidate_token()
    salto_sim.reset_counters()
    await client.get_sites()
    assert salto_sim.counters == {"token": 1, "sites": 1}
