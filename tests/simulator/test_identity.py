"""Identity server: grants, client authentication and every error."""

from __future__ import annotations

import pytest

from simulator import Simulator

from .conftest import Api, Clock


def password_form(sim: Simulator, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "username": sim.username,
        "password": sim.password,
        "scope": "user_api.full_access",
    }
    form.update(overrides)
    return form


async def test_password_grant_with_basic_auth(api: Api, salto_sim: Simulator) -> None:
    reply = await api.token_request(
        password_form(salto_sim), basic=(salto_sim.client_id, salto_sim.client_secret)
    )
    assert reply.status == 200
    body = reply.json()
    # As the record's token response: no refresh token unless the tenant issues them.
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "user_api.full_access"
    sites = await api.get("/v1.2/sites", token=body["access_token"])
    assert sites.status == 200


async def test_password_grant_with_form_client_credentials(api: Api, salto_sim: Simulator) -> None:
    form = password_form(
        salto_sim, client_id=salto_sim.client_id, client_secret=salto_sim.client_secret
    )
    reply = await api.token_request(form)
    assert reply.status == 200
    assert reply.json()["access_token"]


async def test_legacy_oauth2_token_path_and_scopes(api: Api, salto_sim: Simulator) -> None:
    form = password_form(salto_sim, scope="locks:read locks:write users:read audit:read")
    creds = (salto_sim.client_id, salto_sim.client_secret)
    unknown = await api.token_request(form, basic=creds, path="/oauth2/token")
    assert (unknown.status, unknown.text) == (404, "404: Not Found")  # the record has no such path
    assert "token" not in salto_sim.counters
    salto_sim.tenant.update(profile="legacy")
    legacy = await api.token_request(form, basic=creds, path="/oauth2/token")
    assert legacy.status == 200
    assert legacy.json()["scope"] == "locks:read locks:write users:read audit:read"
    modern = await api.token_request(form, basic=creds)
    assert modern.status == 400
    assert modern.json()["error"] == "invalid_scope"


async def test_client_credentials_only_when_enabled(api: Api, salto_sim: Simulator) -> None:
    form = {"grant_type": "client_credentials", "scope": "user_api.full_access"}
    creds = (salto_sim.client_id, salto_sim.client_secret)
    refused = await api.token_request(form, basic=creds)
    assert refused.status == 400
    assert refused.json()["error"] == "unauthorized_client"
    salto_sim.tenant.grants.add("client_credentials")
    granted = await api.token_request(form, basic=creds)
    assert granted.status == 200
    body = granted.json()
    assert "refresh_token" not in body
    # A token without a user is refused by the Connect API, except in the legacy profile.
    refused_api = await api.get(api.site("/locks"), token=body["access_token"])
    assert (refused_api.status, refused_api.text) == (401, "")
    salto_sim.tenant.update(profile="legacy")
    locks = await api.get(api.site("/locks"), token=body["access_token"])
    assert locks.status == 200
    assert len(locks.json()["items"]) == 3


async def test_refresh_token_rotates(api: Api, salto_sim: Simulator) -> None:
    salto_sim.tenant.update(refresh_tokens=True)
    creds = (salto_sim.client_id, salto_sim.client_secret)
    first = (await api.token_request(password_form(salto_sim), basic=creds)).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await api.token_request(form, basic=creds)
    assert second.status == 200
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert (await api.get("/v1.2/sites", token=body["access_token"])).status == 200
    reused = await api.token_request(form, basic=creds)
    assert reused.status == 400
    assert reused.json()["error"] == "invalid_grant"
    salto_sim.tenant.grants.discard("refresh_token")
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    disabled = await api.token_request(form, basic=creds)
    assert disabled.json()["error"] == "unauthorized_client"


async def test_no_refresh_token_by_default(api: Api, salto_sim: Simulator) -> None:
    """The password grant issues no refresh token; a refresh grant then has nothing to use."""
    creds = (salto_sim.client_id, salto_sim.client_secret)
    body = (await api.token_request(password_form(salto_sim), basic=creds)).json()
    assert "refresh_token" not in body
    assert salto_sim.tokens.refresh == {}
    form = {"grant_type": "refresh_token", "refresh_token": "anything"}
    refused = await api.token_request(form, basic=creds)
    assert (refused.status, refused.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("form_overrides", "basic_ok", "status", "error"),
    [
        ({"password": "wrong"}, True, 400, "invalid_grant"),
        ({"username": "nobody@example.com"}, True, 400, "invalid_grant"),
        ({}, False, 400, "invalid_client"),  # IdentityServer: 400 also with HTTP Basic
        ({"grant_type": "magic"}, True, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, True, 400, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, True, 400, "invalid_grant"),  # no such code
        ({"scope": "core_api.full"}, True, 400, "invalid_scope"),
    ],
)
async def test_identity_errors(  # noqa: PLR0917  (pytest passes fixtures and parameters)
    api: Api,
    salto_sim: Simulator,
    form_overrides: dict[str, str],
    basic_ok: bool,
    status: int,
    error: str,
) -> None:
    secret = salto_sim.client_secret if basic_ok else "not-the-secret"
    reply = await api.token_request(
        password_form(salto_sim, **form_overrides), basic=(salto_sim.client_id, secret)
    )
    assert reply.status == status
    body = reply.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)


async def test_wrong_form_client_secret_is_400(api: Api, salto_sim: Simulator) -> None:
    reply = await api.token_request(
        password_form(salto_sim, client_id=salto_sim.client_id, client_secret="nope")
    )
    assert reply.status == 400
    assert reply.json()["error"] == "invalid_client"
    missing = await api.token_request(password_form(salto_sim))
    assert missing.status == 400
    assert missing.json()["error"] == "invalid_client"


async def test_unknown_and_missing_bearer_is_401_empty(api: Api) -> None:
    unknown = await api.get("/v1.2/sites", token="not-a-token")
    assert unknown.status == 401
    assert unknown.text == ""
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    async with api.session.get(api.sim.url + "/v1.2/sites") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert await resp.text() == ""


async def test_token_expires_with_the_clock(api: Api, salto_sim: Simulator, clock: Clock) -> None:
    salto_sim.tenant.token_lifetime = 60
    token = await api.login()
    assert (await api.get("/v1.2/sites", token=token)).status == 200
    clock.advance(59)
    assert (await api.get("/v1.2/sites", token=token)).status == 200
    clock.advance(1)
    expired = await api.get("/v1.2/sites", token=token)
    assert expired.status == 401
    assert expired.text == ""
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


async def test_expire_tokens_and_set_credentials(api: Api, salto_sim: Simulator) -> None:
    token = await api.login()
    salto_sim.expire_tokens()
    assert (await api.get("/v1.2/sites", token=token)).status == 401
    token = await api.login()
    old_secret, old_password = salto_sim.client_secret, salto_sim.password
    salto_sim.set_credentials(client_secret="new-secret")
    assert (await api.get("/v1.2/sites", token=token)).status == 401
    refused = await api.token_request(
        password_form(salto_sim), basic=(salto_sim.client_id, old_secret)
    )
    assert refused.status == 400
    assert refused.json()["error"] == "invalid_client"
    await api.login()  # the new secret works
    salto_sim.set_credentials(password="new-password")
    refused = await api.token_request(
        password_form(salto_sim, password=old_password),
        basic=(salto_sim.client_id, salto_sim.client_secret),
    )
    assert refused.json()["error"] == "invalid_grant"
    assert salto_sim.password == "new-password"
    await api.login()
