"""A server that misbehaves on purpose never makes the client loop, follow it elsewhere or crash.

A tiny aiohttp server on 127.0.0.1 (real HTTP, no mocking; ``server``/``run`` in conftest.py) answers with
paging loops, links to other hosts and bodies nested too deeply: behaviours the faithful simulator cannot produce.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    CommunicationError,
    InvalidResponseError,
    NotFoundError,
    SaltoKSError,
)
from custom_components.salto_ks.api.const import CONTINUATION_HEADER, MAX_PAGES

from .hostile import entry, start_app


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


async def test_repeating_continuation_token_stops(server: Any, run: Any) -> None:
    _state, app = server
    token = json.dumps({"token": "+RID:~abc==#RT:1", "range": {"min": "", "max": "FF"}})
    seen_headers: list[str | None] = []

    async def entries(request: web.Request) -> web.Response:
        seen_headers.append(request.headers.get(CONTINUATION_HEADER))
        n = len(seen_headers)
        return web.json_response({"items": [entry(n)], "continuation_token": token})

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
