"""Run a real Home Assistant and the Salto KS cloud simulator as subprocesses, and drive them over HTTP.

Shared by ``scripts/develop`` (``python scripts/hadev.py develop``), ``scripts/screenshot`` and
``tests/e2e``. Everything here talks to Home Assistant the way a browser or a user's script does: the
onboarding API, the login flow, the REST API (``/api/...``, ``/api/config/config_entries/...``) and
the WebSocket API. Nothing imports Home Assistant itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
COMPONENT_DIR = REPO / "custom_components" / "salto_ks"
DOMAIN = "salto_ks"

# The documented development login (scripts/develop, scripts/screenshot, tests/e2e).
DEV_NAME = "Developer"
DEV_USER = "dev"
DEV_PASSWORD = "dev-dev-dev"  # noqa: S105 - a documented local development login

LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # linux/prctl.h

# Integrations the core_config onboarding step (POST /api/onboarding/core_config) starts config flows
# for. Offline and with --skip-pip, met, radio_browser and google_translate log ERROR tracebacks
# (requirements not installed, services on the internet); none belongs in a development instance.
ONBOARDING_DOMAINS = frozenset({"google_translate", "met", "radio_browser", "shopping_list"})
# Home Assistant's onboarding store (.storage/onboarding), as it writes it itself. configuration.yaml
# already sets everything the core_config step confirms (location, units, time zone, currency), so
# a new config dir starts with that step done and it is never posted.
ONBOARDING_STORE_VERSION = 4
SKIPPED_ONBOARDING_STEPS = ("core_config",)


class HaDevError(Exception):
    """Something in the harness went wrong (process died, timeout, unexpected answer)."""


# --------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    """A TCP port free on the loopback address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Process:
    """A child process in its own process group (so Ctrl-C and teardown reach all of it)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None
    _log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        """Raise HaDevError when the process has exited."""
        code = self.popen.poll()
        if code is not None:
            where = f" (see {self.log_path})" if self.log_path else ""
            raise HaDevError(f"{self.name} exited with code {code}{where}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL it. Idempotent."""
        try:
            if self.popen.poll() is None:
                _signal_group(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(5)
            # Children left in the group (none expected) go too.
            _signal_group(self.popen.pid, signal.SIGKILL)
            return self.popen.returncode
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM this child when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_process(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Process:
    """Start ``argv`` in a new session; output goes to ``log_path`` (appended) or the terminal.

    Its own session keeps the terminal's Ctrl-C away from it (the caller stops it in order), and
    on Linux it gets SIGTERM if the caller dies without cleaning up.
    """
    log_file = log_path.open("ab") if log_path is not None else None
    try:
        popen = subprocess.Popen(  # noqa: S603 - argv is built by this module, never a shell
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT if log_file is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    return Process(name, popen, log_path, log_file)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def simulator_argv(
    python: str | Path, *, port: int, scenario: str = "demo", seed: int | None = None
) -> list[str]:
    argv = [str(python), "-m", "simulator", "--host", LOOPBACK, "--port", str(port)]
    argv += ["--scenario", scenario]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv


def hass_argv(python: str | Path, config_dir: Path) -> list[str]:
    """``hass -c CONFIG --skip-pip``: the venv's console script, else ``python -m homeassistant``.

    ``--skip-pip``: everything Home Assistant needs is installed by scripts/setup; a runtime pip
    install would be slow and hide a missing requirement.
    """
    script = Path(python).parent / "hass"
    head = [str(script)] if script.exists() else [str(python), "-m", "homeassistant"]
    return [*head, "--config", str(config_dir), "--skip-pip"]


def link_component(config_dir: Path) -> Path:
    """Make ``CONFIG/custom_components/salto_ks`` a symlink to the repository's component."""
    target_dir = config_dir / "custom_components"
    target_dir.mkdir(parents=True, exist_ok=True)
    link = target_dir / DOMAIN
    if link.is_symlink() and link.resolve() == COMPONENT_DIR.resolve():
        return link
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise HaDevError(f"{link} exists and is not a symlink; move it away")
    link.symlink_to(COMPONENT_DIR.resolve(), target_is_directory=True)
    return link


def skip_onboarding_integrations(config_dir: Path) -> None:
    """Before Home Assistant first starts in ``config_dir``: mark the core_config step done.

    Onboarding then asks only for the owner, analytics and the frontend's login, and no config flow
    of ONBOARDING_DOMAINS ever starts. A config dir that already has an onboarding store is left alone.
    """
    store = config_dir / ".storage" / "onboarding"
    if store.exists():
        return
    store.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "version": ONBOARDING_STORE_VERSION,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": list(SKIPPED_ONBOARDING_STEPS)},
    }
    store.write_text(json.dumps(content, indent=2), encoding="utf-8")


def write_test_config(config_dir: Path, *, port: int, extra: str = "") -> None:
    """A lean configuration.yaml for a throwaway Home Assistant on 127.0.0.1:``port``.

    Home Assistant always sets up its default integrations (frontend among them); this adds
    nothing more than the config API and debug logging for the integration.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        "homeassistant:\n"
        "  name: Salto KS e2e\n"
        "  time_zone: UTC\n"
        "  unit_system: metric\n"
        "  country: NL\n"
        "  currency: EUR\n"
        "  latitude: 52.37\n"
        "  longitude: 4.89\n"
        "  elevation: 0\n"
        "http:\n"
        f"  server_host: {LOOPBACK}\n"
        f"  server_port: {port}\n"
        "config:\n"
        "logger:\n"
        "  default: warning\n"
        "  logs:\n"
        "    custom_components.salto_ks: debug\n"
        "    homeassistant.setup: info\n"
        "    homeassistant.bootstrap: info\n"
        "    homeassistant.config_entries: info\n" + extra,
        encoding="utf-8",
    )


# --------------------------------------------------------------------------------------------
# waiting


async def wait_for[T](
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    interval: float = 0.25,
    what: str,
    processes: Iterable[Process] = (),
) -> T:
    """Call ``probe`` until it returns something not None (or not False); fail after ``within`` s.

    A process in ``processes`` that exits meanwhile fails the wait at once.
    """
    deadline = time.monotonic() + within
    last_error: BaseException | None = None
    while True:
        for proc in processes:
            proc.check_alive()
        try:
            value = await probe()
        except (aiohttp.ClientError, OSError, TimeoutError, HaDevError) as err:
            value, last_error = None, err
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise HaDevError(f"timed out after {within:.0f} s waiting for {what}{detail}")
        await asyncio.sleep(interval)


async def wait_http(
    session: aiohttp.ClientSession,
    url: str,
    *,
    within: float,
    processes: Iterable[Process] = (),
) -> None:
    """Wait until ``url`` answers with a status below 500."""

    async def probe() -> bool:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            return resp.status < 500

    await wait_for(probe, within=within, what=url, processes=processes)


def new_session() -> aiohttp.ClientSession:
    """An aiohttp session for loopback use: threaded resolver (no resolver threads left over)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver(), force_close=True),
        timeout=aiohttp.ClientTimeout(total=30),
    )


