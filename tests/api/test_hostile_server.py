"""Behaviours the faithful simulator cannot produce: a server that misbehaves on purpose.

A tiny aiohttp server on 127.0.0.1 (real HTTP, no mocking; ``server``/``run`` in conftest.py) answers with paging loops, links to other hosts,
endless 401s, refresh tokens and redirects.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    CommunicationError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    OtpRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSError,
    TokenRejectedError,
)
from custom_components.salto_ks.api.const import CONTINUATION_HEADER, MAX_PAGES

from .hostile import PASSWORD, SECRET, start_app


def _entry(n: int) -> dict[str, Any]:
    return {
        "id": f"e{n}",
        "event_category": "lock_opened",
        "utc_date_time": f"2026-01-01T00:00:{n % 60:02d}Z",
    }


async def test_repeating_next_page_link_is_refused(server: Any, run: Any) -> None:
    state, app = server

    async def locks(request: web.Request) -> web.Response:
        link = f"{state.url}/v1.2/sites/S/locks?page=2"
        return web.json_response({"items": [{"id": "L1"}], "next_page_link": link})

    app.router.add_get("/v1.2/sites/S/locks", locks)
    client = await run()
    with pytest.raises(InvalidResponseError, match="repeats"):
        await client.get_locks("S")
    # First page, then page 2 once; the second answer naming page 2 again stops the loop.
    assert len(state.requests) == 2


async def test_endless_new_links_are_bounded(server: Any, run: Any) -> None:
    state, app = server

    async def locks(request: web.Request) -> web.Response:
        page = int(request.query.get("page", "0")) + 1
        link = f"{state.url}/v1.2/sites/S/locks?page={page}"
        return web.json_response({"items": [], "next_page_link": link})

    app.router.add_get("/v1.2/sites/S/locks", locks)
    client = await run()
    with pytest.raises(InvalidResponseError, match="pages"):
        await client.get_locks("S")
    assert len(state.requests) == MAX_PAGES


async def test_next_page_link_to_another_host_is_refused(server: Any, run: Any) -> None:
    _state, app = server
    foreign_hits: list[str] = []

    async def steal(request: web.Request) -> web.Response:
        foreign_hits.append(request.headers.get("Authorization", ""))
        return web.json_response({"items": []})

    foreign = web.Application()
    foreign.router.add_get("/{tail:.*}", steal)
    foreign_runner, foreign_url = await start_app(foreign)

    async def locks(request: web.Request) -> web.Response:
        return web.json_response(
            {"items": [{"id": "L1"}], "next_page_link": f"{foreign_url}/v1.2/sites/S/locks?p=2"}
        )

    app.router.add_get("/v1.2/sites/S/locks", locks)
    try:
        client = await run()
        with pytest.raises(InvalidResponseError, match="another host"):
            await client.get_locks("S")
    finally:
        await foreign_runner.cleanup()
    assert foreign_hits == []


async def test_relative_next_page_link_is_followed(server: Any, run: Any) -> None:
    _state, app = server

    async def users(request: web.Request) -> web.Response:
        if request.query.get("p") == "2":
            return web.json_response({"items": [{"id": "U2"}], "next_page_link": None})
        return web.json_response(
            {"items": [{"id": "U1"}], "next_page_link": "/v1.2/sites/S/users?p=2"}
        )

    app.router.add_get("/v1.2/sites/S/users", users)
    client = await run()
    assert [u.id for u in await client.get_users("S")] == ["U1", "U2"]


async def test_repeating_continuation_token_stops(server: Any, run: Any) -> None:
    _state, app = server
    token = json.dumps({"token": "+RID:~abc==#RT:1", "range": {"min": "", "max": "FF"}})
    seen_headers: list[str | None] = []

    async def entries(request: web.Request) -> web.Response:
        seen_headers.append(request.headers.get(CONTINUATION_HEADER))
        n = len(seen_headers)
        return web.json_response({"items": [_entry(n)], "continuation_token": token})

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    result = await client.get_entries("S", limit=100)
    # Page 1 (no header), page 2 with the token as-is; page 2 repeats the token: stop.
    assert seen_headers == [None, token]
    assert [e.id for e in result] == ["e1", "e2"]


async def test_endless_empty_entry_pages_are_bounded(server: Any, run: Any) -> None:
    state, app = server

    async def entries(request: web.Request) -> web.Response:
        return web.json_response({"items": [], "continuation_token": f"t{len(state.requests)}"})

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    assert await client.get_entries("S", limit=10) == []
    assert len(state.requests) == MAX_PAGES


async def test_unescaped_continuation_object_is_sent_as_json(server: Any, run: Any) -> None:
    _state, app = server
    seen: list[str | None] = []

    async def entries(request: web.Request) -> web.Response:
        seen.append(request.headers.get(CONTINUATION_HEADER))
        if len(seen) == 1:
            return web.json_response({"items": [_entry(1)], "continuation_token": {"token": "x"}})
        return web.json_response({"items": [_entry(2)], "continuation_token": None})

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    assert len(await client.get_entries("S")) == 2
    assert seen == [None, '{"token":"x"}']


async def test_second_401_raises_token_rejected(server: Any, run: Any) -> None:
    state, app = server

    async def sites(request: web.Request) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    with pytest.raises(TokenRejectedError) as err:
        await client.get_sites()
    assert err.value.status == 401
    assert len(state.requests) == 2
    assert state.tokens_issued == 2
    assert [r.headers["Authorization"] for r in state.requests] == [
        "Bearer hostile-access-1",
        "Bearer hostile-access-2",
    ]


async def test_refresh_token_is_used_and_refusal_falls_back(server: Any, run: Any) -> None:
    state, app = server
    state.refresh_token = "hostile-refresh"

    async def sites(request: web.Request) -> web.Response:
        return web.json_response([])

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    await client.get_sites()
    assert state.forms[-1]["grant_type"] == "password"
    assert state.forms[-1]["scope"] == "user_api.full_access"

    await client.authenticate(force=True)
    assert state.forms[-1] == {"grant_type": "refresh_token", "refresh_token": "hostile-refresh-1"}

    state.refuse_refresh = True
    await client.authenticate(force=True)
    assert [f["grant_type"] for f in state.forms] == [
        "password",
        "refresh_token",
        "refresh_token",
        "password",
    ]
    assert state.forms[2]["refresh_token"] == "hostile-refresh-2"
    # After invalidate_token the refresh token is forgotten too.
    client.invalidate_token()
    state.refuse_refresh = False
    await client.authenticate()
    assert state.forms[-1]["grant_type"] == "password"


async def test_redirect_is_not_followed(server: Any, run: Any) -> None:
    _state, app = server

    async def sites(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/steal")

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    with pytest.raises(CommunicationError) as err:
        await client.get_sites()
    assert err.value.status == 302


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


async def test_entries_wire_format(server: Any, run: Any) -> None:
    _state, app = server
    queries: list[dict[str, str]] = []

    async def entries(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        return web.json_response({"items": [_entry(1)]})

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    since = datetime(2026, 8, 19, 14, 50, 38, 999, tzinfo=timezone(timedelta(hours=2)))
    await client.get_entries("S", since=since, limit=30, page_size=10)
    assert queries == [
        {
            "$filter": "utc_date_time ge DateTime'2026-08-19T12:50:38Z'",
            "$orderby": "utc_date_time desc",
            "$top": "10",
        }
    ]


async def test_token_request_wire_format(server: Any, run: Any) -> None:
    state, _app = server
    client = await run()
    await client.authenticate()
    expected = base64.b64encode(f"hostile-client:{SECRET}".encode()).decode()
    assert state.auth_headers == [f"Basic {expected}"]
    assert state.forms == [
        {
            "grant_type": "password",
            "username": "user@example.com",
            "password": PASSWORD,
            "scope": "user_api.full_access",
        }
    ]


async def test_unparseable_items_are_skipped_with_a_warning(
    server: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _state, app = server

    async def locks(request: web.Request) -> web.Response:
        return web.json_response(
            {"items": [{"id": "L1"}, {"id": "L2", "online": "very"}, "junk", {"id": "L3"}]}
        )

    app.router.add_get("/v1.2/sites/S/locks", locks)
    client = await run()
    with caplog.at_level(logging.WARNING):
        locks_found = await client.get_locks("S")
    assert [lock.id for lock in locks_found] == ["L1", "L3"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "lock.online" in warnings[0]


@pytest.mark.parametrize(
    "body",
    [
        {"items": "nope"},
        {"items": [], "next_page_link": 5},
        "a string",
        42,
    ],
)
async def test_wrong_list_shapes(server: Any, run: Any, body: object) -> None:
    _state, app = server

    async def iqs(request: web.Request) -> web.Response:
        return web.json_response(body)

    app.router.add_get("/v1.2/sites/S/iqs", iqs)
    client = await run()
    with pytest.raises(InvalidResponseError):
        await client.get_iqs("S")


async def test_sites_envelope_with_items(server: Any, run: Any) -> None:
    _state, app = server

    async def sites(request: web.Request) -> web.Response:
        return web.json_response(
            {"items": [{"id": "S1", "customer_reference": "HQ"}], "next_page_link": None}
        )

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    assert [(s.id, s.name) for s in await client.get_sites()] == [("S1", "HQ")]


async def test_entries_bare_404_falls_back_and_is_remembered(server: Any, run: Any) -> None:
    """A route-level 404 (aiohttp's plain answer: no /entries route here) tries the legacy paths."""
    state, app = server

    async def audit_trails(request: web.Request) -> web.Response:
        return web.json_response([_entry(1), _entry(2)])

    app.router.add_get("/v1.1/sites/S/audit-trails", audit_trails)
    client = await run()
    assert [e.id for e in await client.get_entries("S", limit=1)] == ["e1"]
    assert client.entries_path == "audit-trails"
    await client.get_entries("S")
    assert [r.path for r in state.requests] == [
        "/v1.1/sites/S/entries",
        "/v1.1/sites/S/audit-trails",
        "/v1.1/sites/S/audit-trails",
    ]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"ErrorCode": 1100, "Message": "The site was not found"}, NotFoundError),
        (404, {"ErrorCode": "2202", "Message": "User not found"}, NotFoundError),
        (405, None, CommunicationError),
    ],
)
async def test_entries_404_with_a_connect_body_or_405_does_not_fall_back(
    server: Any, run: Any, status: int, body: object, error: type[Exception]
) -> None:
    state, app = server

    async def entries(request: web.Request) -> web.Response:
        if body is None:
            return web.Response(status=status)
        return web.json_response(body, status=status)

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    with pytest.raises(error) as err:
        await client.get_entries("S")
    assert err.value.status == status  # type: ignore[attr-defined]
    assert [r.path for r in state.requests] == ["/v1.1/sites/S/entries"]
    assert client.entries_path is None


