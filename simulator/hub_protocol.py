"""The SignalR JSON hub protocol's framing and messages (ASP.NET Core SignalR, version 1).

Every record is one JSON object followed by the record separator 0x1E; a WebSocket frame may hold
several records, and a record may span frames. Message types used here: 1 invocation, 3 completion,
6 ping, 7 close.
"""

from __future__ import annotations

import json
from typing import Any

RECORD_SEPARATOR = "\x1e"
INVOCATION = 1
STREAM_ITEM = 2
COMPLETION = 3
STREAM_INVOCATION = 4
CANCEL_INVOCATION = 5
PING = 6
CLOSE = 7
HANDSHAKE_PROTOCOL = "json"
HANDSHAKE_VERSION = 1
TARGET = "ReceiveMessage"


def record(message: dict[str, Any]) -> str:
    """One record: compact JSON plus the separator."""
    return json.dumps(message, separators=(",", ":")) + RECORD_SEPARATOR


def split_records(buffer: str) -> tuple[list[str], str]:
    """Complete records of ``buffer`` (without separators) and the incomplete rest."""
    *complete, rest = buffer.split(RECORD_SEPARATOR)
    return [part for part in complete if part], rest


def parse(text: str) -> dict[str, Any] | None:
    """One record as a JSON object, or None when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def handshake_error(request: dict[str, Any] | None) -> str | None:
    """Why a handshake request is refused (the text ASP.NET Core answers), or None to accept."""
    if request is None or "protocol" not in request:
        return "Handshake request is not valid."
    protocol = request.get("protocol")
    if protocol != HANDSHAKE_PROTOCOL:
        return f"The protocol '{protocol}' is not supported."
    if request.get("version") != HANDSHAKE_VERSION:
        return f"The server does not support version {request.get('version')} of the '{protocol}' protocol."
    return None


def invocation(argument: str) -> str:
    """``ReceiveMessage(argument)``, not expecting a completion (no invocationId)."""
    return record({"type": INVOCATION, "target": TARGET, "arguments": [argument]})


def ping() -> str:
    return record({"type": PING})


def close(error: str | None, allow_reconnect: bool) -> str:
    message: dict[str, Any] = {"type": CLOSE, "allowReconnect": allow_reconnect}
    if error is not None:
        message["error"] = error
    return record(message)


def unknown_method(invocation_id: str, target: object) -> str:
    """The completion answering a client invocation of a method the hub does not have."""
    return record(
        {
            "type": COMPLETION,
            "invocationId": invocation_id,
            "error": f"Failed to invoke '{target}' due to an error on the server. HubException: "
            "Method does not exist.",
        }
    )
