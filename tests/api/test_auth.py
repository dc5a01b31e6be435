"""api/auth.py: tokens against the identity server (cache, renewal, grants, the 401 renewal).

Only a refusal of the credentials is an AuthenticationError; everything else recovers or is a CommunicationError
(so Home Assistant retries instead of asking the user to re-authenticate)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory

from custom_components.salto_ks.api import (
    ApiNotEnabledError,
    AuthenticationError,
    CommunicationError,
    InvalidResponseError,
    RateLimitedError,
    SaltoKSClient,
    TokenRejectedError,
)
from simulator import Simulator

from .conftest import MakeClient, RunClient
from .hostile import PASSWORD, SECRET, Server


async def test_token_is_cached(salto_sim: Simulator, client: SaltoKSClient) -> None:
    await client.get_sites()
    await client.get_locks(salto_sim.site_id)
    await client.authenticate()
    assert salto_sim.counters["token"] == 1
    await client.authenticate(force=True)
    assert salto_sim.counters["token"] == 2


async def test_ten_concurrent_calls_share_one_token_request(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    results = await asyncio.gather(*(client.get_locks(salto_sim.site_id) for _ in range(10)))
    assert salto_sim.counters["token"] == 1
    assert salto_sim.counters["locks"] == 10
    assert all(r == results[0] for r in results)


async def test_expired_token_is_renewed_once_on_401(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    await client.get_sites()
    salto_sim.expire_tokens()
    salto_sim.reset_counters()
    sites = await client.get_sites()
    assert [s.id for s in sites] == [salto_sim.site_id]
    assert salto_sim.counters["sites"] == 2  # 401, then the retry
    assert salto_sim.counters["token"] == 1


async def test_concurrent_401s_share_one_renewal(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    await client.authenticate()
    salto_sim.expire_tokens()
    salto_sim.reset_counters()
    await asyncio.gather(*(client.get_iqs(salto_sim.site_id) for _ in range(10)))
    assert salto_sim.counters["token"] == 1
    assert salto_sim.counters["iqs"] == 20


async def test_token_renewed_before_expiry_with_short_lifetime(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    salto_sim.tenant.token_lifetime = 2  # renewed after half of it (margin min(60 s, lifetime/2))
    await client.get_sites()
    await client.get_sites()
    assert salto_sim.counters["token"] == 1
    await asyncio.sleep(1.1)
    await client.get_sites()
    assert salto_sim.counters["token"] == 2
    assert salto_sim.counters["sites"] == 3  # no 401 round trip


async def test_token_renewed_60s_before_expiry(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    await client.get_sites()
    freezer.tick(3600 - 61)
    await client.get_sites()
    assert salto_sim.counters["token"] == 1
    freezer.tick(2)
    await client.get_sites()
    assert salto_sim.counters["token"] == 2
    assert salto_sim.counters["sites"] == 3


async def test_password_grant_without_refresh_grant(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """A refused refresh token falls back to the password grant."""
    salto_sim.tenant.update(refresh_tokens=True)
    await client.authenticate()
    salto_sim.tenant.grants = {"password"}
    await client.authenticate(force=True)
    assert salto_sim.counters["token"] == 3  # refresh refused, then password
    assert (await client.get_sites())[0].id == salto_sim.site_id


async def test_without_refresh_token_renewal_uses_the_password_grant(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """The record's token response has no refresh token: a renewal is one password grant."""
    await client.get_sites()
    salto_sim.expire_tokens()
    salto_sim.reset_counters()
    assert len(await client.get_sites()) == 1
    assert salto_sim.counters == {"sites": 2, "token": 1}


async def test_client_credentials_grant(salto_sim: Simulator, make_client: MakeClient) -> None:
    salto_sim.tenant.grants = {"client_credentials"}
    client = make_client(username=None, password=None)
    await client.authenticate()
    assert salto_sim.counters["token"] == 1
    assert "client_credentials" in repr(client)
    # The Connect API needs a user: a client token is refused, once more after one renewal.
    with pytest.raises(TokenRejectedError):
        await client.get_sites()
    assert (salto_sim.counters["token"], salto_sim.counters["sites"]) == (2, 2)
    salto_sim.tenant.update(profile="legacy")  # the legacy driver's API accepts it
    assert [site.id for site in await client.get_sites()] == [salto_sim.site_id]


def test_username_without_password_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="together"):
        make_client(password=None)


async def test_wrong_password(salto_sim: Simulator, make_client: MakeClient) -> None:
    client = make_client(password="wrong-password-123")
    with pytest.raises(AuthenticationError) as err:
        await client.get_sites()
    assert err.value.error_code == "invalid_grant"
    assert err.value.status == 400
    assert salto_sim.counters.get("sites", 0) == 0


async def test_wrong_client_secret(make_client: MakeClient) -> None:
    client = make_client(client_secret="wrong-secret-456")
    with pytest.raises(AuthenticationError) as err:
        await client.authenticate()
    assert err.value.status == 400  # as IdentityServer answers it, also with HTTP Basic
    assert err.value.error_code == "invalid_client"


