"""The event-stream hub ``/v1/hub/entries`` (ASP.NET Core SignalR, JSON hub protocol, WebSockets).

``POST /v1/hub/entries/negotiate?site_id=…&negotiateVersion=1`` answers the connection id and token
(negotiate version 0: the id only); ``GET /v1/hub/entries?site_id=…&id=<token>`` upgrades to a
WebSocket (without ``id``: a client that skips negotiation). Both need the Connect access token of a
site admin / site super user of that site, as ``Authorization: Bearer …`` (an ``access_token`` query
parameter works too, and is counted). Checks in order: injected generic fault (endpoint names
``hub_negotiate`` / ``hub``), a ``refuse`` fault (401/403), the token (401), the site (404 unknown,
400 missing), the caller's rights on it (403), the site's ``events_streaming`` feature (403).

After the upgrade: the handshake ``{"protocol":"json","version":1}`` → ``{}`` (else an error
record and a close), then pings every ``keepalive`` s, ``ReceiveMessage`` for each new row of the
site, and a close after ``client_timeout`` s without a message from the client. The world side
(faults, counters, fan-out) is ``stream.EventStream`` (``sim.stream``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from . import hub_protocol as proto
from .faults import FaultAction
from .stream import HUB_FEATURE, HUB_RIGHTS

if TYPE_CHECKING:
    from .stream import EventStream
    from .world import World

HUB_PATH = "/v1/hub/entries"
NEGOTIATE_ENDPOINT = "hub_negotiate"
HUB_ENDPOINT = "hub"
HUB_ENDPOINTS = frozenset({NEGOTIATE_ENDPOINT, HUB_ENDPOINT})
FaultHandler = Callable[[web.Request, FaultAction], Awaitable[web.StreamResponse | None]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CLIENT_TIMEOUT_ERROR = "Server timeout elapsed without receiving a message from the client."
_CLOSE = object()
HUB_KEY: web.AppKey[Hub] = web.AppKey("hub")


def _refusal(status: int, *, expired: bool = False) -> web.Response:
    """401 (empty body, ``WWW-Authenticate``) or an empty 403, as ASP.NET Core's auth answers."""
    if status == 401:
        header = "Bearer"
        if expired:
            header = 'Bearer error="invalid_token", error_description="The token expired"'
        return web.Response(status=401, headers={"WWW-Authenticate": header})
    return web.Response(status=status)


