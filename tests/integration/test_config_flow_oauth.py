"""Salto-account sign-in (OAuth2 authorization code + PKCE, application credentials) against the simulator.

The test plays the browser: it opens the authorize URL of HA's external step on the simulator,
posts the login and consent forms, and hands the redirect's query to HA's own callback view
(``/auth/external/callback``), as the user's browser would. Nothing of the OAuth exchange is mocked.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import ClientResponseError, RequestInfo, web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_UNLOCK
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import ATTR_CODE, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.setup import async_setup_component
from multidict import CIMultiDict, CIMultiDictProxy
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator
from yarl import URL

from custom_components.salto_ks import flow_base, stream
from custom_components.salto_ks.api import (
    AuthenticationError,
    CommunicationError,
    RateLimitedError,
)
from custom_components.salto_ks.const import (
    AUTH_OAUTH,
    CONF_ACCOUNT,
    CONF_API_BASE,
    CONF_AUTH_METHOD,
    CONF_AUTH_URL,
    CONF_AUTHORIZE_URL,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_STREAM,
    CONF_MANAGE_GUESTS,
    CONF_PASSWORD,
    CONF_SITE_ID,
    DEFAULT_STATUS_INTERVAL,
    DOMAIN,
    ENDPOINT_ACCEPT,
    ENDPOINT_CUSTOM,
    ENDPOINT_PRODUCTION,
)
from custom_components.salto_ks.errors import AUTH_REFUSAL_GRACE
from custom_components.salto_ks.oauth import (
    OAUTH_SCOPE,
    SaltoOAuth2Implementation,
    token_request_error,
    token_subject,
)
from simulator import Simulator

from .conftest import async_refresh_roster, lock_entity_id, reauth_flows, tick

REDIRECT_URI = "https://example.com/auth/external/callback"  # HA's, with current_request_with_host
_REQUEST_ID = re.compile(r"name='request_id' value='([^']+)'")


def _failure_key(entry: ConfigEntry) -> str | None:
    """The translation key of the roster's last failed poll."""
    roster = entry.runtime_data.roster
    assert not roster.last_update_success
    return roster.last_exception.translation_key  # type: ignore[no-any-return]


