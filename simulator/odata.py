"""The OData subset of the entries endpoint: ``$filter``, ``$orderby``, ``$top``.

``$orderby``: ``utc_date_time desc`` or ``local_date_time desc`` (the only orders the record shows;
``asc`` or no direction → 400 1102); without it the rows come newest first.

``$filter``: clauses joined by ``and``; ``utc_date_time``/``local_date_time`` compared with
``eq ne ge gt le lt`` against ``DateTime'2019-01-01T12:00:00Z'`` (OData v3), ``'…'`` or a bare ISO
literal; string fields (``lock_id``, ``user_id``, ``iq_id``, ``event_category``, ``event_detail``,
``access_by``) with ``eq``/``ne`` and ``'…'``. With header ``CLP-disable-odata-v3-conversion: true``
the v3 ``DateTime'…'`` literal is refused, as the record suggests. Anything else (``or``,
parentheses, functions, other fields, ``$skip``) is refused with 400 ErrorCode 1102: a conservative
server makes a client that relies on unsupported syntax fail loudly.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .models import Entry

DATE_FIELDS = frozenset({"utc_date_time", "local_date_time"})
STRING_FIELDS = frozenset(
    {"lock_id", "user_id", "iq_id", "event_category", "event_detail", "access_by"}
)
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}
_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_V3 = re.compile(r"^datetime'([^']*)'$", re.IGNORECASE)
_QUOTED = re.compile(r"^'([^']*)'$")
ALLOWED_PARAMS = frozenset({"$filter", "$orderby", "$top"})


class ODataError(ValueError):
    """A query the server refuses (400, ErrorCode 1102)."""


@dataclass
class Condition:
    """One ``field op value`` clause."""

    field: str
    op: Callable[[Any, Any], bool]
    value: Any

    def matches(self, entry: Entry) -> bool:
        if self.field == "utc_date_time":
            return self.op(entry.utc, self.value)
        if self.field == "local_date_time":
            return self.op(datetime.fromisoformat(entry.local), self.value)
        actual = entry.data.get(self.field)
        return actual is not None and self.op(str(actual), self.value)


@dataclass
class EntryQuery:
    """A parsed entries query."""

    conditions: list[Condition]
    order_field: str  # always newest first
    top: int | None

    def sort_key(self, entry: Entry) -> tuple[str, int]:
        value = entry.data["utc_date_time"] if self.order_field == "utc_date_time" else entry.local
        return (str(value), entry.seq)


def _date_literal(raw: str, field: str, v3_allowed: bool) -> datetime:
    text = raw
    if m := _V3.match(raw):
        if not v3_allowed:
            raise ODataError("OData v3 DateTime literals are disabled")
        text = m.group(1)
    elif m := _QUOTED.match(raw):
        text = m.group(1)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ODataError(f"Invalid date literal: {raw}") from None
    if field == "local_date_time":
        return when.replace(tzinfo=None)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def parse_filter(text: str, v3_allowed: bool = True) -> list[Condition]:
    """Parse a ``$filter`` expression."""
    if "(" in text or re.search(r"\s+or\s+", text, re.IGNORECASE):
        raise ODataError("Only 'and' of simple comparisons is supported")
    conditions = []
    for clause in _AND.split(text.strip()):
        m = _CLAUSE.match(clause)
        if not m:
            raise ODataError(f"Invalid filter clause: {clause}")
        field, op_name, raw = m.group(1), m.group(2).lower(), m.group(3)
        if field in DATE_FIELDS:
            value: Any = _date_literal(raw, field, v3_allowed)
        elif field in STRING_FIELDS and op_name in {"eq", "ne"}:
            q = _QUOTED.match(raw)
            if not q:
                raise ODataError(f"Expected a quoted string: {raw}")
            value = q.group(1)
        else:
            raise ODataError(f"Cannot filter on {field} with {op_name}")
        conditions.append(Condition(field, OPS[op_name], value))
    return conditions


def parse_query(params: Mapping[str, str], *, max_top: int, v3_allowed: bool = True) -> EntryQuery:
    """Parse the query string of an entries request."""
    unknown = {k for k in params if k.startswith("$")} - ALLOWED_PARAMS
    if unknown:
        raise ODataError(f"Unsupported query option(s): {sorted(unknown)}")
    conditions = parse_filter(params["$filter"], v3_allowed) if params.get("$filter") else []
    order_field = "utc_date_time"
    if "$orderby" in params:
        parts = params["$orderby"].split()
        if not parts or len(parts) > 2 or parts[0] not in DATE_FIELDS:
            raise ODataError(f"Cannot order by {params['$orderby']}")
        # The record shows only ``desc``; ``asc`` (also OData's implicit default) is refused.
        if len(parts) != 2 or parts[1].lower() != "desc":
            raise ODataError(f"Only descending order is supported: {params['$orderby']}")
        order_field = parts[0]
    top = parse_top(params.get("$top"), max_top)
    return EntryQuery(conditions, order_field, top)


def parse_top(raw: str | None, max_top: int) -> int | None:
    """``$top`` as a positive int clamped to ``max_top``; None when absent."""
    if raw is None:
        return None
    try:
        top = int(raw)
    except ValueError:
        raise ODataError(f"Invalid $top: {raw}") from None
    if top < 1:
        raise ODataError(f"Invalid $top: {raw}")
    return min(top, max_top)