def _authorize(sim: World, request: web.Request, site_id: str) -> web.Response | None:
    """None when the caller may stream ``site_id``, else the refusal to answer."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        value = header[7:].strip()
    elif "access_token" in request.query:
        value = request.query["access_token"]
        sim.stream.count(site_id or "?", "access_token_query")
    else:
        return _refusal(401)
    token = sim.tokens.valid(value, sim.now())
    if token is None or token.user_id is None:
        return _refusal(401, expired=value in sim.tokens.access)
    if not site_id:
        return web.Response(status=400, text="site_id is required")
    site = sim.state.sites.get(site_id)
    if site is None:
        return web.Response(status=404)
    member = sim.state.membership(site.id, token.user_id)
    if member is None or member.blocked or not HUB_RIGHTS & set(member.roles):
        return _refusal(403)
    if HUB_FEATURE not in sim.guest_access.features:  # the site's subscription
        return _refusal(403)
    return None


class HubConnection:
    """One WebSocket after its handshake: a ``stream.Subscriber`` with one writer task."""

    def __init__(
        self,
        stream: EventStream,
        site_id: str,
        connection_id: str,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
    ) -> None:
        self.site_id = site_id
        self.connection_id = connection_id
        self._stream = stream
        self._ws = ws
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._timers: set[asyncio.TimerHandle] = set()
        self._close: tuple[str | None, bool] = (None, True)
        self.last_received = self._loop.time()

    # stream.Subscriber ---------------------------------------------------------------------
    def deliver(self, message: str, delay: float) -> None:
        if delay <= 0:
            self._queue.put_nowait(message)
            return
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self._queue.put_nowait(message)

        handle = self._loop.call_later(delay, fire)
        self._timers.add(handle)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def close(self, error: str | None, allow_reconnect: bool) -> None:
        self._close = (error, allow_reconnect)
        self._queue.put_nowait(_CLOSE)

    # the writer ----------------------------------------------------------------------------
    def answer(self, text: str) -> None:
        """Queue a record for the client (e.g. a completion), sent in order with the rest."""
        self._queue.put_nowait(("raw", text))

    async def write_loop(self) -> None:
        """Send pushes and pings (a ping when nothing was sent for ``keepalive`` s)."""
        stream = self._stream
        while not self._ws.closed:
            deadline = self.last_received + stream.client_timeout
            wait = max(0.0, min(stream.keepalive, deadline - self._loop.time()))
            try:
                item = await asyncio.wait_for(self._queue.get(), wait)
            except TimeoutError:
                item = None
            if self._loop.time() >= self.last_received + stream.client_timeout:
                await self._ws.send_str(proto.close(CLIENT_TIMEOUT_ERROR, True))
                await self._ws.close()
                return
            if item is _CLOSE:
                await self._ws.send_str(proto.close(*self._close))
                await self._ws.close()
                return
            if stream.stall:
                if isinstance(item, str):
                    stream.count(self.site_id, "stalled")
                continue
            if item is None:
                await self._ws.send_str(proto.ping())
            elif isinstance(item, tuple):
                await self._ws.send_str(item[1])
            elif isinstance(item, str):
                await self._ws.send_str(proto.invocation(item))
                stream.count(self.site_id, "pushes")

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()


class Hub:
    """The hub's routes and the sockets they hold (closed on the app's shutdown)."""

    def __init__(self, sim: World, fault: FaultHandler) -> None:
        self.sim = sim
        self.fault = fault
        self.sockets: set[web.WebSocketResponse] = set()

    async def _fault(self, endpoint: str, request: web.Request) -> web.StreamResponse | None:
        self.sim.counters[endpoint] = self.sim.counters.get(endpoint, 0) + 1
        action = self.sim.faults.pick(endpoint)
        return None if action is None else await self.fault(request, action)

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        sim = self.sim
        faulted = await self._fault(NEGOTIATE_ENDPOINT, request)
        if faulted is not None:
            return faulted
        site_id = request.query.get("site_id", "")
        status = sim.stream.take_refusal()
        if status is not None:
            sim.stream.count(site_id or "?", "refused")
            return _refusal(status)
        refused = _authorize(sim, request, site_id)
        if refused is not None:
            if refused.status in {401, 403}:
                sim.stream.count(site_id or "?", "refused")
            return refused
        connection_id, token = sim.stream.negotiate(site_id)
        transports = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
        if request.query.get("negotiateVersion", "0") == "0":
            # Version 0: the connection id is also what the WebSocket request names.
            sim.stream.negotiated[connection_id] = sim.stream.negotiated.pop(token)
            return web.json_response(
                {"connectionId": connection_id, "availableTransports": transports}
            )
        return web.json_response(
            {
                "negotiateVersion": 1,
                "connectionId": connection_id,
                "connectionToken": token,
                "availableTransports": transports,
            }
        )

    async def socket(self, request: web.Request) -> web.StreamResponse:
        sim = self.sim
        faulted = await self._fault(HUB_ENDPOINT, request)
        if faulted is not None:
            return faulted
        site_id = request.query.get("site_id", "")
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="Only the WebSockets transport is served")
        connection_id = ""
        if "id" not in request.query:
            status = sim.stream.take_refusal()
            if status is not None:
                sim.stream.count(site_id or "?", "refused")
                return _refusal(status)
        # Authentication first, as ASP.NET Core's middleware: a 401 leaves the id usable.
        refused = _authorize(sim, request, site_id)
        if refused is not None:
            if refused.status in {401, 403}:
                sim.stream.count(site_id or "?", "refused")
            return refused
        if "id" in request.query:
            negotiation = sim.stream.negotiated.get(request.query["id"])
            if negotiation is None or negotiation.site_id != site_id:
                return web.Response(status=404, text="No Connection with that ID")
            sim.stream.claim(request.query["id"])
            connection_id = negotiation.connection_id
        transport = request.transport
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            await self._serve(ws, site_id, connection_id or "skip-negotiation", transport)
        finally:
            self.sockets.discard(ws)
        return ws

    async def _serve(
        self,
        ws: web.WebSocketResponse,
        site_id: str,
        connection_id: str,
        transport: asyncio.Transport | None,
    ) -> None:
        stream = self.sim.stream
        conn = HubConnection(stream, site_id, connection_id, ws, transport)
        writer: asyncio.Task[None] | None = None
        buffer = ""
        try:
            while not ws.closed:
                try:
                    timeout = None if writer is not None else stream.handshake_timeout
                    msg = await ws.receive(timeout=timeout)
                except TimeoutError:
                    await ws.close()
                    return
                if msg.type == WSMsgType.TEXT:
                    buffer += msg.data
                elif msg.type == WSMsgType.BINARY:
                    buffer += msg.data.decode("utf-8", "replace")
                else:
                    return
                conn.last_received = asyncio.get_running_loop().time()
                records, buffer = proto.split_records(buffer)
                for text in records:
                    if writer is None:
                        error = proto.handshake_error(proto.parse(text))
                        if error is not None:
                            await ws.send_str(proto.record({"error": error}))
                            await ws.close()
                            return
                        await ws.send_str(proto.record({}))
                        stream.subscribe(conn)
                        writer = asyncio.get_running_loop().create_task(
                            conn.write_loop(), name="salto-sim-hub-writer"
                        )
                    elif self._from_client(conn, proto.parse(text)):
                        await ws.close()
                        return
        finally:
            stream.unsubscribe(conn)
            conn.cancel_timers()
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await writer

    @staticmethod
    def _from_client(conn: HubConnection, message: dict[str, object] | None) -> bool:
        """Handle one client message after the handshake; True when the client closes."""
        if message is None:
            return False
        kind = message.get("type")
        if kind == proto.CLOSE:
            return True
        invocation_id = message.get("invocationId")
        if kind in {proto.INVOCATION, proto.STREAM_INVOCATION} and isinstance(invocation_id, str):
            conn.answer(proto.unknown_method(invocation_id, message.get("target")))
        return False  # pings, completions, stream items, cancels: nothing to do

    async def shutdown(self) -> None:
        """Close every socket (the server is going away) so the runner's cleanup does not wait."""
        for ws in list(self.sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(proto.close(None, True))
                await ws.close(code=1001)


def add_hub_routes(
    app: web.Application,
    sim: World,
    fault: FaultHandler,
    monitored: Callable[[str, RouteHandler], RouteHandler],
) -> None:
    """Register the hub's negotiate and WebSocket routes; ``fault`` answers an injected fault,
    ``monitored`` wraps a route in the monitor's hook (channel ``hub``)."""
    hub = Hub(sim, fault)
    app[HUB_KEY] = hub
    app.router.add_post(HUB_PATH + "/negotiate", monitored(NEGOTIATE_ENDPOINT, hub.negotiate))
    app.router.add_get(HUB_PATH, monitored(HUB_ENDPOINT, hub.socket))


async def close_hub(app: web.Application) -> None:
    """Close the hub's sockets before the server stops (``Simulator.stop``)."""
    hub = app.get(HUB_KEY)
    if hub is not None:
        await hub.shutdown()
