"""The identity server's authorization-code flow: discovery, sign-in pages, PKCE, codes, refresh.

A raw aiohttp client follows the HTML forms as a browser would (redirects not followed, so the
302 to the redirect URI is read, not fetched).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from simulator import Simulator
from simulator.oidc import HA_REDIRECT_URI

from .conftest import Api, Clock, Reply

SCOPE = "user_api.full_access openid profile offline_access"
_HIDDEN = re.compile(r"name='request_id' value='([^']+)'")


def challenge_of(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def claims_of(jwt: str) -> dict[str, Any]:
    header, payload, signature = jwt.split(".")
    assert signature
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "HS256"
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


@dataclass
class Page:
    """A sign-in page: status, HTML text and the pending request it carries."""

    status: int
    text: str

    @property
    def request_id(self) -> str:
        found = _HIDDEN.search(self.text)
        assert found is not None, self.text
        return html.unescape(found.group(1))


class Browser:
    """Follows the authorize → login → consent forms with a plain aiohttp session."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.verifier = secrets.token_urlsafe(48)
        self.redirect_uri = HA_REDIRECT_URI
        self.state = secrets.token_urlsafe(16)

    def query(self, **overrides: str | None) -> dict[str, str]:
        query: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.sim.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": self.state,
            "code_challenge": challenge_of(self.verifier),
            "code_challenge_method": "S256",
        }
        query.update(overrides)
        return {k: v for k, v in query.items() if v is not None}

    async def authorize(self, **overrides: str | None) -> aiohttp.ClientResponse:
        async with self.session.get(
            self.sim.url + "/connect/authorize",
            params=self.query(**overrides),
            allow_redirects=False,
        ) as resp:
            await resp.read()
            return resp

    async def login_page(self, **overrides: str | None) -> Page:
        resp = await self.authorize(**overrides)
        return Page(resp.status, await resp.text())

    async def post(self, path: str, form: dict[str, str]) -> aiohttp.ClientResponse:
        async with self.session.post(self.sim.url + path, data=form, allow_redirects=False) as resp:
            await resp.read()
            return resp

    async def login(self, page: Page, password: str | None = None) -> Page:
        resp = await self.post(
            "/connect/authorize/login",
            {
                "request_id": page.request_id,
                "username": self.sim.username,
                "password": self.sim.password if password is None else password,
            },
        )
        return Page(resp.status, await resp.text())

    async def decide(self, page: Page, decision: str) -> dict[str, list[str]]:
        """Click allow/deny on the consent page; the redirect's query."""
        resp = await self.post(
            "/connect/authorize/consent", {"request_id": page.request_id, "decision": decision}
        )
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
        assert location.startswith(self.redirect_uri + "?")
        return parse_qs(urlsplit(location).query)

    async def code(self, **overrides: str | None) -> str:
        """The whole sign-in with the scenario's user; the authorization code."""
        page = await self.login_page(**overrides)
        consent = await self.login(page)
        answer = await self.decide(consent, "allow")
        assert answer["state"] == [self.state]
        return answer["code"][0]


@pytest.fixture
def browser(salto_sim: Simulator, session: aiohttp.ClientSession) -> Browser:
    return Browser(salto_sim, session)


def code_form(browser: Browser, code: str, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": browser.redirect_uri,
        "code_verifier": browser.verifier,
    }
    form.update(overrides)
    return form


def creds(sim: Simulator) -> tuple[str, str]:
    return (sim.client_id, sim.client_secret)


def error_of(reply: Reply) -> str:
    assert reply.status == 400, reply.text
    return str(reply.json()["error"])


async def test_discovery_document(api: Api, salto_sim: Simulator) -> None:
    async with api.session.get(salto_sim.url + "/.well-known/openid-configuration") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["issuer"] == salto_sim.url
    assert doc["authorization_endpoint"] == salto_sim.authorize_url
    assert salto_sim.credentials()["authorize_url"] == salto_sim.url + "/connect/authorize"
    assert doc["token_endpoint"] == salto_sim.auth_url
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token", "password"} <= set(doc["grant_types_supported"])
    assert set(SCOPE.split()) <= set(doc["scopes_supported"])


