"""api/pages.py: one page of a list or of the entries feed, as the record and odd servers send it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    InvalidResponseError,
    Iq,
    Lock,
    SaltoKSClient,
    Site,
    SiteUser,
)
from custom_components.salto_ks.api.const import CONTINUATION_HEADER
from custom_components.salto_ks.api.pages import list_page
from simulator import Simulator

from .helpers import FIXTURES, load
from .hostile import entry

# §6 "List envelope", verbatim, with the record's own examples as items.
LIST_ENVELOPE = '{"items":[%s],"next_page_link":null,"count":null}'


@pytest.mark.parametrize(
    ("name", "model"),
    [("site", Site), ("lock", Lock), ("iq", Iq), ("site_user", SiteUser)],
)
def test_list_envelope_example(name: str, model: Any) -> None:
    item = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    body = json.loads(LIST_ENVELOPE % item)
    items, next_link = list_page(body, model.from_dict, name)
    assert items == [model.from_dict(load(name))]
    assert items[0].id == load(name)["id"]
    assert next_link is None


async def test_users_as_a_bare_array(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """The record saw the users list both as {items, …} and as a bare array: both parse alike."""
    wrapped = await client.get_users(salto_sim.site_id)
    salto_sim.tenant.update(users_envelope="array")
    assert await client.get_users(salto_sim.site_id) == wrapped
    assert len(wrapped) == 3


async def test_sites_envelope_with_items(server: Any, run: Any) -> None:
    _state, app = server

    async def sites(request: web.Request) -> web.Response:
        return web.json_response(
            {"items": [{"id": "S1", "customer_reference": "HQ"}], "next_page_link": None}
        )

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    assert [(s.id, s.name) for s in await client.get_sites()] == [("S1", "HQ")]


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


async def test_unescaped_continuation_object_is_sent_as_json(server: Any, run: Any) -> None:
    _state, app = server
    seen: list[str | None] = []

    async def entries(request: web.Request) -> web.Response:
        seen.append(request.headers.get(CONTINUATION_HEADER))
        if len(seen) == 1:
            return web.json_response({"items": [entry(1)], "continuation_token": {"token": "x"}})
        return web.json_response({"items": [entry(2)], "continuation_token": None})

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    assert len(await client.get_entries("S")) == 2
    assert seen == [None, '{"token":"x"}']


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
