"""Pure parts of the client: construction, URL handling, Retry-After, the exception tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from custom_components.salto_ks import api
from custom_components.salto_ks.api import (
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
    SaltoKSClient,
    SaltoKSError,
    TokenRejectedError,
    UnsupportedOperationError,
)
from custom_components.salto_ks.api._http import Scrubber, api_error, parse_retry_after, token_error


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://connect.my-clay.com", "https://connect.my-clay.com"),
        ("https://connect.my-clay.com/", "https://connect.my-clay.com"),
        ("https://connect.my-clay.com/v1", "https://connect.my-clay.com"),
        ("https://connect.my-clay.com/v1.2/", "https://connect.my-clay.com"),
        (api.LEGACY_API_BASE, "https://clp.my-clay.com"),
        ("http://127.0.0.1:8787/proxy/v1.1", "http://127.0.0.1:8787/proxy"),
    ],
)
async def test_api_base_version_is_stripped(given: str, expected: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = SaltoKSClient(session, api_base=given, client_id="c", client_secret="s")
        assert client.api_base == expected
        assert client.auth_url == api.PRODUCTION_AUTH_URL


def test_constants() -> None:
    assert api.PRODUCTION_API == "https://connect.my-clay.com"
    assert api.PRODUCTION_AUTH_URL == "https://identity.eu.my-clay.com/connect/token"
    assert api.LEGACY_API_BASE == "https://clp.my-clay.com/v1.1"
    assert api.LEGACY_AUTH_URL == "https://clp.my-clay.com/oauth2/token"
    assert api.ACCEPT_API.startswith("https://")
    assert api.ACCEPT_AUTH_URL.endswith("/connect/token")
    assert api.DEFAULT_REQUEST_TIMEOUT == 10.0


async def test_invalid_arguments() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="request_timeout"):
            SaltoKSClient(session, client_id="c", client_secret="s", request_timeout=0)
        with pytest.raises(ValueError, match="absolute"):
            SaltoKSClient(session, api_base="/relative", client_id="c", client_secret="s")
        client = SaltoKSClient(session, client_id="c", client_secret="s")
        with pytest.raises(ValueError, match="limit"):
            await client.get_entries("S", limit=201)
        with pytest.raises(ValueError, match="limit"):
            await client.get_entries("S", limit=0)
        with pytest.raises(ValueError, match="page_size"):
            await client.get_entries("S", page_size=0)
        with pytest.raises(ValueError, match="page_size"):
            await client.get_locks("S", page_size=0)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("inf") is None
    assert parse_retry_after("nan") is None
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    value = parse_retry_after(future)
    assert value is not None
    assert 80 < value <= 90
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(past) == 0.0


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


def _api(
    status: int, body: bytes, headers: dict[str, str] | None = None, *, locking: bool = False
) -> SaltoKSError:
    return api_error(status, body, headers or {}, Scrubber(), locking=locking)


_OTP_MISSING = b'{"ErrorCode":"2202","Message":"Otp is invalid"}'
_USER_NOT_FOUND = b'{"ErrorCode":2202,"Message":"User not found"}'
_OTP_FIELD = b'{"ErrorCode":1100,"Message":"The otp field is required."}'


@pytest.mark.parametrize(
    ("status", "body", "locking", "cls", "code"),
    [
        (404, _OTP_MISSING, True, OtpRequiredError, "2202"),
        (404, b'{"ErrorCode":"2202"}', True, OtpRequiredError, "2202"),
        (404, _OTP_MISSING, False, NotFoundError, "2202"),
        (404, _USER_NOT_FOUND, True, NotFoundError, "2202"),
        (404, _USER_NOT_FOUND, False, NotFoundError, "2202"),
        (400, _OTP_FIELD, True, OtpRequiredError, "1100"),
        (400, _OTP_FIELD, False, InvalidRequestError, "1100"),
        (400, b'{"ErrorCode":3102,"Message":"otp_invalid"}', True, OtpRequiredError, "3102"),
        (403, b'{"ErrorCode":3102,"Message":"otp_blocked"}', True, OtpRequiredError, "3102"),
        (400, b'{"ErrorCode":3102,"Message":"otp_invalid"}', False, CommunicationError, "3102"),
        (403, b'{"ErrorCode":3102,"Message":"otp_blocked"}', False, PermissionDeniedError, "3102"),
        (
            403,
            b'{"ErrorCode":2203,"Message":"User does not have permission"}',
            True,
            PermissionDeniedError,
            "2203",
        ),
        (
            403,
            b'{"ErrorCode":"command_forbidden","Message":"no"}',
            False,
            PermissionDeniedError,
            "command_forbidden",
        ),
        (404, b'{"ErrorCode":1100,"Message":"Lock not found"}', False, NotFoundError, "1100"),
        (404, b"", False, NotFoundError, None),
        (
            422,
            b'{"ErrorCode":2203,"Message":"The lock is offline"}',
            True,
            LockUnavailableError,
            "2203",
        ),
        (
            422,
            b'{"ErrorCode":2203,"Message":"The IQ is OFFLINE"}',
            True,
            LockUnavailableError,
            "2203",
        ),
        (
            422,
            b'{"ErrorCode":1101,"Message":"not supported"}',
            True,
            UnsupportedOperationError,
            "1101",
        ),
        (400, b'{"ErrorCode":1100,"Message":"Invalid site id"}', True, InvalidRequestError, "1100"),
        (
            400,
            b'{"ErrorCode":"1101","Message":"Invalid value"}',
            False,
            InvalidRequestError,
            "1101",
        ),
        (400, b'{"ErrorCode":1102,"Message":"Invalid OData"}', False, InvalidRequestError, "1102"),
        (400, b'{"ErrorCode":2210,"Message":"Not released"}', False, InvalidRequestError, "2210"),
        (400, b"<html>bad request</html>", False, CommunicationError, None),
        (405, b"", False, CommunicationError, None),
        (500, b'{"ErrorCode":2201,"Message":"Internal"}', False, CommunicationError, "2201"),
        (503, b"<html>busy</html>", False, CommunicationError, None),
        (
            403,
            b'{"type":"x","title":"Forbidden","status":403}',
            False,
            PermissionDeniedError,
            "403",
        ),
    ],
)
def test_api_error_mapping(
    status: int, body: bytes, locking: bool, cls: type[SaltoKSError], code: str | None
) -> None:
    err = _api(status, body, locking=locking)
    assert type(err) is cls
    assert err.status == status
    assert err.error_code == code
    # The server's own words, verbatim, when the body has any.
    if err.server_message is None:
        assert b"Message" not in body
        assert b"title" not in body
    else:
        assert err.server_message.encode() in body


def test_api_error_429_and_messages() -> None:
    err = _api(429, b"", {"Retry-After": "30"})
    assert isinstance(err, RateLimitedError)
    assert err.retry_after == 30.0
    err = _api(422, b'{"ErrorCode":2203,"Message":"The lock is offline"}')
    assert err.message == "Salto KS API answered 422: The lock is offline (ErrorCode 2203)"
    assert err.server_message == "The lock is offline"
    assert _api(503, b"<html>busy</html>").server_message is None
    assert _api(404, b"").server_message is None


def test_token_error_server_message() -> None:
    body = b'{"error":"invalid_grant","error_description":"invalid_username_or_password"}'
    err = token_error(400, body, {}, Scrubber())
    assert err.server_message == "invalid_username_or_password"
    assert "invalid_username_or_password" in err.message
    assert token_error(400, b'{"error":"invalid_grant"}', {}, Scrubber()).server_message is None
    limited = token_error(429, b'{"error":"slow_down","error_description":"wait"}', {}, Scrubber())
    assert isinstance(limited, RateLimitedError)
    assert limited.server_message == "wait"


def test_server_message_is_bounded_and_scrubbed() -> None:
    secret = "s3cr3t-" + "x" * 40
    scrub = Scrubber()
    scrub.add(secret)
    # The secret straddles the length limit: cutting first would leave a bare prefix of it.
    text = "a" * 280 + secret + " tail"
    body = ('{"ErrorCode":1100,"Message":"' + text + '"}').encode()
    err = api_error(400, body, {}, scrub)
    assert err.server_message is not None
    assert len(err.server_message) <= 300
    assert "s3cr3t" not in err.server_message
    assert err.server_message.startswith("a" * 280 + "***")
    token_body = ('{"error":"invalid_client","error_description":"' + text + '"}').encode()
    token_err = token_error(401, token_body, {}, scrub)
    assert token_err.server_message is not None
    assert "s3cr3t" not in token_err.server_message
    assert len(token_err.server_message) <= 300


@pytest.mark.parametrize(
    ("status", "error", "cls"),
    [
        (400, "unauthorized_client", ApiNotEnabledError),
        (400, "unsupported_grant_type", ApiNotEnabledError),
        (400, "invalid_scope", ApiNotEnabledError),
        (400, None, ApiNotEnabledError),
        (400, "invalid_grant", AuthenticationError),
        (400, "invalid_client", AuthenticationError),
        (401, "invalid_client", AuthenticationError),
        (401, None, AuthenticationError),
        (403, None, CommunicationError),  # a firewall or proxy, not a verdict on the credentials
        (403, "invalid_client", AuthenticationError),
        (404, None, CommunicationError),
        (302, None, CommunicationError),  # redirects are not followed
        (500, None, CommunicationError),
        (429, None, RateLimitedError),
    ],
)
def test_token_error_mapping(status: int, error: str | None, cls: type[SaltoKSError]) -> None:
    body = b"" if error is None else f'{{"error":"{error}"}}'.encode()
    err = token_error(status, body, {}, Scrubber())
    assert type(err) is cls
    assert err.status == status
    assert err.error_code == error
    if cls is ApiNotEnabledError:
        assert "Connect API add-on is probably not enabled" in err.message


def test_scrubber_removes_secrets_from_server_messages() -> None:
    scrub = Scrubber()
    scrub.add("s3cr3t-value", None, "")
    body = b'{"error":"invalid_client","error_description":"bad secret s3cr3t-value"}'
    err = token_error(401, body, {}, scrub)
    assert "s3cr3t-value" not in str(err)
    assert "***" in str(err)
    assert "s3cr3t" not in repr(scrub)
