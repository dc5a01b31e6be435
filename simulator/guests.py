"""Guest access in the simulated cloud: guests, seats, PINs, keys, access groups, time schedules.

World side (no HTTP): the verbs raise ``GuestAccessError`` carrying the Connect API answer the
server sends. What the record shows (saltoks-api.md §3, field-research.md §5): a guest is a site
user with role ``site_guest``; users are paid seats and one created with no seat left is silently
``suspended``; ``PUT …/pin`` answers a server-generated 6-digit PIN as a bare JSON string; the two
ids (site user ``id`` for ``/users/{id}``, ``/pin``, ``/keys``; platform ``user.id`` for group
membership); a group without a time schedule grants nothing at the door; for about a minute after
a guest is created, calls about it answer 403/2203 or 404/2202. Which call answers which code in
that window, the seat limit's default and the PIN check at the lock are [inferred].
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .models import PlatformUser, SiteUser, iso_z
from .state import NotFoundError, State, parse_utc

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PIN_DIGITS = 6
# About a minute, as observed; tests shorten it (``configure(consistency_seconds=…)``).
DEFAULT_CONSISTENCY_SECONDS = 60.0
DEFAULT_SEAT_LIMIT = 10
DEFAULT_FEATURES = ("activity_log", "events_streaming", "nfc")
SETTINGS = ("seat_limit", "features", "pin_enabled", "consistency_seconds")


class GuestAccessError(Exception):
    """A refusal with the Connect API's status, ``ErrorCode`` and ``Message``."""

    def __init__(self, status: int, code: int | str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _user_not_found() -> GuestAccessError:
    return GuestAccessError(404, "2202", "User not found")


def _not_ready() -> GuestAccessError:
    return GuestAccessError(403, 2203, "Operation cannot be executed")


@dataclass
class TimeSchedule:
    """When an access group opens its locks (site-local days, times and optional dates)."""

    id: str
    days: dict[str, bool]
    start_time: str = "00:00:00"
    end_time: str = "23:59:59"
    start_date: str | None = None
    end_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **{day: self.days.get(day, False) for day in DAYS},
            "start_time": self.start_time,
            "end_time": self.end_time,
            "start_date": self.start_date,
            "end_date": self.end_date,
        }

    def covers(self, local: datetime) -> bool:
        """Whether a site-local wall time falls inside the schedule."""
        if not self.days.get(DAYS[local.weekday()], False):
            return False
        clock = local.strftime("%H:%M:%S")
        if not self.start_time <= clock <= self.end_time:
            return False
        stamp = local.strftime("%Y-%m-%dT%H:%M:%S")
        if self.start_date is not None and stamp < self.start_date.replace(" ", "T"):
            return False
        return self.end_date is None or stamp <= self.end_date.replace(" ", "T")


@dataclass
class AccessGroup:
    """Locks, members (platform user ids) and time schedules of one site."""

    id: str
    site_id: str
    name: str
    lock_ids: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    schedules: dict[str, TimeSchedule] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "customer_reference": self.name}


@dataclass
class Pin:
    """A user's PIN and the expiry it was given (None: none)."""

    code: str
    expiry: datetime | None


def schedule_from(schedule_id: str, body: dict[str, Any]) -> TimeSchedule:
    """A time schedule from its JSON body (400 1101 for bad values, as the record shows)."""
    days = {day: body.get(day) is True for day in DAYS}
    if not any(days.values()):
        raise GuestAccessError(400, 1101, "At least one day should be selected")
    start = body.get("start_time", "00:00:00")
    end = body.get("end_time", "23:59:59")
    for value in (start, end):
        if not isinstance(value, str) or len(value) != 8 or value[2] != ":" or value[5] != ":":
            raise GuestAccessError(400, 1101, "Times must be HH:MM:SS")
    if end.endswith(":00"):
        end = end[:-2] + "59"  # stored with :59 seconds on the end, as observed
    dates = [body.get("start_date"), body.get("end_date")]
    for value in dates:
        if value is not None and not isinstance(value, str):
            raise GuestAccessError(400, 1101, "Dates must be YYYY-MM-DDTHH:MM:SS or null")
    return TimeSchedule(schedule_id, days, start, end, dates[0], dates[1])


