"""Typed models of the Salto KS Connect API payloads: one frozen dataclass per object the API answers.

Each field's metadata says where it is read from (``fields.wire``); ``Model.from_dict`` reads them. Unknown fields
are ignored, a missing (or null) optional field becomes None, a field of the wrong type raises
InvalidResponseError naming the field. Enum fields keep values they do not know.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .enums import BatteryLevel, DataSyncState, EventCategory, LockedState
from .exceptions import InvalidResponseError
from .fields import (
    Model,
    enum_of,
    fail,
    nested,
    opt_bool,
    opt_int,
    opt_scalar_str,
    opt_str,
    opt_utc,
    req_str,
    req_utc,
    role_codes,
    str_tuple,
    weekdays,
    wire,
)


@dataclass(frozen=True, slots=True)
class Site(Model):
    """A Salto KS site."""

    WHAT: ClassVar[str] = "site"
    id: str = field(metadata=wire(req_str))
    site_uid: str | None = field(metadata=wire(opt_str))
    name: str | None = field(metadata=wire(opt_str, "customer_reference"))
    time_zone: str | None = field(metadata=wire(opt_str))


def _iq_online(d: Mapping[str, Any], key: str, what: str) -> bool | None:
    """``is_online``, which some answers carry instead of ``online``."""
    online = opt_bool(d, "is_online", what)
    return opt_bool(d, key, what) if online is None else online


@dataclass(frozen=True, slots=True)
class LockIq(Model):
    """The IQ a lock is attached to, as embedded in the lock object."""

    WHAT: ClassVar[str] = "lock.iq"
    id: str = field(metadata=wire(req_str))
    name: str | None = field(metadata=wire(opt_str, "customer_reference"))
    online: bool | None = field(metadata=wire(_iq_online))
    revision: str | None = field(metadata=wire(opt_scalar_str))
    otp_enabled: bool | None = field(metadata=wire(opt_bool))


@dataclass(frozen=True, slots=True)
class EasyOfficeModeSchedule(Model):
    """A lock's easy office mode schedule; ``days`` lists the enabled weekdays (``"monday"`` …)."""

    WHAT: ClassVar[str] = "lock.easy_office_mode_schedule"
    auto_start: bool | None = field(metadata=wire(opt_bool, "eom_auto_start"))
    days: tuple[str, ...] = field(metadata=wire(weekdays))
    start_time: str | None = field(metadata=wire(opt_str))
    end_time: str | None = field(metadata=wire(opt_str))
    start_date: str | None = field(metadata=wire(opt_str))
    end_date: str | None = field(metadata=wire(opt_str))


def _battery_level(d: Mapping[str, Any], key: str, what: str) -> BatteryLevel | int | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise fail(what, key, "a battery level", value)
    if isinstance(value, int):
        if not 0 <= value <= 100:
            raise InvalidResponseError(f"{what}.{key}: percentage outside 0-100")
        return value
    if isinstance(value, str):
        return BatteryLevel(value)
    raise fail(what, key, "a battery level", value)


@dataclass(frozen=True, slots=True)
class Lock(Model):
    """A lock (escutcheon, cylinder, wall reader …).

    ``locked_state`` is ``LockedState.NONE`` when the server sends none. ``battery_level`` is a
    ``BatteryLevel`` or, when a server sends a percentage, an int 0-100.
    """

    WHAT: ClassVar[str] = "lock"
    id: str = field(metadata=wire(req_str))
    name: str | None = field(metadata=wire(opt_str, "customer_reference"))
    online: bool | None = field(metadata=wire(opt_bool))
    locked_state: LockedState = field(metadata=wire(enum_of(LockedState, LockedState.NONE)))
    battery_level: BatteryLevel | int | None = field(metadata=wire(_battery_level))
    left_open_alarm: bool | None = field(metadata=wire(opt_bool))
    intrusion_alarm: bool | None = field(metadata=wire(opt_bool))
    privacy_mode: bool | None = field(metadata=wire(opt_bool))
    lock_type: str | None = field(metadata=wire(opt_str))
    mac: str | None = field(metadata=wire(opt_str))
    easy_office_mode_schedule: EasyOfficeModeSchedule | None = field(
        metadata=wire(nested(EasyOfficeModeSchedule))
    )
    iq: LockIq | None = field(metadata=wire(nested(LockIq)))


