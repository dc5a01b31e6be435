"""Typed models of the Salto KS Connect API payloads.

Parsing is tolerant: unknown fields are ignored and a missing (or null) optional field becomes None. A field
of the wrong type raises InvalidResponseError naming the field. Enum fields keep values they do not know.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Self

from .enums import BatteryLevel, DataSyncState, EventCategory, LockedState
from .exceptions import InvalidResponseError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _mapping(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidResponseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _fail(what: str, key: str, expected: str, value: object) -> InvalidResponseError:
    return InvalidResponseError(f"{what}.{key}: expected {expected}, got {type(value).__name__}")


def _opt_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _fail(what, key, "a string", value)


def _req_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = _opt_str(data, key, what)
    if value is None:
        raise InvalidResponseError(f"{what}.{key}: required field is missing")
    return value


def _opt_bool(data: Mapping[str, Any], key: str, what: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _fail(what, key, "a boolean", value)


def _opt_int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _fail(what, key, "an integer", value)


def _opt_scalar_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    """A string that some servers send as a number (revision "2.0", access_detail)."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's digit limit
            raise InvalidResponseError(f"{what}.{key}: number too large") from None
    raise _fail(what, key, "a string", value)


def _opt_object(data: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise _fail(what, key, "an object", value)


def _parse_utc(value: object, what: str, key: str) -> datetime:
    if not isinstance(value, str):
        raise _fail(what, key, "an ISO 8601 date-time string", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidResponseError(f"{what}.{key}: not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        # utc_date_time is UTC by definition; some servers omit the "Z".
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 lies before datetime.min in UTC
        raise InvalidResponseError(f"{what}.{key}: date-time out of range") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, _Model):
        return value.as_dict()
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


class _Model:
    """Mixin giving every dataclass model a JSON-serialisable ``as_dict``."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the model as a JSON-serialisable dict (enums as strings, datetimes as ISO 8601)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Site(_Model):
    """A Salto KS site."""

    id: str
    site_uid: str | None
    name: str | None
    time_zone: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse a site object."""
        d = _mapping(data, "site")
        return cls(
            id=_req_str(d, "id", "site"),
            site_uid=_opt_str(d, "site_uid", "site"),
            name=_opt_str(d, "customer_reference", "site"),
            time_zone=_opt_str(d, "time_zone", "site"),
        )


@dataclass(frozen=True, slots=True)
class LockIq(_Model):
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
        d = _mapping(data, what)
        online = _opt_bool(d, "is_online", what)
        if online is None:
            online = _opt_bool(d, "online", what)
        return cls(
            id=_req_str(d, "id", what),
            name=_opt_str(d, "customer_reference", what),
            online=online,
            revision=_opt_scalar_str(d, "revision", what),
            otp_enabled=_opt_bool(d, "otp_enabled", what),
        )


@dataclass(frozen=True, slots=True)
class EasyOfficeModeSchedule(_Model):
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
        d = _mapping(data, what)
        return cls(
            auto_start=_opt_bool(d, "eom_auto_start", what),
            days=tuple(day for day in WEEKDAYS if _opt_bool(d, day, what)),
            start_time=_opt_str(d, "start_time", what),
            end_time=_opt_str(d, "end_time", what),
            start_date=_opt_str(d, "start_date", what),
            end_date=_opt_str(d, "end_date", what),
        )


def _battery_level(d: Mapping[str, Any]) -> BatteryLevel | int | None:
    value = d.get("battery_level")
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail("lock", "battery_level", "a battery level", value)
    if isinstance(value, int):
        if not 0 <= value <= 100:
            raise InvalidResponseError("lock.battery_level: percentage outside 0-100")
        return value
    if isinstance(value, str):
        return BatteryLevel(value)
    raise _fail("lock", "battery_level", "a battery level", value)


@dataclass(frozen=True, slots=True)
class Lock(_Model):
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
        d = _mapping(data, "lock")
        state = _opt_str(d, "locked_state", "lock")
        schedule = _opt_object(d, "easy_office_mode_schedule", "lock")
        iq = _opt_object(d, "iq", "lock")
        return cls(
            id=_req_str(d, "id", "lock"),
            name=_opt_str(d, "customer_reference", "lock"),
            online=_opt_bool(d, "online", "lock"),
            locked_state=LockedState(state) if state is not None else LockedState.NONE,
            battery_level=_battery_level(d),
            left_open_alarm=_opt_bool(d, "left_open_alarm", "lock"),
            intrusion_alarm=_opt_bool(d, "intrusion_alarm", "lock"),
            privacy_mode=_opt_bool(d, "privacy_mode", "lock"),
            lock_type=_opt_str(d, "lock_type", "lock"),
            mac=_opt_str(d, "mac", "lock"),
            easy_office_mode_schedule=(
                EasyOfficeModeSchedule.from_dict(schedule) if schedule is not None else None
            ),
            iq=LockIq.from_dict(iq) if iq is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Iq(_Model):
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
        d = _mapping(data, "iq")
        sync = _opt_str(d, "data_sync_state", "iq")
        return cls(
            id=_req_str(d, "id", "iq"),
            name=_opt_str(d, "customer_reference", "iq"),
            online=_opt_bool(d, "online", "iq"),
            signal_strength=_opt_int(d, "signal_strength", "iq"),
            data_sync_state=DataSyncState(sync) if sync is not None else None,
            revision=_opt_scalar_str(d, "revision", "iq"),
            otp_enabled=_opt_bool(d, "otp_enabled", "iq"),
            mac=_opt_str(d, "mac", "iq"),
            time_zone=_opt_str(d, "time_zone", "iq"),
        )


@dataclass(frozen=True, slots=True)
class IqActivation(_Model):
    """The caller's activation on one IQ (``GET /v1.2/me/{site}/activated_iqs``)."""

    iq_id: str
    activated: bool | None
    activation_date: datetime | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse one activation."""
        d = _mapping(data, "activated_iq")
        date = d.get("activation_date")
        return cls(
            iq_id=_req_str(d, "iq_id", "activated_iq"),
            activated=_opt_bool(d, "activated", "activated_iq"),
            activation_date=None
            if date is None
            else _parse_utc(date, "activated_iq", "activation_date"),
        )


def _role_codes(d: Mapping[str, Any]) -> tuple[str, ...]:
    roles = d.get("roles")
    if roles is None:
        return ()
    if not isinstance(roles, list):
        raise _fail("site_user", "roles", "a list", roles)
    codes: list[str] = []
    for role in roles:
        if isinstance(role, str):
            codes.append(role)
        elif isinstance(role, Mapping):
            code = _opt_str(role, "code", "site_user.roles[]")
            if code is not None:
                codes.append(code)
        else:
            raise _fail("site_user", "roles[]", "an object", role)
    return tuple(codes)


@dataclass(frozen=True, slots=True)
class SiteUser(_Model):
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
        d = _mapping(data, "site_user")
        user = _opt_object(d, "user", "site_user") or {}
        what = "site_user.user"
        return cls(
            id=_req_str(d, "id", "site_user"),
            user_id=_opt_str(user, "id", what),
            first_name=_opt_str(user, "first_name", what),
            last_name=_opt_str(user, "last_name", what),
            alias=_opt_str(d, "alias", "site_user"),
            email=_opt_str(user, "email", what),
            roles=_role_codes(d),
            remote_access=_opt_bool(d, "remote_access", "site_user"),
            blocked=_opt_bool(d, "blocked", "site_user"),
        )


@dataclass(frozen=True, slots=True)
class Entry(_Model):
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
        d = _mapping(data, "entry")
        if d.get("utc_date_time") is None:
            raise InvalidResponseError("entry.utc_date_time: required field is missing")
        return cls(
            id=_req_str(d, "id", "entry"),
            event_category=EventCategory(_req_str(d, "event_category", "entry")),
            event_detail=_opt_str(d, "event_detail", "entry"),
            utc_date_time=_parse_utc(d["utc_date_time"], "entry", "utc_date_time"),
            lock_id=_opt_str(d, "lock_id", "entry"),
            lock_name=_opt_str(d, "lock_customer_reference", "entry"),
            user_id=_opt_str(d, "user_id", "entry"),
            user_first_name=_opt_str(d, "user_first_name", "entry"),
            user_last_name=_opt_str(d, "user_last_name", "entry"),
            user_alias=_opt_str(d, "user_alias", "entry"),
            access_by=_opt_str(d, "access_by", "entry"),
            access_detail=_opt_scalar_str(d, "access_detail", "entry"),
            iq_id=_opt_str(d, "iq_id", "entry"),
            exit_requested=_opt_bool(d, "exit_requested", "entry"),
        )


def _expires_in(value: object) -> float | None:
    """``expires_in`` as a finite number of seconds (some servers send it as a string)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail("token response", "expires_in", "a number", value)
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise InvalidResponseError("token response.expires_in: not a usable number") from None
    if not math.isfinite(seconds):
        raise InvalidResponseError("token response.expires_in: not a finite number")
    return seconds


@dataclass(frozen=True, slots=True)
class TokenResponse(_Model):
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
        d = _mapping(data, "token response")
        what = "token response"
        token = _opt_str(d, "access_token", what)
        if not token:
            raise InvalidResponseError("token response.access_token: required field is missing")
        return cls(
            access_token=token,
            expires_in=_expires_in(d.get("expires_in")),
            token_type=_opt_str(d, "token_type", what),
            scope=_opt_str(d, "scope", what),
            refresh_token=_opt_str(d, "refresh_token", what),
        )


# --- guest access ---------------------------------------------------------------------------------


def _opt_utc(data: Mapping[str, Any], key: str, what: str) -> datetime | None:
    value = data.get(key)
    return None if value is None else _parse_utc(value, what, key)


def _str_tuple(data: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(what, key, "a list of strings", value)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Guest(_Model):
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
        d = _mapping(data, "guest")
        user = _opt_object(d, "user", "guest") or {}
        return cls(
            id=_req_str(d, "id", "guest"),
            user_id=_opt_str(user, "id", "guest.user"),
            alias=_opt_str(d, "alias", "guest"),
            roles=_role_codes(d),
            subscription_state=_opt_str(d, "subscription_state", "guest"),
            expires_at=_opt_utc(d, "expires_at", "guest"),
        )


@dataclass(frozen=True, slots=True)
class AccessGroup(_Model):
    """An access group (name = ``customer_reference``): the unit that gives users locks."""

    id: str
    name: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = _mapping(data, "access_group")
        return cls(
            id=_req_str(d, "id", "access_group"),
            name=_opt_str(d, "customer_reference", "access_group"),
        )


@dataclass(frozen=True, slots=True)
class TimeSchedule(_Model):
    """When an access group opens its locks; a group without one grants nothing at the door."""

    id: str
    days: tuple[str, ...]
    start_time: str | None
    end_time: str | None
    start_date: str | None
    end_date: str | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = _mapping(data, "time_schedule")
        return cls(
            id=_req_str(d, "id", "time_schedule"),
            days=tuple(day for day in WEEKDAYS if _opt_bool(d, day, "time_schedule")),
            start_time=_opt_str(d, "start_time", "time_schedule"),
            end_time=_opt_str(d, "end_time", "time_schedule"),
            start_date=_opt_str(d, "start_date", "time_schedule"),
            end_date=_opt_str(d, "end_date", "time_schedule"),
        )


@dataclass(frozen=True, slots=True)
class UserKey(_Model):
    """One key of a user (``GET …/users/{id}/keys``), e.g. ``type`` "pin"; never the PIN itself."""

    type: str
    key_identifier: str | None
    expiry_date: datetime | None
    offline_access: bool | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = _mapping(data, "key")
        return cls(
            type=_req_str(d, "type", "key"),
            key_identifier=_opt_scalar_str(d, "key_identifier", "key"),
            expiry_date=_opt_utc(d, "expiry_date", "key"),
            offline_access=_opt_bool(d, "offline_access", "key"),
        )


@dataclass(frozen=True, slots=True)
class Subscription(_Model):
    """A site's subscription: seats (``user_amount``), ``type`` and licensed ``features``."""

    user_amount: int | None
    type: str | None
    features: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: object) -> Self:
        d = _mapping(data, "subscription")
        return cls(
            user_amount=_opt_int(d, "user_amount", "subscription"),
            type=_opt_str(d, "type", "subscription"),
            features=_str_tuple(d, "features", "subscription"),
        )
