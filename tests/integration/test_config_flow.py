"""Config flow tests, run against the Salto KS simulator over loopback (no HTTP mocking)."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks import (
    config_flow,
    flow_base,
    flow_credentials,
    flow_oauth,
    flow_validation,
    options_flow,
)
from custom_components.salto_ks.api import PRODUCTION_API, PRODUCTION_AUTH_URL
from custom_components.salto_ks.const import (
    AUTH_API_CLIENT,
    AUTH_KS_USER,
    CONF_API_BASE,
    CONF_AUTH_METHOD,
    CONF_AUTH_URL,
    CONF_AUTHORIZE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_EVENT_STREAM,
    CONF_MANAGE_GUESTS,
    CONF_PASSWORD,
    CONF_RELEASED_STATE,
    CONF_SITE_ID,
    CONF_STATUS_INTERVAL,
    CONF_STREAM_URL,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_UNLOCK_SECONDS,
    DOMAIN,
    ENDPOINT_ACCEPT,
    ENDPOINT_CUSTOM,
    ENDPOINT_LEGACY,
    ENDPOINT_PRODUCTION,
    MAX_INPUT_LENGTH,
)
from simulator import Simulator

from .flow_helpers import start_credentials_flow

DEFAULT_OPTIONS = {
    CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
    CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
    CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
    CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
}


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Keep the integration itself out of flow tests: entries are created, not set up."""
    with patch("custom_components.salto_ks.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def presets_on_sim(salto_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """Point every preset endpoint at the simulator (the real hosts are unreachable in tests)."""
    for endpoint in (ENDPOINT_PRODUCTION, ENDPOINT_ACCEPT, ENDPOINT_LEGACY):
        monkeypatch.setitem(
            flow_base.PRESET_ENDPOINTS, endpoint, (salto_sim.api_base, salto_sim.auth_url)
        )
    return salto_sim


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture everything the integration logs, down to debug."""
    caplog.set_level(logging.DEBUG)
    return caplog


def credentials(
    sim: Simulator, endpoint: str = ENDPOINT_PRODUCTION, **overrides: Any
) -> dict[str, Any]:
    """User-step input with the simulator's valid credentials (password grant)."""
    data = {
        CONF_ENDPOINT: endpoint,
        CONF_CLIENT_ID: sim.client_id,
        CONF_CLIENT_SECRET: sim.client_secret,
        CONF_USERNAME: sim.username,
        CONF_PASSWORD: sim.password,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def custom_urls(sim: Simulator) -> dict[str, str]:
    return {CONF_API_BASE: sim.api_base, CONF_AUTH_URL: sim.auth_url}


def suggested(result: Any) -> dict[str, Any]:
    """Suggested values of a form, by field name."""
    values: dict[str, Any] = {}
    for key in result["data_schema"].schema:
        if key.description and "suggested_value" in key.description:
            values[str(key)] = key.description["suggested_value"]
    return values


def fields(result: Any) -> list[str]:
    return [str(key) for key in result["data_schema"].schema]


def assert_no_secret(sim: Simulator, text: str) -> None:
    assert sim.client_secret not in text
    assert sim.password not in text


async def start(hass: HomeAssistant, method: str = AUTH_KS_USER) -> Any:
    """A new flow at the credentials form of ``method`` (through the sign-in menu)."""
    result = await start_credentials_flow(hass, method)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == method
    assert result["errors"] == {}
    return result


def ks_user_on_other_site(sim: Simulator) -> dict[str, str]:
    """A KS user (e-mail, password) who is a member of a new site only."""
    other = sim.add_site("Other site", site_uid="DE0000000099")
    sim.add_user(
        other,
        first_name="Other",
        last_name="Admin",
        email="other-admin@example.com",
        password="other-admin-pass",
        roles=("site_admin",),
    )
    return {CONF_USERNAME: "other-admin@example.com", CONF_PASSWORD: "other-admin-pass"}


def ks_user_without_site(sim: Simulator) -> dict[str, str]:
    """A KS user whose only site membership was removed: valid login, no site."""
    site_user = sim.add_user(
        first_name="Former",
        last_name="Member",
        email="former@example.com",
        password="former-pass",
        roles=("site_admin",),
    )
    sim.remove_user(site_user["id"])
    return {CONF_USERNAME: "former@example.com", CONF_PASSWORD: "former-pass"}


CLIENT_CREDENTIALS = {CONF_USERNAME: None, CONF_PASSWORD: None}


def refuse_client_tokens(sim: Simulator) -> None:
    """The tenant issues client_credentials tokens; the Connect API answers them with 401 (real cloud)."""
    sim.tenant.grants.add("client_credentials")


def accept_client_tokens(sim: Simulator) -> None:
    """A legacy-profile tenant: client_credentials enabled and its tokens accepted by the API."""
    sim.tenant.update(profile="legacy", grants=sim.tenant.grants | {"client_credentials"})


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- user step: happy paths ---------------------------------------------------------------


async def test_user_flow_custom_endpoint_password_grant(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_setup_entry: AsyncMock,
    debug_log: pytest.LogCaptureFixture,
) -> None:
    """Custom endpoint: the URL step is prefilled with EU production's URLs; one site is auto-picked."""
    result = await start(hass)
    assert suggested(result) == {}  # nothing echoed on a fresh form
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom_endpoint"
    assert suggested(result) == {CONF_API_BASE: PRODUCTION_API, CONF_AUTH_URL: PRODUCTION_AUTH_URL}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_BASE: f"  {salto_sim.api_base} ", CONF_AUTH_URL: f"{salto_sim.auth_url}\n"},
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    site = salto_sim.state.sites[salto_sim.site_id]
    assert result["title"] == site.name
    assert result["result"].unique_id == salto_sim.site_id
    assert result["data"] == {
        CONF_ENDPOINT: ENDPOINT_CUSTOM,
        CONF_API_BASE: salto_sim.api_base,
        CONF_AUTH_URL: salto_sim.auth_url,
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_CLIENT_SECRET: salto_sim.client_secret,
        CONF_USERNAME: salto_sim.username,
        CONF_PASSWORD: salto_sim.password,
        CONF_SITE_ID: salto_sim.site_id,
        CONF_AUTH_METHOD: AUTH_KS_USER,
    }
    assert result["options"] == DEFAULT_OPTIONS
    assert_no_secret(salto_sim, result["title"])
    assert_no_secret(salto_sim, debug_log.text)
    assert salto_sim.counters["token"] >= 1
    assert salto_sim.counters["sites"] >= 1
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_flow_preset_endpoint_client_credentials(
    hass: HomeAssistant, presets_on_sim: Simulator, debug_log: pytest.LogCaptureFixture
) -> None:
    """A preset endpoint stores its URLs; no KS user means client_credentials (username None)."""
    sim = presets_on_sim
    accept_client_tokens(sim)
    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        credentials(sim, ENDPOINT_ACCEPT, **CLIENT_CREDENTIALS),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ENDPOINT] == ENDPOINT_ACCEPT
    assert result["data"][CONF_API_BASE] == sim.api_base
    assert result["data"][CONF_AUTH_URL] == sim.auth_url
    assert result["data"][CONF_USERNAME] is None
    assert result["data"][CONF_PASSWORD] is None
    assert result["data"][CONF_SITE_ID] == sim.site_id
    assert_no_secret(sim, debug_log.text)