@dataclass(frozen=True, slots=True)
class Iq(Model):
    """An IQ (the hub connecting locks to the cloud)."""

    WHAT: ClassVar[str] = "iq"
    id: str = field(metadata=wire(req_str))
    name: str | None = field(metadata=wire(opt_str, "customer_reference"))
    online: bool | None = field(metadata=wire(opt_bool))
    signal_strength: int | None = field(metadata=wire(opt_int))
    data_sync_state: DataSyncState | None = field(metadata=wire(enum_of(DataSyncState)))
    revision: str | None = field(metadata=wire(opt_scalar_str))
    otp_enabled: bool | None = field(metadata=wire(opt_bool))
    mac: str | None = field(metadata=wire(opt_str))
    time_zone: str | None = field(metadata=wire(opt_str))


@dataclass(frozen=True, slots=True)
class IqActivation(Model):
    """The caller's activation on one IQ (``GET /v1.2/me/{site}/activated_iqs``)."""

    WHAT: ClassVar[str] = "activated_iq"
    iq_id: str = field(metadata=wire(req_str))
    activated: bool | None = field(metadata=wire(opt_bool))
    activation_date: datetime | None = field(metadata=wire(opt_utc))


@dataclass(frozen=True, slots=True)
class SiteUser(Model):
    """A user of a site. ``id`` is the site-user id, ``user_id`` the platform user id used by entries."""

    WHAT: ClassVar[str] = "site_user"
    id: str = field(metadata=wire(req_str))
    user_id: str | None = field(metadata=wire(opt_str, "id", inside="user"))
    first_name: str | None = field(metadata=wire(opt_str, inside="user"))
    last_name: str | None = field(metadata=wire(opt_str, inside="user"))
    alias: str | None = field(metadata=wire(opt_str))
    email: str | None = field(metadata=wire(opt_str, inside="user"))
    roles: tuple[str, ...] = field(metadata=wire(role_codes))
    remote_access: bool | None = field(metadata=wire(opt_bool))
    blocked: bool | None = field(metadata=wire(opt_bool))


@dataclass(frozen=True, slots=True)
class Entry(Model):
    """An entry (audit-trail row). ``utc_date_time`` is timezone-aware (UTC)."""

    WHAT: ClassVar[str] = "entry"
    id: str = field(metadata=wire(req_str))
    event_category: EventCategory = field(metadata=wire(enum_of(EventCategory, required=True)))
    event_detail: str | None = field(metadata=wire(opt_str))
    utc_date_time: datetime = field(metadata=wire(req_utc))
    lock_id: str | None = field(metadata=wire(opt_str))
    lock_name: str | None = field(metadata=wire(opt_str, "lock_customer_reference"))
    user_id: str | None = field(metadata=wire(opt_str))
    user_first_name: str | None = field(metadata=wire(opt_str))
    user_last_name: str | None = field(metadata=wire(opt_str))
    user_alias: str | None = field(metadata=wire(opt_str))
    access_by: str | None = field(metadata=wire(opt_str))
    access_detail: str | None = field(metadata=wire(opt_scalar_str))
    iq_id: str | None = field(metadata=wire(opt_str))
    exit_requested: bool | None = field(metadata=wire(opt_bool))


def _access_token(d: Mapping[str, Any], key: str, what: str) -> str:
    if not (token := opt_str(d, key, what)):
        raise InvalidResponseError(f"{what}.{key}: required field is missing")
    return token


