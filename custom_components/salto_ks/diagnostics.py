"""Diagnostics of a Salto KS config entry, with credentials and personal data redacted."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import (
    CONF_ACCOUNT,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_OTP_ACTIVATIONS,
    CONF_PASSWORD,
    CONF_PIN_HASH,
    CONF_UNLOCK_PIN,
    CONF_USERNAME,
)
from .coordinator import SaltoConfigEntry

TO_REDACT: Final = {
    # credentials
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_USERNAME,
    CONF_PASSWORD,
    "access_token",
    "refresh_token",
    "token",  # an OAuth entry's tokens (access, refresh, id token)
    CONF_ACCOUNT,  # the Salto account (the token's subject) of an OAuth entry
    "otp",
    CONF_PIN_HASH,  # the unlock PIN's salted hash (a short PIN's hash is easy to brute-force)
    CONF_UNLOCK_PIN,
    "code",
    CONF_OTP_ACTIVATIONS,  # IQ secrets and PINs, by IQ
    "secret",
    "pin",
    # personal data
    "email",
    "first_name",
    "last_name",
    "alias",
    "user_first_name",
    "user_last_name",
    "user_alias",
    "username",
    "user_id",
    "access_detail",  # e.g. a tag number
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SaltoConfigEntry
) -> dict[str, Any]:
    """Return the entry's settings, the last roster and the audit feed's cursor and latest rows."""
    roster = entry.runtime_data.roster
    audit = entry.runtime_data.audit
    data: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "roster": {
            "last_update_success": roster.last_update_success,
            "locks": [lock.as_dict() for lock in roster.data.locks.values()],
            "iqs": [iq.as_dict() for iq in roster.data.iqs.values()],
        },
        # None when the event_poll_interval option is 0 (no audit loop). Lock ids stay readable.
        "audit": audit.diagnostics() if audit is not None else None,
        # None when the event stream is off; figures only, never a token or a connection id.
        "stream": stream.diagnostics() if (stream := entry.runtime_data.stream) else None,
    }
    return async_redact_data(data, TO_REDACT)