def test_preset_endpoints_use_the_client_constants() -> None:
    """Production, accept and legacy presets come from the API client's constants."""
    from custom_components.salto_ks import api

    assert flow_base.PRESET_ENDPOINTS[ENDPOINT_PRODUCTION] == (
        api.PRODUCTION_API,
        api.PRODUCTION_AUTH_URL,
    )
    assert flow_base.PRESET_ENDPOINTS[ENDPOINT_ACCEPT] == (api.ACCEPT_API, api.ACCEPT_AUTH_URL)
    assert flow_base.PRESET_ENDPOINTS[ENDPOINT_LEGACY] == (
        api.LEGACY_API_BASE,
        api.LEGACY_AUTH_URL,
    )
    assert all(
        url.startswith("https://") for pair in flow_base.PRESET_ENDPOINTS.values() for url in pair
    )


async def test_several_sites_picker(hass: HomeAssistant, presets_on_sim: Simulator) -> None:
    """Several visible sites: a picker labelled 'name (site_uid)', entry titled after the pick."""
    sim = presets_on_sim
    accept_client_tokens(sim)  # a client token sees every site of the tenant
    second = sim.add_site("Branch office", site_uid="DE0000000002")

    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(sim, **CLIENT_CREDENTIALS)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "site"
    assert result["description_placeholders"] == {"count": "2"}
    selector = result["data_schema"].schema[CONF_SITE_ID]
    labels = {opt["value"]: opt["label"] for opt in selector.config["options"]}
    first = sim.state.sites[sim.site_id]
    assert labels == {
        sim.site_id: f"{first.name} ({first.site_uid})",
        second: "Branch office (DE0000000002)",
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_ID: second}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Branch office"
    assert result["result"].unique_id == second
    assert result["data"][CONF_SITE_ID] == second


