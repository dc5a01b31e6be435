"""End to end: headless Chromium signs in with a Salto account on the simulator's login page.

A real ``hass`` process and ``python -m simulator``: the config flow (menu → Salto account → custom
endpoint) runs over Home Assistant's REST API as the frontend drives it; at its external step the
browser opens the authorize URL, types the KS user's e-mail and password, allows access and is
redirected to Home Assistant's ``/auth/external/callback``, which completes the flow. Then the entry
exists, its locks have states, a lock command works on the OAuth entry's token, and after a restart
the stored (rotated) refresh token still signs in.

Needs Debian's chromium and chromium-driver (``scripts/install_chromium``; ``.ci/run`` installs them).
Outside CI a machine without them skips this module, with the reason; in CI (``SALTO_KS_CI`` or
``CI`` set) it fails instead, so the test is never silently left out.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from devtools.common import DOMAIN
from devtools.oauth import CALLBACK_PATH, ensure_application_credential
from devtools.rest import HomeAssistant
from devtools.waiting import wait_for
from devtools.webdriver import WebDriver, chromium, chromium_installed

from .conftest import Stack
from .test_real_hass import _check_log, _wait_state

pytestmark = pytest.mark.e2e

IN_CI = bool(os.environ.get("SALTO_KS_CI") or os.environ.get("CI"))
PAGE_WITHIN = 20.0  # one page of the sign-in (load and render)
FLOW_WITHIN = (
    20.0  # from the consent click to Home Assistant's callback finishing the external step
)


@pytest.fixture(autouse=True)
def _browser_required() -> None:
    if chromium_installed():
        return
    reason = "headless Chromium is missing: run scripts/install_chromium (apt-get)"
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser sign-in test")
    pytest.skip(reason)


async def _element_ready(driver: WebDriver, selector: str, stack: Stack) -> None:
    """Wait until ``selector`` is in the current page and the page has loaded."""

    async def probe() -> bool:
        return bool(
            await driver.execute(
                "return document.readyState === 'complete'"
                " && document.querySelector(arguments[0]) !== null;",
                selector,
            )
        )

    await wait_for(
        probe, within=PAGE_WITHIN, interval=0.2, what=selector, processes=stack.processes()
    )


async def _sign_in_with_chromium(
    stack: Stack, ha: HomeAssistant, driver: WebDriver, url: str
) -> dict[str, float]:
    """The user's part of the external step, in the browser; the time of each part."""
    creds = stack.credentials
    callback = ha.base_url + CALLBACK_PATH
    flow_id = _flow_id_of(url)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    await driver.get(url)
    await _element_ready(driver, "#username", stack)
    assert (await driver.current_url()).startswith(stack.sim.url + "/connect/authorize")
    timings["login_page"] = time.monotonic() - t0
    await driver.type_into("#username", creds["username"])
    await driver.type_into("#password", creds["password"])
    await driver.click("#login")
    await _element_ready(driver, "#allow", stack)
    timings["consent_page"] = time.monotonic() - t0
    async with ha.websocket() as ws:
        # What the frontend waits for: HA's callback view finished the external step.
        progressed = await ws.subscribe_events("data_entry_flow_progressed")
        await driver.click("#allow")
        async with asyncio.timeout(FLOW_WITHIN):
            while (await progressed.get())["data"].get("flow_id") != flow_id:
                pass
    timings["callback"] = time.monotonic() - t0
    landed = await driver.current_url()
    assert landed.startswith(callback + "?"), "the browser did not land on HA's callback"
    assert "code" in parse_qs(urlsplit(landed).query)
    return timings


def _flow_id_of(authorize_url: str) -> str:
    """The flow id inside the authorize URL's state (HA's JWT: header.payload.signature)."""
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    payload = state.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["flow_id"])


@pytest.mark.timeout(240)
async def test_chromium_signs_in_and_home_assistant_completes_the_flow(
    stack: Stack, tmp_path: Path
) -> None:
    """Login page, consent, HA's callback: an OAuth entry whose locks have states and open."""
    stack.launch_hass()
    await stack.start_simulator("small", seed=1)
    ha = await stack.wait_hass()
    creds = stack.credentials
    callback = ha.base_url + CALLBACK_PATH
    assert callback in await stack.sim.register_redirect_uri(creds["client_id"], callback)
    await ensure_application_credential(ha, creds["client_id"], creds["client_secret"])

    timings: dict[str, float] = {}
    async with chromium(stack.session, tmp_path / "chromium") as driver:

        async def external(url: str) -> None:
            timings.update(await _sign_in_with_chromium(stack, ha, driver, url))

        answers: dict[str, Any] = {
            "user": "oauth",
            "endpoint": "custom",
            "api_base": creds["api_base"],
            "auth_url": creds["auth_url"],
            "authorize_url": creds.get("authorize_url"),
        }
        entry = await ha.add_config_entry(DOMAIN, answers, on_external=external)

    assert entry["domain"] == DOMAIN
    assert entry["state"] == "loaded"
    assert [e["entry_id"] for e in await ha.config_entries(DOMAIN)] == [entry["entry_id"]]
    sim_locks = {lock["id"]: lock for lock in (await stack.sim.state())["locks"]}
    locks = await stack.wait_entities(ha, "lock", len(sim_locks))
    oidc = await stack.sim.request("GET", "/_sim/oidc")
    assert oidc["stats"]["logins"] == 1
    assert oidc["stats"]["consents_allowed"] == 1
    assert oidc["stats"]["codes_redeemed"] == 1

    # A lock command goes out on the OAuth entry's token.
    by_unique_id = {e["unique_id"]: e["entity_id"] for e in locks}
    lock_id = sorted(sim_locks)[0]
    entity_id = by_unique_id[lock_id]
    await ha.call_service("lock", "unlock", {"entity_id": entity_id})
    await _wait_state(stack, ha, entity_id, "unlocked", within=10)

    # The access tokens expire: the next poll refreshes (a rotated refresh token, stored at once);
    # after a restart Home Assistant signs in with the stored one.
    await stack.sim.request("POST", "/_sim/tokens/expire", {})
    ha = await stack.restart_hass()
    await stack.wait_entities(ha, "lock", len(sim_locks), within=60)
    oidc = await stack.sim.request("GET", "/_sim/oidc")
    assert oidc["stats"].get("refresh_rotations", 0) >= 1
    assert oidc["stats"].get("refresh_replays", 0) == 0
    assert oidc["stats"]["logins"] == 1
    assert [e["state"] for e in await ha.config_entries(DOMAIN)] == ["loaded"]

    _check_log(stack)
    print(f"[e2e] browser sign-in timings (s): {timings}")