async def test_revoked_credentials_surface_as_authentication_error(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    await client.get_sites()
    salto_sim.set_credentials(password="a-new-password-789")
    salto_sim.expire_tokens()
    with pytest.raises(AuthenticationError):
        await client.get_sites()


@pytest.mark.parametrize(
    ("grants", "scopes", "code"),
    [
        ({"client_credentials"}, None, "unauthorized_client"),
        (None, {"openid"}, "invalid_scope"),
    ],
)
async def test_api_not_enabled(
    salto_sim: Simulator,
    client: SaltoKSClient,
    grants: set[str] | None,
    scopes: set[str] | None,
    code: str,
) -> None:
    if grants is not None:
        salto_sim.tenant.grants = grants
    if scopes is not None:
        salto_sim.tenant.scopes = scopes
    with pytest.raises(ApiNotEnabledError) as err:
        await client.authenticate()
    assert err.value.status == 400
    assert err.value.error_code == code
    assert "Connect API add-on is probably not enabled" in str(err.value)


@pytest.mark.parametrize("kind", ["500", "502", "503", "drop"])
async def test_token_endpoint_failures(
    salto_sim: Simulator, client: SaltoKSClient, kind: str
) -> None:
    salto_sim.inject_fault("token", kind, times=1)
    with pytest.raises(CommunicationError) as err:
        await client.authenticate()
    if kind != "drop":
        assert err.value.status == int(kind)
    await client.authenticate()  # the fault was one-shot
    assert salto_sim.counters["token"] == 2


async def test_token_endpoint_malformed(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """A broken token answer is a communication problem, not a credential one."""
    salto_sim.inject_fault("token", "malformed", times=1)
    with pytest.raises(InvalidResponseError, match="unusable token response") as err:
        await client.authenticate()
    assert isinstance(err.value, CommunicationError)
    assert not isinstance(err.value, AuthenticationError)


async def test_token_endpoint_rate_limited(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.inject_fault("token", "429", times=1, retry_after=12)
    with pytest.raises(RateLimitedError) as err:
        await client.authenticate()
    assert err.value.retry_after == 12.0


async def test_token_endpoint_timeout(salto_sim: Simulator, make_client: MakeClient) -> None:
    client = make_client(request_timeout=0.3)
    salto_sim.inject_fault("token", "timeout", times=1, delay=3)
    started = time.monotonic()
    with pytest.raises(CommunicationError, match="Timeout"):
        await client.authenticate()
    assert time.monotonic() - started < 2


async def test_invalidate_token(salto_sim: Simulator, client: SaltoKSClient) -> None:
    await client.authenticate()
    client.invalidate_token()
    await client.get_sites()
    assert salto_sim.counters["token"] == 2
    assert salto_sim.counters["sites"] == 1


async def test_revoked_refresh_token_falls_back_to_password(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    salto_sim.tenant.update(refresh_tokens=True)
    await client.get_sites()
    salto_sim.expire_tokens(refresh=True)
    salto_sim.reset_counters()
    assert len(await client.get_sites()) == 1
    assert salto_sim.counters["token"] == 2  # refresh refused, then the password grant
    assert salto_sim.counters["sites"] == 2


async def test_token_request_wire_format(server: Any, run: Any) -> None:
    state, _app = server
    client = await run()
    await client.authenticate()
    expected = base64.b64encode(f"hostile-client:{SECRET}".encode()).decode()
    assert state.auth_headers == [f"Basic {expected}"]
    assert state.forms == [
        {
            "grant_type": "password",
            "username": "user@example.com",
            "password": PASSWORD,
            "scope": "user_api.full_access",
        }
    ]


async def test_token_without_expiry_uses_default_lifetime(server: Any, run: Any) -> None:
    state, app = server

    async def sites(request: web.Request) -> web.Response:
        return web.json_response([])

    app.router.add_get("/v1.2/sites", sites)
    state.expires_in = 0
    client = await run()
    await client.get_sites()
    await client.get_sites()
    assert state.tokens_issued == 1


async def test_refresh_token_is_used_and_refusal_falls_back(server: Any, run: Any) -> None:
    state, app = server
    state.refresh_token = "hostile-refresh"

    async def sites(request: web.Request) -> web.Response:
        return web.json_response([])

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    await client.get_sites()
    assert state.forms[-1]["grant_type"] == "password"
    assert state.forms[-1]["scope"] == "user_api.full_access"

    await client.authenticate(force=True)
    assert state.forms[-1] == {"grant_type": "refresh_token", "refresh_token": "hostile-refresh-1"}

    state.refuse_refresh = True
    await client.authenticate(force=True)
    assert [f["grant_type"] for f in state.forms] == [
        "password",
        "refresh_token",
        "refresh_token",
        "password",
    ]
    assert state.forms[2]["refresh_token"] == "hostile-refresh-2"
    # After invalidate_token the refresh token is forgotten too.
    client.invalidate_token()
    state.refuse_refresh = False
    await client.authenticate()
    assert state.forms[-1]["grant_type"] == "password"


async def test_second_401_raises_token_rejected(server: Any, run: Any) -> None:
    state, app = server

    async def sites(request: web.Request) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    with pytest.raises(TokenRejectedError) as err:
        await client.get_sites()
    assert err.value.status == 401
    assert len(state.requests) == 2
    assert state.tokens_issued == 2
    assert [r.headers["Authorization"] for r in state.requests] == [
        "Bearer hostile-access-1",
        "Bearer hostile-access-2",
    ]


async def test_second_401_after_renewal(salto_sim: Simulator, client: SaltoKSClient) -> None:
    await client.get_sites()
    tokens_before = salto_sim.counters["token"]
    salto_sim.inject_fault("locks", "401", times=2)
    with pytest.raises(TokenRejectedError) as err:
        await client.get_locks(salto_sim.site_id)
    assert err.value.status == 401
    assert salto_sim.counters["token"] == tokens_before + 1  # renewed once, not in a loop
    assert salto_sim.counters["locks"] == 2
    assert len(await client.get_locks(salto_sim.site_id)) == 3


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