async def test_several_sites_configured_ones_not_offered(
    hass: HomeAssistant, presets_on_sim: Simulator
) -> None:
    """A site already set up is left out of the picker; all set up → already_configured."""
    sim = presets_on_sim
    accept_client_tokens(sim)
    second = sim.add_site("Branch office", site_uid="DE0000000002")
    MockConfigEntry(domain=DOMAIN, unique_id=sim.site_id, data={}).add_to_hass(hass)

    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(sim, **CLIENT_CREDENTIALS)
    )
    assert result["step_id"] == "site"
    options = result["data_schema"].schema[CONF_SITE_ID].config["options"]
    assert [opt["value"] for opt in options] == [second]

    MockConfigEntry(domain=DOMAIN, unique_id=second, data={}).add_to_hass(hass)
    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(sim, **CLIENT_CREDENTIALS)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_site_configured_meanwhile_aborts(
    hass: HomeAssistant, presets_on_sim: Simulator
) -> None:
    """If the picked site got set up while the picker was open, the flow aborts."""
    sim = presets_on_sim
    accept_client_tokens(sim)
    second = sim.add_site("Branch office", site_uid="DE0000000002")
    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(sim, **CLIENT_CREDENTIALS)
    )
    assert result["step_id"] == "site"
    MockConfigEntry(domain=DOMAIN, unique_id=second, data={}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_ID: second}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_duplicate_site_aborts(
    hass: HomeAssistant, presets_on_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The same site twice: already_configured, and no second entry."""
    mock_config_entry.add_to_hass(hass)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(presets_on_sim)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_no_sites_aborts(hass: HomeAssistant, presets_on_sim: Simulator) -> None:
    """Credentials that see no site: abort no_sites."""
    sim = presets_on_sim
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(sim, **ks_user_without_site(sim))
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_sites"


# ---- user step: errors and recovery --------------------------------------------------------


async def test_invalid_auth_then_recover(
    hass: HomeAssistant, presets_on_sim: Simulator, debug_log: pytest.LogCaptureFixture
) -> None:
    """A wrong secret shows invalid_auth; the form keeps the input except secrets; retry works."""
    sim = presets_on_sim
    result = await start(hass)
    bad = credentials(sim, **{CONF_CLIENT_SECRET: "definitely-wrong-secret"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ks_user"
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result) == {
        CONF_ENDPOINT: ENDPOINT_PRODUCTION,
        CONF_CLIENT_ID: sim.client_id,
        CONF_USERNAME: sim.username,
    }
    assert "definitely-wrong-secret" not in debug_log.text

    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CLIENT_SECRET] == sim.client_secret
    assert_no_secret(sim, debug_log.text)


async def test_wrong_user_password_is_invalid_auth(
    hass: HomeAssistant, presets_on_sim: Simulator, debug_log: pytest.LogCaptureFixture
) -> None:
    """A wrong KS user password (invalid_grant) is invalid_auth too."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(presets_on_sim, **{CONF_PASSWORD: "not-the-password"})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert "not-the-password" not in debug_log.text


async def test_api_not_enabled(hass: HomeAssistant, presets_on_sim: Simulator) -> None:
    """The tenant does not allow the password grant: api_not_enabled; fixed tenant → entry."""
    sim = presets_on_sim
    sim.tenant.grants.discard("password")
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["errors"] == {"base": "api_not_enabled"}
    sim.tenant.grants.add("password")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_legacy_preset_is_offered_and_stored(
    hass: HomeAssistant, presets_on_sim: Simulator
) -> None:
    """The endpoint list offers the legacy endpoint as a preset, after production and accept."""
    result = await start(hass)
    selector = result["data_schema"].schema[CONF_ENDPOINT]
    assert selector.config["options"] == [
        ENDPOINT_PRODUCTION,
        ENDPOINT_ACCEPT,
        ENDPOINT_LEGACY,
        ENDPOINT_CUSTOM,
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(presets_on_sim, ENDPOINT_LEGACY)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ENDPOINT] == ENDPOINT_LEGACY
    assert result["data"][CONF_API_BASE] == presets_on_sim.api_base


async def test_client_token_refused_asks_for_a_ks_user(
    hass: HomeAssistant, presets_on_sim: Simulator
) -> None:
    """No KS user and the API refuses the client's token: ks_user_required; a user then works."""
    refuse_client_tokens(presets_on_sim)
    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(presets_on_sim, **CLIENT_CREDENTIALS)
    )
    assert result["step_id"] == "ks_user"  # where the KS user is entered
    assert result["errors"] == {"base": "ks_user_required"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(presets_on_sim)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_USERNAME] == presets_on_sim.username


async def test_client_token_refused_on_custom_endpoint_goes_back_to_credentials(
    hass: HomeAssistant, salto_sim: Simulator
) -> None:
    """ks_user_required after the URL step is shown where the KS user is entered."""
    refuse_client_tokens(salto_sim)
    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM, **CLIENT_CREDENTIALS)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    assert result["step_id"] == "ks_user"  # where the KS user is entered
    assert result["errors"] == {"base": "ks_user_required"}


async def test_client_credentials_not_enabled(
    hass: HomeAssistant, presets_on_sim: Simulator
) -> None:
    """client_credentials without that grant on the tenant: api_not_enabled."""
    result = await start(hass, AUTH_API_CLIENT)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(presets_on_sim, **CLIENT_CREDENTIALS)
    )
    assert result["errors"] == {"base": "api_not_enabled"}


