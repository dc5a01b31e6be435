"""Pure input checks of the config and options flows: credentials, URLs and options.

Each check returns the cleaned values and the form's field errors (translation keys under
``config.error`` / ``options.error``); nothing here talks to Salto or to Home Assistant. Where a URL may
send credentials is decided by the client (``api/urls.py``); the checks here only add what a form needs
on top (length, whitespace, invisible characters).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from yarl import URL

from .api.urls import insecure_reason
from .const import (
    AUTH_API_CLIENT,
    AUTH_KS_USER,
    CONF_AUTH_METHOD,
    CONF_CLEAR_PIN,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_EVENT_POLL_INTERVAL,
    CONF_PASSWORD,
    CONF_UNLOCK_PIN,
    CONF_USERNAME,
    MAX_INPUT_LENGTH,
    MIN_EVENT_POLL_INTERVAL,
)
from .pin import is_valid_pin


def text(user_input: Mapping[str, Any], key: str) -> str:
    """Return a text field stripped of surrounding whitespace ('' when absent)."""
    value = user_input.get(key)
    return str(value).strip() if value is not None else ""


def has_control_chars(value: str, *, format_chars: bool = False) -> bool:
    """True when ``value`` holds a control character (NUL, newline, ...), or a format character
    (bidi override, zero-width space, ...) when ``format_chars``.

    Credentials may contain format characters (emoji sequences use the zero-width joiner); URLs not.
    """
    refused = ("Cc", "Cf") if format_chars else ("Cc",)
    return any(unicodedata.category(char) in refused for char in value)


def url_error(url: str) -> str | None:
    """Check a URL entered by the user; return an error key or None when acceptable.

    Acceptable is what the client accepts (https, or plain http to a loopback address; no user info
    in the URL), written without whitespace or invisible characters.
    """
    if len(url) > MAX_INPUT_LENGTH:
        return "too_long"
    if not url or any(char.isspace() for char in url):
        return "invalid_url"
    if has_control_chars(url, format_chars=True):
        return "invalid_url"
    try:
        parsed = URL(url)
    except ValueError:
        return "invalid_url"
    return None if insecure_reason(parsed) is None else "invalid_url"


def parse_credentials(
    user_input: Mapping[str, Any],
    *,
    stored: Mapping[str, Any] | None = None,
    require_user: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Strip and check client_id/client_secret and the optional KS system user.

    With ``stored`` (reconfigure), an empty secret keeps the stored one. Returns the cleaned values
    (username/password None for the client_credentials grant) with the sign-in method they make (a KS
    user means the password grant), and field errors.
    """
    keys = (CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_USERNAME, CONF_PASSWORD)
    values = {key: text(user_input, key) for key in keys}
    errors = {key: "too_long" for key, value in values.items() if len(value) > MAX_INPUT_LENGTH}
    for key, value in values.items():
        if has_control_chars(value):
            errors.setdefault(key, "invalid_characters")
    if stored is not None:
        if not values[CONF_CLIENT_SECRET]:
            values[CONF_CLIENT_SECRET] = stored.get(CONF_CLIENT_SECRET) or ""
        if values[CONF_USERNAME] and not values[CONF_PASSWORD]:
            values[CONF_PASSWORD] = stored.get(CONF_PASSWORD) or ""
    for key in (CONF_CLIENT_ID, CONF_CLIENT_SECRET):
        if not values[key]:
            errors.setdefault(key, "value_required")
    if values[CONF_USERNAME] and not values[CONF_PASSWORD]:
        errors.setdefault(CONF_PASSWORD, "password_required")
    if (values[CONF_PASSWORD] or require_user) and not values[CONF_USERNAME]:
        errors.setdefault(CONF_USERNAME, "username_required")
    data: dict[str, Any] = {
        CONF_CLIENT_ID: values[CONF_CLIENT_ID],
        CONF_CLIENT_SECRET: values[CONF_CLIENT_SECRET],
        CONF_USERNAME: values[CONF_USERNAME] or None,
        CONF_PASSWORD: values[CONF_PASSWORD] or None,
        CONF_AUTH_METHOD: AUTH_KS_USER if values[CONF_USERNAME] else AUTH_API_CLIENT,
    }
    return data, errors


def whole_seconds(value: Any) -> int | None:
    """A finite whole number of seconds (30 or 30.0) as int; None for NaN, infinity or 30.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


@dataclass(frozen=True, slots=True)
class OptionsInput:
    """The options form, checked: the seconds options, the new PIN ('' keeps the current one),
    whether to remove the PIN, and the field errors."""

    options: dict[str, int]
    pin: str
    clear_pin: bool
    errors: dict[str, str]


def parse_options(user_input: Mapping[str, Any], seconds_keys: Iterable[str]) -> OptionsInput:
    """Check the options form: whole seconds, the access log interval and the unlock PIN."""
    errors: dict[str, str] = {}
    options: dict[str, int] = {}
    for key in seconds_keys:
        if (seconds := whole_seconds(user_input.get(key))) is None:
            errors[key] = "whole_seconds"
        else:
            options[key] = seconds
    if 0 < options.get(CONF_EVENT_POLL_INTERVAL, 0) < MIN_EVENT_POLL_INTERVAL:
        errors[CONF_EVENT_POLL_INTERVAL] = "event_poll_interval_too_short"
    pin = text(user_input, CONF_UNLOCK_PIN)
    clear = user_input.get(CONF_CLEAR_PIN) is True
    if pin and clear:
        errors[CONF_CLEAR_PIN] = "pin_and_clear"
    elif pin and not is_valid_pin(pin):
        errors[CONF_UNLOCK_PIN] = "invalid_pin"
    return OptionsInput(options, pin, clear, errors)
