"""The event-stream client (api/stream.py) against the simulator's SignalR hub over loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from custom_components.salto_ks.api import (
    Entry,
    PermissionDeniedError,
    RateLimitedError,
    RetryGate,
    SaltoKSClient,
    TokenRejectedError,
)
from custom_components.salto_ks.api.exceptions import StreamClosedError
from custom_components.salto_ks.api.stream import EntryStreamClient
from simulator import Simulator

from .conftest import MakeClient

pytestmark = pytest.mark.usefixtures("socket_enabled")

FEATURE = "events_streaming"


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let the loop run until ``condition`` holds; fail after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


class Run:
    """One ``run`` of a stream client in a task, with what it delivered."""

    def __init__(self, stream: EntryStreamClient, token: str) -> None:
        self.rows: list[Entry] = []
        self.opened = asyncio.Event()
        self.task = asyncio.create_task(stream.run(token, self.rows.append, self.opened.set))

    async def wait_open(self) -> None:
        done, _ = await asyncio.wait(
            [self.task, asyncio.create_task(self.opened.wait())],
            timeout=5,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self.task in done:
            self.task.result()  # raises what ended it
        assert self.opened.is_set()

    async def wait_rows(self, count: int) -> list[Entry]:
        await wait_until(lambda: len(self.rows) >= count)
        return self.rows

    async def ended(self) -> BaseException:
        async with asyncio.timeout(5):
            with pytest.raises(Exception) as info:  # noqa: PT011 - the caller checks the kind
                await self.task
        return info.value

    async def stop(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def token(client: SaltoKSClient) -> str:
    return await client.access_token()


@pytest.fixture
def make_stream(
    salto_sim: Simulator, session: aiohttp.ClientSession
) -> Callable[..., EntryStreamClient]:
    def _make(**kwargs: object) -> EntryStreamClient:
        return EntryStreamClient(session, salto_sim.stream_url, salto_sim.site_id, **kwargs)  # type: ignore[arg-type]

    return _make


@pytest.fixture
async def started(
    make_stream: Callable[..., EntryStreamClient], token: str
) -> AsyncIterator[Callable[..., Awaitable[Run]]]:
    runs: list[Run] = []

    async def _start(**kwargs: object) -> Run:
        run = Run(make_stream(**kwargs), token)
        runs.append(run)
        await run.wait_open()
        return run

    yield _start
    for run in runs:
        if not run.task.done():
            await run.stop()


def _lock_id(sim: Simulator) -> str:
    return sim.state.locks_of(sim.site_id)[0].id


async def test_rows_arrive_as_entries(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]]
) -> None:
    """Every new row of the site arrives as the parsed Entry; the token went in the header only."""
    run = await started()
    first = salto_sim.add_entry(lock_id=_lock_id(salto_sim), event_category="lock_opened")
    second = salto_sim.add_entry(
        lock_id=_lock_id(salto_sim), event_category="privacy_mode", event_detail="start"
    )
    rows = await run.wait_rows(2)
    assert [row.id for row in rows] == [first["id"], second["id"]]
    assert rows[1].event_detail == "start"
    assert salto_sim.stream.counter("access_token_query") == 0
    assert salto_sim.stream.counter("connections") == 1


async def test_access_token_is_the_client_token(client: SaltoKSClient, token: str) -> None:
    """``access_token`` hands out the cached token; ``force_refresh`` gets a new one."""
    assert await client.access_token() == token
    assert await client.access_token(force_refresh=True) != token


async def test_malformed_frames_are_skipped_with_one_warning(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]], caplog: pytest.LogCaptureFixture
) -> None:
    run = await started()
    for subscriber in list(salto_sim.stream.subscribers):
        subscriber.deliver("not json", 0)
        subscriber.deliver('{"id": "x"}', 0)  # no event_category / utc_date_time
        subscriber.deliver("[1, 2]", 0)
    row = salto_sim.add_entry(lock_id=_lock_id(salto_sim), event_category="lock_opened")
    rows = await run.wait_rows(1)
    assert [r.id for r in rows] == [row["id"]]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "stream" in r.message]
    assert len(warnings) == 1
    assert not run.task.done()


@pytest.mark.parametrize(
    ("status", "error"), [(401, TokenRejectedError), (403, PermissionDeniedError)]
)
async def test_refusals(
    salto_sim: Simulator,
    make_stream: Callable[..., EntryStreamClient],
    token: str,
    status: int,
    error: type[Exception],
) -> None:
    salto_sim.stream.refuse(status)
    run = Run(make_stream(), token)
    err = await run.ended()
    assert isinstance(err, error)
    assert getattr(err, "status", None) == status
    assert token not in str(err)


async def test_missing_feature_is_permission_denied(
    salto_sim: Simulator, make_stream: Callable[..., EntryStreamClient], token: str
) -> None:
    salto_sim.guest_access.features.discard(FEATURE)
    err = await Run(make_stream(), token).ended()
    assert isinstance(err, PermissionDeniedError)


async def test_expired_token_is_rejected(
    salto_sim: Simulator, make_stream: Callable[..., EntryStreamClient], token: str
) -> None:
    salto_sim.expire_tokens()
    err = await Run(make_stream(), token).ended()
    assert isinstance(err, TokenRejectedError)


async def test_drop_ends_the_run_with_1006(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]]
) -> None:
    run = await started()
    assert salto_sim.stream.drop() == 1
    err = await run.ended()
    assert isinstance(err, StreamClosedError)
    assert err.close_code == 1006
    assert err.allow_reconnect


async def test_close_message_ends_the_run(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]]
) -> None:
    run = await started()
    salto_sim.stream.close(error="going away", allow_reconnect=False)
    err = await run.ended()
    assert isinstance(err, StreamClosedError)
    assert not err.allow_reconnect
    assert "going away" in str(err)


async def test_stalled_server_ends_the_run(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]]
) -> None:
    """No ping and no message for server_timeout: the connection counts as dead."""
    run = await started(keepalive_interval=0.1, server_timeout=0.5)
    salto_sim.stream.update(stall=True)
    err = await run.ended()
    assert isinstance(err, StreamClosedError)
    assert "silent" in str(err)


async def test_client_pings_keep_the_connection(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]]
) -> None:
    """The client's pings keep a server with a short client timeout from closing it."""
    salto_sim.stream.update(client_timeout=0.4, keepalive=0.1)
    run = await started(keepalive_interval=0.1)
    await asyncio.sleep(1.0)
    assert not run.task.done()
    row = salto_sim.add_entry(lock_id=_lock_id(salto_sim), event_category="lock_opened")
    assert [r.id for r in await run.wait_rows(1)] == [row["id"]]


