"""Exceptions raised by the Salto KS client.

Every exception carries ``status`` (HTTP status or None), ``error_code`` (the server's ``ErrorCode`` or OAuth
``error``, as a string, or None), ``message`` (the client's sentence) and ``server_message`` (the server's own
``Message`` / ``error_description``, scrubbed and cut to 300 characters, or None). None of them ever holds a
credential or a token.
"""

from __future__ import annotations

from typing import TypedDict, Unpack


class ErrorFields(TypedDict, total=False):
    """What every client error may carry besides its message."""

    status: int | None
    error_code: str | None
    server_message: str | None


class SaltoKSError(Exception):
    """Base class of every error raised by the client."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.server_message = server_message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"error_code={self.error_code!r})"
        )


class AuthenticationError(SaltoKSError):
    """The identity server refused the credentials (401, invalid_client, invalid_grant)."""


class TokenRejectedError(AuthenticationError):
    """The API answered 401 again right after a fresh token was obtained."""


class ApiNotEnabledError(SaltoKSError):
    """The token endpoint refused the grant or scope: the Connect API add-on is probably not enabled."""


class PermissionDeniedError(SaltoKSError):
    """403: the user may not do this (no remote_access, missing role, command_forbidden …)."""


class NotFoundError(SaltoKSError):
    """404 that is not about an OTP (also 404 ErrorCode 2202 "User not found" outside the locking call)."""


class OtpRequiredError(SaltoKSError):
    """The lock's IQ needs a (valid) one-time password; raised by the locking call only.

    404 ErrorCode 2202 "Otp is invalid", 400 ErrorCode 1100 "The otp field is required." and
    400/403 ErrorCode 3102 (``otp_invalid`` / ``otp_blocked``). The two 3102 answers raise the
    subclasses below; this class itself means no OTP (or an empty one) was sent.
    """


class OtpInvalidError(OtpRequiredError):
    """400 ErrorCode 3102 ``otp_invalid``: the OTP sent is wrong or expired."""


class OtpBlockedError(OtpRequiredError):
    """403 ErrorCode 3102 ``otp_blocked``: too many wrong OTPs; the IQ refuses every OTP for 20 minutes."""


class InvalidRequestError(SaltoKSError):
    """400 ErrorCode 1100 (invalid request), 1101 (invalid value), 1102 (invalid OData query) or 2210
    (site not released): the server refused this request as it is; sending it again will not help.

    Not a CommunicationError: callers must not retry it as if it were transient.
    """


class LockUnavailableError(SaltoKSError):
    """422: the lock or its IQ is offline."""


class UnsupportedOperationError(SaltoKSError):
    """422 for another reason, e.g. the lock cannot be locked remotely."""


class RateLimitedError(SaltoKSError):
    """429 Too Many Requests, or a call refused without a request while a Retry-After runs (``status`` None).

    ``retry_after`` is the number of seconds to wait; the client always sets it (60 s when the server sent no
    usable Retry-After).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, **fields: Unpack[ErrorFields]
    ) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class CommunicationError(SaltoKSError):
    """Timeouts, connection errors, 5xx and unexpected statuses."""


class StreamClosedError(CommunicationError):
    """The event stream's connection ended: a close message, a close frame, a drop or silence.

    ``close_code`` is the WebSocket close code (1006: ended without a close frame) or None (a SignalR
    close message, or the server went silent); ``allow_reconnect`` is False only when the server's
    close message said so.
    """

    def __init__(
        self, message: str, *, close_code: int | None, allow_reconnect: bool = True
    ) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.allow_reconnect = allow_reconnect


class InvalidResponseError(CommunicationError):
    """The server answered with something that is not the expected JSON.

    A kind of CommunicationError: a broken answer (a proxy's HTML page, truncated JSON) says nothing
    about the credentials or the request, so callers retry it like a 5xx.
    """
