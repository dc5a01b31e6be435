"""Records of the simulated cloud and their JSON shapes (docs/saltoks-api.md §6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ENTRY_TTL_SECONDS = 7_776_000  # 90 days, as observed

LOCKED_STATES = ("none", "locked", "office_mode", "uncertain", "unlocked")
BATTERY_LEVELS = ("critical", "low", "good", "fresh", "none", "unknown")
DATA_SYNC_STATES = ("synced", "pending", "not_synced", "failed")
INCIDENT_CATEGORIES = ("door_left_open", "intrusion", "tamper", "low_battery")

_ROLE_NS = uuid.UUID("0f1b5a7e-5a17-4b5e-9c1d-5a1705a1705a")
_SITE_USER_PARENT = "76f7e578-80fb-11e8-a892-000d3a221c5b"

# Role ids of site_admin and site_user are the observed (global) ones; the others are made up.
ROLES: dict[str, dict[str, Any]] = {
    "site_admin": {
        "id": "7d53b0b3-3ef7-11e8-9f1c-0050568d6e36",
        "customer_reference": "Site Admin",
        "parent_id": None,
    },
    # The record names a "Site Super User" (event-stream rights); its code and id are [inferred].
    "site_super_user": {"customer_reference": "Site Super User", "parent_id": None},
    "site_user": {
        "id": "8f6081a3-80fb-11e8-a892-000d3a221c5b",
        "customer_reference": "Site User",
        "parent_id": _SITE_USER_PARENT,
    },
    "site_mobile_user": {"customer_reference": "Site Mobile User", "parent_id": _SITE_USER_PARENT},
    "site_remote_office_mode_user": {
        "customer_reference": "Site Remote Office Mode User",
        "parent_id": _SITE_USER_PARENT,
    },
    "site_pod_member": {"customer_reference": "Site Pod Member", "parent_id": _SITE_USER_PARENT},
    "site_guest": {"customer_reference": "Site Guest", "parent_id": _SITE_USER_PARENT},
}
for _code, _role in ROLES.items():
    _role.setdefault("id", str(uuid.uuid5(_ROLE_NS, _code)))
    _role["code"] = _code
    _role["is_hierarchical"] = True

VENDOR = {
    "id": "d948da26-c404-11ee-8767-000d3a46a880",
    "reference": "sallis",
    "display_name": "SALTO Sallis",
}


def iso_z(when: datetime) -> str:
    """``2026-08-19T12:50:38Z`` (seconds precision, UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms_z(when: datetime) -> str:
    """``2026-11-17T12:50:39.401Z``."""
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


def local_iso(when: datetime, time_zone: str) -> str:
    """Local wall time without offset, as ``local_date_time``."""
    return when.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Site:
    """A site (customer installation)."""

    id: str
    site_uid: str
    name: str
    time_zone: str = "Europe/Berlin"
    country_code: str = "DE"
    pin_enabled: bool = True


@dataclass
class Iq:
    """An IQ hub. The codes it accepts come from users' activations (``otp.OtpBook``); ``otp`` is
    a random 5-hex-digit value no check reads any more, kept for old control API bodies."""

    id: str
    site_id: str
    name: str
    mac: str
    otp: str
    online: bool = True
    otp_enabled: bool = False
    revision: str = "2.0"
    signal_strength: int = 21
    data_sync_state: str = "not_synced"
    operator: str = "Telekom.de KPN Mode 7"
    led_enabled: bool = True
    otp_failures: int = 0
    otp_blocked_until: float | None = None

    def to_json(self, time_zone: str) -> dict[str, Any]:
        """The IQ object of ``GET …/iqs``."""
        return {
            "id": self.id,
            "customer_reference": self.name,
            "time_zone": time_zone,
            "mac": self.mac,
            "operator": self.operator,
            "state": "active",
            "restore_required": False,
            "reset_date": None,
            "online": self.online,
            "led_enabled": self.led_enabled,
            "data_sync_state": self.data_sync_state,
            "signal_strength": self.signal_strength,
            "revision": self.revision,
            "otp_enabled": self.otp_enabled,
        }

    def nested_json(self) -> dict[str, Any]:
        """The ``iq`` object nested in a lock."""
        return {
            "id": self.id,
            "customer_reference": self.name,
            "mac_address": self.mac,
            "is_online": self.online,
            "revision": self.revision,
            "otp_enabled": self.otp_enabled,
        }


@dataclass
class Lock:
    """A lock. ``opened_until`` (epoch s) is set by an opening and evaluated lazily."""

    id: str
    site_id: str
    name: str
    mac: str
    iq_id: str | None
    lock_type: str = "escutcheon_pin"
    online: bool = True
    locked_state: str = "locked"
    battery_level: str | int | None = "fresh"
    left_open_alarm: bool = False
    intrusion_alarm: bool = False
    privacy_mode: bool = False
    supports_remote_lock: bool = True
    open_time: int = 7
    opened_until: float | None = None
    floor: str | None = None
    easy_office_mode_schedule: dict[str, Any] | None = None
    offline_access_keys_count: int = 1
    tag_registration_state: str = "not_started"

    def settle(self, now: float) -> None:
        """Relock an opened lock once its open time is over (lazy, no timers)."""
        if self.opened_until is not None and now >= self.opened_until:
            if self.locked_state == "unlocked":
                self.locked_state = "locked"
            self.opened_until = None

    def to_json(self, iq: Iq | None) -> dict[str, Any]:
        """The lock object of ``GET …/locks``."""
        return {
            "id": self.id,
            "customer_reference": self.name,
            "mac": self.mac,
            "floor": self.floor,
            "lock_type": self.lock_type,
            "online": self.online,
            "locked_state": self.locked_state,
            "battery_level": self.battery_level,
            "left_open_alarm": self.left_open_alarm,
            "intrusion_alarm": self.intrusion_alarm,
            "privacy_mode": self.privacy_mode,
            "iq_link_state": "attached" if iq is not None else "detached",
            "tag_registration_state": self.tag_registration_state,
            "offline_access_keys_limit": 360,
            "offline_access_keys_count": self.offline_access_keys_count,
            "communication_type": "blue_net",
            "easy_office_mode_schedule": self.easy_office_mode_schedule,
            "iq": iq.nested_json() if iq is not None else None,
            "repeater": None,
            "vendor": dict(VENDOR),
        }


def office_hours_schedule() -> dict[str, Any]:
    """An easy office mode schedule, weekdays 08:00-18:00."""
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    schedule: dict[str, Any] = {"eom_auto_start": True}
    schedule.update({day: day not in {"saturday", "sunday"} for day in days})
    schedule.update(
        {"start_time": "08:00:00", "end_time": "18:00:59", "start_date": None, "end_date": None}
    )
    return schedule


@dataclass
class PlatformUser:
    """A platform (identity) user; ``password`` None = cannot sign in."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    password: str | None = None
    tag_number: str | None = None


@dataclass
class SiteUser:
    """A user's membership of one site."""

    id: str
    site_id: str
    user: PlatformUser
    alias: str = ""
    roles: tuple[str, ...] = ("site_user",)
    remote_access: bool = True
    blocked: bool = False
    use_pin: bool = True
    toggle_easy_office_mode: bool = False
    toggle_manual_office_mode: bool = False
    override_privacy_mode: bool = False
    subscription_state: str = "subscribed"  # "suspended": created with no seat left
    expires_at: str | None = None  # guests: ISO UTC

    def to_json(self) -> dict[str, Any]:
        """The site-user object of ``GET …/users``."""
        return {
            "id": self.id,
            "user": {
                "id": self.user.id,
                "first_name": self.user.first_name,
                "last_name": self.user.last_name,
                "email": self.user.email,
                "tag_number": self.user.tag_number,
                "image_url": None,
                "has_profile": self.user.email is not None,
                "is_managed_by_current_site": True,
            },
            "roles": [dict(ROLES[code]) for code in self.roles],
            "alias": self.alias,
            "toggle_easy_office_mode": self.toggle_easy_office_mode,
            "toggle_manual_office_mode": self.toggle_manual_office_mode,
            "remote_access": self.remote_access,
            "blocked": self.blocked,
            "tag_owned_by_this_site": self.user.tag_number is not None,
            "subscription_state": self.subscription_state,
            "override_privacy_mode": self.override_privacy_mode,
            "use_pin": self.use_pin,
            "data_removal_expires_at": None,
            "expires_at": self.expires_at,
        }


@dataclass
class Entry:
    """One audit row: a JSON snapshot taken when it happened plus its sort keys."""

    seq: int
    site_id: str
    utc: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> str:
        """``local_date_time`` of the row."""
        return str(self.data["local_date_time"])


def expiration_of(utc: datetime) -> str:
    """``expiration_date_time`` of a row written at ``utc``."""
    return iso_ms_z(utc + timedelta(seconds=ENTRY_TTL_SECONDS, milliseconds=401))
