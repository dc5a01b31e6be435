"""Pure parsers of one page of a list or of the entries feed (no I/O).

A page is a bare JSON array or an object ``{items, next_page_link}`` (lists) / ``{items, continuation_token}``
(entries). An item that fails to parse is skipped with a warning; a page of the wrong shape raises
``InvalidResponseError``. Nothing else is ever raised, whatever the body holds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .exceptions import InvalidResponseError
from .models import Entry

_LOGGER = logging.getLogger(__name__)


def parse_items[T](raw_items: list[Any], parser: Callable[[object], T], what: str) -> list[T]:
    """Parse every item; skip (and log, naming only the problem) those that fail."""
    parsed: list[T] = []
    for item in raw_items:
        try:
            parsed.append(parser(item))
        except InvalidResponseError as err:
            _LOGGER.warning("Skipping a %s that cannot be parsed: %s", what, err)
    return parsed


def _items(body: Mapping[str, Any], what: str) -> list[Any]:
    items = body.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidResponseError(f"{what}.items: expected a list")
    return items


def list_page[T](
    body: object, parser: Callable[[object], T], what: str
) -> tuple[list[T], str | None]:
    """Items of one list page and its ``next_page_link`` (None on the last page)."""
    if isinstance(body, list):
        return parse_items(body, parser, what), None
    if not isinstance(body, Mapping):
        raise InvalidResponseError(f"{what} list: expected a JSON array or object")
    items = parse_items(_items(body, f"{what} list"), parser, what)
    link = body.get("next_page_link")
    if link is None or link == "":
        return items, None
    if not isinstance(link, str):
        raise InvalidResponseError(f"{what} list.next_page_link: expected a string")
    return items, link


def entries_page(body: object) -> tuple[list[Entry], str | None]:
    """Entries of one page and the continuation token to send next (None on the last page).

    A token sent as a JSON object or array instead of a string is passed on as its compact JSON text.
    """
    if isinstance(body, list):
        return parse_items(body, Entry.from_dict, "entry"), None
    if not isinstance(body, Mapping):
        raise InvalidResponseError("entries: expected a JSON array or object")
    entries = parse_items(_items(body, "entries"), Entry.from_dict, "entry")
    token = body.get("continuation_token")
    if token is None or token == "":
        return entries, None
    if isinstance(token, Mapping | list):
        # Parsed JSON always serialises again.
        token = json.dumps(token, separators=(",", ":"))
    if not isinstance(token, str):
        raise InvalidResponseError("entries.continuation_token: expected a string")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in token):
        # It goes into a request header: no line breaks or other control characters.
        raise InvalidResponseError("entries.continuation_token: contains control characters")
    return entries, token