def basic_auth(client_id: str, secret: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
async def sim(
    hass: HomeAssistant, salto_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> Simulator:
    """The simulator as every preset, Home Assistant's callback registered, one application credential."""
    for endpoint in (ENDPOINT_PRODUCTION, ENDPOINT_ACCEPT):
        monkeypatch.setitem(
            flow_base.PRESET_ENDPOINTS, endpoint, (salto_sim.api_base, salto_sim.auth_url)
        )
        monkeypatch.setitem(stream.STREAM_PRESETS, endpoint, salto_sim.url)
    salto_sim.register_redirect_uri(salto_sim.client_id, REDIRECT_URI)
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass,
        DOMAIN,
        ClientCredential(salto_sim.client_id, salto_sim.client_secret, "Salto KS test"),
        "salto_cred",
    )
    return salto_sim


@pytest.fixture
async def browser(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """The user's browser (no redirects followed: the test reads each Location)."""
    async with aiohttp.ClientSession() as session:
        yield session


async def sign_in(
    browser: aiohttp.ClientSession,
    url: str,
    email: str,
    password: str,
    *,
    decision: str = "allow",
) -> dict[str, str]:
    """Log in and answer the consent page on the simulator; the redirect's query."""
    base = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    async with browser.get(url, allow_redirects=False) as resp:
        assert resp.status == 200, await resp.text()
        page = await resp.text()
    form = {"request_id": _REQUEST_ID.findall(page)[0], "username": email, "password": password}
    async with browser.post(f"{base}/connect/authorize/login", data=form) as resp:
        page = await resp.text()
    choice = {"request_id": _REQUEST_ID.findall(page)[0], "decision": decision}
    async with browser.post(
        f"{base}/connect/authorize/consent", data=choice, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def start_oauth(hass: HomeAssistant, endpoint: str = ENDPOINT_PRODUCTION) -> dict[str, Any]:
    """Menu → Salto account → endpoint: HA's external step (the login page's URL)."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["oauth", "ks_user", "api_client"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oauth"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "oauth"
    return dict(
        await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_ENDPOINT: endpoint})
    )


async def callback(
    hass_client_no_auth: ClientSessionGenerator, query: dict[str, str]
) -> tuple[int, str]:
    """The browser lands on Home Assistant's OAuth callback."""
    client = await hass_client_no_auth()
    resp = await client.get(f"/auth/external/callback?{urlencode(query)}")
    return resp.status, await resp.text()


async def add_oauth_entry(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> Any:
    """A Salto-account entry set up through the whole flow."""
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    assert (await callback(hass_client_no_auth, query))[0] == 200
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


async def start_entry_flow(hass: HomeAssistant, entry: ConfigEntry, source: str) -> Any:
    """Start a reauth or reconfigure flow of ``entry`` (what the UI does)."""
    data = entry.data if source == SOURCE_REAUTH else None
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": source, "entry_id": entry.entry_id}, data=data
    )


def expire_stored_token(hass: HomeAssistant, entry: Any) -> None:
    """Make HA's OAuth2 session see the stored access token as expired."""
    token = {**entry.data["token"], "expires_at": time.time() - 10}
    hass.config_entries.async_update_entry(entry, data={**entry.data, "token": token})


async def refresh_outside(
    browser: aiohttp.ClientSession, sim: Simulator, refresh_token: str
) -> int:
    """Use a refresh token outside Home Assistant (as a restored copy of HA would); the status."""
    async with browser.post(
        sim.auth_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={"Authorization": basic_auth(sim.client_id, sim.client_secret)},
    ) as resp:
        await resp.read()
        return resp.status


# ---- happy path --------------------------------------------------------------------------


@pytest.mark.usefixtures("current_request_with_host")
async def test_sign_in_creates_one_entry_per_site(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Login page, consent, callback: an entry for the site with the token; the integration loads."""
    result = await start_oauth(hass)
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    authorize = urlsplit(result["url"])
    params = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == (
        sim.url + "/connect/authorize"
    )
    assert params["client_id"] == sim.client_id
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == OAUTH_SCOPE
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert sim.client_secret not in result["url"]

    query = await sign_in(browser, result["url"], sim.username, sim.password)
    status, _ = await callback(hass_client_no_auth, query)
    assert status == 200
    sim.reset_counters()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == sim.site_id
    assert entry.title == sim.state.sites[sim.site_id].name
    data = entry.data
    assert data[CONF_AUTH_METHOD] == AUTH_OAUTH
    assert data["auth_implementation"] == "salto_cred"
    assert data[CONF_SITE_ID] == sim.site_id
    assert data[CONF_API_BASE] == sim.api_base
    assert data[CONF_AUTH_URL] == sim.auth_url
    assert data[CONF_AUTHORIZE_URL] == sim.url + "/connect/authorize"
    assert data["token"]["refresh_token"]
    assert data[CONF_ACCOUNT] == token_subject(data["token"]["access_token"])
    assert data[CONF_ACCOUNT] is not None
    assert CONF_CLIENT_SECRET not in data  # kept by application credentials only
    assert CONF_PASSWORD not in data
    assert sim.counters["token"] == 1  # the authorization code, redeemed once
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The event stream signs in with the same token source as the API calls.
    for _ in range(50):
        stream_sensor = hass.states.get("binary_sensor.salto_sim_office_event_stream")
        if stream_sensor is not None and stream_sensor.state == "on":
            break
        await asyncio.sleep(0.1)
    assert stream_sensor is not None
    assert stream_sensor.state == "on"

    # The same site again: one entry per site.
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.usefixtures("current_request_with_host")
async def test_custom_endpoint_derives_or_takes_the_authorize_url(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Custom URLs: the authorize URL next to …/connect/token, else it must be entered."""
    result = await start_oauth(hass, ENDPOINT_CUSTOM)
    assert result["step_id"] == "custom_endpoint"
    assert CONF_AUTHORIZE_URL in {str(key) for key in result["data_schema"].schema}
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_API_BASE: sim.api_base, CONF_AUTH_URL: sim.url + "/oauth2/token"}
    )
    assert result["errors"] == {CONF_AUTHORIZE_URL: "authorize_url_required"}
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_API_BASE: sim.api_base,
            CONF_AUTH_URL: sim.auth_url,
            CONF_AUTHORIZE_URL: "http://10.0.0.1/connect/authorize",
        },
    )
    assert result["errors"] == {CONF_AUTHORIZE_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_API_BASE: sim.api_base, CONF_AUTH_URL: sim.auth_url}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert result["url"].startswith(sim.url + "/connect/authorize?")
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ENDPOINT] == ENDPOINT_CUSTOM