async def test_missing_permission(hass: HomeAssistant, salto_sim: Simulator) -> None:
    """The site list answers 403 ErrorCode 2203: missing_permission on the credentials form."""
    salto_sim.inject_fault("sites", "403")
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_BASE: salto_sim.api_base, CONF_AUTH_URL: salto_sim.auth_url}
    )
    assert result["step_id"] == "ks_user"
    assert result["errors"] == {"base": "missing_permission"}

    salto_sim.clear_faults()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_BASE: salto_sim.api_base, CONF_AUTH_URL: salto_sim.auth_url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        ("token", "500"),
        ("token", "drop"),
        ("token", "malformed"),
        ("sites", "500"),
        ("sites", "503"),
        ("sites", "drop"),
        ("sites", "malformed"),
    ],
)
async def test_cannot_connect_faults(
    hass: HomeAssistant, presets_on_sim: Simulator, endpoint: str, kind: str
) -> None:
    """Server errors, dropped connections and bad JSON: cannot_connect, then retry."""
    sim = presets_on_sim
    sim.inject_fault(endpoint, kind)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    sim.clear_faults()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("endpoint", ["token", "sites"])
async def test_rate_limited_waits_for_retry_after(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    presets_on_sim: Simulator,
    endpoint: str,
) -> None:
    """A 429: rate_limited with the wait; a retry before Retry-After sends nothing; after it, success."""
    sim = presets_on_sim
    sim.inject_fault(endpoint, "429", retry_after=30, times=1)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ks_user"
    assert result["errors"] == {"base": "rate_limited"}
    assert result["description_placeholders"] == {"seconds": "30"}

    sim.reset_counters()
    freezer.tick(20)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["errors"] == {"base": "rate_limited"}
    assert result["description_placeholders"] == {"seconds": "10"}
    assert sim.counters == {}, "a request was sent before Retry-After"

    freezer.tick(11)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sim.counters.get("sites") == 1


async def test_rate_limited_on_custom_endpoint(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, salto_sim: Simulator
) -> None:
    """On the custom endpoint step the wait is shown there, and the URLs are kept."""
    salto_sim.inject_fault("sites", "429", retry_after=5, times=1)
    urls = {CONF_API_BASE: salto_sim.api_base, CONF_AUTH_URL: salto_sim.auth_url}
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], urls)
    assert result["step_id"] == "custom_endpoint"
    assert result["errors"] == {"base": "rate_limited"}
    assert result["description_placeholders"] == {"seconds": "5"}
    assert suggested(result) == urls

    salto_sim.reset_counters()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], urls)
    assert result["errors"] == {"base": "rate_limited"}
    assert salto_sim.counters == {}
    freezer.tick(6)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], urls)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reauth_rate_limited(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    """Reauth honours Retry-After too, and keeps the entry's name among the placeholders."""
    mock_config_entry.add_to_hass(hass)
    salto_sim.inject_fault("token", "429", retry_after=12, times=1)
    user_input = {
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_CLIENT_SECRET: salto_sim.client_secret,
        CONF_USERNAME: salto_sim.username,
        CONF_PASSWORD: salto_sim.password,
    }
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["errors"] == {"base": "rate_limited"}
    assert result["description_placeholders"] == {
        "seconds": "12",
        "name": mock_config_entry.title,
    }
    salto_sim.reset_counters()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["errors"] == {"base": "rate_limited"}
    assert salto_sim.counters == {}
    freezer.tick(13)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"


async def test_unreachable_custom_endpoint_then_fix(
    hass: HomeAssistant, salto_sim: Simulator
) -> None:
    """Nothing listening: cannot_connect on the URL step, which keeps the URLs for correction."""
    port = free_port()
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    dead = {
        CONF_API_BASE: f"http://127.0.0.1:{port}",
        CONF_AUTH_URL: f"http://127.0.0.1:{port}/connect/token",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], dead)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom_endpoint"
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested(result) == dead

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_BASE] == salto_sim.api_base


