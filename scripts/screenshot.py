"""Capture the dashboard and a lock's device page of a running ``scripts/develop`` into docs/.

Headless Debian Chromium driven through ChromeDriver's W3C WebDriver HTTP API (no Selenium, no
browser download). Logs in through Home Assistant's login flow over REST and hands the tokens to the
frontend through localStorage (``hassTokens``), as the frontend itself keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.hadev import (
    DEV_PASSWORD,
    DEV_USER,
    DOMAIN,
    REPO,
    HaDevError,
    HomeAssistant,
    Process,
    free_port,
    new_session,
    start_process,
    wait_for,
    wait_http,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]

# Finds an element by CSS selector through every open shadow root (the frontend is web components).
DEEP_QUERY_JS = """
const deep = (selector, root) => {
  const found = root.querySelector(selector);
  if (found) return found;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) {
      const inner = deep(selector, el.shadowRoot);
      if (inner) return inner;
    }
  }
  return null;
};
"""


class WebDriver:
    """The few W3C WebDriver commands this script needs."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.session_id: str | None = None

    async def _call(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(method, self.url + path, json=payload) as resp:
            body = await resp.json(content_type=None)
        if resp.status >= 400:
            raise HaDevError(f"webdriver {method} {path}: {resp.status} {body}")
        return body.get("value") if isinstance(body, dict) else body

    async def start(self, *, user_data_dir: Path, width: int, height: int) -> None:
        args = [
            *CHROMIUM_FLAGS,
            f"--user-data-dir={user_data_dir}",
            f"--window-size={width},{height}",
        ]
        value = await self._call(
            "POST",
            "/session",
            {
                "capabilities": {
                    "alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
                    }
                }
            },
        )
        self.session_id = value["sessionId"]

    def _s(self, path: str) -> str:
        if self.session_id is None:
            raise HaDevError("no WebDriver session")
        return f"/session/{self.session_id}{path}"

    async def get(self, url: str) -> None:
        await self._call("POST", self._s("/url"), {"url": url})

    async def execute(self, script: str, *args: Any) -> Any:
        return await self._call(
            "POST", self._s("/execute/sync"), {"script": script, "args": list(args)}
        )

    async def screenshot(self, path: Path) -> None:
        data = await self._call("GET", self._s("/screenshot"))
        await asyncio.to_thread(path.write_bytes, base64.b64decode(data))

    async def quit(self) -> None:
        if self.session_id is not None:
            try:
                await self._call("DELETE", self._s(""))
            finally:
                self.session_id = None


async def wait_for_element(
    driver: WebDriver, selector: str, *, within: float, text: str | None = None
) -> None:
    """Wait until ``selector`` exists somewhere in the page (optionally containing ``text``)."""
    script = DEEP_QUERY_JS + (
        "const el = deep(arguments[0], document);"
        "if (!el) return false;"
        "if (arguments[1] === null) return true;"
        "return (el.shadowRoot ? el.shadowRoot.textContent : '').includes(arguments[1])"
        " || el.textContent.includes(arguments[1]);"
    )

    async def probe() -> bool:
        return bool(await driver.execute(script, selector, text))

    await wait_for(probe, within=within, interval=0.5, what=f"{selector} in the page")


async def capture(args: argparse.Namespace) -> None:
    ha_url = args.url.rstrip("/")
    out_dir: Path = args.out
    async with new_session() as session:
        ha = HomeAssistant(session, ha_url)
        try:
            await wait_http(session, ha_url + "/api/onboarding", within=10)
        except HaDevError as err:
            raise HaDevError(f"no Home Assistant at {ha_url}: start scripts/develop first") from err
        tokens = await ha.login(DEV_USER, DEV_PASSWORD)
        async with ha.websocket() as ws:
            entities = [e for e in await ws.entity_registry() if e.get("platform") == DOMAIN]
            devices = {d["id"]: d for d in await ws.device_registry()}
        locks = sorted(
            (e for e in entities if e["entity_id"].startswith("lock.") and e.get("device_id")),
            key=lambda e: e["entity_id"],
        )
        if not locks:
            raise HaDevError("no Salto KS lock in Home Assistant: is scripts/develop running?")
        wanted = [e for e in locks if args.lock in e["entity_id"]] if args.lock else locks
        lock = (wanted or locks)[0]
        device = devices[lock["device_id"]]
        device_name = device.get("name_by_user") or device.get("name") or ""

        port = free_port()
        with tempfile.TemporaryDirectory(prefix="salto-ks-chromium-") as profile:
            driver_proc: Process = start_process(
                "chromedriver",
                [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
                cwd=Path(profile),
                log_path=Path(profile) / "chromedriver.log",
            )
            driver = WebDriver(session, f"http://127.0.0.1:{port}")
            try:
                await wait_http(session, driver.url + "/status", within=20, processes=[driver_proc])
                await driver.start(
                    user_data_dir=Path(profile) / "profile", width=args.width, height=args.height
                )
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
            finally:
                try:
                    await driver.quit()
                finally:
                    driver_proc.stop(timeout=10)


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
    except HaDevError as err:
        print(f"[screenshot] {err}", file=sys.stderr)
        return 1
    print(f"[screenshot] done in {time.monotonic() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
