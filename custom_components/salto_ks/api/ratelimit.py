"""Retry-After bookkeeping: after a 429 no request is sent until the server's deadline has passed."""

from __future__ import annotations

import time

from .const import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER
from .exceptions import RateLimitedError


class RetryGate:
    """A deadline on the monotonic clock (``time.monotonic()``, the clock of ``loop.time()``).

    ``note()`` records a 429's Retry-After (``DEFAULT_RETRY_AFTER`` when the server sent none or an
    unusable one; at most ``MAX_RETRY_AFTER``); a later, shorter answer never shortens the wait.
    ``check()`` raises ``RateLimitedError`` while the deadline lies ahead.
    """

    __slots__ = ("_until", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._until: float | None = None

    def __repr__(self) -> str:
        return f"RetryGate({self._what!r}, remaining={self.remaining()!r})"

    @property
    def until(self) -> float | None:
        """The ``time.monotonic()`` value before which no request is sent, or None when open."""
        if self._until is not None and time.monotonic() >= self._until:
            self._until = None
        return self._until

    def remaining(self) -> float | None:
        """Seconds left before a request may be sent again, or None when open."""
        until = self.until
        return None if until is None else until - time.monotonic()

    def note(self, retry_after: float | None) -> float:
        """Record a 429; return the seconds the gate stays closed from now."""
        wait = DEFAULT_RETRY_AFTER if retry_after is None or retry_after <= 0 else retry_after
        wait = min(wait, MAX_RETRY_AFTER)
        now = time.monotonic()
        if self._until is None or now + wait > self._until:
            self._until = now + wait
            return wait
        return self._until - now

    def check(self) -> None:
        """Raise ``RateLimitedError`` (no status: nothing was sent) while the gate is closed."""
        remaining = self.remaining()
        if remaining is not None:
            raise RateLimitedError(
                f"The {self._what} asked to wait (Retry-After); no request is sent for another "
                f"{remaining:.1f} s",
                retry_after=remaining,
            )
