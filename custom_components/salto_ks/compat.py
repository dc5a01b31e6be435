"""Every shim for a Home Assistant version difference, in one place.

The integration supports HA 2025.4 up to the newest release. Each shim says why it exists and which
minimum HA version makes it removable (raise ``homeassistant`` in hacs.json past it, then delete it).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, Final

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import Unauthorized, UnknownUser
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_platform, service
from homeassistant.helpers.typing import VolSchemaType
from homeassistant.helpers.update_coordinator import UpdateFailed

# Since HA 2026.8 a device belongs to exactly one config entry and is removed with
# async_remove_device; before, a stale device is detached with remove_config_entry_id.
# Removable with a minimum of HA 2026.8.
DEVICE_PER_ENTRY: Final = hasattr(dr.DeviceRegistry, "async_get_device_by_identifier")

# UpdateFailed(retry_after=) arrived in HA 2025.12; before it the coordinator refuses to poll while
# the Retry-After gate is closed (the client raises without a request). Removable with HA 2025.12.
UPDATE_FAILED_HAS_RETRY_AFTER: Final = (
    "retry_after" in inspect.signature(UpdateFailed.__init__).parameters
)


def enabled_entity_limit() -> int | None:
    """How many enabled entities HA registers per config entry; None where it has no limit.

    HA 2026.10 has MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY (10,000; further enabled entities are not
    added), HA 2025.4 none. Read at every call, as HA reads it, so that both see the same value.
    Removable once the minimum HA version has it (then it is never None).
    """
    limit = getattr(entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", None)
    return limit if isinstance(limit, int) else None


def _import_target_helpers() -> ModuleType | None:
    try:
        return importlib.import_module("homeassistant.helpers.target")
    except ImportError:
        return None


# HA moved the service target helpers to helpers/target.py (TargetSelection) and removed the
# service.py versions in 2026.8; 2025.4 only has the latter. Looked up at run time so that mypy sees
# one version's stubs without a version-specific import. Removable with HA 2026.8 (import directly).
TARGET_HELPERS: Final = _import_target_helpers()


def _implementation_unavailable() -> tuple[type[Exception], ...]:
    """HA's error for an OAuth implementation whose provider is down (absent before 2025.x)."""
    error = getattr(
        importlib.import_module("homeassistant.exceptions"), "ImplementationUnavailableError", None
    )
    return (error,) if isinstance(error, type) and issubclass(error, Exception) else ()


# Newer HA raises ImplementationUnavailableError when an entry's OAuth implementation may come back
# (retry the setup) and UnknownImplementationError, a ValueError, when it is gone; HA 2025.4 raises a
# plain ValueError for both. Removable once the minimum HA version has the error (import it directly).
OAUTH_IMPLEMENTATION_UNAVAILABLE: Final = _implementation_unavailable()


# async_register_admin_service takes supports_response since HA 2025.6; before it an action that
# answers is registered with the same admin check done here. Removable with HA 2025.6.
ADMIN_SERVICE_HAS_RESPONSE: Final = (
    "supports_response" in inspect.signature(service.async_register_admin_service).parameters
)


def register_admin_service(
    hass: HomeAssistant,
    domain: str,
    name: str,
    handler: Callable[[ServiceCall], Awaitable[ServiceResponse]],
    *,
    schema: VolSchemaType,
    supports_response: SupportsResponse,
) -> None:
    """Register an action only an administrator may call (HA's own admin check where it can)."""
    if ADMIN_SERVICE_HAS_RESPONSE:
        # Looked up untyped: mypy sees the floor version's signature, without supports_response.
        register: Any = service.async_register_admin_service
        register(hass, domain, name, handler, schema, supports_response)
        return

    async def admin_only(call: ServiceCall) -> ServiceResponse:
        if call.context.user_id:
            user = await hass.auth.async_get_user(call.context.user_id)
            if user is None:
                raise UnknownUser(context=call.context)
            if not user.is_admin:
                raise Unauthorized(context=call.context)
        return await handler(call)

    hass.services.async_register(
        domain, name, admin_only, schema=schema, supports_response=supports_response
    )
