"""The simulated cloud's world: its state and the verbs that change it (no HTTP in here).

``World`` holds the sites, IQs, locks, users and entries (``state``), the tenant profile, issued
tokens, injected faults, rate limiter, request counters and the monitor, and the clock they all
read. The server (``server.Simulator``, ``app``) serves a world; nothing here knows of it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .faults import FaultInjector
from .guests import GuestAccess
from .models import Entry
from .monitor import Monitor
from .oidc import HA_REDIRECT_URI, Oidc
from .otp import OtpBook, code_at
from .ratelimit import RateLimiter
from .state import NotFoundError, State
from .stream import EventStream
from .tenant import Tenant
from .tokens import TokenStore

DEFAULT_CLIENT_ID = "salto-sim-client"
DEFAULT_CLIENT_SECRET = "salto-sim-secret"
DEFAULT_USERNAME = "system@salto-sim.example"
DEFAULT_PASSWORD = "salto-sim-password"


def utc_now() -> datetime:
    """The wall clock, read at each call (so freezegun freezes it)."""
    return datetime.now(UTC)


class World:
    """Everything the simulated cloud knows, and the verbs tests and the control API use."""

    # The endpoint names a fault may target: those of the server that serves this world.
    endpoints: frozenset[str] = frozenset()

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        self.state = State(random.Random(seed))
        self.guest_access = GuestAccess(self.state, random.Random(seed + 3))
        self.otp = OtpBook(random.Random(seed + 14))
        self.life_rng = random.Random(seed + 1)
        self.tenant = Tenant()
        self.tokens = TokenStore()
        self.faults = FaultInjector(random.Random(seed + 2))
        self.rate_limiter = RateLimiter()
        self.counters: dict[str, int] = {}
        self.monitor = Monitor()
        self.stream = EventStream()
        self.state.entry_listeners.append(self._push_entry)
        self.clock: Callable[[], datetime] = utc_now
        self.clients: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self.oidc = Oidc()
        self.oidc.register(DEFAULT_CLIENT_ID, HA_REDIRECT_URI)
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.username = DEFAULT_USERNAME
        self.password = DEFAULT_PASSWORD
        self.site_id = ""
        self.scenario = "empty"

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
        self.otp.forget_iq(iq_id)

    def set_iq(self, iq_id: str, **fields: Any) -> None:
        self.state.set_iq(iq_id, **fields)

    # IQ activations and OTPs (otp.py) -----------------------------------------------------------
    def system_user_id(self) -> str:
        """The platform id of the scenario's system user (``username``)."""
        user = self.state.user_by_email(self.username)
        if user is None:
            raise ValueError(f"no user {self.username}")
        return user.id

    def valid_otp(self, iq_id: str) -> str:
        """The code valid now for the system user on an IQ, as the user's Salto app shows it (which,
        like opening the app there, activates the user on the IQ in the app when not yet activated)."""
        self.state.iq(iq_id)
        return self.otp.app_code(iq_id, self.system_user_id(), self.now())

    def _otp_user(self, iq_id: str, user_id: str | None) -> str:
        self.state.iq(iq_id)
        return self.state.platform_user(user_id).id if user_id else self.system_user_id()

    def iq_activation(self, iq_id: str, user_id: str | None = None) -> dict[str, Any]:
        """A user's (default: the system user's) secret, PIN and activation on an IQ."""
        return self.otp.activation(iq_id, self._otp_user(iq_id, user_id)).as_dict()

    def rotate_iq_secret(self, iq_id: str, user_id: str | None = None) -> None:
        """The user activates (again) on the IQ in the Salto app: the secret rotates."""
        self.otp.rotate(iq_id, self._otp_user(iq_id, user_id), self.now())

    def deactivate_iq(self, iq_id: str, user_id: str | None = None) -> None:
        """An admin removes the user's activation on the IQ."""
        self.otp.deactivate(iq_id, self._otp_user(iq_id, user_id))

    def pin_mails(self, iq_id: str | None = None) -> list[dict[str, Any]]:
        """The IQ PIN mails sent so far (of one IQ), oldest first."""
        return [m.as_dict() for m in self.otp.mails if iq_id is None or m.iq_id == iq_id]

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

    # guest access ------------------------------------------------------------------------
    def add_access_group(self, site_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """An access group (``name``, ``lock_ids``, ``schedule``: True every day / False none / a body)."""
        return self.guest_access.add_group(site_id, **kwargs)

    def add_time_schedule(self, group_id: str, **body: Any) -> dict[str, Any]:
        return self.guest_access.add_schedule(group_id, body)

    def configure_guest_access(self, **values: Any) -> dict[str, Any]:
        """``seat_limit``, ``features``, ``pin_enabled``, ``consistency_seconds``."""
        return self.guest_access.configure(**values)

    def type_pin(self, lock_id: str, pin: str) -> dict[str, Any]:
        """Someone types a PIN at a lock's keypad: ``lock_opened`` + ``pin_code`` when it is valid
        (not expired, subscribed, in a group of the lock inside its schedule), else ``lock_rejected``."""
        owner, detail = self.guest_access.pin_grants(lock_id, str(pin), self.clock())
        user_id = owner.user.id if owner is not None else None
        if detail:
            return self.reject(lock_id, user_id, "pin_code", detail=detail)
        return self.open_by(lock_id, user_id, "pin_code")

    # entries -----------------------------------------------------------------------------
    def add_entry(self, site_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Append an audit row; ``utc`` defaults to now (whole seconds)."""
        return self.state.add_entry(self.clock(), site_id, **kwargs)

    def _push_entry(self, entry: Entry) -> None:
        self.stream.entry_added(entry.site_id, entry.seq, entry.data, self.now())

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
        if endpoint != "*" and endpoint not in self.endpoints:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(self.endpoints)}")
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

    def revoke_refresh_tokens(
        self, *, client_id: str | None = None, user_id: str | None = None
    ) -> dict[str, int]:
        """Revoke live refresh tokens (of a client and/or platform user; all without either)."""
        return {"revoked": self.tokens.revoke_refresh(client_id=client_id, user_id=user_id)}

    # authorization-code clients ----------------------------------------------------------
    def register_redirect_uri(self, client_id: str, uri: str) -> dict[str, Any]:
        """Register a redirect URI for a client (as a Salto partner does on request)."""
        if client_id not in self.clients:
            raise NotFoundError(f"client {client_id}")
        return {"client_id": client_id, "redirect_uris": self.oidc.register(client_id, uri)}

    def unregister_redirect_uri(self, client_id: str, uri: str) -> dict[str, Any]:
        if client_id not in self.clients:
            raise NotFoundError(f"client {client_id}")
        return {"client_id": client_id, "redirect_uris": self.oidc.unregister(client_id, uri)}

    def client_info(self, client_id: str) -> dict[str, Any]:
        """A client's registered redirect URIs (never its secret)."""
        if client_id not in self.clients:
            raise NotFoundError(f"client {client_id}")
        return {
            "client_id": client_id,
            "redirect_uris": list(self.oidc.redirect_uris.get(client_id, [])),
        }

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
        """The scenario's valid credentials."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password,
            "site_id": self.site_id,
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything the world holds (``GET /_sim/state`` adds what the server runs)."""
        snapshot = {
            "scenario": self.scenario,
            "seed": self.seed,
            "tenant": self.tenant.as_dict(),
            "faults": [f.as_dict() for f in self.faults.faults],
            "counters": dict(self.counters),
            **self.state.snapshot(self.now()),
            **self.guest_access.snapshot(),
        }
        snapshot["iqs"] = [self._iq_snapshot(iq) for iq in snapshot["iqs"]]
        return snapshot

    def _iq_snapshot(self, iq: dict[str, Any]) -> dict[str, Any]:
        """An IQ of the snapshot with ``otp``: the system user's code now, None before activation."""
        user = self.state.user_by_email(self.username)
        code = None
        if user is not None and self.otp.is_activated(iq["id"], user.id):
            record = self.otp.activation(iq["id"], user.id)
            code = code_at(record.secret, record.iq_pin, self.now())
        return {**iq, "otp": code}