async def test_entries_other_errors_do_not_fall_back(server: Any, run: Any) -> None:
    state, app = server

    async def entries(request: web.Request) -> web.Response:
        return web.json_response({"ErrorCode": 2203, "Message": "nope"}, status=403)

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    with pytest.raises(PermissionDeniedError):
        await client.get_entries("S")
    assert len(state.requests) == 1
    assert client.entries_path is None


async def test_token_without_expiry_uses_default_lifetime(server: Any, run: Any) -> None:
    state, app = server

    async def sites(request: web.Request) -> web.Response:
        return web.json_response([])

    app.router.add_get("/v1.2/sites", sites)
    state.expires_in = 0
    client = await run()
    await client.get_sites()
    await client.get_sites()
    assert state.tokens_issued == 1


@pytest.mark.parametrize(
    "body",
    [
        {"items": {"id": "e1"}},
        {"items": [], "continuation_token": 17},
        {"items": [], "continuation_token": "abc\r\nX-Injected: 1"},
        "text",
    ],
)
async def test_wrong_entries_shapes(server: Any, run: Any, body: object) -> None:
    _state, app = server

    async def entries(request: web.Request) -> web.Response:
        return web.json_response(body)

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    with pytest.raises(InvalidResponseError, match="entries"):
        await client.get_entries("S")


