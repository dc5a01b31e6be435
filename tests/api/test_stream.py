"""The event-stream client (api/stream.py) against the simulator's SignalR hub over loopback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    CommunicationError,
    Entry,
    InvalidResponseError,
    NotFoundError,
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
from .hostile import entry, start_app

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


# -- faults of the simulator's hub on the way in -----------------------------------------------


async def test_rate_limited_negotiation_closes_the_gate(
    salto_sim: Simulator, make_stream: Callable[..., EntryStreamClient], token: str
) -> None:
    """A 429 of the negotiation closes the gate for its Retry-After: the next run sends nothing."""
    gate = RetryGate("test")
    salto_sim.inject_fault("hub_negotiate", 429, times=1, retry_after=30)
    err = await Run(make_stream(retry_gate=gate), token).ended()
    assert isinstance(err, RateLimitedError)
    assert err.status == 429
    assert err.retry_after is not None
    assert 25 < err.retry_after <= 30
    assert str(err).startswith("Event stream: ")
    assert gate.remaining() is not None
    negotiations = salto_sim.counters["hub_negotiate"]
    again = await Run(make_stream(retry_gate=gate), token).ended()
    assert isinstance(again, RateLimitedError)
    assert salto_sim.counters["hub_negotiate"] == negotiations


async def test_unknown_site_is_not_found(
    salto_sim: Simulator, session: aiohttp.ClientSession, token: str
) -> None:
    stream = EntryStreamClient(session, salto_sim.stream_url, "no-such-site")
    err = await Run(stream, token).ended()
    assert isinstance(err, NotFoundError)
    assert err.status == 404


@pytest.mark.parametrize(
    ("kind", "error", "text"),
    [
        (503, CommunicationError, "503"),
        (403, PermissionDeniedError, "403"),
        ("drop", CommunicationError, "Error while opening the event stream"),
    ],
)
async def test_refused_websocket_upgrade(
    salto_sim: Simulator,
    make_stream: Callable[..., EntryStreamClient],
    token: str,
    *,
    kind: str | int,
    error: type[Exception],
    text: str,
) -> None:
    """The negotiation works but the WebSocket request is answered with an error or cut off."""
    # times=2: aiohttp sends a GET again once when the server closes the connection under it.
    salto_sim.inject_fault("hub", kind, times=2)
    err = await Run(make_stream(), token).ended()
    assert type(err) is error
    assert text in str(err)
    assert token not in str(err)
    assert salto_sim.stream.counter("connections") == 0


async def test_websocket_upgrade_that_hangs_times_out(
    salto_sim: Simulator, make_stream: Callable[..., EntryStreamClient], token: str
) -> None:
    salto_sim.inject_fault("hub", "timeout", times=1, delay=5)
    err = await Run(make_stream(request_timeout=0.3), token).ended()
    assert isinstance(err, CommunicationError)
    assert "Timeout while opening the event stream" in str(err)


@pytest.mark.parametrize("name", ["request_timeout", "keepalive_interval", "server_timeout"])
def test_timings_must_be_positive(session: aiohttp.ClientSession, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        EntryStreamClient(session, "https://stream.example", "site", **{name: 0})  # type: ignore[arg-type]


# -- a hub that breaks the protocol (a loopback server; the simulator's hub keeps to it) ----------

NEGOTIATED: dict[str, object] = {
    "negotiateVersion": 1,
    "connectionId": "hostile-id",
    "connectionToken": "hostile-connection-token",
    "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text"]}],
}
Script = Callable[[web.WebSocketResponse], Awaitable[None]]
RS = "\x1e"


def invocation(argument: object, target: str = "ReceiveMessage") -> str:
    return json.dumps({"type": 1, "target": target, "arguments": [argument]}) + RS


def answering(*frames: str | bytes, stay: bool = True) -> Script:
    """Read the handshake, send ``frames`` as they are, then (``stay``) wait for the client to go."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.receive()
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
        if stay:
            async for _ in ws:
                pass

    return script


