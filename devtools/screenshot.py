"""Capture the dashboard and a lock's device page of a running ``scripts/develop`` into docs/.

Headless Debian Chromium driven through ChromeDriver's W3C WebDriver HTTP API (no Selenium, no
browser download). Logs in through Home Assistant's login flow over REST and hands the tokens to the
frontend through localStorage (``hassTokens``), as the frontend itself keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from devtools.common import DEV_PASSWORD, DEV_USER, DOMAIN, REPO, DevToolsError
from devtools.rest import HomeAssistant
from devtools.waiting import new_session, wait_http
from devtools.webdriver import chromium, wait_for_element


async def capture(args: argparse.Namespace) -> None:
    ha_url = args.url.rstrip("/")
    out_dir: Path = args.out
    async with new_session() as session:
        ha = HomeAssistant(session, ha_url)
        try:
            await wait_http(session, ha_url + "/api/onboarding", within=10)
        except DevToolsError as err:
            raise DevToolsError(
                f"no Home Assistant at {ha_url}: start scripts/develop first"
            ) from err
        tokens = await ha.login(DEV_USER, DEV_PASSWORD)
        async with ha.websocket() as ws:
            entities = [e for e in await ws.entity_registry() if e.get("platform") == DOMAIN]
            devices = {d["id"]: d for d in await ws.device_registry()}
        locks = sorted(
            (e for e in entities if e["entity_id"].startswith("lock.") and e.get("device_id")),
            key=lambda e: e["entity_id"],
        )
        if not locks:
            raise DevToolsError("no Salto KS lock in Home Assistant: is scripts/develop running?")
        wanted = [e for e in locks if args.lock in e["entity_id"]] if args.lock else locks
        lock = (wanted or locks)[0]
        device = devices[lock["device_id"]]
        device_name = device.get("name_by_user") or device.get("name") or ""

        with tempfile.TemporaryDirectory(prefix="salto-ks-chromium-") as profile:
            async with chromium(
                session, Path(profile), width=args.width, height=args.height
            ) as driver:
                # Same origin first, so localStorage belongs to Home Assistant's origin.
                await driver.get(ha_url + "/auth/providers")
                await driver.execute(
                    "localStorage.setItem('hassTokens', arguments[0]);"
                    "localStorage.setItem('selectedTheme', arguments[1]);",
                    json.dumps(tokens.frontend_storage()),
                    json.dumps({"dark": False}),
                )
                await driver.get(ha_url + "/lovelace/0")
                await wait_for_element(driver, "hui-view", within=60)
                await wait_for_element(driver, "hui-tile-card, hui-entities-card", within=60)
                await asyncio.sleep(args.settle)
                dashboard = out_dir / "screenshot-dashboard.png"
                await driver.screenshot(dashboard)
                print(f"[screenshot] {_shown(dashboard)}", flush=True)

                await driver.get(f"{ha_url}/config/devices/device/{device['id']}")
                await wait_for_element(driver, "ha-config-device-page", within=60)
                await wait_for_element(driver, "ha-device-info-card", within=60)
                await asyncio.sleep(args.settle)
                page = out_dir / "screenshot-lock-device.png"
                await driver.screenshot(page)
                print(f"[screenshot] {_shown(page)} ({device_name})", flush=True)


def _shown(path: Path) -> str:
    """A path relative to the repository when inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--lock", default="main_entrance", help="part of the lock's entity id")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to let a page render")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        asyncio.run(capture(args))
    except DevToolsError as err:
        print(f"[screenshot] {err}", file=sys.stderr)
        return 1
    print(f"[screenshot] done in {time.monotonic() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
