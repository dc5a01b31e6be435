"""Bad and hostile input to the config, reauth, reconfigure and options flows (flow_validation.py's
checks, reached through the flows): every refusal is a form error or a schema error.

Nothing is stored (entries, data and options stay as they were), nothing is sent when the input is
refused locally, and nothing is logged at error level (no unhandled exception). Bad input to the
actions is tested with the actions: test_service_schemas.py, test_service_targets.py, test_services.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.salto_ks import flow_base, flow_validation
from custom_components.salto_ks.const import (
    CONF_API_BASE,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_ENDPOINT,
    CONF_EVENT_POLL_INTERVAL,
    CONF_PASSWORD,
    CONF_RELEASED_STATE,
    CONF_STATUS_INTERVAL,
    CONF_UNLOCK_SECONDS,
    CONF_USERNAME,
    DOMAIN,
    ENDPOINT_CUSTOM,
    ENDPOINT_PRODUCTION,
)
from simulator import Simulator

from .conftest import TEN_KB
from .flow_helpers import start_credentials_flow

pytestmark = pytest.mark.usefixtures("no_error_logged")

# Refused locally: (value, error) for any credential field.
LOCAL_CREDENTIAL_ERRORS = [
    (TEN_KB, "too_long"),
    ("ab\x00cd", "invalid_characters"),
    ("ab\ncd", "invalid_characters"),
    ("ab\rcd", "invalid_characters"),
    ("\x1b[31mred", "invalid_characters"),
    ("ab\x7fcd", "invalid_characters"),
]
# Accepted locally (a password may hold any printable character), refused by the identity server.
REMOTE_REFUSED = ["🔑🚪", "Zürich-客户", "a\u200db", "' OR 1=1 --", "%00%0d%0a", "${jndi:x}"]

# Refused URLs: (url, error).
BAD_URLS = [
    ("http://remote.example.com", "invalid_url"),
    ("http://192.168.1.10:8787", "invalid_url"),
    ("http://localhost:8787", "invalid_url"),
    ("http://127.0.0.1.evil.com", "invalid_url"),
    ("http://0x7f000001", "invalid_url"),
    ("http://0.0.0.0", "invalid_url"),
    ("https://user:secret@connect.my-clay.com", "invalid_url"),
    ("https://user@connect.my-clay.com", "invalid_url"),
    ("ftp://127.0.0.1/connect/token", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("data:text/plain,hi", "invalid_url"),
    ("connect.my-clay.com", "invalid_url"),
    ("//connect.my-clay.com", "invalid_url"),
    ("https://exa mple.com", "invalid_url"),
    ("https://connect.my-clay.com\x00.evil.com", "invalid_url"),
    ("https://connect.my-clay.com/\u202etxt", "invalid_url"),
    ("https://a.com:99999", "invalid_url"),
    ("https://[::1", "invalid_url"),
    ("", "invalid_url"),
    ("https://a.com/" + TEN_KB, "too_long"),
]
GOOD_URLS = [
    "https://connect.my-clay.com",
    "https://bücher.example/connect/token",  # IDN: https to any host
    "http://127.0.0.1:8787",
    "http://127.9.9.9/connect/token",
    "http://[::1]:8787/connect/token",
    "HTTPS://CONNECT.MY-CLAY.COM",
]

CREDENTIAL_FIELDS = (CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_USERNAME, CONF_PASSWORD)
OPTION_FIELDS = (
    CONF_STATUS_INTERVAL,
    CONF_EVENT_POLL_INTERVAL,
    CONF_UNLOCK_SECONDS,
    CONF_RELEASED_STATE,
)
BAD_NUMBERS: list[Any] = [
    -1,
    -0.5,
    30.5,
    1e12,
    10**30,
    "nan",
    "inf",
    "-inf",
    "abc",
    "",
    None,
    [],
    {},
]


@pytest.fixture
def no_setup() -> Iterator[None]:
    """Flows only: entries are created or updated, never set up."""
    with patch("custom_components.salto_ks.async_setup_entry", return_value=True):
        yield


@pytest.fixture
def presets_on_sim(salto_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """The production preset points at the simulator."""
    monkeypatch.setitem(
        flow_base.PRESET_ENDPOINTS, ENDPOINT_PRODUCTION, (salto_sim.api_base, salto_sim.auth_url)
    )
    return salto_sim


def _credentials(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    return {
        CONF_ENDPOINT: ENDPOINT_PRODUCTION,
        CONF_CLIENT_ID: sim.client_id,
        CONF_CLIENT_SECRET: sim.client_secret,
        CONF_USERNAME: sim.username,
        CONF_PASSWORD: sim.password,
        **overrides,
    }


# --- URL rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "error"), BAD_URLS)
def test_bad_urls(url: str, error: str) -> None:
    """The flow's rules refuse them, and so does the client (one policy)."""
    assert flow_validation.url_error(url) == error


@pytest.mark.parametrize("url", GOOD_URLS)
def test_good_urls(url: str) -> None:
    assert flow_validation.url_error(url) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(30, 30), (30.0, 30), (0, 0), (True, None), ("30", None), (None, None), (30.5, None)]
    + [(float(v), None) for v in ("nan", "inf", "-inf")],
    ids=repr,
)
def test_whole_seconds(value: Any, seconds: int | None) -> None:
    """Only finite whole numbers are seconds; a bool is not a number here."""
    assert flow_validation.whole_seconds(value) == seconds


