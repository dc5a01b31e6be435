"""A client of Salto KS's event stream: the ASP.NET Core SignalR JSON hub ``/v1/hub/entries``.

One ``EntryStreamClient`` per site; ``run(token, on_entry)`` is one connection: negotiate
(``POST {hub}/negotiate?site_id=…&negotiateVersion=1``), open the WebSocket with the connection
token, do the JSON handshake, then hand every ``ReceiveMessage`` row to ``on_entry`` until the
connection ends. It never reconnects by itself and always ends by raising: reconnecting, backing off
and getting a new token belong to the caller, who knows whether it is worth it.

The access token travels in the ``Authorization`` header only, never in a URL (URLs get logged), and
no log line or exception carries it, the connection token or the query string.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Final

import aiohttp
from yarl import URL

from ._http import Scrubber, api_error, decode_json, send
from .const import STREAM_HUB_PATH, USER_AGENT
from .exceptions import (
    CommunicationError,
    InvalidResponseError,
    RateLimitedError,
    SaltoKSError,
    StreamClosedError,
    TokenRejectedError,
)
from .models import Entry
from .ratelimit import RetryGate
from .urls import require_stream_base

_LOGGER = logging.getLogger(__name__)

RECORD_SEPARATOR: Final = "\x1e"
HANDSHAKE: Final = json.dumps({"protocol": "json", "version": 1}) + RECORD_SEPARATOR
PING: Final = json.dumps({"type": 6}) + RECORD_SEPARATOR
# SignalR message types (JSON hub protocol).
TYPE_INVOCATION: Final = 1
TYPE_PING: Final = 6
TYPE_CLOSE: Final = 7
RECEIVE_MESSAGE: Final = (
    "receivemessage"  # hub method names are matched without case, as SignalR does
)

# The defaults of ASP.NET Core SignalR clients: a ping every 15 s, the server is gone after 30 s of silence.
KEEPALIVE_INTERVAL: Final = 15.0
SERVER_TIMEOUT: Final = 30.0
# A frame bigger than this is not an access-log row.
MAX_FRAME: Final = 1024 * 1024
# WebSocket close code of a connection that ended without a close frame (also "no close code").
ABNORMAL_CLOSURE: Final = 1006


def _seconds(value: float, what: str) -> float:
    if value <= 0:
        raise ValueError(f"{what} must be positive")
    return value


class EntryStreamClient:
    """The entries hub of one site on Salto's event-stream host.

    ``session`` is injected and never closed. ``stream_url`` is the host root (``https``, or plain
    ``http`` to a loopback address, as every URL the client sends a token to). ``retry_gate`` is the
    account's Retry-After gate: nothing is sent while it is closed and a 429 closes it.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        stream_url: str,
        site_id: str,
        *,
        retry_gate: RetryGate | None = None,
        request_timeout: float = 10.0,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
        server_timeout: float = SERVER_TIMEOUT,
    ) -> None:
        self._session = session
        self._base = require_stream_base(stream_url, "stream_url")
        self._site_id = site_id
        self._gate = retry_gate or RetryGate("Salto KS event stream")
        self._timeout = _seconds(request_timeout, "request_timeout")
        self._keepalive = _seconds(keepalive_interval, "keepalive_interval")
        self._server_timeout = _seconds(server_timeout, "server_timeout")
        self._scrub = Scrubber()

    def __repr__(self) -> str:
        return f"EntryStreamClient(stream_url={str(self._base)!r})"

    @property
    def hub_url(self) -> URL:
        """The hub's URL without its query (safe to log)."""
        return self._base.with_path(self._base.path.rstrip("/") + STREAM_HUB_PATH)

    # -- one connection ------------------------------------------------------------------------

    async def run(
        self,
        token: str,
        on_entry: Callable[[Entry], None],
        on_open: Callable[[], None] | None = None,
    ) -> None:
        """Connect with ``token`` and deliver rows until the connection ends; always raises.

        ``on_open`` is called once the handshake succeeded. Raises ``TokenRejectedError`` (401),
        ``PermissionDeniedError`` (403: no right or no ``events_streaming`` feature), ``NotFoundError``
        (no hub there), ``RateLimitedError`` (429, or unsent while Retry-After runs),
        ``StreamClosedError`` (the connection ended: close message, close frame, drop or silence) or
        ``CommunicationError`` (anything else on the way in). Cancelling it closes the socket.
        """
        self._scrub.add(token)
        connection_token = await self._negotiate(token)
        self._scrub.add(connection_token)
        ws = await self._open(token, connection_token)
        try:
            rest = await self._handshake(ws)
            if on_open is not None:
                on_open()
            await self._receive(ws, on_entry, rest)
        finally:
            # Shielded: a cancelled run still closes its socket before it ends.
            await asyncio.shield(ws.close())

    async def _negotiate(self, token: str) -> str:
        self._gate.check()
        url = self.hub_url.with_path(self.hub_url.path + "/negotiate").with_query(
            {"site_id": self._site_id, "negotiateVersion": "1"}
        )
        _LOGGER.debug("Negotiating the event stream at %s", self.hub_url)
        status, raw, headers = await send(
            self._session,
            "POST",
            url,
            what="while negotiating the event stream",
            scrub=self._scrub,
            client_timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers=self._headers(token),
        )
        if status != 200:
            raise self._refusal(status, raw, headers)
        return _connection_token(decode_json(raw, "event stream negotiation"))

    async def _open(self, token: str, connection_token: str) -> aiohttp.ClientWebSocketResponse:
        self._gate.check()
        url = self.hub_url.with_query({"site_id": self._site_id, "id": connection_token})
        try:
            return await asyncio.wait_for(
                self._session.ws_connect(
                    url,
                    headers=self._headers(token),
                    autoping=True,
                    max_msg_size=MAX_FRAME,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self._timeout),
                ),
                self._timeout,
            )
        except aiohttp.WSServerHandshakeError as err:
            raise self._refusal(err.status, b"", err.headers or {}) from None
        except TimeoutError:
            raise CommunicationError("Timeout while opening the event stream") from None
        except aiohttp.ClientError as err:
            raise CommunicationError(
                f"Error while opening the event stream: {type(err).__name__}"
            ) from None

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}

    def _refusal(self, status: int, raw: bytes, headers: Any) -> SaltoKSError:
        if status == 401:
            return TokenRejectedError("The event stream refused the access token (401)", status=401)
        error = api_error(status, raw, headers, self._scrub)
        error.message = "Event stream: " + error.message
        error.args = (error.message,)
        if isinstance(error, RateLimitedError):
            error.retry_after = self._gate.note(error.retry_after)
        return error

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Send the handshake and read its answer; returns what followed it in the same frame."""
        await _send(ws, HANDSHAKE)
        try:
            async with asyncio.timeout(self._timeout):
                msg = await ws.receive()
        except TimeoutError:
            raise CommunicationError("The event stream did not answer the handshake") from None
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise _closed(ws, "before the handshake")
        first, _, rest = str(msg.data).partition(RECORD_SEPARATOR)
        try:
            answer = json.loads(first)
        except ValueError:
            raise InvalidResponseError("The event stream's handshake answer is not JSON") from None
        if not isinstance(answer, dict):
            raise InvalidResponseError("The event stream's handshake answer is not an object")
        if (error := answer.get("error")) is not None:
            raise CommunicationError(
                f"The event stream refused the handshake: {self._scrub(str(error))[:200]}"
            )
        return rest

    async def _receive(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        on_entry: Callable[[Entry], None],
        buffer: str,
    ) -> None:
        """Hand rows to ``on_entry`` (``buffer``: what came after the handshake answer) until the end."""
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        next_ping = last_heard + self._keepalive
        warned = False
        *records, buffer = buffer.split(RECORD_SEPARATOR)
        for record in records:
            warned = self._handle(record, on_entry, warned)
        while True:
            now = loop.time()
            if now - last_heard >= self._server_timeout:
                raise StreamClosedError(
                    "The event stream went silent (no message or ping)", close_code=None
                )
            if now >= next_ping:
                await _send(ws, PING)
                next_ping = now + self._keepalive
            wait = min(next_ping, last_heard + self._server_timeout) - now
            try:
                # At least 1 ms: aiohttp takes a zero timeout as none.
                msg = await ws.receive(timeout=max(wait, 0.001))
            except TimeoutError:
                continue
            if msg.type is aiohttp.WSMsgType.BINARY:
                last_heard = loop.time()
                continue  # the JSON protocol sends text only
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise _closed(ws, "")
            last_heard = loop.time()
            buffer += str(msg.data)
            *records, buffer = buffer.split(RECORD_SEPARATOR)
            if len(buffer) > MAX_FRAME:
                raise InvalidResponseError("The event stream sent an unterminated record")
            for record in records:
                warned = self._handle(record, on_entry, warned)

    def _handle(self, record: str, on_entry: Callable[[Entry], None], warned: bool) -> bool:
        """Act on one record; returns whether a bad record has been warned about (once a connection)."""
        if not record.strip():
            return warned
        try:
            message = json.loads(record)
            kind = message.get("type") if isinstance(message, dict) else None
        except (ValueError, RecursionError):
            return _skip("a record that is not JSON", warned)
        if kind == TYPE_PING:
            return warned
        if kind == TYPE_CLOSE:
            error = message.get("error")
            raise StreamClosedError(
                "The event stream was closed by the server"
                + (f": {self._scrub(str(error))[:200]}" if error else ""),
                close_code=None,
                allow_reconnect=message.get("allowReconnect") is not False,
            )
        if kind != TYPE_INVOCATION:
            return warned
        target = message.get("target")
        if not isinstance(target, str) or target.lower() != RECEIVE_MESSAGE:
            return warned
        arguments = message.get("arguments")
        if not isinstance(arguments, list) or not arguments:
            return _skip("a ReceiveMessage without an argument", warned)
        try:
            entry = Entry.from_dict(_entry_object(arguments[0]))
        except (SaltoKSError, ValueError, TypeError, RecursionError):
            return _skip("a ReceiveMessage whose argument is not an access-log row", warned)
        on_entry(entry)
        return warned


def _entry_object(argument: object) -> object:
    """The row of a ``ReceiveMessage``: a JSON string (what Salto sends) or already an object."""
    if isinstance(argument, str):
        return json.loads(argument)
    return argument


def _skip(what: str, warned: bool) -> bool:
    # The frame is not logged: a row names people.
    if warned:
        _LOGGER.debug("Skipped %s on the event stream", what)
    else:
        _LOGGER.warning("Skipped %s on the event stream (further ones are logged at debug)", what)
    return True


def _connection_token(body: object) -> str:
    """The token of the WebSocket URL from a negotiate answer (version 1: ``connectionToken``)."""
    if not isinstance(body, dict):
        raise InvalidResponseError("The event stream's negotiate answer is not an object")
    if body.get("error"):
        raise CommunicationError("The event stream's negotiation failed")
    if body.get("url"):
        # A redirect to another service (Azure SignalR) would send the token elsewhere.
        raise InvalidResponseError("The event stream's negotiation redirects to another host")
    transports = body.get("availableTransports")
    if isinstance(transports, list) and not any(
        isinstance(item, dict) and item.get("transport") == "WebSockets" for item in transports
    ):
        raise InvalidResponseError("The event stream does not offer WebSockets")
    token = body.get("connectionToken") or body.get("connectionId")
    if not isinstance(token, str) or not token:
        raise InvalidResponseError("The event stream's negotiate answer has no connection token")
    return token


async def _send(ws: aiohttp.ClientWebSocketResponse, record: str) -> None:
    """Send one record; a socket that is closing under it ends the connection like a drop."""
    try:
        await ws.send_str(record)
    except (aiohttp.ClientError, ConnectionError):
        raise _closed(ws, "while sending") from None


def _closed(ws: aiohttp.ClientWebSocketResponse, when: str) -> StreamClosedError:
    code = ws.close_code if ws.close_code is not None else ABNORMAL_CLOSURE
    suffix = f" {when}" if when else ""
    return StreamClosedError(f"The event stream closed (code {code}){suffix}", close_code=code)