async def test_entries_items_null_and_naive_since(server: Any, run: Any) -> None:
    _state, app = server
    filters: list[str] = []

    async def entries(request: web.Request) -> web.Response:
        filters.append(request.query["$filter"])
        return web.json_response({"items": None, "continuation_token": None})

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    assert await client.get_entries("S", since=datetime(2026, 1, 2, 3, 4, 5)) == []
    assert filters == ["utc_date_time ge DateTime'2026-01-02T03:04:05Z'"]


_USER_NOT_FOUND = {"ErrorCode": "2202", "Message": "User not found"}


async def test_2202_is_an_otp_need_only_on_the_locking_call(server: Any, run: Any) -> None:
    """404 ErrorCode 2202 also means "User not found": only the locking call's "Otp is invalid" is an OTP need."""
    _state, app = server
    answers: dict[str, object] = {}

    async def lock(request: web.Request) -> web.Response:
        return web.json_response(_USER_NOT_FOUND, status=404)

    async def locking(request: web.Request) -> web.Response:
        return web.json_response(answers["locking"], status=404)

    app.router.add_get("/v1.2/sites/S/locks", lock)
    app.router.add_patch("/v1.2/sites/S/locks/L/locking", locking)
    client = await run()
    with pytest.raises(NotFoundError) as err:
        await client.get_locks("S")
    assert not isinstance(err.value, OtpRequiredError)
    assert err.value.error_code == "2202"
    answers["locking"] = _USER_NOT_FOUND
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