async def test_custom_endpoint_credential_error_goes_back_to_credentials(
    hass: HomeAssistant, salto_sim: Simulator
) -> None:
    """invalid_auth after the URL step is shown on the credentials form; the URLs are remembered."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        credentials(salto_sim, ENDPOINT_CUSTOM, **{CONF_CLIENT_SECRET: "wrong"}),
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    assert result["step_id"] == "ks_user"
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result)[CONF_ENDPOINT] == ENDPOINT_CUSTOM

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    assert result["step_id"] == "custom_endpoint"
    assert suggested(result) == custom_urls(salto_sim)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_token_rejected_by_api(hass: HomeAssistant, salto_sim: Simulator) -> None:
    """Token from one cloud, API of another: token_rejected on the URL step."""
    other = Simulator.from_scenario("small", seed=2)
    await other.start(host="127.0.0.1", port=0)
    try:
        result = await start(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_BASE: other.api_base, CONF_AUTH_URL: salto_sim.auth_url}
        )
        assert result["step_id"] == "custom_endpoint"
        assert result["errors"] == {"base": "token_rejected"}
    finally:
        await other.stop()


@pytest.mark.parametrize(
    ("urls", "errors"),
    [
        (
            {CONF_API_BASE: "http://connect.my-clay.com", CONF_AUTH_URL: "ftp://127.0.0.1/token"},
            {CONF_API_BASE: "invalid_url", CONF_AUTH_URL: "invalid_url"},
        ),
        (
            {CONF_API_BASE: "https://user:pw@connect.my-clay.com", CONF_AUTH_URL: "not a url"},
            {CONF_API_BASE: "invalid_url", CONF_AUTH_URL: "invalid_url"},
        ),
        (
            {CONF_API_BASE: "https://" + "a" * MAX_INPUT_LENGTH, CONF_AUTH_URL: "   "},
            {CONF_API_BASE: "too_long", CONF_AUTH_URL: "invalid_url"},
        ),
        (
            {CONF_API_BASE: "http://10.0.0.1", CONF_AUTH_URL: "/connect/token"},
            {CONF_API_BASE: "invalid_url", CONF_AUTH_URL: "invalid_url"},
        ),
    ],
)
async def test_invalid_urls_then_recover(
    hass: HomeAssistant, salto_sim: Simulator, urls: dict[str, str], errors: dict[str, str]
) -> None:
    """Bad URLs are field errors on the URL step; nothing is requested until they are fixed."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    salto_sim.reset_counters()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], urls)
    assert result["step_id"] == "custom_endpoint"
    assert result["errors"] == errors
    assert salto_sim.counters.get("token", 0) == 0
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://connect.my-clay.com", None),
        ("https://identity.eu.my-clay.com/connect/token", None),
        ("http://127.0.0.1:8787", None),
        ("http://127.1.2.3/connect/token", None),
        ("http://[::1]:8787/connect/token", None),
        ("http://localhost:8787", "invalid_url"),
        ("http://192.168.1.10", "invalid_url"),
        ("https://user@connect.my-clay.com", "invalid_url"),
        ("https://:secret@connect.my-clay.com", "invalid_url"),
        ("https://", "invalid_url"),
        ("https://exa mple.com", "invalid_url"),
        ("https://[::1", "invalid_url"),
        ("connect.my-clay.com", "invalid_url"),
        ("", "invalid_url"),
        ("https://a.com/" + "x" * MAX_INPUT_LENGTH, "too_long"),
    ],
)
def test_url_rules(url: str, error: str | None) -> None:
    """https everywhere, plain http only to loopback, no credentials, sane length."""
    assert flow_validation.url_error(url) == error


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({CONF_PASSWORD: "  "}, {CONF_PASSWORD: "password_required"}),
        ({CONF_USERNAME: "  "}, {CONF_USERNAME: "username_required"}),
        ({CONF_CLIENT_ID: "   "}, {CONF_CLIENT_ID: "value_required"}),
        ({CONF_CLIENT_SECRET: "x" * (MAX_INPUT_LENGTH + 1)}, {CONF_CLIENT_SECRET: "too_long"}),
        ({CONF_USERNAME: "u" * (MAX_INPUT_LENGTH + 1)}, {CONF_USERNAME: "too_long"}),
    ],
)
async def test_credential_field_errors_then_recover(
    hass: HomeAssistant,
    presets_on_sim: Simulator,
    overrides: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Local checks give field errors without contacting the cloud; correcting them works."""
    sim = presets_on_sim
    result = await start(hass)
    sim.reset_counters()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(sim, **overrides)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert sim.counters.get("token", 0) == 0
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_input_is_stripped(hass: HomeAssistant, presets_on_sim: Simulator) -> None:
    """Whitespace around pasted values is removed before use and storage."""
    sim = presets_on_sim
    padded = {key: f" {value}\t" for key, value in credentials(sim).items() if key != CONF_ENDPOINT}
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: ENDPOINT_PRODUCTION, **padded}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CLIENT_ID] == sim.client_id
    assert result["data"][CONF_USERNAME] == sim.username
    assert result["data"][CONF_PASSWORD] == sim.password


async def test_unknown_error(
    hass: HomeAssistant, presets_on_sim: Simulator, debug_log: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception: unknown, logged with traceback but without secrets; retry works."""
    sim = presets_on_sim
    result = await start(hass)
    with patch(
        "custom_components.salto_ks.api.SaltoKSClient.get_sites",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["errors"] == {"base": "unknown"}
    records = [
        r for r in debug_log.records if r.exc_info and r.name.startswith("custom_components")
    ]
    assert records
    assert "RuntimeError: boom" in debug_log.text
    assert_no_secret(sim, debug_log.text)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY


# ---- reauth --------------------------------------------------------------------------------


async def test_reauth_success(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    debug_log: pytest.LogCaptureFixture,
) -> None:
    """Secret and password changed in the portal: reauth asks for them, stores them, reloads."""
    mock_config_entry.add_to_hass(hass)
    salto_sim.set_credentials(client_secret="new-client-secret", password="new-user-password")

    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["name"] == mock_config_entry.title
    assert fields(result) == [CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_USERNAME, CONF_PASSWORD]
    assert suggested(result) == {
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_USERNAME: salto_sim.username,
    }

    old = {
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_CLIENT_SECRET: "old-and-wrong",
        CONF_USERNAME: salto_sim.username,
        CONF_PASSWORD: "new-user-password",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], old)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**old, CONF_CLIENT_SECRET: "new-client-secret"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_CLIENT_SECRET] == "new-client-secret"
    assert mock_config_entry.data[CONF_PASSWORD] == "new-user-password"
    assert mock_config_entry.data[CONF_SITE_ID] == salto_sim.site_id
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_setup_entry.mock_calls) == 1
    for secret in ("new-client-secret", "new-user-password", "old-and-wrong"):
        assert secret not in debug_log.text


