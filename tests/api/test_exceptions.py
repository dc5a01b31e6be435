"""api/exceptions.py: the exception tree and the fields every error carries."""

from __future__ import annotations

from custom_components.salto_ks.api import (
    ApiNotEnabledError,
    AuthenticationError,
    CommunicationError,
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


def test_exception_tree() -> None:
    for cls in (
        AuthenticationError,
        ApiNotEnabledError,
        PermissionDeniedError,
        NotFoundError,
        OtpRequiredError,
        LockUnavailableError,
        UnsupportedOperationError,
        RateLimitedError,
        CommunicationError,
    ):
        assert cls.__bases__ == (SaltoKSError,)
    assert TokenRejectedError.__bases__ == (AuthenticationError,)
    assert InvalidResponseError.__bases__ == (CommunicationError,)
    err = RateLimitedError("x", status=429, error_code="1", retry_after=3.0)
    assert (err.status, err.error_code, err.message, err.retry_after) == (429, "1", "x", 3.0)
    assert str(err) == "x"
