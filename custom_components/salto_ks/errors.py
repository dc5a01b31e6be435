"""The one place that turns the client's errors into Home Assistant errors, and the reauth grace.

Every client error (``api/exceptions.py``) becomes, depending on who asked:

- a coordinator poll: ``raise update_failed(err, grace, ...) from err``, an ``UpdateFailed`` (or, for
  a trusted credential refusal with ``reauth=True``, ``ConfigEntryAuthFailed``)::

      try:
          ...
      except SaltoKSError as err:
          if (kind := repair_issue(err)) is not None:  # roster only
              self._create_issue(kind)
          raise update_failed(err, grace, reauth=True) from err      # roster
          raise update_failed(err, grace, permission_key="audit_permission_denied") from err  # audit

  and before a poll, while the Retry-After gate is closed::

      if (wait := client.retry_after_remaining()) is not None:
          raise rate_limited_failure(wait)

- an entity action or a service action: ``raise action_error(err, ...) from err``, a translated
  ``HomeAssistantError`` (a trusted credential refusal starts reauth first)::

      except SaltoKSError as err:
          raise action_error(err, hass=hass, entry=entry, grace=grace,
                             keys=COMMAND_KEYS, placeholders={"name": name}) from err

  ``keys`` maps the errors particular to the action to translation keys (``READ_KEYS`` for the read
  actions, ``COMMAND_KEYS`` for lock commands); rate limits, credential errors and everything else
  are translated alike. ``raise_if_rate_limited(client)`` fails an action before any request.
- the config flow: ``form_error(err, has_user=...)``, the form's error key (call it inside the
  ``except`` block: an error that is not the client's is logged with its traceback as ``unknown``).

The grace (``AuthGrace``): an identity-server refusal within ``AUTH_REFUSAL_GRACE`` after a
transient failure (token endpoint 5xx/timeout, unusable answer, API refusing a fresh token) is not
trusted yet: a server coming back from an outage may answer ``invalid_client`` for a moment, and a
reauth flow stops polling until the user acts. Everything that translates notes transient failures
on the entry's grace and asks it before it starts reauth. ``grace`` is anything with
``note_transient_failure()`` and ``auth_refusal_is_trusted()`` (an ``AuthGrace``).

``UPDATE_FAILED_HAS_RETRY_AFTER`` is read here at call time: tests monkeypatch it on this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api import (
    ApiNotEnabledError,
    AuthenticationError,
    InvalidRequestError,
    LockUnavailableError,
    NotFoundError,
    OtpBlockedError,
    OtpInvalidError,
    OtpRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSClient,
    SaltoKSError,
    TokenRejectedError,
    UnsupportedOperationError,
)
from .api.const import DEFAULT_RETRY_AFTER
from .compat import UPDATE_FAILED_HAS_RETRY_AFTER
from .const import DOMAIN, LOGGER, OTP_DOCS_URL

# A credential refusal within this many seconds after a transient failure is not trusted yet (10 min,
# as tedee's grace for spurious auth errors).
AUTH_REFUSAL_GRACE: Final = 600.0

# Action errors particular to reading (service actions) and to lock commands; most specific first.
READ_KEYS: Final[Mapping[type[SaltoKSError], str]] = {
    ApiNotEnabledError: "api_not_enabled",
    PermissionDeniedError: "action_not_permitted",
    InvalidRequestError: "invalid_request",
}
# lock_commands.py answers OtpBlockedError itself (it names the end of the block it remembers);
# the entry here keeps a blocked IQ from reading as a missing code.
COMMAND_KEYS: Final[Mapping[type[SaltoKSError], str]] = {
    LockUnavailableError: "lock_offline",
    OtpBlockedError: "otp_blocked",
    OtpInvalidError: "otp_invalid",
    OtpRequiredError: "otp_required",
    UnsupportedOperationError: "unsupported",
    PermissionDeniedError: "action_permission_denied",
    # A permanent 400 (e.g. the site is not released): retrying will not help.
    InvalidRequestError: "command_invalid",
    NotFoundError: "lock_not_found",
}

# Locking and office mode say what the missing OTP is needed for (the table's order is kept).
LOCKING_KEYS: Final[Mapping[type[SaltoKSError], str]] = {
    **COMMAND_KEYS,
    OtpRequiredError: "otp_required_lock",
}
OFFICE_MODE_KEYS: Final[Mapping[type[SaltoKSError], str]] = {
    **COMMAND_KEYS,
    OtpRequiredError: "otp_required_office_mode",
    PermissionDeniedError: "office_mode_permission_denied",
}
# Writing a lock's easy office mode schedule (no OTP involved).
SCHEDULE_KEYS: Final[Mapping[type[SaltoKSError], str]] = {
    LockUnavailableError: "lock_offline",
    PermissionDeniedError: "schedule_permission_denied",
    InvalidRequestError: "schedule_invalid",
    NotFoundError: "lock_not_found",
}
OTP_KEYS: Final = frozenset(
    {"otp_required", "otp_required_lock", "otp_required_office_mode", "otp_invalid"}
)


class Grace(Protocol):
    """What translating needs of the reauth grace."""

    def note_transient_failure(self) -> None:
        """Remember that Salto failed transiently now."""

    def auth_refusal_is_trusted(self) -> bool:
        """Whether a credential refusal now should start reauth."""


class AuthGrace:
    """The reauth grace of one config entry, on the event loop's clock."""

    __slots__ = ("_hass", "_last_transient_failure")

    def __init__(self, hass: HomeAssistant) -> None:
        """Start trusting refusals (no transient failure seen)."""
        self._hass = hass
        # Loop time of the latest transient failure since the last good poll (None: none since).
        self._last_transient_failure: float | None = None

    def note_transient_failure(self) -> None:
        """Remember that Salto failed transiently now (refusals right after it are not trusted yet)."""
        self._last_transient_failure = self._hass.loop.time()

    def note_success(self) -> None:
        """A good poll: a refusal from now on is trusted at once."""
        self._last_transient_failure = None

    def auth_refusal_is_trusted(self) -> bool:
        """Whether a credential refusal now should start reauth (False within the grace)."""
        if self._last_transient_failure is None:
            return True
        return self._hass.loop.time() - self._last_transient_failure >= AUTH_REFUSAL_GRACE