async def test_reauth_field_errors(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A password-grant entry needs the KS user back."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CLIENT_ID: salto_sim.client_id,
            CONF_CLIENT_SECRET: salto_sim.client_secret,
            CONF_USERNAME: " ",
            CONF_PASSWORD: "",
        },
    )
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {CONF_USERNAME: "username_required"}


async def test_reauth_client_credentials_entry(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """An entry without KS user needs only client id and secret; the user fields are optional."""
    accept_client_tokens(salto_sim)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Simulated site",
        unique_id=salto_sim.site_id,
        data={**mock_config_entry.data, CONF_USERNAME: None, CONF_PASSWORD: None},
        options=dict(DEFAULT_OPTIONS),
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert fields(result) == [CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_USERNAME, CONF_PASSWORD]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_CLIENT_ID: salto_sim.client_id, CONF_CLIENT_SECRET: salto_sim.client_secret},
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_USERNAME] is None


async def test_reauth_client_credentials_entry_adds_a_ks_user(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The API refuses the client alone: reauth says a KS user is needed and stores the one given."""
    refuse_client_tokens(salto_sim)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Simulated site",
        unique_id=salto_sim.site_id,
        data={**mock_config_entry.data, CONF_USERNAME: None, CONF_PASSWORD: None},
        options=dict(DEFAULT_OPTIONS),
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    secrets = {CONF_CLIENT_ID: salto_sim.client_id, CONF_CLIENT_SECRET: salto_sim.client_secret}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], secrets)
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "ks_user_required"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**secrets, CONF_USERNAME: salto_sim.username, CONF_PASSWORD: salto_sim.password},
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_USERNAME] == salto_sim.username
    assert entry.data[CONF_PASSWORD] == salto_sim.password


async def test_reauth_wrong_site(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """New credentials that cannot see the entry's site: abort wrong_site, entry unchanged."""
    mock_config_entry.add_to_hass(hass)
    other_user = ks_user_on_other_site(salto_sim)
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CLIENT_ID: salto_sim.client_id,
            CONF_CLIENT_SECRET: salto_sim.client_secret,
            **other_user,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_site"
    assert result["description_placeholders"] == {"site": mock_config_entry.title}
    assert mock_config_entry.data[CONF_USERNAME] == salto_sim.username


# ---- reconfigure ---------------------------------------------------------------------------


async def test_reconfigure_keeps_secrets_and_reloads(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    """Prefilled from the entry except secrets; empty secrets keep the stored ones."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested(result) == {
        CONF_ENDPOINT: ENDPOINT_CUSTOM,
        CONF_CLIENT_ID: salto_sim.client_id,
        CONF_USERNAME: salto_sim.username,
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_ENDPOINT: ENDPOINT_CUSTOM,
            CONF_CLIENT_ID: salto_sim.client_id,
            CONF_USERNAME: salto_sim.username,
        },
    )
    assert result["step_id"] == "custom_endpoint"
    assert suggested(result) == custom_urls(salto_sim)  # the entry's URLs, not the defaults
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_CLIENT_SECRET] == salto_sim.client_secret
    assert mock_config_entry.data[CONF_PASSWORD] == salto_sim.password
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reconfigure_to_preset_and_client_credentials(
    hass: HomeAssistant, presets_on_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Switching endpoint and grant; a failed attempt re-shows the reconfigure form."""
    sim = presets_on_sim
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    new = {CONF_ENDPOINT: ENDPOINT_PRODUCTION, CONF_CLIENT_ID: sim.client_id}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], new)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "api_not_enabled"}  # tenant lacks client_credentials

    accept_client_tokens(sim)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], new)
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_ENDPOINT] == ENDPOINT_PRODUCTION
    assert mock_config_entry.data[CONF_USERNAME] is None
    assert mock_config_entry.data[CONF_PASSWORD] is None
    assert mock_config_entry.data[CONF_CLIENT_SECRET] == sim.client_secret
    assert mock_config_entry.data[CONF_SITE_ID] == sim.site_id