def _deep(levels: int = 100_000) -> bytes:
    """Valid JSON nested deeper than any recursion limit."""
    return b'{"items": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, InvalidResponseError),
        (400, CommunicationError),
        (404, NotFoundError),
        (500, CommunicationError),
    ],
)
async def test_deeply_nested_api_bodies(
    server: Any, run: Any, status: int, error: type[Exception]
) -> None:
    """Lists, entries, error bodies and action answers: never a RecursionError."""
    _state, app = server

    async def deep(request: web.Request) -> web.Response:
        return web.Response(body=_deep(), status=status, content_type="application/json")

    for path in ("/v1.2/sites", "/v1.2/sites/S/locks", "/v1.1/sites/S/entries"):
        app.router.add_get(path, deep)
    app.router.add_patch("/v1.2/sites/S/locks/L/locking", deep)
    client = await run()
    calls = [client.get_sites(), client.get_locks("S"), client.get_entries("S")]
    if status != 200:
        calls.append(client.unlock("S", "L"))  # a successful PATCH body is never read
    for call in calls:
        with pytest.raises(error) as err:
            await call
        assert isinstance(err.value, SaltoKSError)
        if status == 200:
            assert "nested too deeply" in err.value.message
        else:
            assert err.value.status == status


@pytest.mark.parametrize("status", [200, 400, 401, 500])
async def test_deeply_nested_token_responses(server: Any, run: Any, status: int) -> None:
    """A token response or token error nested too deeply is a clean client error."""
    _state, app = server

    async def deep_token(request: web.Request) -> web.Response:
        return web.Response(body=_deep(), status=status, content_type="application/json")

    app.router.add_post("/deep/token", deep_token)
    client = await run(auth_path="/deep/token")
    with pytest.raises(SaltoKSError) as err:
        await client.authenticate()
    assert err.value.status == status
    if status == 200:
        assert isinstance(err.value, InvalidResponseError)
        assert "nested too deeply" in err.value.message
