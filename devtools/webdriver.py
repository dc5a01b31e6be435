"""Headless Debian Chromium through ChromeDriver's W3C WebDriver HTTP API (no Selenium, no browser
download): the few commands scripts/screenshot needs, and waiting for an element of the frontend."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import aiohttp

from devtools.common import DevToolsError
from devtools.waiting import wait_for

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
    """The few W3C WebDriver commands scripts/screenshot needs."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.session_id: str | None = None

    async def _call(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(method, self.url + path, json=payload) as resp:
            body = await resp.json(content_type=None)
        if resp.status >= 400:
            raise DevToolsError(f"webdriver {method} {path}: {resp.status} {body}")
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
            raise DevToolsError("no WebDriver session")
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
