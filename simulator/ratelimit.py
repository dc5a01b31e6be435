"""Requests per minute per client id over a sliding 60 s window."""

from __future__ import annotations

import math
from collections import deque

WINDOW = 60.0


class RateLimiter:
    """Admitted request times per client id. Refused requests are not counted, so the
    ``Retry-After`` it computes is exactly when the window frees a slot."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def check(self, client_id: str, now: float, limit: int | None) -> int | None:
        """None to admit (and count) the request, else the Retry-After seconds."""
        if limit is None:
            return None
        hits = self._hits.setdefault(client_id, deque())
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        if len(hits) >= limit:
            return max(1, math.ceil(hits[0] + WINDOW - now)) if hits else int(WINDOW)
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()
