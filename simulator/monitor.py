"""Measuring hooks for soak runs (``sim.monitor``): Retry-After compliance and parked requests.

Retry-After: the guard tells the monitor about every request (client id, channel, arrival time on
the simulator's clock, TCP connection) and every 429 it answers. A request from a client that
arrives before the deadline of a 429 answered to it is *early*:

- channels: ``api`` (Connect API), ``token`` (identity server) and ``hub`` (the event hub's
  negotiate and WebSocket requests). A 429 from the API covers all three (the client contract:
  nothing is sent, not even a token request or a stream connect); a 429 from the token endpoint
  covers token requests only (a cached token may keep calling the API), one from the hub covers
  hub requests only (the least a client must honour).
- a request arriving at a later instant than the 429, before its deadline, is early;
- a request arriving at the very instant of the 429 (a frozen test clock) is early when it comes on
  the connection that carried the 429 (HTTP/1.1 without pipelining: the client had read the 429);
  on another connection it was already in flight (e.g. a concurrent listing) and is counted as
  ``in_flight`` instead.

Parked requests: requests held by a ``timeout`` fault, with the time they were parked, so a test on
a frozen clock can move the clock past the client's timeout instead of waiting for it.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

CHANNEL_API = "api"
CHANNEL_TOKEN = "token"
CHANNEL_HUB = "hub"


@dataclass
class RateLimitAnswer:
    """One 429 the simulator answered."""

    client: str
    channel: str
    endpoint: str
    at: float  # epoch seconds, simulator clock
    retry_after: float
    connection: str


@dataclass
class EarlyRequest:
    """A request that arrived before the Retry-After of a 429 had passed."""

    client: str
    channel: str
    endpoint: str
    at: float
    deadline: float
    answered_at: float


@dataclass
class _Deadline:
    until: float
    answered_at: float
    connection: str


@dataclass
class Monitor:
    """Counts per client: 429s answered, requests that came too early, requests in flight."""

    answers: list[RateLimitAnswer] = field(default_factory=list)
    early: list[EarlyRequest] = field(default_factory=list)
    in_flight: int = 0
    requests: int = 0
    parked: dict[int, float] = field(default_factory=dict)
    _deadlines: dict[tuple[str, str], _Deadline] = field(default_factory=dict)
    _park_ids: itertools.count[int] = field(default_factory=itertools.count)

    def request(
        self, client: str, channel: str, endpoint: str, now: float, connection: str
    ) -> None:
        """A request arrived (before any fault, auth or rate limit is applied)."""
        self.requests += 1
        deadline = self._deadlines.get((client, channel))
        if deadline is None or now >= deadline.until:
            return
        if now > deadline.answered_at or connection == deadline.connection:
            self.early.append(
                EarlyRequest(client, channel, endpoint, now, deadline.until, deadline.answered_at)
            )
        else:
            self.in_flight += 1

    def answered_429(
        self,
        client: str,
        *,
        channel: str,
        endpoint: str,
        now: float,
        retry_after: float,
        connection: str,
    ) -> None:
        """The simulator answered 429 with ``Retry-After: retry_after`` (seconds)."""
        self.answers.append(
            RateLimitAnswer(client, channel, endpoint, now, retry_after, connection)
        )
        channels = (
            (CHANNEL_API, CHANNEL_TOKEN, CHANNEL_HUB) if channel == CHANNEL_API else (channel,)
        )
        for name in channels:
            current = self._deadlines.get((client, name))
            until = now + retry_after
            if current is None or until >= current.until:
                self._deadlines[(client, name)] = _Deadline(until, now, connection)

    def park(self, now: float) -> int:
        """A ``timeout`` fault starts holding a request; returns its key for ``unpark``."""
        key = next(self._park_ids)
        self.parked[key] = now
        return key

    def unpark(self, key: int) -> None:
        self.parked.pop(key, None)

    def reset(self) -> None:
        self.answers.clear()
        self.early.clear()
        self._deadlines.clear()
        self.in_flight = 0
        self.requests = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON view (``GET /_sim/monitor``)."""
        return {
            "requests": self.requests,
            "answered_429": [asdict(a) for a in self.answers],
            "early": [asdict(e) for e in self.early],
            "in_flight": self.in_flight,
            "parked": sorted(self.parked.values()),
        }