@pytest.fixture
async def hostile_hub(
    socket_enabled: None,
) -> AsyncIterator[Callable[..., Awaitable[EntryStreamClient]]]:
    """Serve a hub whose negotiate answer and WebSocket script a test gives; returns its client."""
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def _start(
        script: Script | None = None, negotiate: object = NEGOTIATED, **kwargs: object
    ) -> EntryStreamClient:
        async def negotiate_route(request: web.Request) -> web.Response:
            return web.json_response(negotiate)

        async def socket_route(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            if script is not None:
                await script(ws)
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_post("/v1/hub/entries/negotiate", negotiate_route)
        app.router.add_get("/v1/hub/entries", socket_route)
        runner, url = await start_app(app)
        runners.append(runner)
        return EntryStreamClient(session, url, "site", **kwargs)  # type: ignore[arg-type]

    yield _start
    await session.close()
    for runner in runners:
        await runner.cleanup()


async def test_rows_in_every_shape_the_protocol_allows(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]], caplog: pytest.LogCaptureFixture
) -> None:
    """Rows in the handshake's frame, an object argument, binary frames, pings, other messages.

    Records that are not rows are passed over; the first bad one is warned about, later ones go to
    debug.
    """
    caplog.set_level(logging.DEBUG, logger="custom_components.salto_ks.api.stream")
    stream = await hostile_hub(
        answering(
            "{}" + RS + invocation(json.dumps(entry(1))) + RS,
            json.dumps({"type": 6}) + RS,
            "not json" + RS,
            json.dumps({"type": 3, "invocationId": "1", "result": None}) + RS,
            invocation(json.dumps(entry(9)), target="SomethingElse"),
            json.dumps({"type": 1, "target": "ReceiveMessage", "arguments": []}) + RS,
            json.dumps({"type": 1, "target": "ReceiveMessage"}) + RS,
            invocation(json.dumps({"id": "no category"})),
            b"binary frames are not the JSON protocol's",
            invocation(entry(2)),
        )
    )
    run = Run(stream, "hostile-access")
    await run.wait_open()
    rows = await run.wait_rows(2)
    assert [row.id for row in rows] == ["e1", "e2"]
    skipped = [r for r in caplog.records if "Skipped" in r.message]
    assert [r.levelno for r in skipped] == [logging.WARNING] + [logging.DEBUG] * 3
    assert "a record that is not JSON" in skipped[0].message
    assert "a ReceiveMessage without an argument" in skipped[1].message
    assert "not an access-log row" in skipped[3].message
    assert not run.task.done()
    await run.stop()


async def test_close_message_without_error(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
) -> None:
    stream = await hostile_hub(answering("{}" + RS, json.dumps({"type": 7}) + RS))
    err = await Run(stream, "hostile-access").ended()
    assert isinstance(err, StreamClosedError)
    assert str(err) == "The event stream was closed by the server"
    assert err.allow_reconnect


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        ("not json" + RS, InvalidResponseError, "handshake answer is not JSON"),
        ("[1]" + RS, InvalidResponseError, "handshake answer is not an object"),
        (
            '{"error": "Requested protocol \'json\' is not available."}' + RS,
            CommunicationError,
            "refused the handshake: Requested protocol",
        ),
        (b"\x00", StreamClosedError, "before the handshake"),
    ],
)
async def test_bad_handshake_answers(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
    answer: str | bytes,
    error: type[Exception],
    text: str,
) -> None:
    stream = await hostile_hub(answering(answer, stay=False))
    err = await Run(stream, "hostile-access").ended()
    assert type(err) is error
    assert text in str(err)


async def test_hub_closing_before_the_handshake_answer(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
) -> None:
    stream = await hostile_hub(answering(stay=False))
    err = await Run(stream, "hostile-access").ended()
    assert isinstance(err, StreamClosedError)
    assert "before the handshake" in str(err)


async def test_unanswered_handshake_times_out(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
) -> None:
    stream = await hostile_hub(answering(), request_timeout=0.3)
    err = await Run(stream, "hostile-access").ended()
    assert isinstance(err, CommunicationError)
    assert "did not answer the handshake" in str(err)


async def test_unterminated_record_ends_the_run(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
) -> None:
    """Frames that never end their record are not buffered without bound."""
    chunk = "x" * (600 * 1024)
    stream = await hostile_hub(answering("{}" + RS, chunk, chunk))
    err = await Run(stream, "hostile-access").ended()
    assert isinstance(err, InvalidResponseError)
    assert "unterminated record" in str(err)


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        ([NEGOTIATED], InvalidResponseError, "negotiate answer is not an object"),
        ({"error": "Negotiate failed"}, CommunicationError, "negotiation failed"),
        (
            {"url": "https://elsewhere.example/client/", "accessToken": "azure"},
            InvalidResponseError,
            "redirects to another host",
        ),
        (
            {**NEGOTIATED, "availableTransports": [{"transport": "LongPolling"}]},
            InvalidResponseError,
            "does not offer WebSockets",
        ),
        ({"negotiateVersion": 1}, InvalidResponseError, "has no connection token"),
    ],
)
async def test_bad_negotiate_answers(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
    answer: object,
    error: type[Exception],
    text: str,
) -> None:
    stream = await hostile_hub(answering("{}" + RS), negotiate=answer)
    opened: list[bool] = []
    with pytest.raises(error, match=text):
        await stream.run("hostile-access", lambda _row: None, lambda: opened.append(True))
    assert not opened


async def test_negotiate_version_0_answer_is_used(
    hostile_hub: Callable[..., Awaitable[EntryStreamClient]],
) -> None:
    """An answer with the connection id only (negotiate version 0) still opens the socket."""
    stream = await hostile_hub(
        answering("{}" + RS, invocation(json.dumps(entry(3)))),
        negotiate={"connectionId": "v0-id", "availableTransports": [{"transport": "WebSockets"}]},
    )
    run = Run(stream, "hostile-access")
    await run.wait_open()
    assert [row.id for row in await run.wait_rows(1)] == ["e3"]
    await run.stop()