@pytest.mark.usefixtures("current_request_with_host")
async def test_custom_endpoint_takes_an_entered_authorize_url(
    hass: HomeAssistant, sim: Simulator
) -> None:
    """A token URL that is not IdentityServer's: the entered authorize URL is where the user signs in."""
    result = await start_oauth(hass, ENDPOINT_CUSTOM)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_API_BASE: sim.api_base,
            CONF_AUTH_URL: sim.url + "/oauth2/token",
            CONF_AUTHORIZE_URL: f" {sim.url}/connect/authorize ",
        },
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert result["url"].startswith(sim.url + "/connect/authorize?")


@pytest.mark.usefixtures("current_request_with_host")
async def test_an_implementation_that_is_not_salto_s_is_refused(
    hass: HomeAssistant, sim: Simulator
) -> None:
    """Several implementations: the picker names each; one that is not this integration's aborts."""
    other = config_entry_oauth2_flow.LocalOAuth2Implementation(
        hass, "other", "id", "secret", "https://example.com/authorize", "https://example.com/token"
    )
    config_entry_oauth2_flow.async_register_implementation(hass, DOMAIN, other)
    result = await start_oauth(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pick_implementation"
    names = {option["label"] for option in _picker_options(result)}
    assert names >= {"Salto KS test", other.name}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"implementation": "other"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "oauth_implementation_unsupported"


def _picker_options(result: dict[str, Any]) -> list[dict[str, str]]:
    """The implementations HA's pick_implementation form offers (value and label)."""
    selector = result["data_schema"].schema["implementation"]
    container = getattr(selector, "container", None)
    if isinstance(container, dict):
        return [{"value": key, "label": label} for key, label in container.items()]
    return [{"value": key, "label": key} for key in container or ()]


async def test_without_application_credentials_the_flow_asks_for_them(
    hass: HomeAssistant, salto_sim: Simulator, current_request_with_host: None
) -> None:
    """No credential yet: HA's missing_credentials (the frontend then offers to add one)."""
    assert await async_setup_component(hass, "application_credentials", {})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oauth"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: ENDPOINT_PRODUCTION}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "missing_credentials"


# ---- what goes wrong on the way ----------------------------------------------------------


@pytest.mark.usefixtures("current_request_with_host")
async def test_wrong_state_is_refused_by_the_callback(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A forged state: HA's callback answers 400, the flow stays at the external step."""
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    status, _ = await callback(hass_client_no_auth, {**query, "state": query["state"] + "x"})
    assert status == 400
    progress = [
        flow for flow in hass.config_entries.flow.async_progress() if flow["handler"] == DOMAIN
    ]
    assert [flow["step_id"] for flow in progress] == ["auth"]
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host")
async def test_pkce_mismatch_is_refused(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A login started with another code challenge: the code does not redeem with HA's verifier."""
    result = await start_oauth(hass)
    parts = urlsplit(result["url"])
    params = {key: values[0] for key, values in parse_qs(parts.query).items()}
    params["code_challenge"] = "A" * 43
    tampered = parts._replace(query=urlencode(params)).geturl()
    query = await sign_in(browser, tampered, sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "oauth_failed"
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host")
async def test_unregistered_redirect_uri_gets_the_error_page(
    hass: HomeAssistant, sim: Simulator, browser: aiohttp.ClientSession
) -> None:
    """Salto never redirects to a URI it does not know: an HTML error page, the flow goes nowhere."""
    sim.unregister_redirect_uri(sim.client_id, REDIRECT_URI)
    result = await start_oauth(hass)
    async with browser.get(result["url"], allow_redirects=False) as resp:
        assert resp.status == 400
        assert "Location" not in resp.headers
        assert "redirect_uri" in await resp.text()
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host")
async def test_refused_consent_aborts(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Deny on the consent page: access_denied comes back, the flow aborts and names it."""
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password, decision="deny")
    assert query["error"] == "access_denied"
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "user_rejected_authorize"
    assert result["description_placeholders"] == {"error": "access_denied"}


@pytest.mark.usefixtures("current_request_with_host")
async def test_refused_scope_aborts_naming_it(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A scope the client may not ask for: Salto redirects back with invalid_scope, no login page;
    the flow aborts and names the error (the README's troubleshooting row)."""
    result = await start_oauth(hass)
    parts = urlsplit(result["url"])
    params = {key: values[0] for key, values in parse_qs(parts.query).items()}
    params["scope"] = "user_api.full_access not_a_scope"
    async with browser.get(
        parts._replace(query=urlencode(params)).geturl(), allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert query["error"] == "invalid_scope"
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "user_rejected_authorize"
    assert result["description_placeholders"] == {"error": "invalid_scope"}
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize("kind", ["500", "503", "429"])
@pytest.mark.usefixtures("current_request_with_host")
async def test_token_endpoint_failure_aborts(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    kind: str,
) -> None:
    """5xx or 429 while redeeming the code: oauth_failed, no entry, the secret nowhere in the result."""
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    sim.inject_fault("token", kind, times=1, retry_after=5)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "oauth_failed"
    assert sim.client_secret not in str(result)
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host")
async def test_no_secret_or_token_in_the_log(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sign-in, setup and a refresh log neither the client secret nor a token."""
    caplog.set_level("DEBUG")
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    first = dict(entry.data["token"])
    expire_stored_token(hass, entry)
    await async_refresh_roster(hass, entry)
    secrets = (
        sim.client_secret,
        first["access_token"],
        first["refresh_token"],
        entry.data["token"]["access_token"],
        entry.data["token"]["refresh_token"],
    )
    for secret in secrets:
        assert secret not in caplog.text


async def test_token_request_authenticates_with_http_basic(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """The client secret goes in the Authorization header (as Salto documents), never in the body."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def token(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Authorization", ""), dict(await request.post())))
        return web.json_response({"access_token": "a.b.c", "expires_in": 60, "refresh_token": "r2"})

    app = web.Application()
    app.router.add_post("/connect/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        impl = SaltoOAuth2Implementation(
            hass,
            "cred",
            client_id="my client",
            client_secret="s3cr:t",
            authorize_url=f"http://127.0.0.1:{port}/connect/authorize",
            token_url=f"http://127.0.0.1:{port}/connect/token",
        )
        new = await impl.async_refresh_token({"refresh_token": "r1", "access_token": "old"})
    finally:
        await runner.cleanup()
    assert new["refresh_token"] == "r2"
    assert new["access_token"] == "a.b.c"
    header, form = seen[0]
    assert header == "Basic " + base64.b64encode(b"my%20client:s3cr%3At").decode()
    assert form == {"grant_type": "refresh_token", "refresh_token": "r1"}


async def test_refresh_without_expires_in_is_transient(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A 200 without a usable expires_in: a transient client error on every HA version."""

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "a.b.c", "refresh_token": "r2"})

    app = web.Application()
    app.router.add_post("/connect/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        impl = SaltoOAuth2Implementation(
            hass,
            "cred",
            client_id="id",
            client_secret="secret",
            authorize_url=f"http://127.0.0.1:{port}/connect/authorize",
            token_url=f"http://127.0.0.1:{port}/connect/token",
        )
        with pytest.raises(CommunicationError):
            await impl.async_refresh_token({"refresh_token": "r1", "access_token": "old"})
    finally:
        await runner.cleanup()


def test_refresh_errors_map_to_client_errors() -> None:
    """4xx: sign in again; 429 with its Retry-After and 5xx: transient."""
    info = RequestInfo(URL("https://x/connect/token"), "POST", CIMultiDictProxy(CIMultiDict()))
    refused = token_request_error(
        ClientResponseError(info, (), status=400, message="invalid_grant")
    )
    assert isinstance(refused, AuthenticationError)
    assert refused.error_code == "invalid_grant"
    limited = token_request_error(
        ClientResponseError(
            info,
            (),
            status=429,
            message="",
            headers=CIMultiDictProxy(CIMultiDict({"Retry-After": "7"})),
        )
    )
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after == 7
    assert isinstance(
        token_request_error(ClientResponseError(info, (), status=502, message="")),
        CommunicationError,
    )
    assert isinstance(token_request_error(TimeoutError()), CommunicationError)


@pytest.mark.parametrize(
    "token",
    [
        "opaque-token",
        "a.b",
        "header.!!!.signature",
        "header." + base64.urlsafe_b64encode(b"[1, 2]").decode().rstrip("=") + ".signature",
        "header." + base64.urlsafe_b64encode(b'{"sub": ""}').decode().rstrip("=") + ".signature",
        "header." + base64.urlsafe_b64encode(b'{"sub": 7}').decode().rstrip("=") + ".signature",
    ],
)
def test_a_token_without_a_subject_names_no_account(token: str) -> None:
    """Only a JWT with a string ``sub`` names the account that reauth must match."""
    assert token_subject(token) is None


async def test_the_credential_form_says_where_to_register(
    hass: HomeAssistant, sim: Simulator, hass_ws_client: WebSocketGenerator
) -> None:
    """Application credentials' form names the redirect URI to register with Salto and the README."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "application_credentials/config"})
    msg = await client.receive_json()
    assert msg["success"], msg
    assert DOMAIN in msg["result"]["domains"]
    placeholders = msg["result"]["integrations"][DOMAIN]["description_placeholders"]
    assert placeholders["redirect_uri"] == "https://my.home-assistant.io/redirect/oauth"
    assert placeholders["more_info_url"].startswith("https://")


# ---- refresh tokens ----------------------------------------------------------------------


@pytest.mark.usefixtures("current_request_with_host")
async def test_rotated_refresh_token_is_stored_at_once_and_survives_a_restart(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Each refresh rotates the refresh token; the newest is in the entry before the poll ends,
    and after a reload (a restart) the stored one is the one that works."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    first = entry.data["token"]["refresh_token"]
    expire_stored_token(hass, entry)
    await async_refresh_roster(hass, entry)
    second = entry.data["token"]["refresh_token"]
    assert second != first
    assert entry.data["token"]["expires_at"] > time.time()
    assert sim.oidc.stats["refresh_rotations"] == 1
    assert entry.runtime_data.roster.last_update_success

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    expire_stored_token(hass, entry)
    await async_refresh_roster(hass, entry)
    third = entry.data["token"]["refresh_token"]
    assert third not in (first, second)
    assert sim.oidc.stats["refresh_rotations"] == 2
    assert entry.runtime_data.roster.last_update_success
    assert not [f for f in hass.config_entries.flow.async_progress() if f["handler"] == DOMAIN]


@pytest.mark.usefixtures("current_request_with_host")
async def test_api_401_forces_one_refresh(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The API stops accepting the (unexpired) token: HA's session refreshes once and the poll works."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    before = entry.data["token"]["refresh_token"]
    sim.expire_tokens()
    await async_refresh_roster(hass, entry)
    assert entry.runtime_data.roster.last_update_success
    assert entry.data["token"]["refresh_token"] != before
    assert sim.oidc.stats["refresh_rotations"] == 1


@pytest.mark.usefixtures("current_request_with_host")
async def test_replayed_refresh_token_starts_reauth(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Someone else used the entry's refresh token first: Salto revokes the chain, HA asks to sign in."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    assert await refresh_outside(browser, sim, entry.data["token"]["refresh_token"]) == 200
    expire_stored_token(hass, entry)
    await async_refresh_roster(hass, entry)
    await hass.async_block_till_done()
    assert sim.oidc.stats["refresh_replays"] == 1
    assert not entry.runtime_data.roster.last_update_success
    flows = [f for f in hass.config_entries.flow.async_progress() if f["handler"] == DOMAIN]
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]
    assert flows[0]["step_id"] == "reauth_oauth"


@pytest.mark.parametrize("kind", ["500", "429", "malformed"])
@pytest.mark.usefixtures("current_request_with_host")
async def test_transient_refresh_failure_keeps_the_entry(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    kind: str,
) -> None:
    """5xx, 429 or an unusable answer while refreshing: the poll fails, no reauth, the refresh token is
    kept and works later."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    before = entry.data["token"]["refresh_token"]
    expire_stored_token(hass, entry)
    sim.inject_fault("token", kind, times=1, retry_after=1)
    await async_refresh_roster(hass, entry)
    assert not entry.runtime_data.roster.last_update_success
    assert entry.data["token"]["refresh_token"] == before
    assert not [f for f in hass.config_entries.flow.async_progress() if f["handler"] == DOMAIN]
    if kind == "429":
        remaining = entry.runtime_data.client.retry_after_remaining()
        assert remaining is not None
        assert remaining <= 1
        await asyncio.sleep(1.1)
    await async_refresh_roster(hass, entry)
    assert entry.runtime_data.roster.last_update_success
    assert entry.data["token"]["refresh_token"] != before


# ---- reauth and reconfigure --------------------------------------------------------------


@pytest.mark.usefixtures("current_request_with_host")
async def test_reauth_signs_in_again_with_the_same_account(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Reauth: a confirm form, Salto's login page, a new token in the same entry."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    old = entry.data["token"]["refresh_token"]
    result = await start_entry_flow(hass, entry, SOURCE_REAUTH)
    assert result["step_id"] == "reauth_oauth"
    assert result["description_placeholders"] == {"name": entry.title}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["token"]["refresh_token"] != old
    assert entry.data[CONF_SITE_ID] == sim.site_id
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("current_request_with_host")
async def test_reauth_with_another_account_is_refused(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Another Salto account (another JWT sub) on the login page: wrong_account, the entry unchanged."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    token_before = dict(entry.data["token"])
    sim.add_user(
        first_name="Other",
        last_name="Admin",
        email="other-admin@example.com",
        password="other-admin-pass",
        roles=("site_admin",),
    )
    result = await start_entry_flow(hass, entry, SOURCE_REAUTH)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    query = await sign_in(browser, result["url"], "other-admin@example.com", "other-admin-pass")
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert result["description_placeholders"] == {"site": entry.title}
    assert entry.data["token"] == token_before


@pytest.mark.usefixtures("current_request_with_host")
@pytest.mark.parametrize(
    ("kind", "reason"),
    [("503", "cannot_connect"), ("429", "rate_limited"), ("401", "token_rejected")],
)
async def test_sites_failing_after_the_sign_in_abort(
    hass: HomeAssistant,
    *,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    kind: str,
    reason: str,
) -> None:
    """Salto's token is good but the site list fails: no form can fix that, so the flow aborts (a
    401 cannot be cured by a refresh either: the sign-in's token is all the flow has)."""
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    sim.inject_fault("sites", kind, times=1, retry_after=30)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    if reason == "rate_limited":
        assert 25 <= int(result["description_placeholders"]["seconds"]) <= 30
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host")
async def test_a_removed_credential_starts_reauth_that_picks_another(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The entry's application credential is gone: setup asks for reauth, which signs in with the
    credential there is, and the entry loads again."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "auth_implementation": "salto_ks_removed"}
    )
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["reauth_oauth"]
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["auth_implementation"] == "salto_cred"
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("current_request_with_host")
async def test_reconfigure_oauth_entry(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Reconfigure: choose the endpoint again and sign in; the site must stay visible."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    result = await start_entry_flow(hass, entry, SOURCE_RECONFIGURE)
    assert result["step_id"] == "oauth"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: ENDPOINT_ACCEPT}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_ENDPOINT] == ENDPOINT_ACCEPT
    assert entry.data[CONF_AUTH_METHOD] == AUTH_OAUTH

    # An account that cannot see the entry's site: wrong_site.
    other = sim.add_site("Other site", site_uid="DE0000000099")
    sim.add_user(
        other,
        first_name="Else",
        last_name="Where",
        email="elsewhere@example.com",
        password="elsewhere-pass",
        roles=("site_admin",),
    )
    result = await start_entry_flow(hass, entry, SOURCE_RECONFIGURE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: ENDPOINT_PRODUCTION}
    )
    query = await sign_in(browser, result["url"], "elsewhere@example.com", "elsewhere-pass")
    await callback(hass_client_no_auth, query)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_site"
    assert entry.data[CONF_ENDPOINT] == ENDPOINT_ACCEPT


@pytest.mark.usefixtures("current_request_with_host")
async def test_diagnostics_and_states_hold_no_token(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """An OAuth entry's diagnostics and entity states name no token or refresh token."""
    assert await async_setup_component(hass, "diagnostics", {})  # before HTTP freezes its routes
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    expire_stored_token(hass, entry)
    await async_refresh_roster(hass, entry)  # a rotated refresh token exists too
    dump = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    states = json.dumps([state.as_dict() for state in hass.states.async_all()], default=str)
    secrets = [*sim.tokens.access, *sim.tokens.refresh, sim.client_secret]
    assert len(secrets) > 3
    for secret in secrets:
        assert secret not in dump, secret[:8]
        assert secret not in states, secret[:8]
    # The account is a user id (access-log rows name it too); the entry's copy is redacted.
    assert json.loads(dump)["entry"]["data"][CONF_ACCOUNT] == "**REDACTED**"


@pytest.mark.usefixtures("current_request_with_host")
async def test_refresh_token_action_refreshes_an_oauth_entry(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """salto_ks.refresh_token on an OAuth entry: one refresh through HA's session, stored at once."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    before = entry.data["token"]["refresh_token"]
    await hass.services.async_call(
        DOMAIN, "refresh_token", {"config_entry_id": entry.entry_id}, blocking=True
    )
    assert sim.oidc.stats["refresh_rotations"] == 1
    assert entry.data["token"]["refresh_token"] != before


# ---- the same behaviour on every Home Assistant version ----------------------------------


@pytest.mark.usefixtures("current_request_with_host")
async def test_refused_refresh_right_after_a_glitch_waits_for_the_grace(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A refused refresh token right after a token-endpoint 503 is not trusted yet (no reauth, the
    integration's grace decides, not HA's OAuth2 session); still refused after the grace: reauth."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    # The roster alone polls (no stream task, no access-log poll between the clock's jumps).
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_EVENT_STREAM: False, "event_poll_interval": 0}
    )
    await hass.async_block_till_done()
    expire_stored_token(hass, entry)
    sim.inject_fault("token", "503", times=1)
    await async_refresh_roster(hass, entry)
    assert _failure_key(entry) == "cannot_connect"
    # The refresh token is used elsewhere first: Salto revokes the chain, the next refresh is refused.
    assert await refresh_outside(browser, sim, entry.data["token"]["refresh_token"]) == 200
    await async_refresh_roster(hass, entry)
    assert sim.oidc.stats["refresh_replays"] == 1
    assert _failure_key(entry) == "auth_refused_retrying"
    assert not reauth_flows(hass)

    # Polling goes on through the grace; a refusal that persists past it starts reauth.
    waited = 0
    for _ in range(int(AUTH_REFUSAL_GRACE / DEFAULT_STATUS_INTERVAL) + 2):
        await tick(hass, freezer, DEFAULT_STATUS_INTERVAL)
        waited += DEFAULT_STATUS_INTERVAL
        if reauth_flows(hass):
            break
    assert waited >= AUTH_REFUSAL_GRACE
    flows = reauth_flows(hass)
    assert len(flows) == 1
    assert flows[0]["step_id"] == "reauth_oauth"
    assert _failure_key(entry) == "invalid_auth"


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param("401", id="401"),
        pytest.param("invalid_client", id="400-invalid_client"),
    ],
)
@pytest.mark.usefixtures("current_request_with_host")
async def test_refused_client_on_code_redemption_is_one_abort(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    *,
    caplog: pytest.LogCaptureFixture,
    refusal: str,
) -> None:
    """The identity server refuses the client while redeeming the code (a 401, or IdentityServer's
    400 invalid_client): oauth_unauthorized, the integration's text, on every HA version."""
    caplog.set_level("DEBUG")
    secret = sim.client_secret
    result = await start_oauth(hass)
    query = await sign_in(browser, result["url"], sim.username, sim.password)
    await callback(hass_client_no_auth, query)
    if refusal == "401":
        sim.inject_fault("token", "401", times=1)
    else:
        sim.set_credentials(client_secret="the-secret-was-changed")
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "oauth_unauthorized"
    assert hass.config_entries.async_entries(DOMAIN) == []
    assert secret not in caplog.text


@pytest.mark.usefixtures("current_request_with_host")
async def test_lock_command_of_an_oauth_entry_refreshes_through_its_token_source(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """lock.unlock (with a typed OTP, the IQ asking for one) on an OAuth entry whose token expired:
    one refresh through HA's session, the rotated token stored, the door opened as the account's user."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    lock_id = sorted(sim.state.locks)[0]
    iq_id = next(iter(sim.state.iqs))
    sim.set_iq(iq_id, otp_enabled=True)
    await async_refresh_roster(hass, entry)
    entity_id = lock_entity_id(hass, lock_id)
    before = entry.data["token"]["refresh_token"]
    expire_stored_token(hass, entry)
    sim.reset_counters()
    await hass.services.async_call(
        LOCK_DOMAIN,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: entity_id, ATTR_CODE: sim.valid_otp(iq_id)},
        blocking=True,
    )
    assert sim.counters["locking"] == 1
    assert sim.oidc.stats["refresh_rotations"] == 1
    assert entry.data["token"]["refresh_token"] != before
    opened = sim.entries()[-1]
    assert opened["event_category"] == "lock_opened"
    assert opened["lock_id"] == lock_id
    assert opened["user_id"] == entry.data[CONF_ACCOUNT]


@pytest.mark.usefixtures("current_request_with_host")
async def test_guest_actions_of_an_oauth_entry(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Guest management on an OAuth entry: salto_ks.get_access_groups answers with its token."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_MANAGE_GUESTS: True}
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    answer = await hass.services.async_call(
        DOMAIN, "get_access_groups", {}, blocking=True, return_response=True
    )
    assert isinstance(answer, dict)
    assert answer["access_groups"]
    assert answer["seats"] == sim.guest_access.seat_limit


@pytest.mark.parametrize(
    ("fault", "state", "reauth"),
    [
        pytest.param(None, ConfigEntryState.SETUP_ERROR, True, id="refused"),
        pytest.param("503", ConfigEntryState.SETUP_RETRY, False, id="503"),
        pytest.param("429", ConfigEntryState.SETUP_RETRY, False, id="429"),
    ],
)
@pytest.mark.usefixtures("current_request_with_host")
async def test_refresh_failure_at_setup(
    hass: HomeAssistant,
    sim: Simulator,
    browser: aiohttp.ClientSession,
    hass_client_no_auth: ClientSessionGenerator,
    *,
    fault: str | None,
    state: ConfigEntryState,
    reauth: bool,
) -> None:
    """Home Assistant starts with an expired token: a refused refresh token fails the setup with
    reauth; a 5xx or 429 retries the setup without one (the same on every HA version)."""
    entry = await add_oauth_entry(hass, sim, browser, hass_client_no_auth)
    assert await hass.config_entries.async_unload(entry.entry_id)
    expire_stored_token(hass, entry)
    if fault is None:
        assert sim.revoke_refresh_tokens(client_id=sim.client_id)["revoked"] == 1
    else:
        sim.inject_fault("token", fault, times=1, retry_after=1)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is state
    assert bool(reauth_flows(hass)) is reauth
