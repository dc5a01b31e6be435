"""api/client.py: construction, every call against the simulator over loopback HTTP, paging, the entries paths."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.salto_ks import api
from custom_components.salto_ks.api import (
    BatteryLevel,
    CommunicationError,
    DataSyncState,
    EventCategory,
    Lock,
    LockedState,
    NotFoundError,
    PermissionDeniedError,
    SaltoKSClient,
)
from simulator import Simulator

from .conftest import MakeClient
from .helpers import first_lock_id
from .hostile import entry


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


async def _lock(client: SaltoKSClient, site_id: str, lock_id: str) -> Lock:
    """The lock ``lock_id`` as the roster listing reports it now."""
    return next(lock for lock in await client.get_locks(site_id) if lock.id == lock_id)


async def test_get_sites(salto_sim: Simulator, client: SaltoKSClient) -> None:
    sites = await client.get_sites()
    assert [s.id for s in sites] == [salto_sim.site_id]
    assert sites[0].name
    assert sites[0].site_uid
    assert salto_sim.counters["sites"] == 1


async def test_sites_are_those_of_the_user(
    salto_sim: Simulator, client: SaltoKSClient, make_client: MakeClient
) -> None:
    second = salto_sim.add_site("Second office")
    salto_sim.add_user(
        site_id=second,
        first_name="Bo",
        last_name="Berg",
        email="bo@example.com",
        password="bo-password-1",
    )
    assert [s.id for s in await client.get_sites()] == [salto_sim.site_id]
    other = make_client(username="bo@example.com", password="bo-password-1")
    sites = await other.get_sites()
    assert [(s.id, s.name) for s in sites] == [(second, "Second office")]


async def test_get_locks(salto_sim: Simulator, client: SaltoKSClient) -> None:
    locks = await client.get_locks(salto_sim.site_id)
    assert len(locks) == 3
    iqs = await client.get_iqs(salto_sim.site_id)
    for lock in locks:
        assert lock.name
        assert isinstance(lock.locked_state, LockedState)
        assert lock.iq is not None
        assert lock.iq.id == iqs[0].id


async def test_lock_state_changes_are_seen(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    salto_sim.set_lock(
        lock.id,
        battery_level="critical",
        left_open_alarm=True,
        intrusion_alarm=True,
        privacy_mode=True,
        online=False,
        name="Back door",
    )
    changed = await _lock(client, salto_sim.site_id, lock.id)
    assert changed.battery_level is BatteryLevel.CRITICAL
    assert changed.left_open_alarm is True
    assert changed.intrusion_alarm is True
    assert changed.privacy_mode is True
    assert changed.online is False
    assert changed.name == "Back door"


async def test_locks_paging_with_top(salto_sim: Simulator, client: SaltoKSClient) -> None:
    all_locks = await client.get_locks(salto_sim.site_id)
    salto_sim.reset_counters()
    paged = await client.get_locks(salto_sim.site_id, page_size=1)
    assert paged == all_locks
    assert salto_sim.counters["locks"] >= 3


async def test_locks_paging_by_server_page_size(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    iq_id = (await client.get_iqs(salto_sim.site_id))[0].id
    for n in range(4):
        salto_sim.add_lock(name=f"Extra {n}", iq_id=iq_id)
    salto_sim.tenant.page_size = 2
    salto_sim.reset_counters()
    locks = await client.get_locks(salto_sim.site_id)
    assert len(locks) == 7
    assert len({lock.id for lock in locks}) == 7
    assert salto_sim.counters["locks"] >= 4


async def test_get_iqs(salto_sim: Simulator, client: SaltoKSClient) -> None:
    iqs = await client.get_iqs(salto_sim.site_id)
    assert len(iqs) == 1
    iq = iqs[0]
    assert iq.online is True
    assert isinstance(iq.signal_strength, int)
    assert isinstance(iq.data_sync_state, DataSyncState)
    salto_sim.set_iq(iq.id, online=False)
    assert (await client.get_iqs(salto_sim.site_id))[0].online is False


async def test_get_users_and_paging(salto_sim: Simulator, client: SaltoKSClient) -> None:
    users = await client.get_users(salto_sim.site_id)
    assert len(users) == 3
    assert all(u.user_id for u in users)
    assert any(u.email == salto_sim.username for u in users)
    salto_sim.reset_counters()
    assert await client.get_users(salto_sim.site_id, page_size=1) == users
    assert salto_sim.counters["users"] >= 3
    added = salto_sim.add_user(first_name="Ada", last_name="Lovelace", alias="ada")
    users = await client.get_users(salto_sim.site_id)
    new = next(u for u in users if u.id == added["id"])
    assert (new.first_name, new.last_name, new.alias) == ("Ada", "Lovelace", "ada")
    assert new.roles == ("site_user",)


async def test_unlock_opens_and_logs_remote_entry(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    await client.unlock(salto_sim.site_id, lock.id)
    assert salto_sim.counters["locking"] == 1
    assert (await _lock(client, salto_sim.site_id, lock.id)).locked_state is LockedState.UNLOCKED
    entries = await client.get_entries(salto_sim.site_id, limit=5)
    newest = entries[0]
    assert newest.event_category is EventCategory.LOCK_OPENED
    assert newest.access_by == "remote"
    assert newest.lock_id == lock.id
    me = next(u for u in await client.get_users(salto_sim.site_id) if u.email == salto_sim.username)
    assert newest.user_id == me.user_id


async def test_lock_locks(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    salto_sim.set_lock(lock.id, locked_state="office_mode")
    await client.lock(salto_sim.site_id, lock.id)
    assert salto_sim.counters["locking"] == 1
    assert (await _lock(client, salto_sim.site_id, lock.id)).locked_state is LockedState.LOCKED


async def _add_entries(
    sim: Simulator, client: SaltoKSClient, count: int, start: datetime
) -> list[str]:
    lock_id = (await client.get_locks(sim.site_id))[0].id
    ids = []
    for n in range(count):
        row = sim.add_entry(
            lock_id=lock_id,
            event_category="lock_opened",
            access_by="tag",
            utc=start + timedelta(minutes=n),
        )
        ids.append(row["id"])
    return ids


async def test_entries_order_limit_and_since(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 6, start)
    newest = await client.get_entries(salto_sim.site_id, since=start, limit=50)
    assert [e.id for e in newest] == ids[::-1]
    assert all(e.utc_date_time.tzinfo is not None for e in newest)
    limited = await client.get_entries(salto_sim.site_id, since=start, limit=4)
    assert [e.id for e in limited] == ids[::-1][:4]
    later = await client.get_entries(salto_sim.site_id, since=start + timedelta(minutes=4))
    assert [e.id for e in later] == ids[:3:-1]
    # A sub-second since is rounded down: its own second's row stays.
    rounded = await client.get_entries(
        salto_sim.site_id,
        since=(start + timedelta(minutes=4, milliseconds=500)).replace(tzinfo=None),
    )
    assert [e.id for e in rounded] == ids[:3:-1]


async def test_entries_since_a_year_below_1000(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """The filter literal keeps four year digits (strftime's %Y does not pad them on Linux)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    ids = await _add_entries(salto_sim, client, 2, start)
    rows = await client.get_entries(salto_sim.site_id, since=datetime(1, 1, 1, tzinfo=UTC))
    assert [e.id for e in rows][:2] == ids[::-1]


async def test_entry_pages_newest_first_until_break(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """One list per page, newest first, continuation tokens followed; a break sends nothing more."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 5, start)
    salto_sim.reset_counters()
    pages = [
        [e.id for e in page]
        async for page in client.entry_pages(salto_sim.site_id, since=start, page_size=2)
    ]
    assert pages == [ids[:2:-1], ids[2:0:-1], ids[:1]]
    assert salto_sim.counters["entries"] == 3
    salto_sim.reset_counters()
    async for page in client.entry_pages(salto_sim.site_id, since=start, page_size=2):
        assert [e.id for e in page] == ids[:2:-1]
        break
    assert salto_sim.counters["entries"] == 1
    with pytest.raises(ValueError, match="page_size"):
        async for _page in client.entry_pages(salto_sim.site_id, page_size=201):
            pass


async def test_entries_continuation_paging(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 7, start)
    salto_sim.tenant.entries_page_size = 2
    salto_sim.reset_counters()
    entries = await client.get_entries(salto_sim.site_id, since=start, limit=50)
    assert [e.id for e in entries] == ids[::-1]
    assert salto_sim.counters["entries"] == 4
    salto_sim.reset_counters()
    entries = await client.get_entries(salto_sim.site_id, since=start, limit=3, page_size=2)
    assert [e.id for e in entries] == ids[::-1][:3]
    assert salto_sim.counters["entries"] == 2


async def test_entries_zero_item_pages(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 5, start)
    salto_sim.tenant.entries_page_size = 2
    salto_sim.tenant.entries_empty_pages = True
    salto_sim.reset_counters()
    entries = await client.get_entries(salto_sim.site_id, since=start, limit=50)
    assert [e.id for e in entries] == ids[::-1]
    # Three pages with rows, each preceded by an empty page carrying a token.
    assert salto_sim.counters["entries"] >= 6


async def test_legacy_audit_trails_fallback(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 2, start)
    salto_sim.tenant.update(profile="legacy", audit_path="audit-trails")
    entries = await client.get_entries(salto_sim.site_id, since=start)
    assert [e.id for e in entries] == ids[::-1]
    assert salto_sim.counters["entries"] == 1
    assert salto_sim.counters["audit_trails"] == 1
    await client.get_entries(salto_sim.site_id, since=start)
    assert salto_sim.counters["entries"] == 1
    assert salto_sim.counters["audit_trails"] == 2


async def test_legacy_audit_log_fallback(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 3, start)
    salto_sim.tenant.update(profile="legacy", audit_path="audit/log")
    entries = await client.get_entries(salto_sim.site_id, since=start)
    assert [e.id for e in entries] == ids[::-1]
    assert salto_sim.counters["entries"] == 1
    assert salto_sim.counters["audit_trails"] == 1
    assert salto_sim.counters["audit_log"] == 1
    await client.get_entries(salto_sim.site_id, since=start)
    assert salto_sim.counters["audit_log"] == 2
    assert salto_sim.counters["entries"] == 1


async def test_legacy_profile_urls(salto_sim: Simulator, make_client: MakeClient) -> None:
    """The legacy profile's driver: client credentials at /oauth2/token, api_base with /v1.1."""
    salto_sim.tenant.update(profile="legacy", grants={"client_credentials"})
    client = make_client(
        api_base=f"{salto_sim.url}/v1.1/",
        auth_url=f"{salto_sim.url}/oauth2/token",
        username=None,
        password=None,
    )
    assert client.api_base == salto_sim.url
    await client.authenticate()
    assert salto_sim.counters["token"] == 1


async def test_unlock_with_valid_otp(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    await client.unlock(salto_sim.site_id, lock.id, otp=salto_sim.valid_otp(lock.iq.id))
    assert salto_sim.counters["locking"] == 1


async def test_malformed_locking_answer(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock_id = await first_lock_id(salto_sim, client)
    # The body of a successful PATCH is not needed, so a broken one does not fail the command.
    salto_sim.inject_fault("locking", "malformed", times=1)
    await client.unlock(salto_sim.site_id, lock_id)


async def test_dropped_connection(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.inject_fault("sites", "drop", times=2)  # aiohttp retries a GET once
    with pytest.raises(CommunicationError) as err:
        await client.get_sites()
    assert err.value.status is None


async def test_timeout(salto_sim: Simulator, make_client: MakeClient) -> None:
    client = make_client(request_timeout=0.3)
    await client.authenticate()
    salto_sim.inject_fault("locks", "timeout", times=1, delay=3)
    started = time.monotonic()
    with pytest.raises(CommunicationError, match="Timeout") as err:
        await client.get_locks(salto_sim.site_id)
    assert time.monotonic() - started < 2
    assert err.value.status is None


async def test_entries_of_an_unknown_site_do_not_try_legacy_paths(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """A 404 with a Connect error body is about the site, not the route: no fallback."""
    salto_sim.tenant.update(profile="legacy")  # its legacy routes exist (and count requests)
    with pytest.raises(NotFoundError) as err:
        await client.get_entries("00000000-0000-0000-0000-000000000000")
    assert err.value.error_code == "1100"
    assert salto_sim.counters == {"token": 1, "entries": 1}


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


async def test_redirect_is_not_followed(server: Any, run: Any) -> None:
    _state, app = server

    async def sites(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/steal")

    app.router.add_get("/v1.2/sites", sites)
    client = await run()
    with pytest.raises(CommunicationError) as err:
        await client.get_sites()
    assert err.value.status == 302


async def test_entries_wire_format(server: Any, run: Any) -> None:
    _state, app = server
    queries: list[dict[str, str]] = []

    async def entries(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        return web.json_response({"items": [entry(1)]})

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


async def test_entries_bare_404_falls_back_and_is_remembered(server: Any, run: Any) -> None:
    """A route-level 404 (aiohttp's plain answer: no /entries route here) tries the legacy paths."""
    state, app = server

    async def audit_trails(request: web.Request) -> web.Response:
        return web.json_response([entry(1), entry(2)])

    app.router.add_get("/v1.1/sites/S/audit-trails", audit_trails)
    client = await run()
    assert [e.id for e in await client.get_entries("S", limit=1)] == ["e1"]
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


async def test_entries_other_errors_do_not_fall_back(server: Any, run: Any) -> None:
    state, app = server

    async def entries(request: web.Request) -> web.Response:
        return web.json_response({"ErrorCode": 2203, "Message": "nope"}, status=403)

    app.router.add_get("/v1.1/sites/S/entries", entries)
    client = await run()
    with pytest.raises(PermissionDeniedError):
        await client.get_entries("S")
    assert len(state.requests) == 1
