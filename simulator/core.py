"""``Simulator``: the in-process face of the simulated Salto KS cloud (see docs/architecture.md §2)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .faults import FaultInjector
from .identity import TokenStore
from .monitor import Monitor
from .ratelimit import RateLimiter
from .state import State
from .tenant import Tenant

ENDPOINTS = frozenset(
    {
        "token",
        "sites",
        "site",
        "locks",
        "lock",
        "locking",
        "iqs",
        "iq",
        "users",
        "user",
        "entries",
        "audit_trails",
        "audit_log",
        "incidents",
    }
)
DEFAULT_CLIENT_ID = "salto-sim-client"
DEFAULT_CLIENT_SECRET = "salto-sim-secret"
DEFAULT_USERNAME = "system@salto-sim.example"
DEFAULT_PASSWORD = "salto-sim-password"


def utc_now() -> datetime:
    """The wall clock, read at each call (so freezegun freezes it)."""
    return datetime.now(UTC)


class Simulator:
    """A local Salto KS cloud: identity server, Connect API and control API on one port."""

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        self.state = State(random.Random(seed))
        self.life_rng = random.Random(seed + 1)
        self.tenant = Tenant()
        self.tokens = TokenStore()
        self.faults = FaultInjector(random.Random(seed + 2))
        self.rate_limiter = RateLimiter()
        self.counters: dict[str, int] = {}
        self.monitor = Monitor()
        self.clock: Callable[[], datetime] = utc_now
        self.clients: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.username = DEFAULT_USERNAME
        self.password = DEFAULT_PASSWORD
        self.site_id = ""
        self.scenario = "empty"
        self.url = ""
        self.stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._life: asyncio.Task[None] | None = None

    # construction ------------------------------------------------------------------------
    @classmethod
    def from_scenario(cls, name: str, *, seed: int = 0, locks: int | None = None) -> Simulator:
        """A simulator holding scenario ``small``, ``large`` or ``demo``."""
        from .scenarios import build  # noqa: PLC0415  (scenarios import this module)

        sim = cls(seed=seed)
        build(sim, name, locks=locks)
        return sim

    # server ------------------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        return self.url

    @property
    def auth_url(self) -> str:
        return self.url + "/connect/token"

    @property
    def legacy_auth_url(self) -> str:
        return self.url + "/oauth2/token"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 = a free port); sets ``url``. Starts no background task."""
        if self._runner is not None:
            raise RuntimeError("already started")
        from .app import build_app  # noqa: PLC0415  (app imports control, which imports core)

        self.stopping = asyncio.Event()
        runner = web.AppRunner(
            build_app(self),
            access_log=None,  # app.log_request logs each request without its query string
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        url_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{url_host}:{bound[1]}"

    async def stop(self) -> None:
        """Stop the life task and the server; leaves no task, timer or connection behind."""
        await self.stop_life()
        self.stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def start_life(self, interval: float = 4.0) -> None:
        """Start the demo scenario's background life (people, batteries, outages)."""
        from .life import run_life  # noqa: PLC0415

        if self._life is None or self._life.done():
            self._life = asyncio.get_running_loop().create_task(
                run_life(self, interval), name="salto-sim-life"
            )

    async def stop_life(self) -> None:
        task, self._life = self._life, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def life_running(self) -> bool:
        return self._life is not None and not self._life.done()

    # time --------------------------------------------------------------------------------
    def now(self) -> float:
        """Epoch seconds of ``clock()``."""
        return self.clock().timestamp()

    # sites, IQs, locks, users --------------------------------------------------------------
    def add_site(
        self, name: str, site_uid: str | None = None, time_zone: str = "Europe/Berlin"
    ) -> str:
        site_id = self.state.add_site(name, site_uid, time_zone)
        if not self.site_id:
            self.site_id = site_id
        return site_id

    def add_iq(self, site_id: str | None = None, **kwargs: Any) -> str:
        return self.state.add_iq(site_id, **kwargs)

    def remove_iq(self, iq_id: str) -> None:
        self.state.remove_iq(iq_id)

    def set_iq(self, iq_id: str, **fields: Any) -> None:
        self.state.set_iq(iq_id, **fields)

    def valid_otp(self, iq_id: str) -> str:
        """The OTP the simulator accepts for an OTP-enabled IQ (fixed per IQ)."""
        return self.state.iq(iq_id).otp

    def add_lock(self, site_id: str | None = None, **kwargs: Any) -> str:
        return self.state.add_lock(site_id, **kwargs)

    def remove_lock(self, lock_id: str) -> None:
        self.state.remove_lock(lock_id)

    def set_lock(self, lock_id: str, **fields: Any) -> None:
        self.state.set_lock(lock_id, **fields)

    def lock_state(self, lock_id: str) -> dict[str, Any]:
        """The lock's JSON as the API would answer now."""
        return self.state.lock_json(self.state.lock(lock_id), self.now())

    def add_user(self, site_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return self.state.add_user(site_id, **kwargs)

    def set_user(self, site_user_id: str, **fields: Any) -> dict[str, Any]:
        return self.state.set_user(site_user_id, **fields)

    def remove_user(self, site_user_id: str) -> None:
        self.state.remove_user(site_user_id)

    # entries -----------------------------------------------------------------------------
    def add_entry(self, site_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Append an audit row; ``utc`` defaults to now (whole seconds)."""
        return self.state.add_entry(self.clock(), site_id, **kwargs)

    def entries(self, site_id: str | None = None) -> list[dict[str, Any]]:
        """All rows of a site, oldest first."""
        sid = self.state.default_site(site_id)
        return [dict(e.data) for e in self.state.entries[sid]]

    def open_by(
        self,
        lock_id: str,
        user_id: str | None,
        access_by: str = "tag",
        *,
        utc: datetime | str | None = None,
        access_detail: str | None = None,
    ) -> dict[str, Any]:
        """Someone opens a door on site (tag, pin_code, app, inside_handle)."""
        lock = self.state.lock(lock_id)
        if access_detail is None and access_by == "tag" and user_id is not None:
            access_detail = self.state.platform_user(user_id).tag_number
        entry = self.add_entry(
            lock_id=lock_id,
            event_category="lock_opened",
            access_by=access_by,
            user_id=user_id,
            access_detail=access_detail,
            utc=utc,
            exit_requested=access_by == "inside_handle",
        )
        if utc is None:
            lock.settle(self.now())
            if lock.locked_state == "locked":
                lock.locked_state = "unlocked"
                lock.opened_until = self.now() + lock.open_time
        return entry

    def reject(
        self,
        lock_id: str,
        user_id: str | None = None,
        access_by: str = "pin_code",
        *,
        detail: str = "no_access",
        utc: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A refused opening (``lock_rejected`` + ``no_access`` by default)."""
        return self.add_entry(
            lock_id=lock_id,
            event_category="lock_rejected",
            event_detail=detail,
            access_by=access_by,
            user_id=user_id,
            utc=utc,
        )

    def door_left_open(
        self, lock_id: str, *, active: bool = True, utc: datetime | str | None = None
    ) -> dict[str, Any] | None:
        """Raise (with an incident row) or clear the door-left-open alarm."""
        self.set_lock(lock_id, left_open_alarm=active)
        if not active:
            return None
        return self.add_entry(lock_id=lock_id, event_category="door_left_open", utc=utc)

    def intrusion(
        self, lock_id: str, *, active: bool = True, utc: datetime | str | None = None
    ) -> dict[str, Any] | None:
        """Raise (with an incident row) or clear the intrusion alarm."""
        self.set_lock(lock_id, intrusion_alarm=active)
        if not active:
            return None
        return self.add_entry(lock_id=lock_id, event_category="intrusion", utc=utc)

    def tamper(self, lock_id: str, *, utc: datetime | str | None = None) -> dict[str, Any]:
        """A tamper incident row."""
        return self.add_entry(lock_id=lock_id, event_category="tamper", utc=utc)

    def low_battery(
        self, lock_id: str, level: str | int = "low", *, utc: datetime | str | None = None
    ) -> dict[str, Any]:
        """Set the battery level and write a low-battery incident row."""
        self.set_lock(lock_id, battery_level=level)
        return self.add_entry(lock_id=lock_id, event_category="low_battery", utc=utc)

    def office_mode(
        self,
        lock_id: str,
        *,
        start: bool = True,
        user_id: str | None = None,
        easy: bool = True,
        utc: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Easy (or manual) office mode starts/ends: state and an ``easy_office_mode`` row."""
        self.set_lock(lock_id, locked_state="office_mode" if start else "locked")
        return self.add_entry(
            lock_id=lock_id,
            event_category="easy_office_mode" if easy else "office_mode",
            event_detail="start" if start else "end",
            access_by="tag" if user_id is not None else None,
            user_id=user_id,
            utc=utc,
        )

    def privacy_mode(
        self,
        lock_id: str,
        *,
        on: bool = True,
        user_id: str | None = None,
        utc: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Privacy mode (inside deadbolt) on/off: flag and a ``privacy_mode`` row."""
        self.set_lock(lock_id, privacy_mode=on)
        return self.add_entry(
            lock_id=lock_id,
            event_category="privacy_mode",
            event_detail="start" if on else "end",
            user_id=user_id,
            utc=utc,
        )

    # faults, counters, tokens, credentials, tenant -----------------------------------------
    def inject_fault(
        self,
        endpoint: str,
        kind: str | int | None = None,
        *,
        probability: float | None = None,
        times: int | None = None,
        delay: float | None = None,
        retry_after: float | None = None,
        sequence: list[str | int | None] | None = None,
    ) -> None:
        """Make requests to ``endpoint`` (or ``"*"``) fail; see ``faults.FAULT_KINDS``."""
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(ENDPOINTS)}")
        self.faults.add(
            endpoint,
            kind,
            probability=probability,
            times=times,
            delay=delay,
            retry_after=retry_after,
            sequence=sequence,
        )

    def clear_faults(self, endpoint: str | None = None) -> None:
        self.faults.clear(endpoint)

    def reset_counters(self) -> None:
        self.counters.clear()

    def expire_tokens(self, *, refresh: bool = False) -> None:
        """Expire every issued access token (and drop refresh tokens when ``refresh``)."""
        self.tokens.expire_all(refresh=refresh)

    def set_credentials(
        self,
        *,
        client_secret: str | None = None,
        password: str | None = None,
        username: str | None = None,
    ) -> None:
        """Change (= revoke the old) client secret and/or a user's password.

        Tokens issued to the client (secret change) or user (password change) are revoked too.
        ``username`` names the user whose password changes (default: ``self.username``).
        """
        if client_secret is not None:
            self.clients[self.client_id] = client_secret
            self.client_secret = client_secret
            self.tokens.revoke(client_id=self.client_id)
        if password is not None:
            name = username or self.username
            user = self.state.user_by_email(name)
            if user is None:
                raise ValueError(f"no user {name}")
            user.password = password
            if name.lower() == self.username.lower():
                self.password = password
            self.tokens.revoke(user_id=user.id)

    def credentials(self) -> dict[str, str]:
        """The scenario's valid credentials and URLs."""
        return {
            "api_base": self.api_base,
            "auth_url": self.auth_url,
            "legacy_auth_url": self.legacy_auth_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password,
            "site_id": self.site_id,
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything, as ``GET /_sim/state`` shows it."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "tenant": self.tenant.as_dict(),
            "faults": [f.as_dict() for f in self.faults.faults],
            "counters": dict(self.counters),
            "life_running": self.life_running,
            **self.state.snapshot(self.now()),
        }
