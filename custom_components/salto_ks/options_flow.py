"""Options flow: polling cadence, unlock behaviour, event stream, guest access and the unlock PIN."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_CLEAR_PIN,
    CONF_EVENT_POLL_INTERVAL,
    CONF_EVENT_STREAM,
    CONF_MANAGE_GUESTS,
    CONF_PIN_HASH,
    CONF_RELEASED_STATE,
    CONF_STATUS_INTERVAL,
    CONF_UNLOCK_PIN,
    CONF_UNLOCK_SECONDS,
    DEFAULT_EVENT_POLL_INTERVAL,
    DEFAULT_EVENT_STREAM,
    DEFAULT_RELEASED_STATE,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_UNLOCK_SECONDS,
    MAX_EVENT_POLL_INTERVAL,
    MAX_RELEASED_STATE,
    MAX_STATUS_INTERVAL,
    MAX_UNLOCK_SECONDS,
    MIN_RELEASED_STATE,
    MIN_STATUS_INTERVAL,
    MIN_UNLOCK_SECONDS,
)
from .flow_validation import parse_options
from .pin import hash_pin

DEFAULT_OPTIONS: dict[str, int] = {
    CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL,
    CONF_EVENT_POLL_INTERVAL: DEFAULT_EVENT_POLL_INTERVAL,
    CONF_UNLOCK_SECONDS: DEFAULT_UNLOCK_SECONDS,
    CONF_RELEASED_STATE: DEFAULT_RELEASED_STATE,
}
_PIN = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off"))


def _seconds(minimum: int, maximum: int) -> NumberSelector:
    """Return a box-mode number selector in seconds."""
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            mode=NumberSelectorMode.BOX,
            unit_of_measurement="s",
        )
    )


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_STATUS_INTERVAL): _seconds(MIN_STATUS_INTERVAL, MAX_STATUS_INTERVAL),
        # 0 is allowed (audit loop off); 1-4 are rejected in the step with a field error.
        vol.Required(CONF_EVENT_POLL_INTERVAL): _seconds(0, MAX_EVENT_POLL_INTERVAL),
        vol.Required(CONF_UNLOCK_SECONDS): _seconds(MIN_UNLOCK_SECONDS, MAX_UNLOCK_SECONDS),
        vol.Required(CONF_RELEASED_STATE): _seconds(MIN_RELEASED_STATE, MAX_RELEASED_STATE),
        # Stored only when turned off (no key: on), so options saved before it existed mean "on".
        vol.Optional(CONF_EVENT_STREAM, default=DEFAULT_EVENT_STREAM): BooleanSelector(),
        # Guest access actions may create and remove Salto users; stored only when on.
        vol.Optional(CONF_MANAGE_GUESTS, default=False): BooleanSelector(),
        # Unlock PIN: never prefilled; empty keeps the current PIN. clear_pin is shown only
        # while a PIN is set (see _options_schema).
        vol.Optional(CONF_UNLOCK_PIN): _PIN,
        vol.Optional(CONF_CLEAR_PIN, default=False): BooleanSelector(),
    }
)
# Form fields that are never stored in entry.options nor echoed back into the form.
PIN_FORM_FIELDS = frozenset({CONF_UNLOCK_PIN, CONF_CLEAR_PIN})


def _options_schema(*, pin_set: bool) -> vol.Schema:
    """The options form; the "remove PIN" box only while a PIN is set."""
    if pin_set:
        return OPTIONS_SCHEMA
    return vol.Schema(
        {key: value for key, value in OPTIONS_SCHEMA.schema.items() if key != CONF_CLEAR_PIN}
    )


class SaltoKSOptionsFlow(OptionsFlow):
    """Polling cadence, unlock behaviour and the optional unlock PIN.

    The PIN field is a password field that is never prefilled. Saving with it empty keeps the current
    PIN; a new PIN (4-12 digits) replaces it; the "remove PIN" box (shown while a PIN is set) removes
    it. Only a salted hash is stored (``pin_hash``, see pin.py).
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options."""
        errors: dict[str, str] = {}
        stored_hash: str | None = self.config_entry.options.get(CONF_PIN_HASH) or None
        if user_input is not None:
            checked = parse_options(user_input, DEFAULT_OPTIONS)
            errors = checked.errors
            if not errors:
                options: dict[str, Any] = dict(checked.options)
                if user_input.get(CONF_EVENT_STREAM) is False:
                    options[CONF_EVENT_STREAM] = False
                if user_input.get(CONF_MANAGE_GUESTS) is True:
                    options[CONF_MANAGE_GUESTS] = True
                if checked.pin:
                    options[CONF_PIN_HASH] = await self.hass.async_add_executor_job(
                        hash_pin, checked.pin
                    )
                elif stored_hash and not checked.clear_pin:
                    options[CONF_PIN_HASH] = stored_hash
                return self.async_create_entry(data=options)
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        suggested = {
            key: value
            for key, value in (user_input or current).items()
            if key not in PIN_FORM_FIELDS and key != CONF_PIN_HASH
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                _options_schema(pin_set=stored_hash is not None), suggested
            ),
            errors=errors,
        )