async def test_reconfigure_new_user_needs_password(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A client_credentials entry switched to a KS user must get that user's password."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=salto_sim.site_id,
        data={**mock_config_entry.data, CONF_USERNAME: None, CONF_PASSWORD: None},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_ENDPOINT: ENDPOINT_CUSTOM,
            CONF_CLIENT_ID: salto_sim.client_id,
            CONF_USERNAME: salto_sim.username,
        },
    )
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_PASSWORD: "password_required"}


async def test_reconfigure_wrong_site(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Credentials that cannot see the entry's site abort with wrong_site; the entry is kept."""
    mock_config_entry.add_to_hass(hass)
    other_user = ks_user_on_other_site(salto_sim)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_ENDPOINT: ENDPOINT_CUSTOM, CONF_CLIENT_ID: salto_sim.client_id, **other_user},
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_urls(salto_sim)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_site"
    assert mock_config_entry.data[CONF_USERNAME] == salto_sim.username


# ---- options -------------------------------------------------------------------------------


async def test_options_flow(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Current values are suggested; saved values are ints in entry.options."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert suggested(result) == DEFAULT_OPTIONS
    new = {
        CONF_STATUS_INTERVAL: 120,
        CONF_EVENT_POLL_INTERVAL: 0,
        CONF_UNLOCK_SECONDS: 60,
        CONF_RELEASED_STATE: 300.0,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], new)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        CONF_STATUS_INTERVAL: 120,
        CONF_EVENT_POLL_INTERVAL: 0,
        CONF_UNLOCK_SECONDS: 60,
        CONF_RELEASED_STATE: 300,
    }
    assert all(type(value) is int for value in mock_config_entry.options.values())


@pytest.mark.parametrize("value", [1, 4])
async def test_options_event_interval_too_short(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry, value: int
) -> None:
    """1-4 s audit polling is a field error; the form keeps the input and accepts a fix."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    bad = {**DEFAULT_OPTIONS, CONF_EVENT_POLL_INTERVAL: value, CONF_STATUS_INTERVAL: 30}
    result = await hass.config_entries.options.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_EVENT_POLL_INTERVAL: "event_poll_interval_too_short"}
    assert suggested(result)[CONF_STATUS_INTERVAL] == 30
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**bad, CONF_EVENT_POLL_INTERVAL: 5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options[CONF_EVENT_POLL_INTERVAL] == 5


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (CONF_STATUS_INTERVAL, 9),
        (CONF_STATUS_INTERVAL, 86401),
        (CONF_EVENT_POLL_INTERVAL, -1),
        (CONF_UNLOCK_SECONDS, 0),
        (CONF_UNLOCK_SECONDS, 61),
        (CONF_RELEASED_STATE, 0),
        (CONF_RELEASED_STATE, 301),
    ],
)
async def test_options_out_of_range(
    hass: HomeAssistant,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    key: str,
    value: int,
) -> None:
    """Values outside the selector's range are refused for that field; options stay unchanged."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    with pytest.raises(InvalidData) as err:
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**DEFAULT_OPTIONS, key: value}
        )
    assert set(err.value.schema_errors) == {key}
    assert mock_config_entry.options == DEFAULT_OPTIONS


async def test_options_event_stream_off_and_guests_on_are_stored(
    hass: HomeAssistant, salto_sim: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Only the non-default choice is stored: no key means stream on and guests off."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**DEFAULT_OPTIONS, CONF_EVENT_STREAM: False, CONF_MANAGE_GUESTS: True}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        **DEFAULT_OPTIONS,
        CONF_EVENT_STREAM: False,
        CONF_MANAGE_GUESTS: True,
    }
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**DEFAULT_OPTIONS, CONF_EVENT_STREAM: True, CONF_MANAGE_GUESTS: False}
    )
    await hass.async_block_till_done()
    assert mock_config_entry.options == DEFAULT_OPTIONS


