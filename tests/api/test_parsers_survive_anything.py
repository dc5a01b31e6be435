"""Property tests: whatever JSON a server sends, parsers return a model or raise InvalidResponseError.

Hypothesis feeds every model's ``from_dict``, the list/entries page parsers and the error mappers with
random JSON-like values, with wrong types in every known field, huge strings, huge numbers and odd dates.
Runs are derandomized (same examples on every run) so CI is repeatable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custom_components.salto_ks.api import (
    EasyOfficeModeSchedule,
    Entry,
    InvalidResponseError,
    Iq,
    Lock,
    LockIq,
    OtpRequiredError,
    RateLimitedError,
    SaltoKSError,
    Site,
    SiteUser,
    TokenResponse,
)
from custom_components.salto_ks.api._http import Scrubber, api_error, parse_retry_after, token_error
from custom_components.salto_ks.api.pages import entries_page, list_page

from .helpers import load

FAST = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -----------------------------------------------------------------------------------


def _offset_iso(moment: datetime, minutes: int) -> str:
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


huge_strings = st.builds(lambda c, n: c * n, st.characters(), st.integers(1000, 200_000))
date_strings = st.one_of(
    st.datetimes().map(datetime.isoformat),
    st.builds(_offset_iso, st.datetimes(), st.integers(-1439, 1439)),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2026-08-19T12:50:38Z",
            "2026-13-45T99:99:99Z",
            "\uff12\uff10\uff12\uff16-08-19",  # full-width digits
            "",
        ]
    ),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),  # json.loads allows 4300 digits
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 101, 2**63, -(2**63), 1e308, -1e308, 5e-324]),
)
number_strings = st.sampled_from(
    ["nan", "NaN", "inf", "-inf", "1e400", "-0", "3600", " 12 ", "1_0"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(),
    huge_strings,
    date_strings,
    number_strings,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)


MISSING = object()  # a mutation that removes the key


def fields_of(keys: dict[str, st.SearchStrategy[Any] | None]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding any subset of the known keys, each with a hostile (or nested) value."""
    optional = {key: _value_for(nested) for key, nested in keys.items()}
    return st.fixed_dictionaries({}, optional=optional)


def _value_for(nested: st.SearchStrategy[Any] | None) -> st.SearchStrategy[Any]:
    return json_values if nested is None else st.one_of(json_values, nested)


def _apply(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **overlay}
    return {key: value for key, value in merged.items() if value is not MISSING}


