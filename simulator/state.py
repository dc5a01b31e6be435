"""The mutable world of the simulator: sites → IQs → locks, users, an append-only entries log."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from .models import (
    BATTERY_LEVELS,
    LOCKED_STATES,
    ROLES,
    Entry,
    Iq,
    Lock,
    PlatformUser,
    Site,
    SiteUser,
    expiration_of,
    iso_z,
    local_iso,
)

IQ_FIELDS = frozenset(
    {"name", "online", "otp_enabled", "revision", "signal_strength", "data_sync_state", "otp"}
)
LOCK_FIELDS = frozenset({f.name for f in fields(Lock)} - {"id", "site_id"})
USER_FIELDS = frozenset(
    {
        "alias",
        "roles",
        "remote_access",
        "blocked",
        "use_pin",
        "toggle_easy_office_mode",
        "toggle_manual_office_mode",
        "override_privacy_mode",
        "first_name",
        "last_name",
        "email",
        "password",
        "tag_number",
    }
)


class NotFoundError(KeyError):
    """An id the simulator does not know."""


def parse_utc(value: datetime | str | None, default: datetime) -> datetime:
    """A datetime or ISO string as an aware UTC datetime truncated to whole seconds."""
    if value is None:
        when = default
    elif isinstance(value, datetime):
        when = value
    else:
        when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


class State:
    """All records, keyed by id. Ids come from a seeded RNG, so a scenario is deterministic."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sites: dict[str, Site] = {}
        self.iqs: dict[str, Iq] = {}
        self.locks: dict[str, Lock] = {}
        self.users: dict[str, PlatformUser] = {}
        self.site_users: dict[str, SiteUser] = {}
        self.entries: dict[str, list[Entry]] = {}
        # Called with every new row once it is in the log (the event stream pushes it).
        self.entry_listeners: list[Callable[[Entry], None]] = []
        self._seq = 0

    # ids ---------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A random (seeded) UUID4 string."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _mac(self, digits: int) -> str:
        return "".join(self.rng.choice("0123456789ABCDEF") for _ in range(digits))

    # lookups -----------------------------------------------------------------------------
    def site(self, site_id: str) -> Site:
        try:
            return self.sites[site_id]
        except KeyError:
            raise NotFoundError(f"site {site_id}") from None

    def iq(self, iq_id: str) -> Iq:
        try:
            return self.iqs[iq_id]
        except KeyError:
            raise NotFoundError(f"iq {iq_id}") from None

    def lock(self, lock_id: str) -> Lock:
        try:
            return self.locks[lock_id]
        except KeyError:
            raise NotFoundError(f"lock {lock_id}") from None

    def site_user(self, site_user_id: str) -> SiteUser:
        try:
            return self.site_users[site_user_id]
        except KeyError:
            raise NotFoundError(f"user {site_user_id}") from None

    def default_site(self, site_id: str | None) -> str:
        if site_id is not None:
            return self.site(site_id).id
        if not self.sites:
            raise NotFoundError("no site yet: add_site first")
        return next(iter(self.sites))

    def iqs_of(self, site_id: str) -> list[Iq]:
        return [iq for iq in self.iqs.values() if iq.site_id == site_id]

    def locks_of(self, site_id: str) -> list[Lock]:
        return [lock for lock in self.locks.values() if lock.site_id == site_id]

    def users_of(self, site_id: str) -> list[SiteUser]:
        return [su for su in self.site_users.values() if su.site_id == site_id]

    def membership(self, site_id: str, platform_user_id: str) -> SiteUser | None:
        for su in self.site_users.values():
            if su.site_id == site_id and su.user.id == platform_user_id:
                return su
        return None

    def user_by_email(self, email: str) -> PlatformUser | None:
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email.lower():
                return user
        return None

    def platform_user(self, any_user_id: str) -> PlatformUser:
        """A platform user from its own id or from one of its site-user ids."""
        if any_user_id in self.users:
            return self.users[any_user_id]
        return self.site_user(any_user_id).user

    # JSON --------------------------------------------------------------------------------
    def site_json(self, site: Site) -> dict[str, Any]:
        users = self.users_of(site.id)
        owner = next((su for su in users if "site_admin" in su.roles), None)
        return {
            "id": site.id,
            "site_uid": site.site_uid,
            "customer_reference": site.name,
            "country_code": site.country_code,
            "time_zone": site.time_zone,
            "installation_state": "released",
            "subscription_valid": True,
            "active_user_amount": sum(1 for su in users if not su.blocked),
            "subscribed_user_amount": max(10, len(users)),
            "active_iq_amount": sum(1 for iq in self.iqs_of(site.id) if iq.online),
            "pin_enabled": site.pin_enabled,
            "mkey_compatible": True,
            "store_events_ttl": "90.00:00:00",
            "owner": None
            if owner is None
            else {
                "id": owner.user.id,
                "first_name": owner.user.first_name,
                "last_name": owner.user.last_name,
                "email": owner.user.email,
                "tag_number": owner.user.tag_number,
            },
        }

    def lock_json(self, lock: Lock, now: float) -> dict[str, Any]:
        lock.settle(now)
        iq = self.iqs.get(lock.iq_id) if lock.iq_id else None
        return lock.to_json(iq)

    def iq_json(self, iq: Iq) -> dict[str, Any]:
        return iq.to_json(self.site(iq.site_id).time_zone)

    # mutations ---------------------------------------------------------------------------
    def add_site(
        self, name: str, site_uid: str | None = None, time_zone: str = "Europe/Berlin"
    ) -> str:
        site_id = self.new_id()
        uid = site_uid or f"DE{self.rng.randrange(10**9, 10**10)}"
        self.sites[site_id] = Site(site_id, uid, name, time_zone)
        self.entries[site_id] = []
        return site_id

    def add_iq(
        self,
        site_id: str | None = None,
        *,
        name: str,
        online: bool = True,
        otp_enabled: bool = False,
        revision: str = "2.0",
        signal_strength: int = 21,
    ) -> str:
        sid = self.default_site(site_id)
        iq_id = self.new_id()
        mac = ".".join(self._mac(2) for _ in range(3))
        otp = f"{self.rng.getrandbits(20):05x}"
        self.iqs[iq_id] = Iq(
            iq_id,
            sid,
            name,
            mac,
            otp,
            online=online,
            otp_enabled=otp_enabled,
            revision=revision,
            signal_strength=signal_strength,
        )
        return iq_id

    def remove_iq(self, iq_id: str) -> None:
        self.iq(iq_id)
        del self.iqs[iq_id]
        for lock in self.locks.values():
            if lock.iq_id == iq_id:
                lock.iq_id = None

    def set_iq(self, iq_id: str, **values: Any) -> None:
        iq = self.iq(iq_id)
        unknown = set(values) - IQ_FIELDS
        if unknown:
            raise ValueError(f"unknown iq fields: {sorted(unknown)}")
        if "data_sync_state" in values and values["data_sync_state"] not in {
            "synced",
            "pending",
            "not_synced",
            "failed",
        }:
            raise ValueError("bad data_sync_state")
        for name, value in values.items():
            setattr(iq, name, value)
        if values.get("otp_enabled") is False:
            iq.otp_failures = 0
            iq.otp_blocked_until = None

    def add_lock(
        self,
        site_id: str | None = None,
        *,
        name: str,
        iq_id: str | None = None,
        lock_type: str = "escutcheon_pin",
        online: bool = True,
        locked_state: str = "locked",
        battery_level: str | int | None = "fresh",
        supports_remote_lock: bool = True,
        open_time: int = 7,
        **extra: Any,
    ) -> str:
        """Add a lock; with no ``iq_id`` it joins the site's first IQ (if any)."""
        sid = self.default_site(site_id)
        if iq_id is None:
            iq_id = next((iq.id for iq in self.iqs_of(sid)), None)
        elif self.iq(iq_id).site_id != sid:
            raise ValueError("the IQ belongs to another site")
        _check_lock_values(locked_state=locked_state, battery_level=battery_level, **extra)
        lock_id = self.new_id()
        lock = Lock(
            lock_id,
            sid,
            name,
            "0163" + self._mac(10),
            iq_id,
            lock_type=lock_type,
            online=online,
            locked_state=locked_state,
            battery_level=battery_level,
            supports_remote_lock=supports_remote_lock,
            open_time=int(open_time),
        )
        self.locks[lock_id] = lock
        if extra:
            self.set_lock(lock_id, **extra)
        return lock_id

    def remove_lock(self, lock_id: str) -> None:
        self.lock(lock_id)
        del self.locks[lock_id]

    def set_lock(self, lock_id: str, **values: Any) -> None:
        lock = self.lock(lock_id)
        unknown = set(values) - LOCK_FIELDS
        if unknown:
            raise ValueError(f"unknown lock fields: {sorted(unknown)}")
        _check_lock_values(**values)
        if values.get("iq_id") is not None and self.iq(values["iq_id"]).site_id != lock.site_id:
            raise ValueError("the IQ belongs to another site")
        for name, value in values.items():
            setattr(lock, name, value)
        if "locked_state" in values and "opened_until" not in values:
            lock.opened_until = None

    def add_user(
        self,
        site_id: str | None = None,
        *,
        first_name: str,
        last_name: str,
        email: str | None = None,
        alias: str = "",
        remote_access: bool = True,
        blocked: bool = False,
        roles: tuple[str, ...] | list[str] = ("site_user",),
        password: str | None = None,
        tag_number: str | None = None,
    ) -> dict[str, Any]:
        """Add a platform user and its site membership; returns the site-user JSON."""
        sid = self.default_site(site_id)
        roles = tuple(roles)
        _check_roles(roles)
        if email is not None and self.user_by_email(email) is not None:
            raise ValueError(f"email already used: {email}")
        user = PlatformUser(self.new_id(), first_name, last_name, email, password, tag_number)
        self.users[user.id] = user
        site_user = SiteUser(
            self.new_id(), sid, user, alias, roles, remote_access=remote_access, blocked=blocked
        )
        self.site_users[site_user.id] = site_user
        return site_user.to_json()

    def set_user(self, site_user_id: str, **values: Any) -> dict[str, Any]:
        site_user = self.site_user(site_user_id)
        unknown = set(values) - USER_FIELDS
        if unknown:
            raise ValueError(f"unknown user fields: {sorted(unknown)}")
        for name, value in values.items():
            if name in {"first_name", "last_name", "email", "password", "tag_number"}:
                setattr(site_user.user, name, value)
            elif name == "roles":
                roles = tuple(value)
                _check_roles(roles)
                site_user.roles = roles
            else:
                setattr(site_user, name, value)
        return site_user.to_json()

    def remove_user(self, site_user_id: str) -> None:
        self.site_user(site_user_id)
        del self.site_users[site_user_id]

    def add_entry(
        self,
        now: datetime,
        site_id: str | None = None,
        *,
        lock_id: str,
        event_category: str,
        event_detail: str | None = None,
        access_by: str | None = None,
        user_id: str | None = None,
        access_detail: str | None = None,
        utc: datetime | str | None = None,
        exit_requested: bool = False,
    ) -> dict[str, Any]:
        """Append an audit row (a snapshot of lock, IQ and user names); returns its JSON."""
        lock = self.lock(lock_id)
        sid = lock.site_id if site_id is None else self.site(site_id).id
        site = self.site(sid)
        when = parse_utc(utc, now)
        user = self.platform_user(user_id) if user_id is not None else None
        alias = ""
        if user is not None:
            membership = self.membership(sid, user.id)
            alias = membership.alias if membership is not None else ""
        iq = self.iqs.get(lock.iq_id) if lock.iq_id else None
        self._seq += 1
        data: dict[str, Any] = {
            "id": self.new_id(),
            "event_category": event_category,
            "event_detail": event_detail,
            "utc_date_time": iso_z(when),
            "local_date_time": local_iso(when, site.time_zone),
            "lock_id": lock.id,
            "lock_mac_address": lock.mac,
            "lock_customer_reference": lock.name,
            "user_id": user.id if user else None,
            "user_first_name": user.first_name if user else None,
            "user_last_name": user.last_name if user else None,
            "user_image_url": None,
            "user_alias": alias if user else None,
            "iq_id": iq.id if iq else None,
            "iq_customer_reference": iq.name if iq else None,
            "iq_mac_address": iq.mac if iq else None,
            "iq_revision": iq.revision if iq else None,
            "exit_requested": exit_requested,
            "access_by": access_by,
            "access_detail": access_detail,
            "ttl_in_seconds": 7_776_000,
            "expiration_date_time": expiration_of(when),
        }
        entry = Entry(self._seq, sid, when, data)
        self.entries[sid].append(entry)
        for listener in self.entry_listeners:
            listener(entry)
        return dict(data)

    def snapshot(self, now: float) -> dict[str, Any]:
        """Everything, for ``GET /_sim/state``."""
        return {
            "sites": [self.site_json(s) for s in self.sites.values()],
            "iqs": [
                {**self.iq_json(iq), "site_id": iq.site_id, "otp": iq.otp}
                for iq in self.iqs.values()
            ],
            "locks": [
                {
                    **self.lock_json(lock, now),
                    "site_id": lock.site_id,
                    "supports_remote_lock": lock.supports_remote_lock,
                    "open_time": lock.open_time,
                }
                for lock in self.locks.values()
            ],
            "users": [{**su.to_json(), "site_id": su.site_id} for su in self.site_users.values()],
            "entries": {sid: len(rows) for sid, rows in self.entries.items()},
        }


def _check_roles(roles: tuple[str, ...]) -> None:
    unknown = [code for code in roles if code not in ROLES]
    if unknown:
        raise ValueError(f"unknown role codes: {unknown}; known: {sorted(ROLES)}")


def _check_lock_values(**values: Any) -> None:
    if "locked_state" in values and values["locked_state"] not in LOCKED_STATES:
        raise ValueError(f"locked_state must be one of {LOCKED_STATES}")
    level = values.get("battery_level")
    if isinstance(level, str) and level not in BATTERY_LEVELS:
        raise ValueError(f"battery_level must be an int or one of {BATTERY_LEVELS}")