# --- user step ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
@pytest.mark.parametrize(("value", "error"), LOCAL_CREDENTIAL_ERRORS)
async def test_user_step_refuses_locally(
    hass: HomeAssistant,
    *,
    presets_on_sim: Simulator,
    no_setup: None,
    field: str,
    value: str,
    error: str,
) -> None:
    """10 kB and control characters: a field error, no request, no entry."""
    sim = presets_on_sim
    result = await start_credentials_flow(hass)
    sim.reset_counters()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(sim, **{field: value})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert sim.counters.get("token", 0) == 0
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
@pytest.mark.parametrize("value", REMOTE_REFUSED)
async def test_user_step_unicode_goes_to_the_server(
    hass: HomeAssistant, presets_on_sim: Simulator, no_setup: None, field: str, value: str
) -> None:
    """Unicode, emoji and injection-looking text are sent encoded; the refusal is invalid_auth."""
    sim = presets_on_sim
    result = await start_credentials_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(sim, **{field: value})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize("value", [None, 42, ["a"], {"a": 1}, True])
async def test_user_step_wrong_types(
    hass: HomeAssistant, presets_on_sim: Simulator, no_setup: None, value: Any
) -> None:
    """Non-text values fail the form's schema; nothing is created."""
    sim = presets_on_sim
    result = await start_credentials_flow(hass)
    for field in (CONF_ENDPOINT, *CREDENTIAL_FIELDS):
        with pytest.raises(InvalidData):
            await hass.config_entries.flow.async_configure(
                result["flow_id"], _credentials(sim, **{field: value})
            )
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"], _credentials(sim, **{CONF_ENDPOINT: "javascript:alert(1)"})
        )
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize("field", [CONF_API_BASE, CONF_AUTH_URL])
@pytest.mark.parametrize(("url", "error"), BAD_URLS)
async def test_custom_endpoint_refuses(
    hass: HomeAssistant, *, salto_sim: Simulator, no_setup: None, field: str, url: str, error: str
) -> None:
    """A hostile URL in either field: a field error on the URL step, no request, no entry."""
    result = await start_credentials_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(salto_sim, **{CONF_ENDPOINT: ENDPOINT_CUSTOM})
    )
    assert result["step_id"] == "custom_endpoint"
    salto_sim.reset_counters()
    urls = {CONF_API_BASE: salto_sim.api_base, CONF_AUTH_URL: salto_sim.auth_url, field: url}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], urls)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert sum(salto_sim.counters.values()) == 0
    assert hass.config_entries.async_entries(DOMAIN) == []


# --- reauth and reconfigure --------------------------------------------------------------------------


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
@pytest.mark.parametrize(
    ("value", "error"), [*LOCAL_CREDENTIAL_ERRORS, *((v, "invalid_auth") for v in REMOTE_REFUSED)]
)
async def test_reauth_hostile(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    no_setup: None,
    field: str,
    value: str,
    error: str,
) -> None:
    """Reauth with hostile values: an error on the form, the entry's data unchanged."""
    mock_config_entry.add_to_hass(hass)
    before = dict(mock_config_entry.data)
    result = await mock_config_entry.start_reauth_flow(hass)
    credentials = {key: before[key] for key in CREDENTIAL_FIELDS}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**credentials, field: value}
    )
    assert result["type"] is FlowResultType.FORM
    expected = {"base": error} if error == "invalid_auth" else {field: error}
    assert result["errors"] == expected
    assert dict(mock_config_entry.data) == before
    assert hass.config_entries.async_entries(DOMAIN) == [mock_config_entry]


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
@pytest.mark.parametrize(("value", "error"), LOCAL_CREDENTIAL_ERRORS)
async def test_reconfigure_hostile_credentials(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    no_setup: None,
    field: str,
    value: str,
    error: str,
) -> None:
    mock_config_entry.add_to_hass(hass)
    before = dict(mock_config_entry.data)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(salto_sim, **{CONF_ENDPOINT: ENDPOINT_CUSTOM, field: value})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert dict(mock_config_entry.data) == before


@pytest.mark.parametrize(("url", "error"), BAD_URLS)
async def test_reconfigure_hostile_url(
    hass: HomeAssistant,
    *,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    no_setup: None,
    url: str,
    error: str,
) -> None:
    mock_config_entry.add_to_hass(hass)
    before = dict(mock_config_entry.data)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(salto_sim, **{CONF_ENDPOINT: ENDPOINT_CUSTOM})
    )
    assert result["step_id"] == "custom_endpoint"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_BASE: url, CONF_AUTH_URL: salto_sim.auth_url}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_BASE: error}
    assert dict(mock_config_entry.data) == before


# --- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", OPTION_FIELDS)
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
async def test_options_bad_numbers(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, no_setup: None, field: str, value: Any
) -> None:
    """Negative, fractional, huge, NaN/infinite or non-numbers: a form error; options unchanged."""
    mock_config_entry.add_to_hass(hass)
    before = dict(mock_config_entry.options)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    schema_errors: set[str] = set()
    try:
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**before, field: value}
        )
    except InvalidData as err:
        schema_errors = set(err.schema_errors)
    if schema_errors:
        assert schema_errors == {field}
    else:
        assert result["type"] is FlowResultType.FORM
        assert set(result["errors"]) == {field}
    assert dict(mock_config_entry.options) == before
    assert hass.config_entries.async_entries(DOMAIN) == [mock_config_entry]
