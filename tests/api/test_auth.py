"""Token handling against the simulator's identity server."""

from __future__ import annotations

import asyncio
import time

import pytest
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

from .conftest import MakeClient


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
