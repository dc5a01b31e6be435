"""Headless Debian Chromium through ChromeDriver's W3C WebDriver HTTP API (no Selenium, no browser
download): the few commands scripts/screenshot and the browser e2e test need, and waiting for an
element of the page."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from devtools.common import DevToolsError
from devtools.processes import free_port, start_process
from devtools.waiting import wait_for, wait_http

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

# The W3C name of an element reference in a WebDriver answer.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"


def chromium_installed() -> bool:
    """Whether Debian's chromium and chromium-driver are there (scripts/install_chromium adds them)."""
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


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

    async def current_url(self) -> str:
        return str(await self._call("GET", self._s("/url")))

    async def _element(self, selector: str) -> str:
        found = await self._call(
            "POST", self._s("/element"), {"using": "css selector", "value": selector}
        )
        return str(found[ELEMENT_KEY])

    async def type_into(self, selector: str, text: str) -> None:
        """Type ``text`` into the element ``selector`` (as keystrokes)."""
        element = await self._element(selector)
        await self._call("POST", self._s(f"/element/{element}/value"), {"text": text})

    async def click(self, selector: str) -> None:
        element = await self._element(selector)
        await self._call("POST", self._s(f"/element/{element}/click"), {})

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


@contextlib.asynccontextmanager
async def chromium(
    session: aiohttp.ClientSession, profile_dir: Path, *, width: int = 1280, height: int = 900
) -> AsyncIterator[WebDriver]:
    """ChromeDriver on a free loopback port and one headless Chromium session with a fresh profile
    in ``profile_dir``; both are gone when the block ends, whatever happens."""
    await asyncio.to_thread(profile_dir.mkdir, parents=True, exist_ok=True)
    port = free_port()
    driver_proc = start_process(
        "chromedriver",
        [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
        cwd=profile_dir,
        log_path=profile_dir / "chromedriver.log",
    )
    driver = WebDriver(session, f"http://127.0.0.1:{port}")
    try:
        await wait_http(session, driver.url + "/status", within=20, processes=[driver_proc])
        await driver.start(user_data_dir=profile_dir / "profile", width=width, height=height)
        yield driver
    finally:
        try:
            await driver.quit()
        finally:
            await asyncio.to_thread(driver_proc.stop, 10)
