"""Fix flows of the repair issues: activate the entry's KS user on an OTP IQ (opt-in).

The flow relies on behaviour Salto does not document (api/otp.py): it says so and asks the user to
accept it. Then it fetches the IQ secret (handed out only before the user's activation), has the
cloud mail the 4-digit IQ PIN to the KS user's address, asks for that PIN and activates the user
with a code computed from both. The cloud checks that code, so a wrong PIN is caught here; the
secret and PIN are stored (otp.py) only once the activation succeeded. The secret lives in the
flow's memory until then; neither ever reaches a log line, an exception or the flow's result.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

import voluptuous as vol
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers.selector import (
    BooleanSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util

from .api import (
    OtpBlockedError,
    OtpInvalidError,
    OtpRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSError,
)
from .api.otp import compute_otp, is_iq_pin
from .const import CONF_SITE_ID, CONF_USERNAME, LOGGER
from .errors import form_error, retry_wait
from .otp import async_store_activation, until_text

CONF_ACCEPT: Final = "accept"
CONF_IQ_PIN: Final = "pin"
# Wrong PINs the flow lets through before it stops: each counts towards the IQ's otp_blocked.
MAX_PIN_ATTEMPTS: Final = 3


class OtpActivationFlow(RepairsFlow):
    """Activate the entry's KS user on one IQ so that Home Assistant computes its OTPs."""

    def __init__(self, entry_id: str, iq_id: str, iq_name: str) -> None:
        self._entry_id = entry_id
        self._iq_id = iq_id
        self._iq_name = iq_name
        self._secret: str | None = None
        self._attempts = 0
        self._wait = 60  # seconds, shown by the rate_limited error

    def __repr__(self) -> str:
        return f"OtpActivationFlow(entry_id={self._entry_id!r}, iq_id={self._iq_id!r})"

    def _entry(self) -> ConfigEntry | None:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    def _placeholders(self, entry: ConfigEntry) -> dict[str, str]:
        return {
            "iq": self._iq_name,
            "title": entry.title,
            "username": str(entry.data.get(CONF_USERNAME) or "-"),
            "seconds": str(self._wait),
        }

    def _blocked(self, entry: ConfigEntry, until: datetime) -> FlowResult:
        return self.async_abort(
            reason="otp_blocked",
            description_placeholders={**self._placeholders(entry), "until": until_text(until)},
        )

    def _abort_if_blocked(self, entry: ConfigEntry) -> FlowResult | None:
        """Abort, sending nothing, while the IQ blocks codes (the entry's commands saw it)."""
        until = entry.runtime_data.otp_blocks.blocked_until(self._iq_id)
        return None if until is None else self._blocked(entry, until)

    def _form_error(self, entry: ConfigEntry, err: SaltoKSError) -> str:
        if isinstance(err, RateLimitedError):
            self._wait = math.ceil(retry_wait(err))
        return form_error(err, has_user=bool(entry.data.get(CONF_USERNAME)))

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Say what the activation does and relies on; on acceptance fetch the secret, mail the PIN."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input.get(CONF_ACCEPT) is not True:
                errors[CONF_ACCEPT] = "accept_required"
            else:
                result = await self._async_request_pin(entry, errors)
                if result is not None:
                    return result
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema({vol.Required(CONF_ACCEPT, default=False): BooleanSelector()}),
            errors=errors,
            description_placeholders=self._placeholders(entry),
        )

    async def _async_request_pin(
        self, entry: ConfigEntry, errors: dict[str, str]
    ) -> FlowResult | None:
        if (blocked := self._abort_if_blocked(entry)) is not None:
            return blocked
        client = entry.runtime_data.client
        site_id = entry.data[CONF_SITE_ID]
        try:
            self._secret = await client.get_iq_secret(site_id, self._iq_id)
            await client.send_iq_pin_email(site_id, self._iq_id)
        except PermissionDeniedError:
            # "Cannot get first secret for an already activated Iq." (or the mail refused after it)
            LOGGER.debug("IQ %s refused its secret: the KS user is already activated", self._iq_id)
            return self.async_abort(
                reason="already_activated", description_placeholders=self._placeholders(entry)
            )
        except SaltoKSError as err:
            errors["base"] = self._form_error(entry, err)
            return None
        return await self.async_step_pin()

    async def async_step_pin(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the mailed IQ PIN and activate the KS user with a code computed from it."""
        entry = self._entry()
        if entry is None or self._secret is None:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            pin = str(user_input.get(CONF_IQ_PIN, "")).strip()
            if not is_iq_pin(pin):
                errors[CONF_IQ_PIN] = "invalid_pin"
            else:
                result = await self._async_activate(entry, self._secret, pin, errors)
                if result is not None:
                    return result
        return self.async_show_form(
            step_id="pin",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_IQ_PIN): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders=self._placeholders(entry),
        )

    async def _async_activate(
        self, entry: ConfigEntry, secret: str, pin: str, errors: dict[str, str]
    ) -> FlowResult | None:
        if (blocked := self._abort_if_blocked(entry)) is not None:
            return blocked
        try:
            await entry.runtime_data.client.activate_iq(
                entry.data[CONF_SITE_ID], self._iq_id, compute_otp(secret, pin, dt_util.utcnow())
            )
        except OtpBlockedError:
            return self._blocked(entry, entry.runtime_data.otp_blocks.note_blocked(self._iq_id))
        except (OtpInvalidError, OtpRequiredError):
            self._attempts += 1
            if self._attempts >= MAX_PIN_ATTEMPTS:
                return self.async_abort(
                    reason="too_many_attempts", description_placeholders=self._placeholders(entry)
                )
            errors[CONF_IQ_PIN] = "wrong_pin"
            return None
        except PermissionDeniedError:
            return self.async_abort(
                reason="already_activated", description_placeholders=self._placeholders(entry)
            )
        except SaltoKSError as err:
            errors["base"] = self._form_error(entry, err)
            return None
        async_store_activation(self.hass, entry, self._iq_id, secret, pin)
        self._secret = None
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of an OTP IQ's repair issue (issues.IQ_ISSUES carry entry_id, iq_id, iq)."""
    data = data or {}
    iq_id = str(data.get("iq_id") or "")
    return OtpActivationFlow(str(data.get("entry_id") or ""), iq_id, str(data.get("iq") or iq_id))
