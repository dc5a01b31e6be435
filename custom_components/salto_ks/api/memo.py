"""Reuse the parsed model of a list item whose raw JSON did not change since the last listing.

A roster poll of a large site mostly returns the same locks again. Comparing the raw dict with the previous
one is several times cheaper than building the model anew, and handing back the same model object makes
the caller's "did anything change?" comparison short-circuit on identity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ModelMemo[T]:
    """Parse items with ``parser``, remembering one (raw, model) pair per item ``id``."""

    def __init__(self, parser: Callable[[object], T]) -> None:
        self._parser = parser
        self._previous: dict[Any, tuple[object, T]] = {}
        self._current: dict[Any, tuple[object, T]] = {}

    def start(self) -> None:
        """Begin a listing; items not seen again are forgotten when it ends."""
        self._current = {}

    def finish(self) -> None:
        """End a listing that completed; only its items are remembered."""
        self._previous = self._current
        self._current = {}

    def parse(self, raw: object) -> T:
        """The remembered model when ``raw`` equals the last raw item with its id, else a new one."""
        key = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(key, str):
            known = self._previous.get(key)
            if known is not None and known[0] == raw:
                self._current[key] = known
                return known[1]
        model = self._parser(raw)
        if isinstance(key, str):
            self._current[key] = (raw, model)
        return model