# --------------------------------------------------------------------------------------------
# the simulator's control API


class SimulatorControl:
    """The simulator's ``/_sim/...`` control API."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(method, self.url + path, json=payload) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise HaDevError(f"simulator {method} {path}: {resp.status} {text[:300]}")
            return json.loads(text) if text else None

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/_sim/state")
        return result

    async def credentials(self) -> dict[str, str]:
        """The scenario's URLs and valid credentials (``GET /_sim/credentials``)."""
        found = await self.request("GET", "/_sim/credentials")
        return {key: str(value) for key, value in found.items() if value is not None}


# --------------------------------------------------------------------------------------------
# Home Assistant over HTTP


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


class FlowError(HaDevError):
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
        return {"Authorization": f"Bearer {self.tokens.access_token}"}

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
        """One HTTP call; JSON in and out. Raises HaDevError on an unexpected status."""
        kwargs: dict[str, Any] = {"headers": self._headers() if auth else {}}
        if form is not None:
            kwargs["data"] = dict(form)
        elif payload is not None:
            kwargs["json"] = payload
        async with self.session.request(method, self.base_url + path, **kwargs) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise HaDevError(f"{method} {path}: HTTP {resp.status} {text[:500]}")
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
            raise HaDevError(
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
        self, base: str, start: Mapping[str, Any], answers: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Start a data entry flow at ``base`` and answer its forms by field name.

        A field without an answer keeps its default or suggested value; a required select with
        neither gets its first option (e.g. the only site). A form shown again with errors ends
        the drive with FlowError.
        """
        result: dict[str, Any] = await self.request("POST", base, dict(start))
        seen: list[str] = []
        while result.get("type") == "form":
            step = str(result.get("step_id"))
            if result.get("errors") and seen and seen[-1] == step:
                raise FlowError(f"step {step!r} refused the answers", result)
            if seen.count(step) > 2:
                raise FlowError(f"step {step!r} keeps coming back", result)
            seen.append(step)
            payload = _answer_form(result.get("data_schema") or [], answers)
            result = await self.request("POST", f"{base}/{result['flow_id']}", payload)
        return result

    async def add_config_entry(self, handler: str, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Run the config flow of ``handler`` through the REST API; returns the created entry."""
        result = await self._drive_flow(
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": False},
            answers,
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
        if self.tokens is None:
            raise HaDevError("log in first")
        ws = await self.session.ws_connect(self.base_url + "/api/websocket", heartbeat=None)
        try:
            first = await ws.receive_json(timeout=10)
            if first.get("type") != "auth_required":
                raise HaDevError(f"websocket: unexpected greeting {first}")
            await ws.send_json({"type": "auth", "access_token": self.tokens.access_token})
            answer = await ws.receive_json(timeout=10)
            if answer.get("type") != "auth_ok":
                raise HaDevError(f"websocket: authentication failed {answer}")
            client = WebSocket(ws)
            try:
                yield client
            finally:
                await client.close()
        finally:
            await ws.close()


def _answer_form(schema: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for field in schema:
        name = field["name"]
        if name in answers:
            if answers[name] is not None:
                payload[name] = answers[name]
            continue
        suggested = (field.get("description") or {}).get("suggested_value")
        if "default" in field:
            payload[name] = field["default"]
        elif suggested is not None:
            payload[name] = suggested
        elif field.get("required"):
            options = _select_options(field)
            if options:
                payload[name] = options[0]
    return payload


def _select_options(field: Mapping[str, Any]) -> list[Any]:
    """The values a select field offers (selector or plain voluptuous ``In`` serialisation)."""
    raw: Any = (field.get("selector") or {}).get("select", {}).get("options")
    if raw is None:
        raw = field.get("options")
    values: list[Any] = []
    for option in raw or []:
        if isinstance(option, Mapping):
            values.append(option.get("value"))
        elif isinstance(option, list | tuple):
            values.append(option[0])
        else:
            values.append(option)
    return values


class WebSocket:
    """A logged-in WebSocket API connection: commands and event subscriptions."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="hadev-ws")

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                for item in data if isinstance(data, list) else [data]:
                    self._dispatch(item)
        finally:
            error = HaDevError("websocket closed")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)

    def _dispatch(self, item: dict[str, Any]) -> None:
        msg_id = item.get("id")
        if item.get("type") == "event" and msg_id in self._queues:
            self._queues[msg_id].put_nowait(item["event"])
        elif msg_id in self._pending:
            future = self._pending.pop(msg_id)
            if not future.done():
                future.set_result(item)

    async def command(self, type_: str, within: float = 30, **data: Any) -> Any:
        """Send one command and return its result (HaDevError if it failed)."""
        msg_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({"id": msg_id, "type": type_, **data})
        answer = await asyncio.wait_for(future, within)
        if not answer.get("success"):
            raise HaDevError(f"websocket {type_}: {answer.get('error')}")
        return answer.get("result")

    async def subscribe_events(
        self, event_type: str | None = None
    ) -> asyncio.Queue[dict[str, Any]]:
        """Subscribe to bus events; they arrive in the returned queue."""
        msg_id = next(self._ids)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[msg_id] = queue
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        payload: dict[str, Any] = {"id": msg_id, "type": "subscribe_events"}
        if event_type:
            payload["event_type"] = event_type
        await self._ws.send_json(payload)
        answer = await asyncio.wait_for(future, 30)
        if not answer.get("success"):
            raise HaDevError(f"subscribe_events: {answer.get('error')}")
        return queue

    async def entity_registry(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.command("config/entity_registry/list")
        return result

    async def device_registry(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.command("config/device_registry/list")
        return result

    async def promote_http_config(self) -> None:
        """Confirm the YAML http config Home Assistant >= 2026.10 migrates as a trial.

        Unconfirmed, that trial is reverted (with a restart onto the default port) after five
        minutes. Older versions have no such command: nothing to do.
        """
        with contextlib.suppress(HaDevError):
            await self.command("http/config/promote")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()


async def salto_entities(ha: HomeAssistant, domain: str | None = None) -> list[dict[str, Any]]:
    """Entity registry entries of the Salto KS integration (optionally of one entity domain)."""
    async with ha.websocket() as ws:
        entries = await ws.entity_registry()
    return [
        entry
        for entry in entries
        if entry.get("platform") == DOMAIN
        and (domain is None or entry["entity_id"].startswith(domain + "."))
    ]


def simulator_answers(credentials: Mapping[str, str]) -> dict[str, Any]:
    """Config-flow answers, by field name, for an entry pointed at the simulator."""
    answers: dict[str, Any] = {
        "endpoint": "custom",
        "api_base": credentials["api_base"],
        "auth_url": credentials["auth_url"],
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "username": credentials.get("username"),
        "password": credentials.get("password"),
    }
    if credentials.get("site_id"):
        answers["site_id"] = credentials["site_id"]
    return answers


# --------------------------------------------------------------------------------------------
# log checks


_RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def log_records(text: str) -> list[str]:
    """Split a Home Assistant log into records (a record runs until the next timestamped line)."""
    records: list[str] = []
    for line in text.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


def integration_problems(text: str) -> list[str]:
    """Records that are errors or tracebacks involving the integration."""
    problems = []
    for record in log_records(text):
        head = record.split("\n", 1)[0]
        mentions = DOMAIN in record
        is_error = " ERROR " in head or " CRITICAL " in head
        if mentions and (is_error or "Traceback (most recent call last)" in record):
            problems.append(record)
    return problems


_ONBOARDING_DOMAIN_WORD = re.compile(r"\b(?:" + "|".join(sorted(ONBOARDING_DOMAINS)) + r")\b")


def onboarding_noise(text: str) -> list[str]:
    """Error or traceback records of the integrations Home Assistant's onboarding would add."""
    return [
        record
        for record in log_records(text)
        if _ONBOARDING_DOMAIN_WORD.search(record)
        and (" ERROR " in record.split("\n", 1)[0] or "Traceback (most recent call last)" in record)
    ]


def leaked_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets (of at least 6 characters) that occur in ``text``."""
    return [secret for secret in secrets if len(secret) >= 6 and secret in text]


# --------------------------------------------------------------------------------------------
# scripts/develop


async def ensure_salto_entry(ha: HomeAssistant, sim: SimulatorControl) -> dict[str, Any] | None:
    """Add the Salto KS entry pointed at the simulator unless one exists. None if impossible."""
    existing = await ha.config_entries(DOMAIN)
    if existing:
        print(f"[develop] reusing the Salto KS entry {existing[0]['title']!r}", flush=True)
        return existing[0]
    handlers = await ha.flow_handlers()
    if DOMAIN not in handlers:
        print(
            "[develop] the Salto KS config flow is not available (yet): add the entry later",
            flush=True,
        )
        return None
    credentials = await sim.credentials()
    entry = await ha.add_config_entry(DOMAIN, simulator_answers(credentials))
    print(f"[develop] added the Salto KS entry {entry.get('title')!r}", flush=True)
    return entry


async def develop(args: argparse.Namespace) -> int:
    config_dir: Path = args.config.resolve()
    python = Path(sys.executable)
    ha_url = f"http://{LOOPBACK}:{args.ha_port}"
    sim_url = f"http://{LOOPBACK}:{args.sim_port}"
    for name, port in (("simulator", args.sim_port), ("Home Assistant", args.ha_port)):
        if port_in_use(port):
            print(f"[develop] port {port} ({name}) is already in use: stop that first", flush=True)
            return 1
    link_component(config_dir)
    first_run = not (config_dir / ".storage" / "onboarding").exists()
    skip_onboarding_integrations(config_dir)
    t0 = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sim_log = config_dir / "simulator.log"
    processes: list[Process] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    try:
        processes.append(
            start_process(
                "simulator",
                simulator_argv(python, port=args.sim_port, scenario=args.scenario),
                cwd=REPO,
                log_path=sim_log,
                env=env,
            )
        )
        hass = start_process("hass", hass_argv(python, config_dir), cwd=config_dir)
        processes.append(hass)
        async with new_session() as session:
            sim = SimulatorControl(session, sim_url)
            ha = HomeAssistant(session, ha_url)
            setup = asyncio.ensure_future(
                _develop_setup(ha, sim, processes, first_run=first_run, t0=t0)
            )
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({setup, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not setup.done():
                setup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await setup
                return 130
            stopped.cancel()
            setup.result()
            print(
                "\n"
                f"  Home Assistant  {ha_url}   login: {DEV_USER} / {DEV_PASSWORD}\n"
                f"  Simulator       {sim_url}   (control API {sim_url}/_sim/state; log {sim_log})\n"
                f"  Ctrl-C stops both.\n",
                flush=True,
            )
            while not stop.is_set():
                for proc in processes:
                    if not proc.alive():
                        print(f"[develop] {proc.name} exited; stopping", flush=True)
                        return 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            return 0
    except HaDevError as err:
        print(f"[develop] {err}", flush=True)
        return 1
    finally:
        print("[develop] stopping Home Assistant and the simulator", flush=True)
        for proc in reversed(processes):
            proc.stop(timeout=30)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


async def _develop_setup(
    ha: HomeAssistant,
    sim: SimulatorControl,
    processes: list[Process],
    *,
    first_run: bool,
    t0: float,
) -> None:
    await wait_http(ha.session, sim.url + "/_sim/state", within=60, processes=processes)
    await wait_http(ha.session, ha.base_url + "/api/onboarding", within=180, processes=processes)
    print(f"[develop] Home Assistant answers after {time.monotonic() - t0:.1f} s", flush=True)
    created = await ha.onboard_or_login()
    if created:
        print(f"[develop] onboarding done: owner {DEV_USER!r}", flush=True)
    await ha.wait_running(within=180, processes=processes)
    entry = await ensure_salto_entry(ha, sim)
    if entry is not None:

        async def locks() -> list[dict[str, Any]] | None:
            found = await salto_entities(ha, "lock")
            return found or None

        try:
            found = await wait_for(locks, within=60, what="Salto KS locks", processes=processes)
            print(f"[develop] {len(found)} Salto KS locks in Home Assistant", flush=True)
        except HaDevError as err:
            print(f"[develop] no Salto KS lock yet: {err}", flush=True)
    kind = "first run" if first_run else "later run"
    print(f"[develop] ready after {time.monotonic() - t0:.1f} s ({kind})", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hadev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "develop",
        help="run the simulator (demo) on :8787 and Home Assistant on :8123 until Ctrl-C",
    )
    args = parser.parse_args(argv)
    args.config = REPO / "config"  # its configuration.yaml fixes the port: 8123
    args.ha_port = 8123
    args.sim_port = 8787
    args.scenario = "demo"
    return asyncio.run(develop(args))


if __name__ == "__main__":
    sys.exit(main())
