"""audit_feed.py (pure): the cursor (dedup at one instant, order, its limit, JSON round trip) and the
stored form of a row. The feed's behaviour through Home Assistant is in test_audit.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from custom_components.salto_ks.audit_feed import (
    Cursor,
    entry_from_store,
    entry_to_store,
    select_new,
)

from .conftest import AUDIT_T0, audit_row


def test_cursor_dedup_and_round_trip() -> None:
    """The cursor keeps rows at its instant apart by id, orders rows, and survives JSON."""
    later = AUDIT_T0 + timedelta(seconds=1)
    limit = AUDIT_T0 + timedelta(days=1)
    a, b, c = audit_row("a"), audit_row("b"), audit_row("c", when=later)
    cursor = Cursor(AUDIT_T0 - timedelta(hours=1)).advance([a], limit)
    assert cursor == Cursor(AUDIT_T0, frozenset({"a"}))
    assert select_new(cursor, [c, a, b, b]) == [b, c]
    assert cursor.advance([b], limit) == Cursor(AUDIT_T0, frozenset({"a", "b"}))
    assert cursor.advance([c, b], limit) == Cursor(later, frozenset({"c"}))
    assert not cursor.is_new(audit_row("z", when=AUDIT_T0 - timedelta(seconds=1)))
    assert Cursor.from_dict(json.loads(json.dumps(cursor.as_dict()))) == cursor
    stored = audit_row("s", lock_customer_reference="Front door", user_first_name="Ana")
    assert entry_from_store(json.loads(json.dumps(entry_to_store(stored)))) == stored
    with pytest.raises(TypeError):
        Cursor.from_dict({"timestamp": AUDIT_T0.isoformat(), "ids": [1]})
    with pytest.raises(TypeError):
        Cursor.from_dict({"timestamp": AUDIT_T0.isoformat(), "ahead": ["x"]})


def test_cursor_stays_below_its_limit() -> None:
    """A row dated beyond the limit is handled by id: the cursor stays, the row is never new again,
    and its id is forgotten once the cursor passes its time."""
    ahead = audit_row("ahead", when=AUDIT_T0 + timedelta(days=30))
    cursor = Cursor(AUDIT_T0).advance([ahead], AUDIT_T0 + timedelta(minutes=5))
    assert cursor.timestamp == AUDIT_T0
    assert not cursor.is_new(ahead)
    assert cursor.is_new(audit_row("now", when=AUDIT_T0 + timedelta(seconds=1)))
    assert Cursor.from_dict(json.loads(json.dumps(cursor.as_dict()))) == cursor
    passed = cursor.advance(
        [audit_row("next", when=AUDIT_T0 + timedelta(days=31))], AUDIT_T0 + timedelta(days=32)
    )
    assert passed == Cursor(AUDIT_T0 + timedelta(days=31), frozenset({"next"}))