def retry_wait(err: RateLimitedError) -> float:
    """Seconds a 429 asks to wait (the client always sets it; the default when it did not)."""
    return err.retry_after if err.retry_after and err.retry_after > 0 else DEFAULT_RETRY_AFTER


# --- coordinators -----------------------------------------------------------------------------


def _update_failed(key: str, placeholders: dict[str, str] | None = None) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def rate_limited_failure(wait: float, err: Exception | None = None) -> UpdateFailed:
    """An UpdateFailed for a 429; HA >= 2025.12 schedules the next poll after ``wait`` seconds."""
    kwargs: dict[str, Any] = {}
    if UPDATE_FAILED_HAS_RETRY_AFTER:
        kwargs["retry_after"] = wait
    failure = UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="rate_limited",
        translation_placeholders={"seconds": str(round(wait))},
        **kwargs,
    )
    failure.__cause__ = err
    return failure


def repair_issue(err: SaltoKSError) -> str | None:
    """The kind of repair issue a roster poll raises for ``err`` (its translation key), if any."""
    if isinstance(err, ApiNotEnabledError):
        return "api_not_enabled"
    if isinstance(err, PermissionDeniedError):
        return "permission_denied"
    return None


def update_failed(
    err: SaltoKSError,
    grace: Grace,
    *,
    reauth: bool = False,
    permission_key: str = "permission_denied",
) -> UpdateFailed | ConfigEntryAuthFailed:
    """The failure of a poll for ``err``; notes transient failures on ``grace``.

    With ``reauth`` a trusted credential refusal is ``ConfigEntryAuthFailed`` (HA starts reauth) and
    one within the grace ``auth_refused_retrying``; without it (a second coordinator, which leaves
    reauth to the first) it is ``invalid_auth``.
    """
    if isinstance(err, TokenRejectedError):
        grace.note_transient_failure()
        return _update_failed("token_rejected")
    if isinstance(err, AuthenticationError):
        if not reauth:
            return _update_failed("invalid_auth")
        if not grace.auth_refusal_is_trusted():
            LOGGER.debug("Credentials refused right after a transient failure; not trusted yet")
            return _update_failed("auth_refused_retrying")
        return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth")
    if isinstance(err, RateLimitedError):
        return rate_limited_failure(retry_wait(err), err)
    if isinstance(err, ApiNotEnabledError):
        return _update_failed("api_not_enabled")
    if isinstance(err, PermissionDeniedError):
        return _update_failed(permission_key)
    if isinstance(err, InvalidRequestError):
        # Permanent: not a glitch for the reauth grace.
        return _update_failed("invalid_request", {"code": err.error_code or ""})
    grace.note_transient_failure()
    return _update_failed("cannot_connect", {"error": type(err).__name__})


