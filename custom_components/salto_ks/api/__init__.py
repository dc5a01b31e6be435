"""Asynchronous client of the Salto KS Connect API (no Home Assistant dependency)."""

from .auth import TokenManager
from .client import SaltoKSClient
from .const import (
    ACCEPT_API,
    ACCEPT_AUTH_URL,
    DEFAULT_REQUEST_TIMEOUT,
    LEGACY_API_BASE,
    LEGACY_AUTH_URL,
    PRODUCTION_API,
    PRODUCTION_AUTH_URL,
    SCOPE,
)
from .enums import BatteryLevel, DataSyncState, EventCategory, LockedState
from .exceptions import (
    ApiNotEnabledError,
    AuthenticationError,
    CommunicationError,
    InvalidRequestError,
    InvalidResponseError,
    LockUnavailableError,
    NotFoundError,
    OtpRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSError,
    TokenRejectedError,
    UnsupportedOperationError,
)
from .models import EasyOfficeModeSchedule, Entry, Iq, Lock, LockIq, Site, SiteUser, TokenResponse
from .ratelimit import RetryGate

__all__ = [
    "ACCEPT_API",
    "ACCEPT_AUTH_URL",
    "DEFAULT_REQUEST_TIMEOUT",
    "LEGACY_API_BASE",
    "LEGACY_AUTH_URL",
    "PRODUCTION_API",
    "PRODUCTION_AUTH_URL",
    "SCOPE",
    "ApiNotEnabledError",
    "AuthenticationError",
    "BatteryLevel",
    "CommunicationError",
    "DataSyncState",
    "EasyOfficeModeSchedule",
    "Entry",
    "EventCategory",
    "InvalidRequestError",
    "InvalidResponseError",
    "Iq",
    "Lock",
    "LockIq",
    "LockUnavailableError",
    "LockedState",
    "NotFoundError",
    "OtpRequiredError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryGate",
    "SaltoKSClient",
    "SaltoKSError",
    "Site",
    "SiteUser",
    "TokenManager",
    "TokenRejectedError",
    "TokenResponse",
    "UnsupportedOperationError",
]