def mutated(
    base: dict[str, Any], keys: dict[str, st.SearchStrategy[Any] | None]
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid payload with one to three known fields replaced or removed.

    Changing few fields of a valid payload lets every field's check be reached, not just the first.
    """

    def overlay(chosen: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {key: st.one_of(st.just(MISSING), _value_for(keys[key])) for key in chosen}
        )

    chosen = st.lists(st.sampled_from(sorted(keys)), min_size=1, max_size=3, unique=True)
    return chosen.flatmap(overlay).map(lambda over: _apply(base, over))


def hostile(
    name: str | dict[str, Any], keys: dict[str, st.SearchStrategy[Any] | None]
) -> st.SearchStrategy[dict[str, Any]]:
    """Known keys with random values, or a valid payload (an example of the record) with a few broken."""
    base = load(name) if isinstance(name, str) else name
    return st.one_of(fields_of(keys), mutated(base, keys))


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_LOCK = load("lock")
lock_iq_dicts = hostile(
    _LOCK["iq"],
    dict.fromkeys(
        (
            "id",
            "customer_reference",
            "is_online",
            "online",
            "revision",
            "otp_enabled",
            "mac_address",
        )
    ),
)
schedule_dicts = hostile(
    _LOCK["easy_office_mode_schedule"],
    dict.fromkeys(
        ("eom_auto_start", *_WEEKDAYS, "start_time", "end_time", "start_date", "end_date")
    ),
)
site_dicts = hostile("site", dict.fromkeys(("id", "site_uid", "customer_reference", "time_zone")))
lock_dicts = hostile(
    "lock",
    {
        **dict.fromkeys(
            (
                "id",
                "customer_reference",
                "online",
                "locked_state",
                "battery_level",
                "left_open_alarm",
                "intrusion_alarm",
                "privacy_mode",
                "lock_type",
                "mac",
            )
        ),
        "easy_office_mode_schedule": schedule_dicts,
        "iq": lock_iq_dicts,
    },
)
iq_dicts = hostile(
    "iq",
    dict.fromkeys(
        (
            "id",
            "customer_reference",
            "online",
            "signal_strength",
            "data_sync_state",
            "revision",
            "otp_enabled",
            "mac",
            "time_zone",
        )
    ),
)
_SITE_USER = load("site_user")
role_dicts = hostile(_SITE_USER["roles"][0], dict.fromkeys(("id", "code", "customer_reference")))
site_user_dicts = hostile(
    "site_user",
    {
        "id": None,
        "user": hostile(
            _SITE_USER["user"], dict.fromkeys(("id", "first_name", "last_name", "email"))
        ),
        "alias": None,
        "roles": st.lists(st.one_of(role_dicts, json_values), max_size=4),
        "remote_access": None,
        "blocked": None,
    },
)
entry_dicts = hostile(
    "entry",
    {
        **dict.fromkeys(
            (
                "id",
                "event_category",
                "event_detail",
                "lock_id",
                "lock_customer_reference",
                "user_id",
                "user_first_name",
                "user_last_name",
                "user_alias",
                "access_by",
                "access_detail",
                "iq_id",
                "exit_requested",
            )
        ),
        "utc_date_time": date_strings,
    },
)
token_dicts = hostile(
    "token_response",
    {
        **dict.fromkeys(("access_token", "token_type", "scope", "refresh_token")),
        "expires_in": st.one_of(numbers, number_strings),
    },
)

MODELS: list[tuple[Callable[[object], Any], type[Any], st.SearchStrategy[dict[str, Any]]]] = [
    (Site.from_dict, Site, site_dicts),
    (LockIq.from_dict, LockIq, lock_iq_dicts),
    (EasyOfficeModeSchedule.from_dict, EasyOfficeModeSchedule, schedule_dicts),
    (Lock.from_dict, Lock, lock_dicts),
    (Iq.from_dict, Iq, iq_dicts),
    (SiteUser.from_dict, SiteUser, site_user_dicts),
    (Entry.from_dict, Entry, entry_dicts),
    (TokenResponse.from_dict, TokenResponse, token_dicts),
]


def _check_model(parse: Callable[[object], Any], cls: type[Any], data: object) -> None:
    try:
        model = parse(data)
    except InvalidResponseError as err:
        error: InvalidResponseError | None = err
    else:
        error = None
    if error is not None:
        assert len(str(error)) < 300  # names the field and the type, never echoes the value
        return
    assert type(model) is cls
    as_dict = model.as_dict()
    text = json.dumps(as_dict, allow_nan=False)
    assert json.loads(text) == as_dict


# --- models ---------------------------------------------------------------------------------------


@FAST
@given(data=st.one_of(json_values, site_dicts))
def test_site_survives_anything(data: object) -> None:
    _check_model(Site.from_dict, Site, data)


@FAST
@given(data=st.one_of(json_values, lock_iq_dicts))
def test_lock_iq_survives_anything(data: object) -> None:
    _check_model(LockIq.from_dict, LockIq, data)


@FAST
@given(data=st.one_of(json_values, schedule_dicts))
def test_schedule_survives_anything(data: object) -> None:
    _check_model(EasyOfficeModeSchedule.from_dict, EasyOfficeModeSchedule, data)


@FAST
@given(data=st.one_of(json_values, lock_dicts))
def test_lock_survives_anything(data: object) -> None:
    _check_model(Lock.from_dict, Lock, data)


@FAST
@given(data=st.one_of(json_values, iq_dicts))
def test_iq_survives_anything(data: object) -> None:
    _check_model(Iq.from_dict, Iq, data)


@FAST
@given(data=st.one_of(json_values, site_user_dicts))
def test_site_user_survives_anything(data: object) -> None:
    _check_model(SiteUser.from_dict, SiteUser, data)


@FAST
@given(data=st.one_of(json_values, entry_dicts))
@example(data={**load("entry"), "utc_date_time": "0001-01-01T00:00:00+01:00"})  # OverflowError once
@example(data={**load("entry"), "access_detail": 10**4000})
def test_entry_survives_anything(data: object) -> None:
    _check_model(Entry.from_dict, Entry, data)


@FAST
@given(data=st.one_of(json_values, token_dicts))
@example(data={"access_token": "t", "expires_in": 10**400})  # OverflowError once
@example(data={"access_token": "t", "expires_in": "inf"})  # a token that never expired, once
@example(data={"access_token": "t", "expires_in": float("nan")})
def test_token_response_survives_anything(data: object) -> None:
    _check_model(TokenResponse.from_dict, TokenResponse, data)
    try:
        token = TokenResponse.from_dict(data)
    except InvalidResponseError:
        return
    assert token.expires_in is None or math.isfinite(token.expires_in)


# --- pages ----------------------------------------------------------------------------------------

model_index = st.integers(0, len(MODELS) - 1)


def _pages(items: st.SearchStrategy[Any], link_key: str) -> st.SearchStrategy[object]:
    item_lists = st.lists(st.one_of(items, json_values), max_size=5)
    return st.one_of(
        json_values,
        item_lists,
        fields_of({"items": st.one_of(item_lists, json_values), link_key: None, "count": None}),
    )


@FAST
@given(which=model_index, data=st.data())
def test_list_page_survives_anything(which: int, data: st.DataObject) -> None:
    parse, cls, items = MODELS[which]
    body = data.draw(_pages(items, "next_page_link"))
    try:
        parsed, link = list_page(body, parse, cls.__name__)
    except InvalidResponseError:
        return
    assert all(type(model) is cls for model in parsed)
    assert link is None or (isinstance(link, str) and link)


@FAST
@given(body=_pages(entry_dicts, "continuation_token"))
def test_entries_page_survives_anything(body: object) -> None:
    try:
        parsed, token = entries_page(body)
    except InvalidResponseError:
        return
    assert all(type(entry) is Entry for entry in parsed)
    if token is not None:
        assert isinstance(token, str)
        assert token
        assert "\r" not in token
        assert "\n" not in token


# --- error answers --------------------------------------------------------------------------------

bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    fields_of(dict.fromkeys(("ErrorCode", "Message", "error", "error_description", "title"))).map(
        lambda value: json.dumps(value).encode()
    ),
)
retry_after_values = st.one_of(
    st.none(), st.text(max_size=40), number_strings, date_strings, numbers.map(str)
)


@FAST
@given(
    status=st.integers(100, 599),
    body=bodies,
    retry_after=retry_after_values,
    token_endpoint=st.booleans(),
    locking=st.booleans(),
)
def test_error_mapping_survives_anything(
    status: int, body: bytes, retry_after: str | None, token_endpoint: bool, locking: bool
) -> None:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    scrub = Scrubber()
    scrub.add("hostile-secret-value")
    raw = body + b"hostile-secret-value"
    if token_endpoint:
        err = token_error(status, raw, headers, scrub)
    else:
        err = api_error(status, raw, headers, scrub, locking=locking)
    if not locking:
        assert not isinstance(err, OtpRequiredError)  # only the locking call asks for an OTP
    assert isinstance(err, SaltoKSError)
    assert err.status == status
    assert "hostile-secret-value" not in str(err)
    assert len(err.message) < 600
    if isinstance(err, RateLimitedError) and err.retry_after is not None:
        assert math.isfinite(err.retry_after)
        assert err.retry_after >= 0


@FAST
@given(value=retry_after_values)
@example(value="inf")  # an endless wait, once
@example(value="nan")
def test_retry_after_parser_survives_anything(value: str | None) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
