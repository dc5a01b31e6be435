"""Typed models of the Salto KS Connect API payloads: one frozen dataclass per object the API answers.

Read with ``fields.py``: unknown fields are ignored, a missing (or null) optional field becomes None, a
field of the wrong type raises InvalidResponseError naming the field. Enum fields keep values they do
not know. One idea (what the API's objects are), so the roster, audit, token and guest models stay
together: they share the readers and several are nested in others (a lock in a guest's group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from .enums import BatteryLevel, DataSyncState, EventCategory, LockedState
from .exceptions import InvalidResponseError
from .fields import (
    Model,
    fail,
    mapping,
    opt_bool,
    opt_int,
    opt_object,
    opt_scalar_str,
    opt_str,
    opt_utc,
    parse_utc,
    req_str,
    role_codes,
    schedule_fields,
    str_tuple,
)


@dataclass(frozen=True, slots=True)
class Site(Model):
    """A Salto KS site."""

    id: str
    site_uid: str | None
    name: str | None
    time_zone: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse a site object."""
        d = mapping(data, "site")
        return cls(
            id=req_str(d, "id", "site"),
            site_uid=opt_str(d, "site_uid", "site"),
            name=opt_str(d, "customer_reference", "site"),
            time_zone=opt_str(d, "time_zone", "site"),
        )


