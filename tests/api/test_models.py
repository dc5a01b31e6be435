"""Parsing of the example payloads of the API record (§6) and of odd payloads."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.salto_ks.api import (
    BatteryLevel,
    DataSyncState,
    EasyOfficeModeSchedule,
    Entry,
    EventCategory,
    InvalidResponseError,
    Iq,
    Lock,
    LockedState,
    LockIq,
    Site,
    SiteUser,
    Subscription,
    TokenResponse,
)

from .helpers import load


def test_site_example() -> None:
    site = Site.from_dict(load("site"))
    assert site == Site(
        id="00d20e57-9ac2-4b76-a65d-7911bfb00da2",
        site_uid="DE4520168385",
        name="Biletado-ECC GmbH_Bad Belzig",
        time_zone="Europe/Berlin",
    )


def test_lock_example() -> None:
    lock = Lock.from_dict(load("lock"))
    assert lock.id == "4d77312f-4a87-41db-a97b-f9d948dcc908"
    assert lock.name == "Tür 01"
    assert lock.online is True
    assert lock.locked_state is LockedState.LOCKED
    assert lock.battery_level is BatteryLevel.FRESH
    assert lock.left_open_alarm is False
    assert lock.intrusion_alarm is False
    assert lock.privacy_mode is False
    assert lock.lock_type == "escutcheon_pin"
    assert lock.mac == "0163813000002C"
    assert lock.easy_office_mode_schedule == EasyOfficeModeSchedule(
        auto_start=True,
        days=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        start_time="00:00:00",
        end_time="23:59:59",
        start_date=None,
        end_date=None,
    )
    assert lock.iq == LockIq(
        id="5dfdc54e-8335-11f0-a2ed-6045bd92d38f",
        name="IQ 01",
        online=True,
        revision="2.0",
        otp_enabled=True,
    )


def test_iq_example() -> None:
    iq = Iq.from_dict(load("iq"))
    assert iq == Iq(
        id="5dfdc54e-8335-11f0-a2ed-6045bd92d38f",
        name="IQ 01",
        online=True,
        signal_strength=21,
        data_sync_state=DataSyncState.NOT_SYNCED,
        revision="2.0",
        otp_enabled=True,
        mac="3B.9E.05",
        time_zone="Europe/Berlin",
    )


ENTRY_EXAMPLE = Entry(
    id="5fb49f42-5eb1-4e32-b841-a7954d6be11e",
    event_category=EventCategory.EASY_OFFICE_MODE,
    event_detail="end",
    utc_date_time=datetime(2026, 8, 19, 12, 50, 38, tzinfo=UTC),
    lock_id="4d77312f-4a87-41db-a97b-f9d948dcc908",
    lock_name="Tür 01",
    user_id="c6f84b4f-34b8-4d5e-abae-43f359d12c1c",
    user_first_name="M***",
    user_last_name="A***",
    user_alias="",
    access_by="tag",
    access_detail="02309289",
    iq_id="5dfdc54e-8335-11f0-a2ed-6045bd92d38f",
    exit_requested=False,
)
# The record's "Also seen" rows name only the fields below; the rest is the §6 example. It gives no
# value for the unknown-PIN sentinel user_id, so an all-zero id stands in. inside_handle is an
# access_by value in the record's observed values (§3), so it goes there.
SENTINEL_USER = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "event_category": "lock_opened",
            "event_detail": None,
            "access_by": "inside_handle",
            "exit_requested": True,
            "user_id": None,
        },
        {
            "event_category": "lock_rejected",
            "event_detail": "no_access",
            "access_by": "pin_code",
            "user_id": SENTINEL_USER,
        },
    ],
    ids=["example", "lock_opened-inside_handle", "lock_rejected-no_access-pin_code"],
)
def test_entry_example(overrides: dict[str, Any]) -> None:
    entry = Entry.from_dict(load("entry") | overrides)
    expected = overrides | {
        "event_category": EventCategory(overrides.get("event_category", "easy_office_mode"))
    }
    assert entry == replace(ENTRY_EXAMPLE, **expected)
    assert entry.utc_date_time.utcoffset() is not None
    assert entry.utc_date_time.tzinfo is UTC


def test_site_user_example() -> None:
    user = SiteUser.from_dict(load("site_user"))
    assert user == SiteUser(
        id="04f6d454-f7a0-4c45-84e3-00d36622b267",
        user_id="cdaaf4aa-beae-483f-baa9-6a5f0fc9dc1f",
        first_name="B***",
        last_name="0***",
        alias="",
        email=None,
        roles=("site_user",),
        remote_access=False,
        blocked=False,
    )


def test_token_response_example() -> None:
    token = TokenResponse.from_dict(load("token_response"))
    assert token.access_token == "…"
    assert token.expires_in == 3600.0
    assert token.token_type == "Bearer"
    assert token.scope == "user_api.full_access"
    assert token.refresh_token is None


def test_token_response_hides_tokens() -> None:
    token = TokenResponse.from_dict(
        {
            "access_token": "eyJ-secret-access",
            "refresh_token": "rt-secret-refresh",
            "expires_in": 60,
        }
    )
    for text in (repr(token), str(token), json.dumps(token.as_dict())):
        assert "eyJ-secret-access" not in text
        assert "rt-secret-refresh" not in text


@pytest.mark.parametrize("name", ["site", "lock", "iq", "entry", "site_user"])
def test_as_dict_is_json_serialisable_and_stable(name: str) -> None:
    model = {"site": Site, "lock": Lock, "iq": Iq, "entry": Entry, "site_user": SiteUser}[name]
    parsed = model.from_dict(load(name))
    dumped = json.loads(json.dumps(parsed.as_dict()))
    assert dumped["id"] == load(name)["id"]


def test_as_dict_values() -> None:
    entry = Entry.from_dict(load("entry")).as_dict()
    assert entry["utc_date_time"] == "2026-08-19T12:50:38+00:00"
    assert entry["event_category"] == "easy_office_mode"
    lock = Lock.from_dict(load("lock")).as_dict()
    assert lock["locked_state"] == "locked"
    assert lock["battery_level"] == "fresh"
    assert lock["iq"]["otp_enabled"] is True
    assert lock["easy_office_mode_schedule"]["days"][0] == "monday"
    user = SiteUser.from_dict(load("site_user")).as_dict()
    assert user["roles"] == ["site_user"]


def test_models_are_frozen_and_equal_by_value() -> None:
    a = Site.from_dict(load("site"))
    b = Site.from_dict(load("site"))
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.name = "x"  # type: ignore[misc]


def test_unknown_fields_ignored_and_missing_optional_none() -> None:
    lock = Lock.from_dict({"id": "L1", "brand_new_field": {"x": 1}})
    assert lock.id == "L1"
    assert lock.name is None
    assert lock.online is None
    assert lock.battery_level is None
    assert lock.locked_state is LockedState.NONE
    assert lock.iq is None
    assert lock.easy_office_mode_schedule is None
    iq = Iq.from_dict({"id": "Q"})
    assert iq.data_sync_state is None
    assert iq.signal_strength is None
    user = SiteUser.from_dict({"id": "U"})
    assert user.user_id is None
    assert user.roles == ()


def test_unknown_enum_values_are_kept() -> None:
    data = load("lock") | {"locked_state": "jammed_new", "battery_level": "half_full"}
    lock = Lock.from_dict(data)
    assert lock.locked_state == "jammed_new"
    assert isinstance(lock.locked_state, LockedState)
    assert lock.battery_level == "half_full"
    assert isinstance(lock.battery_level, BatteryLevel)
    assert lock.as_dict()["locked_state"] == "jammed_new"
    entry = Entry.from_dict(load("entry") | {"event_category": "door_forced_v2"})
    assert entry.event_category.value == "door_forced_v2"
    assert Iq.from_dict(load("iq") | {"data_sync_state": "resyncing"}).data_sync_state == (
        "resyncing"
    )
    # Unknown values do not become members.
    assert "jammed_new" not in [m.value for m in LockedState]


@pytest.mark.parametrize("value", [5, None, 1.5])
def test_enums_keep_only_unknown_strings(value: object) -> None:
    """Only a string is kept as an unknown member; anything else is refused as Enum refuses it."""
    with pytest.raises(ValueError, match="is not a valid LockedState"):
        LockedState(value)


def test_battery_percentage_passes_through() -> None:
    assert Lock.from_dict({"id": "L", "battery_level": 85}).battery_level == 85
    assert Lock.from_dict({"id": "L", "battery_level": 0}).battery_level == 0
    with pytest.raises(InvalidResponseError, match="battery_level"):
        Lock.from_dict({"id": "L", "battery_level": 150})
    with pytest.raises(InvalidResponseError, match="battery_level"):
        Lock.from_dict({"id": "L", "battery_level": True})


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Lock, {"id": "L", "online": "yes"}, "lock.online"),
        (Lock, {"id": "L", "customer_reference": 12}, "lock.customer_reference"),
        (Lock, {"id": "L", "iq": "IQ 01"}, "lock.iq"),
        (Lock, {"id": "L", "iq": {"id": "Q", "is_online": 1}}, "lock.iq.is_online"),
        (Lock, {"id": "L", "easy_office_mode_schedule": {"monday": "y"}}, "monday"),
        (Lock, {"id": 5}, "lock.id"),
        (Lock, {"name": "no id"}, "lock.id"),
        (Iq, {"id": "Q", "signal_strength": "strong"}, "iq.signal_strength"),
        (Iq, {"id": "Q", "signal_strength": True}, "iq.signal_strength"),
        (Site, {"id": "S", "time_zone": ["Europe/Berlin"]}, "site.time_zone"),
        (SiteUser, {"id": "U", "roles": "site_user"}, "site_user.roles"),
        (SiteUser, {"id": "U", "user": {"id": 3}}, "site_user.user.id"),
        (SiteUser, {"id": "U", "blocked": "no"}, "site_user.blocked"),
        (Entry, load("entry") | {"utc_date_time": 1700000000}, "entry.utc_date_time"),
        (Entry, load("entry") | {"utc_date_time": "yesterday"}, "entry.utc_date_time"),
        (Entry, load("entry") | {"exit_requested": "false"}, "entry.exit_requested"),
        (Entry, load("entry") | {"event_category": None}, "entry.event_category"),
        (TokenResponse, {"access_token": "x", "expires_in": "soon"}, "expires_in"),
        (TokenResponse, {"expires_in": 3600}, "access_token"),
    ],
)
def test_wrong_type_names_the_field(model: Any, data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidResponseError) as err:
        model.from_dict(data)
    assert field in str(err.value)


@pytest.mark.parametrize("model", [Site, Lock, Iq, SiteUser, Entry, TokenResponse])
def test_non_object_raises(model: Any) -> None:
    with pytest.raises(InvalidResponseError, match="expected a JSON object"):
        model.from_dict(["not", "an", "object"])


def test_entry_dates_are_converted_to_utc() -> None:
    base = load("entry")
    naive = Entry.from_dict(base | {"utc_date_time": "2026-08-19T12:50:38"})
    assert naive.utc_date_time == datetime(2026, 8, 19, 12, 50, 38, tzinfo=UTC)
    offset = Entry.from_dict(base | {"utc_date_time": "2026-08-19T14:50:38.250+02:00"})
    assert offset.utc_date_time == datetime(2026, 8, 19, 12, 50, 38, 250000, tzinfo=UTC)
    assert offset.utc_date_time.tzinfo is UTC


def test_entry_optional_fields_and_numbers() -> None:
    entry = Entry.from_dict(
        {
            "id": "E",
            "event_category": "lock_opened",
            "event_detail": "inside_handle",
            "utc_date_time": "2026-01-01T00:00:00Z",
            "user_id": None,
            "exit_requested": True,
            "access_detail": 2309289,
        }
    )
    assert entry.event_category is EventCategory.LOCK_OPENED
    assert entry.user_id is None
    assert entry.lock_id is None
    assert entry.exit_requested is True
    assert entry.access_detail == "2309289"


def test_site_user_roles_and_iq_online_fallback() -> None:
    user = SiteUser.from_dict(
        {"id": "U", "roles": [{"code": "site_admin"}, "site_user", {"id": "no-code"}]}
    )
    assert user.roles == ("site_admin", "site_user")
    lock = Lock.from_dict({"id": "L", "iq": {"id": "Q", "online": False, "revision": 2.1}})
    assert lock.iq is not None
    assert lock.iq.online is False
    assert lock.iq.revision == "2.1"


def test_schedule_days_subset() -> None:
    schedule = EasyOfficeModeSchedule.from_dict(
        {"eom_auto_start": False, "monday": True, "tuesday": False, "friday": True}
    )
    assert schedule.days == ("monday", "friday")
    assert schedule.auto_start is False


def test_a_number_too_long_to_print_is_refused() -> None:
    """A revision sent as an int beyond Python's digit limit cannot become its string."""
    with pytest.raises(InvalidResponseError, match=r"iq\.revision: number too large"):
        Iq.from_dict(load("iq") | {"revision": 10**5000})


def test_subscription_features() -> None:
    assert Subscription.from_dict({"user_amount": 5}).features == ()
    assert Subscription.from_dict({"features": ["custom_pin"]}).features == ("custom_pin",)
    with pytest.raises(InvalidResponseError, match=r"subscription\.features: expected a list"):
        Subscription.from_dict({"features": "custom_pin"})
    with pytest.raises(InvalidResponseError, match=r"subscription\.features: expected a list"):
        Subscription.from_dict({"features": ["custom_pin", 3]})


@pytest.mark.parametrize("value", [None, "absent"])
def test_an_entry_without_its_time_is_refused(value: str | None) -> None:
    data = load("entry")
    if value is None:
        data["utc_date_time"] = None
    else:
        del data["utc_date_time"]
    with pytest.raises(InvalidResponseError, match=r"entry\.utc_date_time: required field"):
        Entry.from_dict(data)