class GuestAccess:
    """The world's guests, PINs, access groups and the site's subscription (seats, features)."""

    def __init__(self, state: State, rng: random.Random) -> None:
        self.state = state
        self.rng = rng  # its own: guest ids never shift the ids of the rest of the world
        self.groups: dict[str, AccessGroup] = {}
        self.pins: dict[str, Pin] = {}  # by site-user id
        self.created: dict[str, float] = {}  # site-user id -> epoch s of its creation by the API
        self.seat_limit: int | None = DEFAULT_SEAT_LIMIT
        self.features: set[str] = set(DEFAULT_FEATURES)
        self.consistency_seconds = DEFAULT_CONSISTENCY_SECONDS

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # settings ----------------------------------------------------------------------------
    @property
    def pin_enabled(self) -> bool:
        return all(site.pin_enabled for site in self.state.sites.values())

    def configure(self, **values: Any) -> dict[str, Any]:
        """Change ``seat_limit`` (None = unlimited), ``features``, ``pin_enabled`` (every site)
        or ``consistency_seconds``; all or nothing."""
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown guest access settings: {sorted(unknown)}")
        limit = values.get("seat_limit", self.seat_limit)
        if limit is not None and (isinstance(limit, bool) or int(limit) < 0):
            raise ValueError("seat_limit must be a whole number >= 0 or null")
        window = float(values.get("consistency_seconds", self.consistency_seconds))
        if window < 0:
            raise ValueError("consistency_seconds must be >= 0")
        features = values.get("features", self.features)
        if isinstance(features, str) or not all(isinstance(f, str) for f in features):
            raise ValueError("features must be a list of names")
        self.seat_limit = None if limit is None else int(limit)
        self.consistency_seconds = window
        self.features = set(features)
        if "pin_enabled" in values:
            for site in self.state.sites.values():
                site.pin_enabled = bool(values["pin_enabled"])
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {
            "seat_limit": self.seat_limit,
            "features": sorted(self.features),
            "pin_enabled": self.pin_enabled,
            "consistency_seconds": self.consistency_seconds,
        }

    def subscription_json(self, site_id: str) -> dict[str, Any]:
        return {
            "user_amount": self.seat_limit,
            "type": "pro" if "custom_pin" in self.features else "basic",
            "features": sorted(self.features),
        }

    # users -------------------------------------------------------------------------------
    def _site_user(self, site_id: str, site_user_id: str) -> SiteUser:
        su = self.state.site_users.get(site_user_id)
        if su is None or su.site_id != site_id:
            raise _user_not_found()
        return su

    def _settling(self, site_user_id: str, now: float) -> bool:
        """Whether the user was created less than the consistency window ago."""
        created = self.created.get(site_user_id)
        return created is not None and now - created < self.consistency_seconds

    def seats_used(self, site_id: str) -> int:
        return sum(
            1 for su in self.state.users_of(site_id) if su.subscription_state == "subscribed"
        )

    def create_guest(self, site_id: str, body: Any, now: datetime) -> SiteUser:
        """``POST …/guests {alias, expires_at}``: a ``site_guest``, suspended when no seat is left."""
        if not isinstance(body, dict):
            raise GuestAccessError(400, 1100, "The request body is not valid")
        alias = body.get("alias")
        if not isinstance(alias, str) or not alias.strip():
            raise GuestAccessError(400, 1100, "The alias field is required.")
        expires = body.get("expires_at")
        expires_at: str | None = None
        if expires is not None:
            try:
                expires_at = iso_z(parse_utc(expires, now))
            except (TypeError, ValueError):
                raise GuestAccessError(400, 1101, "Invalid value for expires_at") from None
        self.state.site(site_id)
        full = self.seat_limit is not None and self.seats_used(site_id) >= self.seat_limit
        user = PlatformUser(self.new_id(), "", "", None)
        self.state.users[user.id] = user
        su = SiteUser(
            self.new_id(),
            site_id,
            user,
            alias.strip(),
            ("site_guest",),
            remote_access=False,
            use_pin=False,
            subscription_state="suspended" if full else "subscribed",
            expires_at=expires_at,
        )
        self.state.site_users[su.id] = su
        self.created[su.id] = now.timestamp()
        return su

    def delete_user(self, site_id: str, site_user_id: str) -> None:
        """``DELETE …/users/{id}``: the user, its PIN and its group memberships go."""
        su = self._site_user(site_id, site_user_id)
        for group in self.groups.values():
            if su.user.id in group.members:
                group.members.remove(su.user.id)
        self.pins.pop(su.id, None)
        self.created.pop(su.id, None)
        self.state.remove_user(su.id)
        if not any(other.user.id == su.user.id for other in self.state.site_users.values()):
            self.state.users.pop(su.user.id, None)

    def set_pin(self, site_id: str, site_user_id: str, body: Any, now: datetime) -> str:
        """``PUT …/users/{id}/pin``: a new server-generated 6-digit PIN (the answer's bare string)."""
        su = self._site_user(site_id, site_user_id)
        if self._settling(su.id, now.timestamp()):
            raise _user_not_found()
        if not self.state.site(site_id).pin_enabled:
            raise GuestAccessError(403, 2203, "PIN codes are not enabled on this site")
        if not isinstance(body, dict):
            raise GuestAccessError(400, 1100, "The request body is not valid")
        if "pin" in body and "custom_pin" not in self.features:
            raise GuestAccessError(403, 2203, "Custom PIN codes need the custom_pin feature")
        expiry: datetime | None = None
        if body.get("expiry_date") is not None:
            try:
                expiry = parse_utc(body["expiry_date"], now)
            except (TypeError, ValueError):
                raise GuestAccessError(400, 1101, "Invalid value for expiry_date") from None
        taken = {
            pin.code
            for uid, pin in self.pins.items()
            if uid in self.state.site_users and self.state.site_users[uid].site_id == site_id
        }
        code = str(body["pin"]) if "pin" in body else ""
        while not code or code in taken:
            code = f"{self.rng.randrange(10**PIN_DIGITS):0{PIN_DIGITS}d}"
        self.pins[su.id] = Pin(code, expiry)
        su.use_pin = True
        return code

    def keys_json(self, site_id: str, site_user_id: str, now: datetime) -> dict[str, Any]:
        """``GET …/users/{id}/keys``."""
        su = self._site_user(site_id, site_user_id)
        if self._settling(su.id, now.timestamp()):
            raise _user_not_found()
        items = []
        if (pin := self.pins.get(su.id)) is not None:
            items.append(
                {
                    "type": "pin",
                    "key_identifier": "pin",
                    "expiry_date": None if pin.expiry is None else iso_z(pin.expiry),
                    "offline_access": False,
                }
            )
        return {"items": items, "next_page_link": None, "count": None}

    # access groups -----------------------------------------------------------------------
    def group(self, site_id: str, group_id: str) -> AccessGroup:
        group = self.groups.get(group_id)
        if group is None or group.site_id != site_id:
            raise GuestAccessError(404, 1100, "The access group was not found")
        return group

    def groups_of(self, site_id: str) -> list[AccessGroup]:
        return [g for g in self.groups.values() if g.site_id == site_id]

    def add_group(
        self,
        site_id: str | None = None,
        *,
        name: str,
        lock_ids: list[str] | tuple[str, ...] = (),
        schedule: bool | dict[str, Any] = True,
    ) -> dict[str, Any]:
        """An access group of ``lock_ids``; ``schedule`` True: every day, all day; False: none."""
        sid = self.state.default_site(site_id)
        for lock_id in lock_ids:
            if self.state.lock(lock_id).site_id != sid:
                raise ValueError("the lock belongs to another site")
        group = AccessGroup(self.new_id(), sid, name, list(lock_ids))
        self.groups[group.id] = group
        if schedule is not False:
            body = dict.fromkeys(DAYS, True) if schedule is True else dict(schedule)
            self.add_schedule(group.id, body)
        return self.group_view(group)

    def add_schedule(self, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
        group = self.groups.get(group_id)
        if group is None:
            raise NotFoundError(f"access group {group_id}")
        schedule = schedule_from(self.new_id(), body)
        group.schedules[schedule.id] = schedule
        return schedule.to_json()

    def group_view(self, group: AccessGroup) -> dict[str, Any]:
        """A group with its locks, members and schedules (control API)."""
        return {
            **group.to_json(),
            "site_id": group.site_id,
            "lock_ids": list(group.lock_ids),
            "members": list(group.members),
            "time_schedules": [s.to_json() for s in group.schedules.values()],
        }

    def add_member(self, site_id: str, group_id: str, body: Any, now: datetime) -> None:
        """``POST …/access_groups/{ag}/users {user_id}``: the platform user id, not the site user's."""
        group = self.group(site_id, group_id)
        user_id = body.get("user_id") if isinstance(body, dict) else None
        if not isinstance(user_id, str):
            raise GuestAccessError(400, 1100, "The user_id field is required.")
        su = self.state.membership(site_id, user_id)
        if su is None:
            raise _user_not_found()
        if self._settling(su.id, now.timestamp()):
            raise _not_ready()
        if user_id not in group.members:
            group.members.append(user_id)

    def remove_member(self, site_id: str, group_id: str, user_id: str) -> None:
        group = self.group(site_id, group_id)
        if user_id not in group.members:
            raise _user_not_found()
        group.members.remove(user_id)

    # at the door -------------------------------------------------------------------------
    def pin_grants(self, lock_id: str, code: str, now: datetime) -> tuple[SiteUser | None, str]:
        """Who a PIN typed at a lock belongs to, and ``""`` (opens) or the rejection's detail."""
        lock = self.state.lock(lock_id)
        owner = next(
            (
                self.state.site_users[uid]
                for uid, pin in self.pins.items()
                if pin.code == code
                and uid in self.state.site_users
                and self.state.site_users[uid].site_id == lock.site_id
            ),
            None,
        )
        if owner is None:
            return None, "no_access"
        pin = self.pins[owner.id]
        if owner.subscription_state != "subscribed":
            return owner, "suspended"
        if owner.blocked:
            return owner, "blocked"
        expired = pin.expiry is not None and now >= pin.expiry
        if owner.expires_at is not None and now >= parse_utc(owner.expires_at, now):
            expired = True
        local = now.astimezone(ZoneInfo(self.state.site(lock.site_id).time_zone))
        allowed = any(
            lock_id in group.lock_ids
            and owner.user.id in group.members
            and any(s.covers(local.replace(tzinfo=None)) for s in group.schedules.values())
            for group in self.groups_of(lock.site_id)
        )
        return owner, "" if allowed and not expired else "no_access"

    def snapshot(self) -> dict[str, Any]:
        return {
            "guest_access": self.settings(),
            "access_groups": [self.group_view(g) for g in self.groups.values()],
        }
