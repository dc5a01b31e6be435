"""audit_rows.py (pure): an access-log row's event type, user name and last event."""

from __future__ import annotations

import pytest

from custom_components.salto_ks.api import EventCategory
from custom_components.salto_ks.audit_rows import (
    EVENT_TYPES,
    entry_event_type,
    event_type,
    last_event,
    user_name,
)

from .conftest import audit_row


@pytest.mark.parametrize(
    ("category", "detail", "access_by", "expected"),
    [
        ("lock_opened", None, "tag", "opened"),
        ("lock_opened", "inside_handle", "inside_handle", "opened"),
        ("lock_opened", "offline", "pin_code", "opened"),
        ("lock_opened", None, None, "opened"),
        ("lock_opened", None, "remote", "opened_remotely"),
        ("LOCK_OPENED", None, "Remote", "opened_remotely"),
        ("lock_rejected", "no_access", "pin_code", "rejected"),
        ("lock_rejected", "suspended", "tag", "rejected"),
        ("easy_office_mode", "start", "tag", "office_mode_started"),
        ("easy_office_mode", "end", None, "office_mode_ended"),
        ("office_mode", "start", None, "office_mode_started"),
        ("office_mode", "end", None, "office_mode_ended"),
        ("office_mode", "paused", None, "other"),
        ("privacy_mode", "start", None, "privacy_mode_started"),
        ("privacy_mode", "end", None, "privacy_mode_ended"),
        ("privacy_mode", None, None, "other"),
        ("door_left_open", None, None, "door_left_open"),
        ("intrusion", None, None, "intrusion"),
        ("tamper", None, None, "tamper"),
        ("low_battery", None, None, "low_battery"),
        ("fire_alarm", "start", None, "other"),
        ("", None, None, "other"),
    ],
)
def test_event_type_mapping(
    category: str, detail: str | None, access_by: str | None, expected: str
) -> None:
    """Every row maps to one of the entity's types; unknown ones to ``other``."""
    assert event_type(category, detail, access_by) == expected
    assert expected in EVENT_TYPES


def test_every_known_category_has_a_type() -> None:
    """No category the client knows falls through to ``other`` with its usual detail."""
    for category in EventCategory:
        assert event_type(category, "start", None) != "other", category


def test_user_name_and_last_event() -> None:
    """Names: first + last, else alias, else None; last_event is category/detail."""
    named = audit_row(user_first_name="Ana", user_last_name="Ruiz", user_alias="ana")
    assert user_name(named) == "Ana Ruiz"
    assert user_name(audit_row(user_first_name="Ana")) == "Ana"
    assert user_name(audit_row(user_first_name=" ", user_alias="Cleaner")) == "Cleaner"
    assert user_name(audit_row(user_alias="")) is None
    assert last_event(audit_row(category="lock_rejected", detail="no_access")) == (
        "lock_rejected/no_access"
    )
    assert last_event(audit_row(category="tamper")) == "tamper"
    assert entry_event_type(audit_row(category="mystery", detail="x")) == "other"