def _expires_in(d: Mapping[str, Any], key: str, what: str) -> float | None:
    """``expires_in`` as a finite number of seconds (some servers send it as a string)."""
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise fail(what, key, "a number", value)
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise InvalidResponseError(f"{what}.{key}: not a usable number") from None
    if not math.isfinite(seconds):
        raise InvalidResponseError(f"{what}.{key}: not a finite number")
    return seconds


@dataclass(frozen=True, slots=True)
class TokenResponse(Model):
    """The identity server's token response. Its repr and ``as_dict`` never show the tokens."""

    WHAT: ClassVar[str] = "token response"
    access_token: str = field(metadata=wire(_access_token))
    expires_in: float | None = field(metadata=wire(_expires_in))
    token_type: str | None = field(metadata=wire(opt_str))
    scope: str | None = field(metadata=wire(opt_str))
    refresh_token: str | None = field(metadata=wire(opt_str))

    def __repr__(self) -> str:
        return (
            f"TokenResponse(access_token='***', expires_in={self.expires_in!r}, "
            f"token_type={self.token_type!r}, scope={self.scope!r}, "
            f"refresh_token={'***' if self.refresh_token else None!r})"
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the response without its secrets."""
        return {
            "access_token": "***",
            "expires_in": self.expires_in,
            "token_type": self.token_type,
            "scope": self.scope,
            "refresh_token": "***" if self.refresh_token else None,
        }


# --- guest access ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guest(Model):
    """A site user as guest access sees it: ``id`` the site-user id (``/users/{id}``, ``/pin``,
    ``/keys``), ``user_id`` the platform user id (access-group membership, entries)."""

    WHAT: ClassVar[str] = "guest"
    id: str = field(metadata=wire(req_str))
    user_id: str | None = field(metadata=wire(opt_str, "id", inside="user"))
    alias: str | None = field(metadata=wire(opt_str))
    roles: tuple[str, ...] = field(metadata=wire(role_codes))
    # "subscribed", or "suspended" when no seat was left
    subscription_state: str | None = field(metadata=wire(opt_str))
    expires_at: datetime | None = field(metadata=wire(opt_utc))

    @property
    def suspended(self) -> bool:
        """Whether the user holds no seat (created with none left, or suspended since)."""
        return self.subscription_state == "suspended"


@dataclass(frozen=True, slots=True)
class AccessGroup(Model):
    """An access group (name = ``customer_reference``): the unit that gives users locks."""

    WHAT: ClassVar[str] = "access_group"
    id: str = field(metadata=wire(req_str))
    name: str | None = field(metadata=wire(opt_str, "customer_reference"))


@dataclass(frozen=True, slots=True)
class TimeSchedule(Model):
    """When an access group opens its locks; a group without one grants nothing at the door."""

    WHAT: ClassVar[str] = "time_schedule"
    id: str = field(metadata=wire(req_str))
    days: tuple[str, ...] = field(metadata=wire(weekdays))
    start_time: str | None = field(metadata=wire(opt_str))
    end_time: str | None = field(metadata=wire(opt_str))
    start_date: str | None = field(metadata=wire(opt_str))
    end_date: str | None = field(metadata=wire(opt_str))


@dataclass(frozen=True, slots=True)
class UserKey(Model):
    """One key of a user (``GET …/users/{id}/keys``), e.g. ``type`` "pin"; never the PIN itself."""

    WHAT: ClassVar[str] = "key"
    type: str = field(metadata=wire(req_str))
    key_identifier: str | None = field(metadata=wire(opt_scalar_str))
    expiry_date: datetime | None = field(metadata=wire(opt_utc))
    offline_access: bool | None = field(metadata=wire(opt_bool))


@dataclass(frozen=True, slots=True)
class Subscription(Model):
    """A site's subscription: seats (``user_amount``), ``type`` and licensed ``features``."""

    WHAT: ClassVar[str] = "subscription"
    user_amount: int | None = field(metadata=wire(opt_int))
    type: str | None = field(metadata=wire(opt_str))
    features: tuple[str, ...] = field(metadata=wire(str_tuple))
