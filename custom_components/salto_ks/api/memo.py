"""Reuse the parsed model of a list item whose raw JSON did not change since the last listing.

A roster poll of a large site mostly returns the same locks again. Comparing the raw dict with the previous
one is several times cheaper than building the model anew, and handing back the same model object makes
the caller's "did anything change?" comparison short-circuit on identity. A whole page whose body is byte
for byte the one its URL gave last time is not even decoded: comparing the bytes costs microseconds, the
JSON decode and the per-item comparison of a 100-lock page about a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Page[T]:
    body: bytes
    entries: tuple[tuple[str, tuple[object, T]], ...]
    models: tuple[T, ...]
    link: str | None


class ModelMemo[T]:
    """Parse items with ``parser``, remembering one (raw, model) pair per item ``id``."""

    def __init__(self, parser: Callable[[object], T]) -> None:
        self._parser = parser
        self._previous: dict[Any, tuple[object, T]] = {}
        self._current: dict[Any, tuple[object, T]] = {}
        # Page key -> (its body, its items' memo entries, its models in order, its next link).
        self._pages: dict[str, _Page[T]] = {}
        self._current_pages: dict[str, _Page[T]] = {}
        self._page_entries: list[tuple[str, tuple[object, T]]] = []

    def start(self) -> None:
        """Begin a listing; items not seen again are forgotten when it ends."""
        self._current = {}
        self._current_pages = {}
        self._page_entries = []

    def finish(self) -> None:
        """End a listing that completed; only its items and pages are remembered."""
        self._previous = self._current
        self._current = {}
        self._pages = self._current_pages
        self._current_pages = {}

    def known_page(self, key: str, body: bytes) -> tuple[list[T], str | None] | None:
        """The models and next link of a page whose body equals the last listing's at ``key``."""
        page = self._pages.get(key)
        if page is None or page.body != body:
            self._page_entries = []
            return None
        self._current.update(page.entries)
        self._current_pages[key] = page
        return list(page.models), page.link

    def remember_page(self, key: str, body: bytes, models: list[T], link: str | None) -> None:
        """Remember a page just parsed (after ``known_page`` missed) with the items ``parse`` saw."""
        self._current_pages[key] = _Page(body, tuple(self._page_entries), tuple(models), link)
        self._page_entries = []

    def parse(self, raw: object) -> T:
        """The remembered model when ``raw`` equals the last raw item with its id, else a new one."""
        key = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(key, str):
            known = self._previous.get(key)
            if known is not None and known[0] == raw:
                self._current[key] = known
                self._page_entries.append((key, known))
                return known[1]
        model = self._parser(raw)
        if isinstance(key, str):
            self._current[key] = (raw, model)
            self._page_entries.append((key, (raw, model)))
        return model
