"""api/_http.py: answers mapped to the exception tree, unit by unit and as the client raises them (simulator, hostile server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    ApiNotEnabledError,
    AuthenticationError,
    CommunicationError,
    InvalidRequestError,
    InvalidResponseError,
    LockUnavailableError,
    NotFoundError,
    OtpBlockedError,
    OtpInvalidError,
    OtpRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSClient,
    SaltoKSError,
    UnsupportedOperationError,
)
from custom_components.salto_ks.api._http import Scrubber, api_error, parse_retry_after, token_error
from simulator import Simulator

from .conftest import MakeClient
from .helpers import first_lock_id


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
        (400, b'{"ErrorCode":3102,"Message":"otp_invalid"}', True, OtpInvalidError, "3102"),
        (403, b'{"ErrorCode":3102,"Message":"otp_blocked"}', True, OtpBlockedError, "3102"),
        (403, b'{"ErrorCode":3102}', True, OtpBlockedError, "3102"),
        (400, b'{"ErrorCode":"3102","Message":"otp_blocked"}', True, OtpBlockedError, "3102"),
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


async def test_offline_lock(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock_id = await first_lock_id(salto_sim, client)
    salto_sim.set_lock(lock_id, online=False)
    with pytest.raises(LockUnavailableError) as err:
        await client.unlock(salto_sim.site_id, lock_id)
    assert err.value.status == 422
    assert err.value.error_code == "2203"
    assert "offline" in err.value.message.lower()
    assert err.value.server_message == "The lock is offline"


async def test_offline_iq(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, online=False)
    with pytest.raises(LockUnavailableError) as err:
        await client.unlock(salto_sim.site_id, lock.id)
    assert err.value.status == 422
    assert "IQ" in err.value.message


async def test_lock_not_supported(salto_sim: Simulator, client: SaltoKSClient) -> None:
    iq_id = (await client.get_iqs(salto_sim.site_id))[0].id
    lock_id = salto_sim.add_lock(
        name="XS4 strike", iq_id=iq_id, supports_remote_lock=False, locked_state="unlocked"
    )
    with pytest.raises(UnsupportedOperationError) as err:
        await client.lock(salto_sim.site_id, lock_id)
    assert err.value.status == 422
    assert err.value.error_code == "1101"
    assert not isinstance(err.value, LockUnavailableError)


async def test_otp_required_and_invalid(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id)
    assert (err.value.status, err.value.error_code) == (404, "2202")
    assert not isinstance(err.value, NotFoundError)
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id, otp="00000")
    assert err.value.status in (400, 403)
    assert err.value.error_code == "3102"


async def test_empty_otp_field_is_an_otp_need(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """400 ErrorCode 1100 "The otp field is required." on the locking call asks for an OTP."""
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id, otp="")
    assert (err.value.status, err.value.error_code) == (400, "1100")
    assert err.value.server_message == "The otp field is required."


async def test_site_uid_is_an_invalid_request(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """400 ErrorCode 1100 (the site UID instead of its UUID) is permanent, not a CommunicationError."""
    site_uid = salto_sim.state.sites[salto_sim.site_id].site_uid
    for call in (client.get_locks, client.get_entries):
        with pytest.raises(InvalidRequestError) as err:
            await call(site_uid)
        assert not isinstance(err.value, CommunicationError)
        assert (err.value.status, err.value.error_code) == (400, "1100")
        assert "will not help" in err.value.message
    lock_id = await first_lock_id(salto_sim, client)
    with pytest.raises(InvalidRequestError):
        await client.unlock(site_uid, lock_id)


async def test_otp_blocked_after_eight_wrong(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    for _ in range(8):
        with pytest.raises(OtpRequiredError) as err:
            await client.unlock(salto_sim.site_id, lock.id, otp="00000")
        assert (err.value.status, err.value.server_message) == (400, "otp_invalid")
    # Blocked now: even the right OTP is refused, with the other 3102 answer.
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id, otp=salto_sim.valid_otp(lock.iq.id))
    assert (err.value.status, err.value.error_code) == (403, "3102")
    assert err.value.server_message == "otp_blocked"
    assert salto_sim.counters["locking"] == 9


async def test_token_refusal_carries_server_message(make_client: MakeClient) -> None:
    with pytest.raises(AuthenticationError) as err:
        await make_client(password="wrong-password").get_sites()
    assert (err.value.status, err.value.error_code) == (400, "invalid_grant")
    assert err.value.server_message == "invalid_username_or_password"


async def test_no_remote_access(salto_sim: Simulator, client: SaltoKSClient) -> None:
    me = next(u for u in await client.get_users(salto_sim.site_id) if u.email == salto_sim.username)
    salto_sim.set_user(me.id, remote_access=False)
    lock_id = await first_lock_id(salto_sim, client)
    with pytest.raises(PermissionDeniedError) as err:
        await client.unlock(salto_sim.site_id, lock_id)
    assert err.value.status == 403
    assert err.value.error_code == "2203"


async def test_not_found(salto_sim: Simulator, client: SaltoKSClient) -> None:
    with pytest.raises(NotFoundError) as err:
        await client.unlock(salto_sim.site_id, "00000000-0000-0000-0000-000000000000")
    assert err.value.status == 404
    with pytest.raises(NotFoundError):
        await client.get_locks("00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFoundError):
        await client.get_entries("00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize("kind", ["500", "502", "503"])
async def test_server_errors(salto_sim: Simulator, client: SaltoKSClient, kind: str) -> None:
    salto_sim.inject_fault("iqs", kind, times=1)
    with pytest.raises(CommunicationError) as err:
        await client.get_iqs(salto_sim.site_id)
    assert err.value.status == int(kind)
    assert len(await client.get_iqs(salto_sim.site_id)) == 1


async def test_scripted_sequence(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.inject_fault("users", sequence=["503", None, "malformed"])
    with pytest.raises(CommunicationError):
        await client.get_users(salto_sim.site_id)
    assert len(await client.get_users(salto_sim.site_id)) == 3
    with pytest.raises(InvalidResponseError):
        await client.get_users(salto_sim.site_id)


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("sites", "get_sites"),
        ("locks", "get_locks"),
        ("iqs", "get_iqs"),
        ("users", "get_users"),
        ("entries", "get_entries"),
    ],
)
async def test_malformed_payloads(
    salto_sim: Simulator, client: SaltoKSClient, endpoint: str, call: str
) -> None:
    salto_sim.inject_fault(endpoint, "malformed", times=1)
    method = getattr(client, call)
    args = () if call == "get_sites" else (salto_sim.site_id,)
    with pytest.raises(InvalidResponseError) as err:
        await method(*args)
    assert isinstance(err.value, SaltoKSError)
    await method(*args)  # and it works again afterwards


async def test_retry_after_http_date(server: Any, run: Any) -> None:
    _state, app = server
    when = datetime.now(UTC) + timedelta(seconds=120)

    async def sites(request: web.Request) -> web.Response:
        return web.json_response(
            {"ErrorCode": 429, "Message": "slow down"},
            status=429,
            headers={"Retry-After": format_datetime(when, usegmt=True)},
        )

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    with pytest.raises(RateLimitedError) as err:
        await client.get_sites()
    assert err.value.retry_after is not None
    assert 100 < err.value.retry_after <= 120


_USER_NOT_FOUND_JSON = {"ErrorCode": "2202", "Message": "User not found"}


async def test_2202_is_an_otp_need_only_on_the_locking_call(server: Any, run: Any) -> None:
    """404 ErrorCode 2202 also means "User not found": only the locking call's "Otp is invalid" is an OTP need."""
    _state, app = server
    answers: dict[str, object] = {}

    async def lock(request: web.Request) -> web.Response:
        return web.json_response(_USER_NOT_FOUND_JSON, status=404)

    async def locking(request: web.Request) -> web.Response:
        return web.json_response(answers["locking"], status=404)

    app.router.add_get("/v1.2/sites/S/locks", lock)
    app.router.add_patch("/v1.2/sites/S/locks/L/locking", locking)
    client = await run()
    with pytest.raises(NotFoundError) as err:
        await client.get_locks("S")
    assert not isinstance(err.value, OtpRequiredError)
    assert err.value.error_code == "2202"
    answers["locking"] = _USER_NOT_FOUND_JSON
    with pytest.raises(NotFoundError) as err:
        await client.unlock("S", "L")
    assert not isinstance(err.value, OtpRequiredError)
    answers["locking"] = {"ErrorCode": "2202", "Message": "Otp is invalid"}
    with pytest.raises(OtpRequiredError):
        await client.unlock("S", "L")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (1100, "The otp field is required."),
        ("1101", "At least one day should be selected"),
        (1102, "Invalid OData filter"),
        (2210, "Site not released"),
        (3102, "otp_invalid"),
    ],
)
async def test_permanent_400s_are_invalid_requests(
    server: Any, run: Any, code: int | str, message: str
) -> None:
    """400 with 1100/1101/1102/2210 is InvalidRequestError (not transient); OTP codes only on locking."""
    _state, app = server

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"ErrorCode": code, "Message": message}, status=400)

    app.router.add_get("/v1.2/sites/S/locks", refuse)
    app.router.add_patch("/v1.2/sites/S/locks/L/locking", refuse)
    client = await run()
    expected = CommunicationError if str(code) == "3102" else InvalidRequestError
    with pytest.raises(expected) as err:
        await client.get_locks("S")
    assert not isinstance(err.value, OtpRequiredError)
    if expected is InvalidRequestError:
        assert not isinstance(err.value, CommunicationError)
        assert f"ErrorCode {code}" in err.value.message
        assert message in err.value.message
    locking = OtpRequiredError if "otp" in message else InvalidRequestError
    with pytest.raises(locking):
        await client.unlock("S", "L")


def test_retry_after_as_an_http_date_without_a_zone_is_utc() -> None:
    """``-0000`` (RFC 5322: no zone information) is read as UTC."""
    later = datetime.now(UTC) + timedelta(seconds=120)
    value = later.strftime("%a, %d %b %Y %H:%M:%S -0000")
    wait = parse_retry_after(value)
    assert wait is not None
    assert 100 <= wait <= 121


def test_a_401_with_an_unknown_body_is_an_authentication_error() -> None:
    """No known error fields in the body: the status decides, and the body names nothing."""
    error = api_error(401, b'{"detail": "expired"}', {}, Scrubber())
    assert isinstance(error, AuthenticationError)
    assert error.error_code is None
    assert error.server_message is None
