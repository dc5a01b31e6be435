"""Enumerations of the Salto KS Connect API.

Every enum keeps a value it does not know instead of failing, so a value added by Salto does not break
parsing: ``LockedState("jammed_new")`` returns a pseudo-member whose ``value`` is ``"jammed_new"``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class _TolerantStrEnum(StrEnum):
    """A StrEnum that turns an unknown string into a pseudo-member instead of raising ValueError."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member


class LockedState(_TolerantStrEnum):
    """State of a lock's latch (`locked_state`)."""

    NONE = "none"
    LOCKED = "locked"
    OFFICE_MODE = "office_mode"
    UNCERTAIN = "uncertain"
    UNLOCKED = "unlocked"


class BatteryLevel(_TolerantStrEnum):
    """Coarse battery level of a lock (`battery_level`)."""

    CRITICAL = "critical"
    LOW = "low"
    GOOD = "good"
    FRESH = "fresh"
    NONE = "none"
    UNKNOWN = "unknown"


class DataSyncState(_TolerantStrEnum):
    """Synchronisation state of an IQ (`data_sync_state`)."""

    SYNCED = "synced"
    PENDING = "pending"
    NOT_SYNCED = "not_synced"
    FAILED = "failed"


class EventCategory(_TolerantStrEnum):
    """Category of an entry (audit row)."""

    LOCK_OPENED = "lock_opened"
    LOCK_REJECTED = "lock_rejected"
    EASY_OFFICE_MODE = "easy_office_mode"
    OFFICE_MODE = "office_mode"
    PRIVACY_MODE = "privacy_mode"
    DOOR_LEFT_OPEN = "door_left_open"
    INTRUSION = "intrusion"
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
