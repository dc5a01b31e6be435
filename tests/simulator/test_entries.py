"""Entries: OData subset, continuation paging, versions, legacy audit paths, incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulator import Simulator

from .conftest import Api, Reply, lock_by_name, user_by_name

BASE = datetime(2026, 8, 19, 12, 0, 0, tzinfo=UTC)


def seed_rows(sim: Simulator, count: int) -> list[str]:
    """Replace the log by ``count`` openings one minute apart from BASE; their ids, oldest first."""
    sim.state.entries[sim.site_id].clear()
    lock = lock_by_name(sim, "Front Door")
    alice = user_by_name(sim, "Alice")["user"]["id"]
    return [
        sim.open_by(lock, alice, "tag", utc=BASE + timedelta(minutes=n))["id"] for n in range(count)
    ]


async def entries(api: Api, params: dict[str, str], token: str | None = None, **kw: Any) -> Reply:
    headers = {"CLP-Continuation-Token": token} if token else {}
    return await api.get(api.site("/entries", "v1.1"), params=params, headers=headers, **kw)


async def test_row_shape(api: Api, salto_sim: Simulator) -> None:
    body = (await entries(api, {})).json()
    assert set(body) == {"items", "continuation_token"}
    row = body["items"][0]
    assert set(row) == {
        "id", "event_category", "event_detail", "utc_date_time", "local_date_time", "lock_id",
        "lock_mac_address", "lock_customer_reference", "user_id", "user_first_name",
        "user_last_name", "user_image_url", "user_alias", "iq_id", "iq_customer_reference",
        "iq_mac_address", "iq_revision", "exit_requested", "access_by", "access_detail",
        "ttl_in_seconds", "expiration_date_time",
    }  # fmt: skip
    assert row["utc_date_time"].endswith("Z")
    assert row["ttl_in_seconds"] == 7776000


@pytest.mark.parametrize(
    "literal",
    ["DateTime'2026-08-19T12:05:00Z'", "2026-08-19T12:05:00Z", "'2026-08-19T12:05:00Z'"],
)
async def test_filter_literals(api: Api, salto_sim: Simulator, literal: str) -> None:
    ids = seed_rows(salto_sim, 10)
    body = (
        await entries(
            api, {"$filter": f"utc_date_time ge {literal}", "$orderby": "utc_date_time desc"}
        )
    ).json()
    assert [r["id"] for r in body["items"]] == ids[:4:-1]
    assert body["continuation_token"] is None


async def test_filter_and_order_and_top(api: Api, salto_sim: Simulator) -> None:
    ids = seed_rows(salto_sim, 10)
    flt = "utc_date_time gt DateTime'2026-08-19T12:02:00Z' and utc_date_time lt DateTime'2026-08-19T12:08:00Z'"
    desc = (await entries(api, {"$filter": flt, "$orderby": "utc_date_time desc"})).json()
    assert [r["id"] for r in desc["items"]] == ids[3:8][::-1]
    local = (await entries(api, {"$filter": flt, "$orderby": "local_date_time desc"})).json()
    assert [r["id"] for r in local["items"]] == ids[3:8][::-1]
    default = (await entries(api, {"$filter": flt})).json()
    assert [r["id"] for r in default["items"]] == ids[3:8][::-1]
    le = (
        await entries(
            api,
            {
                "$filter": "utc_date_time le 2026-08-19T12:01:00Z",
                "$orderby": "local_date_time desc",
            },
        )
    ).json()
    assert [r["id"] for r in le["items"]] == [ids[1], ids[0]]
    top = (await entries(api, {"$orderby": "utc_date_time desc", "$top": "4"})).json()
    assert [r["id"] for r in top["items"]] == ids[::-1][:4]
    assert top["continuation_token"]


@pytest.mark.parametrize(
    "params",
    [
        {"$orderby": "date"},
        {"$orderby": "utc_date_time sideways"},
        {"$orderby": "utc_date_time asc"},
        {"$orderby": "local_date_time asc"},
        {"$orderby": "utc_date_time"},
        {"$filter": "utc_date_time ge yesterday"},
        {"$filter": "customer_reference eq 'x'"},
        {
            "$filter": "utc_date_time ge 2026-08-19T12:00:00Z or utc_date_time lt 2026-01-01T00:00:00Z"
        },
        {"$skip": "10"},
        {"$top": "-1"},
    ],
)
async def test_bad_odata_is_1102(api: Api, params: dict[str, str]) -> None:
    reply = await entries(api, params)
    assert reply.status == 400
    assert reply.json()["ErrorCode"] == 1102


async def test_v3_literal_refused_when_conversion_disabled(api: Api, salto_sim: Simulator) -> None:
    seed_rows(salto_sim, 3)
    headers = {"CLP-disable-odata-v3-conversion": "true"}
    v3 = await api.get(
        api.site("/entries", "v1.1"),
        params={"$filter": "utc_date_time ge DateTime'2026-08-19T12:00:00Z'"},
        headers=headers,
    )
    assert v3.status == 400
    plain = await api.get(
        api.site("/entries", "v1.1"),
        params={"$filter": "utc_date_time ge 2026-08-19T12:00:00Z"},
        headers=headers,
    )
    assert len(plain.json()["items"]) == 3


async def test_continuation_paging(api: Api, salto_sim: Simulator) -> None:
    ids = seed_rows(salto_sim, 7)
    params = {"$orderby": "utc_date_time desc", "$top": "3"}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body = (await entries(api, params, token)).json()
        pages += 1
        seen += [r["id"] for r in body["items"]]
        token = body["continuation_token"]
        if token is None:
            break
        assert isinstance(token, str)
        assert token.startswith("{")  # an escaped JSON string in the body
    assert seen == ids[::-1]
    assert pages == 3


async def test_continuation_with_ge_filter_and_shared_seconds(
    api: Api, salto_sim: Simulator
) -> None:
    """desc + ge + continuation: every matching row once, newest first, also inside one second."""
    ids = seed_rows(salto_sim, 6)
    lock = lock_by_name(salto_sim, "Front Door")
    same = [
        salto_sim.open_by(lock, None, "inside_handle", utc=BASE + timedelta(minutes=3))["id"]
        for _ in range(3)
    ]
    params = {
        "$orderby": "utc_date_time desc",
        "$filter": "utc_date_time ge DateTime'2026-08-19T12:03:00Z'",
        "$top": "2",
    }
    seen: list[str] = []
    token = None
    while True:
        body = (await entries(api, params, token)).json()
        seen += [r["id"] for r in body["items"]]
        token = body["continuation_token"]
        if token is None:
            break
    # Rows of one second come newest (last added) first, as a descending order by time would.
    assert seen == [ids[5], ids[4], *same[::-1], ids[3]]


async def test_paging_is_stable_when_rows_arrive(api: Api, salto_sim: Simulator) -> None:
    ids = seed_rows(salto_sim, 4)
    params = {"$orderby": "utc_date_time desc", "$top": "2"}
    first = (await entries(api, params)).json()
    salto_sim.open_by(
        lock_by_name(salto_sim, "Back Door"), None, "inside_handle", utc=BASE + timedelta(hours=1)
    )
    second = (await entries(api, params, first["continuation_token"])).json()
    assert [r["id"] for r in first["items"] + second["items"]] == ids[::-1]


async def test_zero_item_pages_still_carry_a_token(api: Api, salto_sim: Simulator) -> None:
    ids = seed_rows(salto_sim, 4)
    salto_sim.tenant.entries_empty_pages = True
    params = {"$orderby": "utc_date_time desc", "$top": "2"}
    sizes: list[int] = []
    seen: list[str] = []
    token = None
    while True:
        body = (await entries(api, params, token)).json()
        sizes.append(len(body["items"]))
        seen += [r["id"] for r in body["items"]]
        token = body["continuation_token"]
        if token is None:
            break
    assert sizes == [0, 2, 0, 2]
    assert seen == ids[::-1]


async def test_page_size_capped_by_tenant(api: Api, salto_sim: Simulator) -> None:
    seed_rows(salto_sim, 6)
    salto_sim.tenant.entries_page_size = 4
    body = (await entries(api, {"$top": "100"})).json()
    assert len(body["items"]) == 4
    assert body["continuation_token"]


async def test_bad_continuation_token(api: Api) -> None:
    reply = await entries(api, {}, token="not json")
    assert reply.status == 400
    assert reply.json()["ErrorCode"] == 1100


async def test_v12_entries_is_405(api: Api) -> None:
    assert (await api.get(api.site("/entries", "v1.2"))).status == 405
    assert (await api.get(api.site("/incidents", "v1.2"))).status == 405


@pytest.mark.parametrize(
    ("audit_path", "suffix"), [("audit-trails", "/audit-trails"), ("audit/log", "/audit/log")]
)
async def test_legacy_audit_paths(
    api: Api, salto_sim: Simulator, audit_path: str, suffix: str
) -> None:
    """Only the legacy profile serves them; every path it does not serve is a bare 404."""
    ids = seed_rows(salto_sim, 3)
    name = audit_path.replace("-", "_").replace("/", "_")
    for profile in ("connect", "legacy"):
        salto_sim.tenant.update(profile=profile)
        unknown = await api.get(api.site(suffix, "v1.1"))
        assert (unknown.status, unknown.text) == (404, "404: Not Found")
    assert salto_sim.counters.get(name) == 1  # not counted where the route does not exist
    salto_sim.tenant.update(audit_path=audit_path)
    entries_reply = await api.get(api.site("/entries", "v1.1"))
    assert (entries_reply.status, entries_reply.text) == (404, "404: Not Found")
    legacy = await api.get(api.site(suffix, "v1.1"), params={"$orderby": "utc_date_time desc"})
    assert legacy.status == 200
    assert [r["id"] for r in legacy.json()["items"]] == ids[::-1]
    assert salto_sim.counters[name] == 2
    # An unknown site on the served path: a Connect error body, not a bare 404.
    site = api.site(suffix, "v1.1").replace(
        salto_sim.site_id, "00000000-0000-0000-0000-000000000000"
    )
    assert (await api.get(site)).json()["ErrorCode"] == 1100


async def test_incidents_and_generated_events(api: Api, salto_sim: Simulator) -> None:
    seed_rows(salto_sim, 0)
    lock = lock_by_name(salto_sim, "Back Door")
    bob = user_by_name(salto_sim, "Bob")["user"]["id"]
    same = BASE + timedelta(minutes=30)
    salto_sim.reject(lock, bob, utc=same)
    salto_sim.door_left_open(lock, utc=same)
    salto_sim.intrusion(lock, utc=same)
    salto_sim.tamper(lock, utc=same)
    salto_sim.low_battery(lock, "critical", utc=same)
    salto_sim.office_mode(lock, start=True, utc=same)
    salto_sim.office_mode(lock, start=False, utc=same)
    salto_sim.privacy_mode(lock, on=True, utc=same)
    rows = (await entries(api, {"$orderby": "utc_date_time desc"})).json()["items"][::-1]
    assert {r["utc_date_time"] for r in rows} == {"2026-08-19T12:30:00Z"}
    assert [(r["event_category"], r["event_detail"]) for r in rows] == [
        ("lock_rejected", "no_access"),
        ("door_left_open", None),
        ("intrusion", None),
        ("tamper", None),
        ("low_battery", None),
        ("easy_office_mode", "start"),
        ("easy_office_mode", "end"),
        ("privacy_mode", "start"),
    ]
    assert rows[0]["user_last_name"] == "Baker"
    state = (await api.get(api.site(f"/locks/{lock}"))).json()
    assert state["left_open_alarm"] is True
    assert state["intrusion_alarm"] is True
    assert state["battery_level"] == "critical"
    assert state["privacy_mode"] is True
    incidents = (await api.get(api.site("/incidents", "v1.1"))).json()["items"]
    assert sorted(r["event_category"] for r in incidents) == [
        "door_left_open", "intrusion", "low_battery", "tamper",
    ]  # fmt: skip
    filtered = (
        await entries(api, {"$filter": f"lock_id eq '{lock}' and event_category eq 'tamper'"})
    ).json()
    assert [r["event_category"] for r in filtered["items"]] == ["tamper"]