async def test_happy_path_basic_auth(browser: Browser, api: Api, salto_sim: Simulator) -> None:
    page = await browser.login_page()
    assert page.status == 200
    for element in ("id='username'", "id='password'", "id='login'"):
        assert element in page.text
    assert "action='/connect/authorize/login'" in page.text
    assert browser.verifier not in page.text
    consent = await browser.login(page)
    assert consent.status == 200
    assert "id='allow'" in consent.text
    assert "id='deny'" in consent.text
    assert "action='/connect/authorize/consent'" in consent.text
    assert salto_sim.password not in consent.text
    answer = await browser.decide(consent, "allow")
    assert answer["state"] == [browser.state]
    reply = await api.token_request(code_form(browser, answer["code"][0]), basic=creds(salto_sim))
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"]
    user = salto_sim.state.user_by_email(salto_sim.username)
    assert user is not None
    claims = claims_of(body["access_token"])
    assert claims["sub"] == claims["identity_id"] == user.id
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["iss"] == salto_sim.url
    assert claims_of(body["id_token"])["sub"] == user.id
    # The Connect API takes it as the user's token, as a password-grant token.
    sites = await api.get("/v1.2/sites", token=body["access_token"])
    assert sites.status == 200
    assert salto_sim.site_id in sites.text
    assert salto_sim.oidc.stats["codes_redeemed"] == 1


async def test_client_secret_in_the_form(browser: Browser, api: Api, salto_sim: Simulator) -> None:
    """Home Assistant's LocalOAuth2Implementation posts client_id/client_secret in the body."""
    code = await browser.code()
    form = code_form(
        browser, code, client_id=salto_sim.client_id, client_secret=salto_sim.client_secret
    )
    reply = await api.token_request(form)
    assert reply.status == 200, reply.text
    assert claims_of(reply.json()["access_token"])["client_id"] == salto_sim.client_id


async def test_wrong_client_secret_is_invalid_client(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    code = await browser.code()
    wrong = await api.token_request(code_form(browser, code), basic=(salto_sim.client_id, "x"))
    assert error_of(wrong) == "invalid_client"
    form = code_form(browser, code, client_id=salto_sim.client_id, client_secret="x")
    assert error_of(await api.token_request(form)) == "invalid_client"
    # Client authentication comes first: the code was not consumed by those attempts.
    good = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert good.status == 200


async def test_wrong_password_re_renders_the_login_page(
    browser: Browser, salto_sim: Simulator
) -> None:
    page = await browser.login_page()
    again = await browser.login(page, password="not-the-password")
    assert again.status == 200
    assert "Invalid username or password" in again.text
    assert "id='login'" in again.text
    assert "not-the-password" not in again.text
    assert again.request_id == page.request_id
    consent = await browser.login(again)
    assert "id='allow'" in consent.text
    assert salto_sim.oidc.stats["login_failures"] == 1


async def test_deny_redirects_with_access_denied(browser: Browser, salto_sim: Simulator) -> None:
    consent = await browser.login(await browser.login_page())
    answer = await browser.decide(consent, "deny")
    assert answer["error"] == ["access_denied"]
    assert answer["state"] == [browser.state]
    assert "code" not in answer
    assert salto_sim.oidc.codes == {}
    # The request is answered: its consent form cannot be posted again.
    resp = await browser.post(
        "/connect/authorize/consent", {"request_id": consent.request_id, "decision": "allow"}
    )
    assert resp.status == 400


async def test_consent_needs_a_signed_in_request(browser: Browser) -> None:
    page = await browser.login_page()
    resp = await browser.post(
        "/connect/authorize/consent", {"request_id": page.request_id, "decision": "allow"}
    )
    assert resp.status == 400
    assert "Location" not in resp.headers
    unknown = await browser.post(
        "/connect/authorize/login",
        {"request_id": "nope", "username": "a", "password": "b"},
    )
    assert unknown.status == 400


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_id": "someone-else"}, "unauthorized_client"),
        ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
        ({"redirect_uri": None}, "invalid_request"),
    ],
)
async def test_unknown_client_or_unregistered_redirect_is_an_error_page(
    browser: Browser, overrides: dict[str, str | None], error: str
) -> None:
    resp = await browser.authorize(**overrides)
    assert resp.status == 400
    assert "Location" not in resp.headers
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert "Sorry, there was an error" in text
    assert error in text
    assert "request_id" not in text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "user_api.full_access core_api.full"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
    ],
)
async def test_bad_request_redirects_with_an_error(
    browser: Browser, overrides: dict[str, str | None], error: str
) -> None:
    resp = await browser.authorize(**overrides)
    assert resp.status == 302
    location = resp.headers["Location"]
    assert location.startswith(browser.redirect_uri + "?")
    answer = parse_qs(urlsplit(location).query)
    assert answer["error"] == [error]
    assert answer["state"] == [browser.state]
    assert "code" not in answer