async def test_cancel_closes_the_socket(
    salto_sim: Simulator, started: Callable[..., Awaitable[Run]]
) -> None:
    run = await started()
    assert salto_sim.stream.open_connections() == 1
    await run.stop()
    await wait_until(lambda: not salto_sim.stream.open_connections())


async def test_closed_retry_gate_sends_nothing(
    salto_sim: Simulator, make_stream: Callable[..., EntryStreamClient], token: str
) -> None:
    gate = RetryGate("test")
    gate.note(30)
    err = await Run(make_stream(retry_gate=gate), token).ended()
    assert isinstance(err, RateLimitedError)
    assert err.status is None
    assert salto_sim.stream.counter("negotiations") == 0


async def test_token_never_logged(
    salto_sim: Simulator,
    started: Callable[..., Awaitable[Run]],
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = await started()
    salto_sim.add_entry(lock_id=_lock_id(salto_sim), event_category="lock_opened")
    await run.wait_rows(1)
    salto_sim.stream.drop()
    await run.ended()
    assert token not in caplog.text
    assert "id=" not in caplog.text
    assert "Bearer" not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "ftp://127.0.0.1",
        "https://user:pw@example.com",
        "https://h.example/?a=1",
    ],
)
def test_unsafe_stream_url_is_refused(session: aiohttp.ClientSession, url: str) -> None:
    with pytest.raises(ValueError, match="stream_url") as info:
        EntryStreamClient(session, url, "site")
    assert "pw" not in str(info.value)


def test_hub_url(session: aiohttp.ClientSession) -> None:
    stream = EntryStreamClient(session, "https://stream.example/", "site")
    assert str(stream.hub_url) == "https://stream.example/v1/hub/entries"
    assert "site" not in repr(stream)


async def test_two_clients_of_one_account_share_the_gate(
    make_client: MakeClient, salto_sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """The client's gate is what the stream gets: a 429 of either stops both."""
    api = make_client(retry_gate=RetryGate("shared"))
    stream = EntryStreamClient(
        session, salto_sim.stream_url, salto_sim.site_id, retry_gate=api.retry_gate
    )
    api.retry_gate.note(10)
    err = await Run(stream, "unused-token").ended()
    assert isinstance(err, RateLimitedError)
    assert api.retry_after_remaining() is not None