async def test_custom_endpoint_with_a_stream_url(
    hass: HomeAssistant, salto_sim: Simulator, mock_setup_entry: AsyncMock
) -> None:
    """The stream host is checked (a host root, no query) and stored with the custom endpoint."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(salto_sim, ENDPOINT_CUSTOM)
    )
    urls = {CONF_API_BASE: salto_sim.api_base, CONF_AUTH_URL: salto_sim.auth_url}
    for bad in (f"{salto_sim.stream_url}/?site=1", "ftp://127.0.0.1/"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**urls, CONF_STREAM_URL: bad}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "custom_endpoint"
        assert result["errors"] == {CONF_STREAM_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**urls, CONF_STREAM_URL: f" {salto_sim.stream_url} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_STREAM_URL] == salto_sim.stream_url


# ---- translations --------------------------------------------------------------------------

TRANSLATIONS = Path(config_flow.__file__).parent / "translations" / "en.json"
FLOW_ERRORS = {
    "invalid_auth",
    "api_not_enabled",
    "missing_permission",
    "cannot_connect",
    "token_rejected",
    "ks_user_required",
    "invalid_request",
    "invalid_url",
    "too_long",
    "invalid_characters",
    "value_required",
    "password_required",
    "username_required",
    "unknown",
    "rate_limited",
    "authorize_url_required",
}
# HA's OAuth2 steps, and the connection test after Salto's login (no form to show an error on).
OAUTH_ABORTS = {
    "wrong_account",
    "missing_credentials",
    "missing_configuration",
    "authorize_url_timeout",
    "no_url_available",
    "oauth_error",
    "oauth_failed",
    "oauth_timeout",
    "oauth_unauthorized",
    "user_rejected_authorize",
    "oauth_implementation_unsupported",
    "oauth_implementation_unavailable",
    "cannot_connect",
    "invalid_auth",
    "api_not_enabled",
    "missing_permission",
    "rate_limited",
    "token_rejected",
    "invalid_request",
    "unknown",
}
FLOW_ABORTS = {
    "already_configured",
    "no_sites",
    "wrong_site",
    "reauth_successful",
    "reconfigure_successful",
    *OAUTH_ABORTS,
}


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            assert re.fullmatch(r"[a-z0-9_-]+", key), f"bad key {path}.{key}"
            yield from _strings(value, f"{path}.{key}")
    else:
        assert isinstance(node, str), path
        yield path, node


def test_translations_cover_the_flow() -> None:
    """Every form field, error and abort reason of the flow has an English text."""
    strings = json.loads(TRANSLATIONS.read_text(encoding="utf-8"))
    config, options = strings["config"], strings["options"]
    schemas = {
        ("config", "ks_user"): flow_credentials.credentials_schema("ks_user"),
        ("config", "api_client"): flow_credentials.credentials_schema("api_client"),
        ("config", "reconfigure"): flow_credentials.credentials_schema("reconfigure"),
        ("config", "custom_endpoint"): flow_credentials.CUSTOM_ENDPOINT_SCHEMA.extend(
            {vol.Optional(CONF_AUTHORIZE_URL): str}
        ),
        ("config", "oauth"): flow_oauth.OAUTH_ENDPOINT_SCHEMA,
        ("options", "init"): options_flow.OPTIONS_SCHEMA,
    }
    for (section, step), schema in schemas.items():
        texts = strings[section]["step"][step]
        keys = {str(key) for key in schema.schema}
        assert set(texts["data"]) == keys, step
        assert set(texts["data_description"]) == keys, step
        assert texts["title"]
        assert texts["description"]
    reauth = config["step"]["reauth_confirm"]
    assert (
        set(reauth["data"])
        == set(reauth["data_description"])
        == {
            CONF_CLIENT_ID,
            CONF_CLIENT_SECRET,
            CONF_USERNAME,
            CONF_PASSWORD,
        }
    )
    assert "{name}" in reauth["description"]
    site = config["step"]["site"]
    assert set(site["data"]) == set(site["data_description"]) == {CONF_SITE_ID}
    assert "{count}" in site["description"]
    assert set(config["error"]) == FLOW_ERRORS
    # Filled from the form's description placeholders (_error_placeholders).
    assert "{seconds}" in config["error"]["rate_limited"]
    assert set(config["abort"]) == FLOW_ABORTS
    assert "{site}" in config["abort"]["wrong_site"]
    assert set(options["error"]) == {
        "event_poll_interval_too_short",
        "whole_seconds",
        "invalid_pin",
        "pin_and_clear",
    }
    assert set(strings["selector"]["endpoint"]["options"]) == {
        ENDPOINT_PRODUCTION,
        ENDPOINT_ACCEPT,
        ENDPOINT_LEGACY,
        ENDPOINT_CUSTOM,
    }


def test_translations_follow_hassfest_rules() -> None:
    """No surrounding spaces, no quoted placeholders, no HTML in our sections."""
    strings = json.loads(TRANSLATIONS.read_text(encoding="utf-8"))
    for section in ("config", "options", "selector"):
        for path, text in _strings(strings[section], section):
            assert text, path
            assert text == text.strip(), path
            assert not re.search(r"'\{\w+\}'", text), path
            assert not re.search(r"<[a-z/]", text), path