async def test_tenant_without_the_grant_refuses(browser: Browser, salto_sim: Simulator) -> None:
    salto_sim.tenant.grants.discard("authorization_code")
    resp = await browser.authorize()
    assert resp.status == 302
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["unauthorized_client"]


async def test_registered_redirect_uri_by_control_api(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    uri = "http://127.0.0.1:8123/auth/external/callback"
    listed = await api.control("GET", f"/clients/{salto_sim.client_id}")
    assert listed.json() == {"client_id": salto_sim.client_id, "redirect_uris": [HA_REDIRECT_URI]}
    browser.redirect_uri = uri
    assert (await browser.authorize()).status == 400
    added = await api.control("POST", f"/clients/{salto_sim.client_id}/redirect_uris", {"uri": uri})
    assert added.status == 200
    assert added.json()["redirect_uris"] == [HA_REDIRECT_URI, uri]
    code = await browser.code()
    reply = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert reply.status == 200
    # A code is bound to its redirect URI.
    other = await browser.code()
    wrong = code_form(browser, other, redirect_uri=HA_REDIRECT_URI)
    assert error_of(await api.token_request(wrong, basic=creds(salto_sim))) == "invalid_grant"
    bad = await api.control("POST", f"/clients/{salto_sim.client_id}/redirect_uris", {"uri": "x"})
    assert bad.status == 400
    missing = await api.control("GET", "/clients/nobody")
    assert missing.status == 404
    removed = await api.control(
        "DELETE", f"/clients/{salto_sim.client_id}/redirect_uris", {"uri": uri}
    )
    assert removed.json()["redirect_uris"] == [HA_REDIRECT_URI]


async def test_pkce_mismatch_and_missing_verifier(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    code = await browser.code()
    wrong = code_form(browser, code, code_verifier=secrets.token_urlsafe(48))
    assert error_of(await api.token_request(wrong, basic=creds(salto_sim))) == "invalid_grant"
    # The refused attempt consumed the code: the right verifier is too late now.
    late = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert error_of(late) == "invalid_grant"
    other = await browser.code()
    form = code_form(browser, other)
    del form["code_verifier"]
    assert error_of(await api.token_request(form, basic=creds(salto_sim))) == "invalid_grant"


async def test_code_is_one_time_and_reuse_revokes_its_tokens(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    code = await browser.code()
    first = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert first.status == 200
    tokens = first.json()
    again = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert error_of(again) == "invalid_grant"
    # RFC 6749 §4.1.2: the tokens issued for a code presented twice are revoked.
    assert (await api.get("/v1.2/sites", token=tokens["access_token"])).status == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert error_of(await api.token_request(refresh, basic=creds(salto_sim))) == "invalid_grant"


async def test_code_is_bound_to_its_client(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    salto_sim.clients["other-client"] = "other-secret"
    code = await browser.code()
    reply = await api.token_request(
        code_form(browser, code), basic=("other-client", "other-secret")
    )
    assert error_of(reply) == "invalid_grant"


async def test_code_expires(browser: Browser, api: Api, salto_sim: Simulator, clock: Clock) -> None:
    code = await browser.code()
    clock.advance(60)
    late = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert error_of(late) == "invalid_grant"
    salto_sim.tenant.update(code_lifetime=300)
    code = await browser.code()
    clock.advance(299)
    assert (await api.token_request(code_form(browser, code), basic=creds(salto_sim))).status == 200


async def test_no_refresh_token_without_offline_access(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    code = await browser.code(scope="user_api.full_access")
    reply = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert reply.status == 200
    body = reply.json()
    assert "refresh_token" not in body
    assert "id_token" not in body  # no openid scope
    assert body["scope"] == "user_api.full_access"
    assert salto_sim.tokens.refresh == {}


async def refresh(api: Api, sim: Simulator, token: str) -> Reply:
    return await api.token_request(
        {"grant_type": "refresh_token", "refresh_token": token}, basic=creds(sim)
    )


async def test_refresh_rotates_and_a_replay_revokes_the_chain(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    code = await browser.code()
    first = (await api.token_request(code_form(browser, code), basic=creds(salto_sim))).json()
    second = await refresh(api, salto_sim, first["refresh_token"])
    assert second.status == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert (
        claims_of(rotated["access_token"])["identity_id"]
        == claims_of(first["access_token"])["identity_id"]
    )
    third = (await refresh(api, salto_sim, rotated["refresh_token"])).json()
    # A second sign-in is another chain, untouched by the replay below.
    other_code = await browser.code()
    other = (await api.token_request(code_form(browser, other_code), basic=creds(salto_sim))).json()
    # The first refresh token again: a replay. The whole chain is revoked.
    replay = await refresh(api, salto_sim, first["refresh_token"])
    assert error_of(replay) == "invalid_grant"
    assert error_of(await refresh(api, salto_sim, third["refresh_token"])) == "invalid_grant"
    assert (await api.get("/v1.2/sites", token=third["access_token"])).status == 401
    assert salto_sim.oidc.stats["refresh_replays"] == 1
    assert (await refresh(api, salto_sim, other["refresh_token"])).status == 200


async def test_refresh_token_is_bound_to_its_client(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    salto_sim.clients["other-client"] = "other-secret"
    code = await browser.code()
    body = (await api.token_request(code_form(browser, code), basic=creds(salto_sim))).json()
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    stolen = await api.token_request(form, basic=("other-client", "other-secret"))
    assert error_of(stolen) == "invalid_grant"
    assert (await refresh(api, salto_sim, body["refresh_token"])).status == 200


async def test_revoke_refresh_tokens_by_control_api(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    code = await browser.code()
    body = (await api.token_request(code_form(browser, code), basic=creds(salto_sim))).json()
    revoked = await api.control("POST", "/tokens/revoke_refresh", {})
    assert revoked.json() == {"revoked": 1}
    assert error_of(await refresh(api, salto_sim, body["refresh_token"])) == "invalid_grant"
    # The access token lives on until it expires.
    assert (await api.get("/v1.2/sites", token=body["access_token"])).status == 200
    salto_sim.expire_tokens()
    assert (await api.get("/v1.2/sites", token=body["access_token"])).status == 401


async def test_authorize_faults_counters_and_token_faults(
    browser: Browser, api: Api, salto_sim: Simulator
) -> None:
    salto_sim.inject_fault("authorize", 503, times=1)
    assert (await browser.authorize()).status == 503
    code = await browser.code()
    assert salto_sim.counters["authorize"] == 4  # the faulted page, authorize, login, consent
    salto_sim.inject_fault("token", 429, times=1, retry_after=5)
    throttled = await api.token_request(code_form(browser, code), basic=creds(salto_sim))
    assert throttled.status == 429
    assert throttled.headers["Retry-After"] == "5"
    # A fault answers before the code is looked at: the code still works.
    assert (await api.token_request(code_form(browser, code), basic=creds(salto_sim))).status == 200
    stats = (await api.control("GET", "/oidc")).json()
    assert stats["stats"]["codes_issued"] == 1
    assert stats["clients"][salto_sim.client_id] == [HA_REDIRECT_URI]


async def test_password_grant_tokens_stay_opaque(api: Api, salto_sim: Simulator) -> None:
    token = await api.login()
    assert "." not in token
    assert salto_sim.tokens.access[token].jwt is False


async def test_no_secret_of_the_flow_is_logged(
    browser: Browser, api: Api, salto_sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The request log names method, path and status only: no code, token, verifier or password."""
    caplog.set_level(logging.DEBUG, logger="simulator")
    code = await browser.code()
    body = (await api.token_request(code_form(browser, code), basic=creds(salto_sim))).json()
    rotated = (await refresh(api, salto_sim, body["refresh_token"])).json()
    assert "/connect/authorize/consent 302" in caplog.text
    secrets_seen = [
        code,
        browser.verifier,
        browser.state,
        salto_sim.password,
        salto_sim.client_secret,
        body["access_token"],
        body["refresh_token"],
        rotated["refresh_token"],
    ]
    assert [value for value in secrets_seen if value in caplog.text] == []