# --- entity and service actions ---------------------------------------------------------------


def translated_error(key: str, placeholders: Mapping[str, str] | None = None) -> HomeAssistantError:
    """An action's HomeAssistantError with a translation key of this integration."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=dict(placeholders or {}) or None,
    )


def _key_placeholders(key: str, err: SaltoKSError, entry: ConfigEntry) -> dict[str, str]:
    """The placeholders a key's message needs from the error or the entry."""
    if key == "invalid_request":
        return {"code": err.error_code or ""}
    if key == "action_not_permitted":
        return {"title": entry.title}
    if key in OTP_KEYS:
        return {"url": OTP_DOCS_URL}
    if key == "schedule_invalid":
        return {"code": err.error_code or ""}
    return {}


def rate_limited_error(
    wait: float, placeholders: Mapping[str, str] | None = None
) -> HomeAssistantError:
    """The action error while Salto's Retry-After runs (``wait`` seconds)."""
    return translated_error("rate_limited", {**(placeholders or {}), "seconds": str(round(wait))})


def raise_if_rate_limited(
    client: SaltoKSClient, placeholders: Mapping[str, str] | None = None
) -> None:
    """Fail an action without a request while the client's Retry-After gate is closed."""
    if (remaining := client.retry_after_remaining()) is not None:
        raise rate_limited_error(remaining, placeholders)


async def async_action_call[T](
    hass: HomeAssistant, entry: ConfigEntry, request: Callable[[], Awaitable[T]]
) -> T:
    """Run an action's requests; the client's errors become translated HomeAssistantErrors."""
    roster = entry.runtime_data.roster
    raise_if_rate_limited(roster.client)
    try:
        return await request()
    except SaltoKSError as err:
        raise action_error(err, hass=hass, entry=entry, grace=roster) from err


def action_error(
    err: SaltoKSError,
    *,
    hass: HomeAssistant,
    entry: ConfigEntry,
    grace: Grace,
    keys: Mapping[type[SaltoKSError], str] = READ_KEYS,
    placeholders: Mapping[str, str] | None = None,
) -> HomeAssistantError:
    """The translated error of an action for ``err``; ``placeholders`` go into every message.

    A trusted credential refusal starts the entry's reauth flow; transient failures are noted on
    ``grace``.
    """
    extra = dict(placeholders or {})
    if isinstance(err, RateLimitedError):
        return rate_limited_error(retry_wait(err), extra)
    if isinstance(err, TokenRejectedError):
        grace.note_transient_failure()
        return translated_error("cannot_connect", {**extra, "error": type(err).__name__})
    if isinstance(err, AuthenticationError):
        if not grace.auth_refusal_is_trusted():
            # Right after a transient failure: not trusted yet.
            return translated_error("cannot_connect", {**extra, "error": type(err).__name__})
        # The identity server refused the stored credentials: ask the user for new ones.
        entry.async_start_reauth(hass)
        return translated_error("action_invalid_auth", extra)
    for kind, key in keys.items():
        if isinstance(err, kind):
            return translated_error(key, {**extra, **_key_placeholders(key, err, entry)})
    grace.note_transient_failure()
    return translated_error("cannot_connect", {**extra, "error": type(err).__name__})


# --- config flow ------------------------------------------------------------------------------


def form_error(err: Exception, *, has_user: bool) -> str:
    """The config flow's form error key for a failed connection test (call inside ``except``)."""
    if not isinstance(err, SaltoKSError):
        LOGGER.exception("Unexpected error while testing the Salto KS connection")
        return "unknown"
    LOGGER.debug("Connection test failed: %r", err)
    if isinstance(err, TokenRejectedError):
        # The Connect API acts for a KS user: it refuses a token issued to the client alone
        # (client_credentials). With a user, a refusal means API and token URL do not match.
        return "token_rejected" if has_user else "ks_user_required"
    if isinstance(err, AuthenticationError):
        return "invalid_auth"
    if isinstance(err, ApiNotEnabledError):
        return "api_not_enabled"
    if isinstance(err, PermissionDeniedError):
        return "missing_permission"
    if isinstance(err, RateLimitedError):
        return "rate_limited"
    if isinstance(err, InvalidRequestError):
        return "invalid_request"
    return "cannot_connect"
