"""How the models of ``models.py`` are read: one reader per JSON type, and ``Model.from_dict`` running them.

A model field says where it comes from (``wire(reader, key, inside=…)``); ``Model.from_dict`` reads
every field with its reader. Parsing is tolerant: unknown fields are ignored and a missing (or null)
optional field becomes None. A field of the wrong type raises InvalidResponseError naming it
(``what.key``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar, Self

from .exceptions import InvalidResponseError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Reads one field: (the JSON object, the key, what the object is, for errors) -> the value.
type Reader = Callable[[Mapping[str, Any], str, str], Any]


def mapping(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidResponseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def fail(what: str, key: str, expected: str, value: object) -> InvalidResponseError:
    return InvalidResponseError(f"{what}.{key}: expected {expected}, got {type(value).__name__}")


def opt_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise fail(what, key, "a string", value)


def req_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = opt_str(data, key, what)
    if value is None:
        raise InvalidResponseError(f"{what}.{key}: required field is missing")
    return value


def opt_bool(data: Mapping[str, Any], key: str, what: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise fail(what, key, "a boolean", value)


def opt_int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise fail(what, key, "an integer", value)


def opt_scalar_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    """A string that some servers send as a number (revision "2.0", access_detail)."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's digit limit
            raise InvalidResponseError(f"{what}.{key}: number too large") from None
    raise fail(what, key, "a string", value)


def opt_object(data: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise fail(what, key, "an object", value)


def parse_utc(value: object, what: str, key: str) -> datetime:
    if not isinstance(value, str):
        raise fail(what, key, "an ISO 8601 date-time string", value)
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
    if isinstance(value, Model):
        return value.as_dict()
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


# Per model class, made at its first parse: (field name, reader, key, the object it sits in or None).
_PLANS: dict[type[Model], tuple[tuple[str, Reader, str, str | None], ...]] = {}


class Model:
    """Base of every dataclass model: ``from_dict`` from its fields' readers, a JSON-serialisable ``as_dict``."""

    __slots__ = ()
    WHAT: ClassVar[str]  # the object's name in error messages ("lock", "lock.iq" …)

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Parse the object: every field with the reader ``wire`` gave it."""
        what = cls.WHAT
        d = mapping(data, what)
        if (plan := _PLANS.get(cls)) is None:
            plan = _PLANS[cls] = tuple(
                (f.name, f.metadata["read"], f.metadata["key"] or f.name, f.metadata["inside"])
                for f in fields(cls)  # type: ignore[arg-type]
            )
        values: dict[str, Any] = {}
        for name, read, key, inside in plan:
            if inside is None:
                values[name] = read(d, key, what)
            else:
                values[name] = read(opt_object(d, inside, what) or {}, key, f"{what}.{inside}")
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Return the model as a JSON-serialisable dict (enums as strings, datetimes as ISO 8601)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def wire(read: Reader, key: str | None = None, *, inside: str | None = None) -> dict[str, Any]:
    """The metadata of a model field read by ``read`` from ``key`` (default: the field's name), in
    the nested object ``inside``."""
    return {"read": read, "key": key, "inside": inside}


def role_codes(d: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    """Role codes of a user: a list of strings or of ``{"code": …}`` objects."""
    roles = d.get(key)
    if roles is None:
        return ()
    if not isinstance(roles, list):
        raise fail(what, key, "a list", roles)
    codes: list[str] = []
    for role in roles:
        if isinstance(role, str):
            codes.append(role)
        elif isinstance(role, Mapping):
            code = opt_str(role, "code", f"{what}.{key}[]")
            if code is not None:
                codes.append(code)
        else:
            raise fail(what, f"{key}[]", "an object", role)
    return tuple(codes)


def opt_utc(data: Mapping[str, Any], key: str, what: str) -> datetime | None:
    value = data.get(key)
    return None if value is None else parse_utc(value, what, key)


def str_tuple(data: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail(what, key, "a list of strings", value)
    return tuple(value)


def weekdays(d: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    """The weekdays a schedule object enables (one boolean per day; ``key`` is not used)."""
    return tuple(day for day in WEEKDAYS if opt_bool(d, day, what))


def req_utc(d: Mapping[str, Any], key: str, what: str) -> datetime:
    if d.get(key) is None:
        raise InvalidResponseError(f"{what}.{key}: required field is missing")
    return parse_utc(d[key], what, key)


def enum_of[E: Enum](kind: type[E], default: E | None = None, *, required: bool = False) -> Reader:
    """A reader of a string into ``kind`` (which keeps unknown values); ``default`` when absent."""

    def read(d: Mapping[str, Any], key: str, what: str) -> E | None:
        value = req_str(d, key, what) if required else opt_str(d, key, what)
        return default if value is None else kind(value)

    return read


def nested(model: type[Model]) -> Reader:
    """A reader of an optional nested object into ``model``."""

    def read(d: Mapping[str, Any], key: str, what: str) -> Model | None:
        value = opt_object(d, key, what)
        return None if value is None else model.from_dict(value)

    return read
