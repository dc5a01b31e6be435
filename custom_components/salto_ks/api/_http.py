"""HTTP helpers shared by the token manager, the client and the event stream: the one request
helper, body decoding and error mapping."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from . import exceptions as exc

_NOT_ENABLED_ERRORS = frozenset({"unauthorized_client", "unsupported_grant_type", "invalid_scope"})
_CREDENTIAL_ERRORS = frozenset({"invalid_client", "invalid_grant"})
_OTP_INVALID_CODE = "2202"  # also "User not found" on other calls
_OTP_CODE = "3102"
_INVALID_REQUEST_CODE = "1100"  # also "The otp field is required." on the locking call
# 400 codes that refuse the request itself: invalid request, invalid value, invalid OData query,
# site not released.
_REQUEST_ERRORS = {
    _INVALID_REQUEST_CODE: "invalid request",
    "1101": "invalid value",
    "1102": "invalid OData query",
    "2210": "the site is not released",
}
_MAX_MESSAGE = 300


class Scrubber:
    """Removes known secrets from text that may reach an exception or a log line."""

    __slots__ = ("_secrets",)

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        """Remember secrets (short or empty values are ignored)."""
        self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        return f"Scrubber(<{len(self._secrets)} secrets>)"


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL | str,
    *,
    what: str,
    scrub: Scrubber,
    client_timeout: aiohttp.ClientTimeout,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
) -> tuple[int, bytes, Mapping[str, str]]:
    """Send one request and read its whole answer: (status, body, headers).

    Redirects are never followed (a 307/308 would re-send the credentials elsewhere). A timeout or
    a transport error is a ``CommunicationError`` named by ``what`` ("on GET /path", "while
    requesting a token"), its text scrubbed of the secrets ``scrub`` knows.
    """
    try:
        async with session.request(
            method,
            url,
            params=params,
            json=json_body,
            data=form,
            headers=headers,
            timeout=client_timeout,
            allow_redirects=False,
        ) as resp:
            return resp.status, await resp.read(), resp.headers
    except TimeoutError:
        raise exc.CommunicationError(f"Timeout {what}") from None
    except aiohttp.ClientError as err:
        raise exc.CommunicationError(
            f"Error {what}: {type(err).__name__}: {scrub(str(err))}"
        ) from None


def decode_json(raw: bytes, what: str) -> Any:
    """Decode a JSON body; an empty body is None."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except RecursionError:
        # Valid JSON nested deeper than the interpreter's recursion limit.
        raise exc.InvalidResponseError(f"{what}: the body is nested too deeply") from None
    except ValueError:  # also UnicodeDecodeError
        raise exc.InvalidResponseError(f"{what}: the body is not valid JSON") from None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_fields(body: object, keys: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """Pick (code, message) from an error body using the first matching key pair."""
    if not isinstance(body, Mapping):
        return None, None
    for code_key, message_key in keys:
        code = body.get(code_key)
        message = body.get(message_key)
        if code is not None or message is not None:
            code_text = None if code is None or isinstance(code, dict | list) else str(code)
            message_text = message if isinstance(message, str) else None
            return code_text, message_text
    return None, None


def _safe_json(raw: bytes) -> object:
    """An error body's JSON, or None when it has none that can be read."""
    try:
        return decode_json(raw, "error body")
    except exc.InvalidResponseError:
        return None


def _server_message(message: str | None, scrub: Scrubber) -> str | None:
    """The server's own message, safe to show: scrubbed before it is cut, so no prefix of a secret survives."""
    if not message:
        return None
    return scrub(message)[:_MAX_MESSAGE] or None


def _otp_need(status: int, code: str | None, message: str | None) -> bool:
    """Whether an answer of the locking call asks for a (valid) OTP."""
    mentions_otp = message is not None and "otp" in message.lower()
    if status == 404 and code == _OTP_INVALID_CODE:
        # "Otp is invalid"; the same code also means "User not found".
        return message is None or mentions_otp
    if status == 400 and code == _INVALID_REQUEST_CODE:
        return mentions_otp  # "The otp field is required."
    return status in (400, 403) and code == _OTP_CODE


def api_error(
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
    scrub: Scrubber,
    *,
    locking: bool = False,
) -> exc.SaltoKSError:
    """Map an error answer of the Connect API to an exception.

    ``locking``: the answer is the locking call's, the only call whose errors can be an OTP need
    (ErrorCodes 2202 and 1100 mean other things elsewhere).
    """
    body = _safe_json(raw)
    code, message = _error_fields(
        body, (("ErrorCode", "Message"), ("errorCode", "message"), ("status", "title"))
    )
    detail = _server_message(message, scrub)
    text = f"Salto KS API answered {status}" + (f": {detail}" if detail else "")
    if code is not None:
        text += f" (ErrorCode {code})"
    kwargs: dict[str, Any] = {"status": status, "error_code": code, "server_message": detail}
    if locking and _otp_need(status, code, message):
        if code == _OTP_CODE:
            # 403 is otp_blocked whatever the wording; a 400 names otp_invalid (or nothing).
            blocked = status == 403 or (message is not None and "blocked" in message.lower())
            return (exc.OtpBlockedError if blocked else exc.OtpInvalidError)(text, **kwargs)
        return exc.OtpRequiredError(text, **kwargs)
    if status == 400 and code in _REQUEST_ERRORS:
        return exc.InvalidRequestError(
            f"Salto KS API refused the request ({_REQUEST_ERRORS[code]}, ErrorCode {code}"
            + (f": {detail}" if detail else "")
            + "); sending it again will not help",
            **kwargs,
        )
    if status == 401:
        return exc.AuthenticationError(text, **kwargs)
    if status == 403:
        return exc.PermissionDeniedError(text, **kwargs)
    if status == 404:
        return exc.NotFoundError(text, **kwargs)
    if status == 422:
        if detail and "offline" in detail.lower():
            return exc.LockUnavailableError(text, **kwargs)
        return exc.UnsupportedOperationError(text, **kwargs)
    if status == 429:
        return exc.RateLimitedError(
            text, retry_after=parse_retry_after(headers.get("Retry-After")), **kwargs
        )
    return exc.CommunicationError(text, **kwargs)


def token_error(
    status: int, raw: bytes, headers: Mapping[str, str], scrub: Scrubber
) -> exc.SaltoKSError:
    """Map an error answer of the identity server's token endpoint to an exception."""
    body = _safe_json(raw)
    code, message = _error_fields(body, (("error", "error_description"), ("ErrorCode", "Message")))
    detail = _server_message(message, scrub)
    reason = code or "no error code"
    if detail:
        reason += f": {detail}"
    kwargs: dict[str, Any] = {"status": status, "error_code": code, "server_message": detail}
    if status == 429:
        return exc.RateLimitedError(
            f"Token request rate limited ({reason})",
            retry_after=parse_retry_after(headers.get("Retry-After")),
            **kwargs,
        )
    if status >= 500:
        return exc.CommunicationError(f"Token endpoint answered {status} ({reason})", **kwargs)
    # Only an explicit refusal is a credential problem; a 403 without one comes from a firewall or proxy.
    if code in _CREDENTIAL_ERRORS or status == 401:
        return exc.AuthenticationError(
            f"The identity server refused the credentials ({status}, {reason})", **kwargs
        )
    if status == 400:
        return exc.ApiNotEnabledError(
            f"The token request was refused ({status}, {reason}): "
            "the Connect API add-on is probably not enabled for this client",
            **kwargs,
        )
    return exc.CommunicationError(f"Token endpoint answered {status} ({reason})", **kwargs)
