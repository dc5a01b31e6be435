"""Home Assistant through its HTTP APIs: onboarding, login flow, REST API, config and options flows."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from devtools.common import DEV_NAME, DEV_PASSWORD, DEV_USER, DevToolsError
from devtools.flows import answer_form
from devtools.processes import Process
from devtools.waiting import wait_for
from devtools.websocket import WebSocket, connect


@dataclass
class Tokens:
    """What ``/auth/token`` answered, plus what the frontend keeps with it."""

    access_token: str
    refresh_token: str
    expires_in: int
    base_url: str
    client_id: str

    def frontend_storage(self) -> dict[str, Any]:
        """The ``hassTokens`` value Home Assistant's frontend keeps in localStorage."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "hassUrl": self.base_url,
            "clientId": self.client_id,
            "expires": int(time.time() * 1000) + self.expires_in * 1000,
        }


class FlowError(DevToolsError):
    """A data entry flow did not end as expected."""

    def __init__(self, message: str, result: Mapping[str, Any]) -> None:
        super().__init__(f"{message}: {json.dumps(result)[:800]}")
        self.result = dict(result)


class HomeAssistant:
    """A Home Assistant instance seen through its HTTP APIs."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.client_id = self.base_url + "/"
        self.tokens: Tokens | None = None

    # plumbing ---------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        if self.tokens is None:
            return {}
        # As the frontend sends it: an OAuth config flow builds its redirect URI from it.
        return {
            "Authorization": f"Bearer {self.tokens.access_token}",
            "HA-Frontend-Base": self.base_url,
        }

    async def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        expect: Sequence[int] = (200, 201),
        auth: bool = True,
        form: Mapping[str, str] | None = None,
    ) -> Any:
        """One HTTP call; JSON in and out. Raises DevToolsError on an unexpected status."""
        kwargs: dict[str, Any] = {"headers": self._headers() if auth else {}}
        if form is not None:
            kwargs["data"] = dict(form)
        elif payload is not None:
            kwargs["json"] = payload
        async with self.session.request(method, self.base_url + path, **kwargs) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise DevToolsError(f"{method} {path}: HTTP {resp.status} {text[:500]}")
            if not text:
                return None
            try:
                return json.loads(text)
            except ValueError:
                return text

    # onboarding and login ---------------------------------------------------------------
    async def onboarding_status(self) -> dict[str, bool]:
        """Onboarding steps and whether each is done (all done: Home Assistant drops the API)."""
        steps = await self.request("GET", "/api/onboarding", auth=False, expect=(200, 404))
        if not isinstance(steps, list):
            return {}
        return {step["step"]: bool(step["done"]) for step in steps}

    async def _token_from_code(self, code: str) -> Tokens:
        answer = await self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
            auth=False,
        )
        self.tokens = Tokens(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            expires_in=int(answer["expires_in"]),
            base_url=self.base_url,
            client_id=self.client_id,
        )
        return self.tokens

    async def login(self, username: str, password: str) -> Tokens:
        """Log in through the login flow (what the login page does)."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
            auth=False,
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
            auth=False,
        )
        if result.get("type") != "create_entry":
            raise FlowError("login failed", result)
        return await self._token_from_code(result["result"])

    async def onboard_or_login(
        self,
        username: str = DEV_USER,
        password: str = DEV_PASSWORD,
        *,
        name: str = DEV_NAME,
        language: str = "en",
    ) -> bool:
        """Finish onboarding with this owner (if not done yet) and log in as them.

        The config dir must have been prepared with skip_onboarding_integrations before Home
        Assistant first started in it. Returns True when this call created the owner (a first run).
        """
        status = await self.onboarding_status()
        if not status.get("core_config", True):
            raise DevToolsError(
                "onboarding would add integrations that cannot work offline: start Home Assistant "
                "in a config dir prepared by skip_onboarding_integrations (remove its .storage)"
            )
        created = False
        if not status.get("user", True):
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": name,
                    "username": username,
                    "password": password,
                    "language": language,
                },
                auth=False,
            )
            await self._token_from_code(answer["auth_code"])
            created = True
        else:
            await self.login(username, password)
        if not status.get("analytics", True):
            await self.request("POST", "/api/onboarding/analytics")
        if not status.get("integration", True):
            await self.request(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": self.client_id + "?auth_callback=1"},
            )
        return created

    async def wait_running(self, *, within: float, processes: Iterable[Process] = ()) -> None:
        """Wait until the core reports RUNNING (needs a login)."""

        async def probe() -> bool:
            config = await self.request("GET", "/api/config")
            return bool(config.get("state") == "RUNNING")

        await wait_for(probe, within=within, what="Home Assistant RUNNING", processes=processes)

    # REST API ---------------------------------------------------------------------------
    async def states(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request("GET", "/api/states")
        return result

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self.request(
            "GET", f"/api/states/{entity_id}", expect=(200, 404)
        )
        if isinstance(result, dict) and "entity_id" in result:
            return result
        return None

    async def call_service(
        self, domain: str, service: str, data: Mapping[str, Any] | None = None
    ) -> Any:
        return await self.request("POST", f"/api/services/{domain}/{service}", dict(data or {}))

    async def config_entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        path = "/api/config/config_entries/entry"
        if domain:
            path += f"?domain={domain}"
        result: list[dict[str, Any]] = await self.request("GET", path)
        return result

    async def flow_handlers(self) -> list[str]:
        result: list[str] = await self.request("GET", "/api/config/config_entries/flow_handlers")
        return result

    async def _drive_flow(
        self,
        base: str,
        start: Mapping[str, Any],
        answers: Mapping[str, Any],
        on_external: Callable[[str], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Start a data entry flow at ``base`` and answer its forms by field name.

        A field without an answer keeps its default or suggested value; a required select with
        neither gets its first option (e.g. the only site). A menu takes ``answers[step_id]``, else
        its first option. An external step (a sign-in page) is handed to ``on_external`` with its
        URL, then the flow goes on. A form shown again with errors ends the drive with FlowError.
        """
        result: dict[str, Any] = await self.request("POST", base, dict(start))
        seen: list[str] = []
        while result.get("type") in {"form", "menu", "external", "external_done"}:
            step = str(result.get("step_id"))
            if result.get("errors") and seen and seen[-1] == step:
                raise FlowError(f"step {step!r} refused the answers", result)
            if seen.count(step) > 2:
                raise FlowError(f"step {step!r} keeps coming back", result)
            seen.append(step)
            payload: dict[str, Any] = {}
            if result["type"] == "menu":
                options = list(result.get("menu_options") or [])
                payload = {"next_step_id": answers.get(step, options[0] if options else None)}
            elif result["type"] == "external":
                if on_external is None:
                    raise FlowError(f"step {step!r} sends the user to a page", result)
                await on_external(str(result["url"]))
            elif result["type"] == "form":
                payload = answer_form(result.get("data_schema") or [], answers)
            result = await self.request("POST", f"{base}/{result['flow_id']}", payload)
        return result

    async def add_config_entry(
        self,
        handler: str,
        answers: Mapping[str, Any],
        *,
        on_external: Callable[[str], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Run the config flow of ``handler`` through the REST API; returns the created entry."""
        result = await self._drive_flow(
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": False},
            answers,
            on_external,
        )
        if result.get("type") != "create_entry":
            raise FlowError("config flow did not create an entry", result)
        entry: dict[str, Any] = result["result"]
        return entry

    async def set_options(self, entry_id: str, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Run the options flow of a config entry through the REST API."""
        result = await self._drive_flow(
            "/api/config/config_entries/options/flow", {"handler": entry_id}, answers
        )
        if result.get("type") != "create_entry":
            raise FlowError("options flow did not finish", result)
        return result

    # WebSocket API ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[WebSocket]:
        """A WebSocket API connection as the logged-in user."""
        if self.tokens is None:
            raise DevToolsError("log in first")
        async with connect(self.session, self.base_url, self.tokens.access_token) as client:
            yield client