@dataclass(frozen=True, slots=True)
class LockIq(Model):
    """The IQ a lock is attached to, as embedded in the lock object."""

    id: str
    name: str | None
    online: bool | None
    revision: str | None
    otp_enabled: bool | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse the ``iq`` object of a lock."""
        what = "lock.iq"
        d = mapping(data, what)
        online = opt_bool(d, "is_online", what)
        if online is None:
            online = opt_bool(d, "online", what)
        return cls(
            id=req_str(d, "id", what),
            name=opt_str(d, "customer_reference", what),
            online=online,
            revision=opt_scalar_str(d, "revision", what),
            otp_enabled=opt_bool(d, "otp_enabled", what),
        )


@dataclass(frozen=True, slots=True)
class EasyOfficeModeSchedule(Model):
    """A lock's easy office mode schedule; ``days`` lists the enabled weekdays (``"monday"`` …)."""

    auto_start: bool | None
    days: tuple[str, ...]
    start_time: str | None
    end_time: str | None
    start_date: str | None
    end_date: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse an ``easy_office_mode_schedule`` object."""
        what = "lock.easy_office_mode_schedule"
        d = mapping(data, what)
        return cls(
            auto_start=opt_bool(d, "eom_auto_start", what),
            **schedule_fields(d, what),
        )


def _battery_level(d: Mapping[str, Any]) -> BatteryLevel | int | None:
    value = d.get("battery_level")
    if value is None:
        return None
    if isinstance(value, bool):
        raise fail("lock", "battery_level", "a battery level", value)
    if isinstance(value, int):
        if not 0 <= value <= 100:
            raise InvalidResponseError("lock.battery_level: percentage outside 0-100")
        return value
    if isinstance(value, str):
        return BatteryLevel(value)
    raise fail("lock", "battery_level", "a battery level", value)


@dataclass(frozen=True, slots=True)
class Lock(Model):
    """A lock (escutcheon, cylinder, wall reader …).

    ``locked_state`` is ``LockedState.NONE`` when the server sends none. ``battery_level`` is a
    ``BatteryLevel`` or, when a server sends a percentage, an int 0-100.
    """

    id: str
    name: str | None
    online: bool | None
    locked_state: LockedState
    battery_level: BatteryLevel | int | None
    left_open_alarm: bool | None
    intrusion_alarm: bool | None
    privacy_mode: bool | None
    lock_type: str | None
    mac: str | None
    easy_office_mode_schedule: EasyOfficeModeSchedule | None
    iq: LockIq | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse a lock object."""
        d = mapping(data, "lock")
        state = opt_str(d, "locked_state", "lock")
        schedule = opt_object(d, "easy_office_mode_schedule", "lock")
        iq = opt_object(d, "iq", "lock")
        return cls(
            id=req_str(d, "id", "lock"),
            name=opt_str(d, "customer_reference", "lock"),
            online=opt_bool(d, "online", "lock"),
            locked_state=LockedState(state) if state is not None else LockedState.NONE,
            battery_level=_battery_level(d),
            left_open_alarm=opt_bool(d, "left_open_alarm", "lock"),
            intrusion_alarm=opt_bool(d, "intrusion_alarm", "lock"),
            privacy_mode=opt_bool(d, "privacy_mode", "lock"),
            lock_type=opt_str(d, "lock_type", "lock"),
            mac=opt_str(d, "mac", "lock"),
            easy_office_mode_schedule=(
                EasyOfficeModeSchedule.from_dict(schedule) if schedule is not None else None
            ),
            iq=LockIq.from_dict(iq) if iq is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Iq(Model):
    """An IQ (the hub connecting locks to the cloud)."""

    id: str
    name: str | None
    online: bool | None
    signal_strength: int | None
    data_sync_state: DataSyncState | None
    revision: str | None
    otp_enabled: bool | None
    mac: str | None
    time_zone: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse an IQ object."""
        d = mapping(data, "iq")
        sync = opt_str(d, "data_sync_state", "iq")
        return cls(
            id=req_str(d, "id", "iq"),
            name=opt_str(d, "customer_reference", "iq"),
            online=opt_bool(d, "online", "iq"),
            signal_strength=opt_int(d, "signal_strength", "iq"),
            data_sync_state=DataSyncState(sync) if sync is not None else None,
            revision=opt_scalar_str(d, "revision", "iq"),
            otp_enabled=opt_bool(d, "otp_enabled", "iq"),
            mac=opt_str(d, "mac", "iq"),
            time_zone=opt_str(d, "time_zone", "iq"),
        )


@dataclass(frozen=True, slots=True)
class IqActivation(Model):
    """The caller's activation on one IQ (``GET /v1.2/me/{site}/activated_iqs``)."""

    iq_id: str
    activated: bool | None
    activation_date: datetime | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse one activation."""
        d = mapping(data, "activated_iq")
        date = d.get("activation_date")
        return cls(
            iq_id=req_str(d, "iq_id", "activated_iq"),
            activated=opt_bool(d, "activated", "activated_iq"),
            activation_date=None
            if date is None
            else parse_utc(date, "activated_iq", "activation_date"),
        )


@dataclass(frozen=True, slots=True)
class SiteUser(Model):
    """A user of a site. ``id`` is the site-user id, ``user_id`` the platform user id used by entries."""

    id: str
    user_id: str | None
    first_name: str | None
    last_name: str | None
    alias: str | None
    email: str | None
    roles: tuple[str, ...]
    remote_access: bool | None
    blocked: bool | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse a site-user object (with its nested ``user``)."""
        d = mapping(data, "site_user")
        user = opt_object(d, "user", "site_user") or {}
        what = "site_user.user"
        return cls(
            id=req_str(d, "id", "site_user"),
            user_id=opt_str(user, "id", what),
            first_name=opt_str(user, "first_name", what),
            last_name=opt_str(user, "last_name", what),
            alias=opt_str(d, "alias", "site_user"),
            email=opt_str(user, "email", what),
            roles=role_codes(d),
            remote_access=opt_bool(d, "remote_access", "site_user"),
            blocked=opt_bool(d, "blocked", "site_user"),
        )


@dataclass(frozen=True, slots=True)
class Entry(Model):
    """An entry (audit-trail row). ``utc_date_time`` is timezone-aware (UTC)."""

    id: str
    event_category: EventCategory
    event_detail: str | None
    utc_date_time: datetime
    lock_id: str | None
    lock_name: str | None
    user_id: str | None
    user_first_name: str | None
    user_last_name: str | None
    user_alias: str | None
    access_by: str | None
    access_detail: str | None
    iq_id: str | None
    exit_requested: bool | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse an entry object."""
        d = mapping(data, "entry")
        if d.get("utc_date_time") is None:
            raise InvalidResponseError("entry.utc_date_time: required field is missing")
        return cls(
            id=req_str(d, "id", "entry"),
            event_category=EventCategory(req_str(d, "event_category", "entry")),
            event_detail=opt_str(d, "event_detail", "entry"),
            utc_date_time=parse_utc(d["utc_date_time"], "entry", "utc_date_time"),
            lock_id=opt_str(d, "lock_id", "entry"),
            lock_name=opt_str(d, "lock_customer_reference", "entry"),
            user_id=opt_str(d, "user_id", "entry"),
            user_first_name=opt_str(d, "user_first_name", "entry"),
            user_last_name=opt_str(d, "user_last_name", "entry"),
            user_alias=opt_str(d, "user_alias", "entry"),
            access_by=opt_str(d, "access_by", "entry"),
            access_detail=opt_scalar_str(d, "access_detail", "entry"),
            iq_id=opt_str(d, "iq_id", "entry"),
            exit_requested=opt_bool(d, "exit_requested", "entry"),
        )


def _expires_in(value: object) -> float | None:
    """``expires_in`` as a finite number of seconds (some servers send it as a string)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise fail("token response", "expires_in", "a number", value)
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise InvalidResponseError("token response.expires_in: not a usable number") from None
    if not math.isfinite(seconds):
        raise InvalidResponseError("token response.expires_in: not a finite number")
    return seconds


@dataclass(frozen=True, slots=True)
class TokenResponse(Model):
    """The identity server's token response. Its repr and ``as_dict`` never show the tokens."""

    access_token: str
    expires_in: float | None
    token_type: str | None
    scope: str | None
    refresh_token: str | None

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

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse a token response."""
        d = mapping(data, "token response")
        what = "token response"
        token = opt_str(d, "access_token", what)
        if not token:
            raise InvalidResponseError("token response.access_token: required field is missing")
        return cls(
            access_token=token,
            expires_in=_expires_in(d.get("expires_in")),
            token_type=opt_str(d, "token_type", what),
            scope=opt_str(d, "scope", what),
            refresh_token=opt_str(d, "refresh_token", what),
        )


# --- guest access ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guest(Model):
    """A site user as guest access sees it: ``id`` the site-user id (``/users/{id}``, ``/pin``,
    ``/keys``), ``user_id`` the platform user id (access-group membership, entries)."""

    id: str
    user_id: str | None
    alias: str | None
    roles: tuple[str, ...]
    subscription_state: str | None  # "subscribed", or "suspended" when no seat was left
    expires_at: datetime | None

    @property
    def suspended(self) -> bool:
        """Whether the user holds no seat (created with none left, or suspended since)."""
        return self.subscription_state == "suspended"

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse a site-user object (``POST …/guests`` answers one)."""
        d = mapping(data, "guest")
        user = opt_object(d, "user", "guest") or {}
        return cls(
            id=req_str(d, "id", "guest"),
            user_id=opt_str(user, "id", "guest.user"),
            alias=opt_str(d, "alias", "guest"),
            roles=role_codes(d),
            subscription_state=opt_str(d, "subscription_state", "guest"),
            expires_at=opt_utc(d, "expires_at", "guest"),
        )


@dataclass(frozen=True, slots=True)
class AccessGroup(Model):
    """An access group (name = ``customer_reference``): the unit that gives users locks."""

    id: str
    name: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = mapping(data, "access_group")
        return cls(
            id=req_str(d, "id", "access_group"),
            name=opt_str(d, "customer_reference", "access_group"),
        )


@dataclass(frozen=True, slots=True)
class TimeSchedule(Model):
    """When an access group opens its locks; a group without one grants nothing at the door."""

    id: str
    days: tuple[str, ...]
    start_time: str | None
    end_time: str | None
    start_date: str | None
    end_date: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = mapping(data, "time_schedule")
        return cls(
            id=req_str(d, "id", "time_schedule"),
            **schedule_fields(d, "time_schedule"),
        )


@dataclass(frozen=True, slots=True)
class UserKey(Model):
    """One key of a user (``GET …/users/{id}/keys``), e.g. ``type`` "pin"; never the PIN itself."""

    type: str
    key_identifier: str | None
    expiry_date: datetime | None
    offline_access: bool | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = mapping(data, "key")
        return cls(
            type=req_str(d, "type", "key"),
            key_identifier=opt_scalar_str(d, "key_identifier", "key"),
            expiry_date=opt_utc(d, "expiry_date", "key"),
            offline_access=opt_bool(d, "offline_access", "key"),
        )


@dataclass(frozen=True, slots=True)
class Subscription(Model):
    """A site's subscription: seats (``user_amount``), ``type`` and licensed ``features``."""

    user_amount: int | None
    type: str | None
    features: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = mapping(data, "subscription")
        return cls(
            user_amount=opt_int(d, "user_amount", "subscription"),
            type=opt_str(d, "type", "subscription"),
            features=str_tuple(d, "features", "subscription"),
        )
