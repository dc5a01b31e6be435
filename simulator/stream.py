"""The event stream's world side (``sim.stream``): subscribers, hub faults, counters (no HTTP).

``hub.py`` serves it: each open WebSocket of the hub ``/v1/hub/entries`` is a ``Subscriber`` of one
site. ``World`` calls ``entry_added`` for every new row; the row goes to every subscriber of its
site as the entry JSON serialised into a string (the argument of ``ReceiveMessage``), shaped by
the faults below. Nothing here sleeps or schedules: a delay is handed to the subscriber, which
owns its connection's timers.

Faults and settings (all also on the control API, ``/_sim/stream…``):

- ``keepalive``: seconds between server pings ``{"type":6}`` (15, ASP.NET Core's default);
  ``client_timeout``: seconds without any message from the client before the server closes the
  connection (30, ASP.NET Core's default); ``handshake_timeout``: seconds to wait for the handshake.
- ``refuse(status, times)``: the next ``times`` connects (negotiate, or a WebSocket request without
  a negotiated id) answer ``401`` or ``403`` before anything else is checked.
- ``drop(site_id=None)``: abort every open connection (of one site) with no close frame: the
  client sees 1006, as in production.
- ``close(error, allow_reconnect)``: a close message ``{"type":7,…}`` then a normal close.
- ``stall``: while true the server sends nothing (no ping, no message); rows written meanwhile
  are lost to the stream (counted in ``stalled``), as on a half-dead socket.
- ``delay``: each push leaves ``delay`` s after its row is readable from ``/entries``.
- ``duplicate``: each push is sent this many times (1 = once).
- ``lead``: the row is pushed at once but ``/entries`` hides it for ``lead`` s (a push ahead of the
  log, e.g. the log's replica lagging). The log stays in order: a row written after a hidden one is
  hidden at least as long, even once ``lead`` is back to 0.

Counters per site: ``negotiations``, ``connections`` (accepted WebSockets), ``pushes`` (messages
sent, duplicates included), ``refused`` (401/403 answered), ``drops``, ``stalled``,
``access_token_query`` (requests that carried the token as a query parameter instead of a header:
the real hub accepts it, a client should never use it because URLs get logged).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

HUB_FEATURE = "events_streaming"
HUB_RIGHTS = frozenset({"site_admin", "site_super_user"})
REFUSE_STATUSES = (401, 403)
COUNTER_NAMES = (
    "negotiations",
    "connections",
    "pushes",
    "refused",
    "drops",
    "stalled",
    "access_token_query",
)
_SETTINGS = frozenset(
    {"keepalive", "client_timeout", "handshake_timeout", "stall", "delay", "duplicate", "lead"}
)


class Subscriber(Protocol):
    """One open, handshaken hub connection (implemented by ``hub.HubConnection``)."""

    site_id: str
    connection_id: str

    def deliver(self, message: str, delay: float) -> None:
        """Send ``ReceiveMessage(message)`` after ``delay`` s (0 = now)."""

    def abort(self) -> None:
        """Close the TCP connection without a close frame (the client sees 1006)."""

    def close(self, error: str | None, allow_reconnect: bool) -> None:
        """Send a close message, then close the WebSocket normally."""


@dataclass
class Negotiation:
    """A negotiated, not yet used connection."""

    site_id: str
    connection_id: str


@dataclass
class _Refusal:
    status: int
    times: int


@dataclass
class EventStream:
    """The hub's subscribers, faults, settings and counters."""

    keepalive: float = 15.0
    client_timeout: float = 30.0
    handshake_timeout: float = 15.0
    stall: bool = False
    delay: float = 0.0
    duplicate: int = 1
    lead: float = 0.0
    subscribers: list[Subscriber] = field(default_factory=list)
    negotiated: dict[str, Negotiation] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    # Rows hidden from /entries until the epoch second given (the ``lead`` fault), by entry seq.
    hidden_until: dict[int, float] = field(default_factory=dict)
    _refusals: list[_Refusal] = field(default_factory=list)

    # counters ----------------------------------------------------------------------------
    def count(self, site_id: str, name: str, amount: int = 1) -> None:
        site = self.counters.setdefault(site_id, dict.fromkeys(COUNTER_NAMES, 0))
        site[name] = site.get(name, 0) + amount

    def counter(self, name: str, site_id: str | None = None) -> int:
        """One counter of one site, or summed over every site."""
        sites = [self.counters.get(site_id, {})] if site_id else list(self.counters.values())
        return sum(site.get(name, 0) for site in sites)

    # settings and faults -----------------------------------------------------------------
    def update(self, **changes: Any) -> None:
        """Change settings/faults by name (validated, all or nothing)."""
        unknown = set(changes) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown stream settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, raw in changes.items():
            if name == "stall":
                values[name] = bool(raw)
            elif name == "duplicate":
                values[name] = int(raw)
                if values[name] < 1:
                    raise ValueError("duplicate must be >= 1")
            else:
                values[name] = float(raw)
                low = 0.0 if name in {"delay", "lead"} else 0.01
                if values[name] < low:
                    raise ValueError(f"{name} must be >= {low}")
        for name, value in values.items():
            setattr(self, name, value)

    def refuse(self, status: int = 401, times: int = 1) -> None:
        """The next ``times`` connects answer ``status`` (401 or 403)."""
        if int(status) not in REFUSE_STATUSES:
            raise ValueError(f"status must be one of {REFUSE_STATUSES}")
        if int(times) < 1:
            raise ValueError("times must be >= 1")
        self._refusals.append(_Refusal(int(status), int(times)))

    def take_refusal(self) -> int | None:
        """The status to refuse this connect with (consuming one), or None."""
        if not self._refusals:
            return None
        refusal = self._refusals[0]
        refusal.times -= 1
        if refusal.times <= 0:
            self._refusals.pop(0)
        return refusal.status

    def drop(self, site_id: str | None = None) -> int:
        """Abort every open connection (of ``site_id``); returns how many."""
        victims = [s for s in self.subscribers if site_id is None or s.site_id == site_id]
        for subscriber in victims:
            self.count(subscriber.site_id, "drops")
            subscriber.abort()
        return len(victims)

    def close(
        self, site_id: str | None = None, *, error: str | None = None, allow_reconnect: bool = True
    ) -> int:
        """Close every open connection (of ``site_id``) with a close message; returns how many."""
        victims = [s for s in self.subscribers if site_id is None or s.site_id == site_id]
        for subscriber in victims:
            subscriber.close(error, allow_reconnect)
        return len(victims)

    def clear(self) -> None:
        """Back to the defaults: no fault, default timers (subscribers and counters stay)."""
        self.keepalive, self.client_timeout, self.handshake_timeout = 15.0, 30.0, 15.0
        self.stall, self.delay, self.duplicate, self.lead = False, 0.0, 1, 0.0
        self._refusals.clear()
        self.hidden_until.clear()

    def reset_counters(self) -> None:
        self.counters.clear()

    # connections -------------------------------------------------------------------------
    def negotiate(self, site_id: str) -> tuple[str, str]:
        """A new connection id and connection token for ``site_id``."""
        connection_id = secrets.token_urlsafe(16)
        token = secrets.token_urlsafe(24)
        self.negotiated[token] = Negotiation(site_id, connection_id)
        self.count(site_id, "negotiations")
        return connection_id, token

    def claim(self, token: str) -> Negotiation | None:
        """The negotiation a WebSocket request names by ``id`` (usable once)."""
        return self.negotiated.pop(token, None)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)
        self.count(subscriber.site_id, "connections")

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)

    def open_connections(self, site_id: str | None = None) -> int:
        return sum(1 for s in self.subscribers if site_id is None or s.site_id == site_id)

    # rows --------------------------------------------------------------------------------
    def entry_added(self, site_id: str, seq: int, data: dict[str, Any], now: float) -> None:
        """A row was written: push it to the site's subscribers (faults applied)."""
        # The log shows rows in the order they were written (a lagging replica applies them in
        # order): a row is not readable before one written earlier.
        until = max(
            now + self.lead, max((t for t in self.hidden_until.values() if t > now), default=now)
        )
        if until > now:
            self.hidden_until[seq] = until
        targets = [s for s in self.subscribers if s.site_id == site_id]
        if not targets:
            return
        if self.stall:
            self.count(site_id, "stalled", len(targets))
            return
        message = json.dumps(data, separators=(",", ":"))
        for subscriber in targets:
            for _ in range(self.duplicate):
                subscriber.deliver(message, self.delay)

    def readable(self, seq: int, now: float) -> bool:
        """Whether ``/entries`` may return the row yet (the ``lead`` fault hides it)."""
        until = self.hidden_until.get(seq)
        if until is None:
            return True
        if now >= until:
            del self.hidden_until[seq]
            return True
        return False

    def as_dict(self) -> dict[str, Any]:
        """JSON view (``GET /_sim/stream``)."""
        return {
            "keepalive": self.keepalive,
            "client_timeout": self.client_timeout,
            "handshake_timeout": self.handshake_timeout,
            "stall": self.stall,
            "delay": self.delay,
            "duplicate": self.duplicate,
            "lead": self.lead,
            "refuse": [{"status": r.status, "times": r.times} for r in self._refusals],
            "open": {
                sid: self.open_connections(sid) for sid in {s.site_id for s in self.subscribers}
            },
            "counters": {sid: dict(values) for sid, values in self.counters.items()},
        }
