"""Connect API: list envelopes, paging, objects, and the locking call with every error."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from simulator import Simulator

from .conftest import Api, Clock, lock_by_name, user_by_name

LOCK_KEYS = {
    "id", "customer_reference", "mac", "floor", "lock_type", "online", "locked_state",
    "battery_level", "left_open_alarm", "intrusion_alarm", "privacy_mode", "iq_link_state",
    "tag_registration_state", "offline_access_keys_limit", "offline_access_keys_count",
    "communication_type", "easy_office_mode_schedule", "iq", "repeater", "vendor",
}  # fmt: skip
IQ_KEYS = {
    "id", "customer_reference", "time_zone", "mac", "operator", "state", "restore_required",
    "reset_date", "online", "led_enabled", "data_sync_state", "signal_strength", "revision",
    "otp_enabled",
}  # fmt: skip
SITE_USER_KEYS = {
    "id", "user", "roles", "alias", "toggle_easy_office_mode", "toggle_manual_office_mode",
    "remote_access", "blocked", "tag_owned_by_this_site", "subscription_state",
    "override_privacy_mode", "use_pin", "data_removal_expires_at", "expires_at",
}  # fmt: skip


async def test_sites_envelope_per_version(api: Api, salto_sim: Simulator) -> None:
    v11 = (await api.get("/v1.1/sites")).json()
    assert set(v11) == {"items", "next_page_link", "count"}
    assert v11["next_page_link"] is None
    v12 = (await api.get("/v1.2/sites")).json()
    assert isinstance(v12, list)
    assert v12 == v11["items"]
    site = v12[0]
    assert site["id"] == salto_sim.site_id
    assert site["customer_reference"] == "Salto Sim Office"
    assert site["time_zone"] == "Europe/Berlin"
    assert site["owner"]["email"] == salto_sim.username
    one = await api.get(api.site())
    assert one.json() == site
    by_uid = (await api.get("/v1.1/sites", params={"$filter": "site_uid eq 'DE4520000001'"})).json()
    assert [s["id"] for s in by_uid["items"]] == [salto_sim.site_id]


async def test_site_uid_and_unknown_ids(api: Api) -> None:
    by_uid = await api.get("/v1.2/sites/DE4520000001/locks")
    assert by_uid.status == 400
    assert by_uid.json()["ErrorCode"] == 1100
    unknown = await api.get("/v1.2/sites/00000000-0000-4000-8000-000000000000")
    assert unknown.status == 404
    assert set(unknown.json()) == {"ErrorCode", "Message"}
    lock = await api.get(api.site("/locks/00000000-0000-4000-8000-000000000000"))
    assert lock.status == 404
    assert lock.json()["ErrorCode"] != "2202"


async def test_lock_shape(api: Api, salto_sim: Simulator) -> None:
    body = (await api.get(api.site("/locks"))).json()
    assert set(body) == {"items", "next_page_link", "count"}
    locks = body["items"]
    assert {lock["customer_reference"] for lock in locks} == {
        "Front Door",
        "Back Door",
        "Storage Room",
    }
    assert len({lock["lock_type"] for lock in locks}) == 3
    for lock in locks:
        assert set(lock) == LOCK_KEYS
        assert set(lock["iq"]) == {
            "id",
            "customer_reference",
            "mac_address",
            "is_online",
            "revision",
            "otp_enabled",
        }
        assert set(lock["vendor"]) == {"id", "reference", "display_name"}
    front = next(lock for lock in locks if lock["customer_reference"] == "Front Door")
    schedule = front["easy_office_mode_schedule"]
    assert schedule["eom_auto_start"] is True
    assert schedule["monday"] is True
    assert schedule["sunday"] is False
    single = await api.get(api.site(f"/locks/{front['id']}"))
    assert single.json() == front


async def test_locks_paging_with_top(api: Api, salto_sim: Simulator) -> None:
    for n in range(4):
        salto_sim.add_lock(name=f"Extra {n}")
    first = (await api.get(api.site("/locks"), params={"$top": "3"})).json()
    assert len(first["items"]) == 3
    link = first["next_page_link"]
    assert link.startswith(salto_sim.url + "/v1.2/sites/")
    second = (await api.get(link)).json()
    assert len(second["items"]) == 3
    third = (await api.get(second["next_page_link"])).json()
    assert len(third["items"]) == 1
    assert third["next_page_link"] is None
    ids = [lk["id"] for page in (first, second, third) for lk in page["items"]]
    assert sorted(ids) == sorted(salto_sim.state.locks)
    bad = await api.get(api.site("/locks"), params={"$top": "zero"})
    assert bad.status == 400
    assert bad.json()["ErrorCode"] == 1102


async def test_default_page_size_from_tenant(api: Api, salto_sim: Simulator) -> None:
    salto_sim.tenant.page_size = 2
    body = (await api.get(api.site("/locks"))).json()
    assert len(body["items"]) == 2
    assert body["next_page_link"] is not None


async def test_iqs_and_users(api: Api, salto_sim: Simulator) -> None:
    iqs = (await api.get(api.site("/iqs"))).json()
    assert set(iqs) == {"items", "next_page_link", "count"}
    assert len(iqs["items"]) == 1
    iq = iqs["items"][0]
    assert set(iq) == IQ_KEYS
    assert iq["data_sync_state"] == "not_synced"
    assert (await api.get(api.site(f"/iqs/{iq['id']}"))).json() == iq
    users = (await api.get(api.site("/users"))).json()
    assert set(users) == {"items", "next_page_link", "count"}
    assert len(users["items"]) == 3
    for su in users["items"]:
        assert set(su) == SITE_USER_KEYS
        assert su["id"] != su["user"]["id"]
        assert {r["code"] for r in su["roles"]} <= {"site_admin", "site_user"}
    system = next(su for su in users["items"] if su["user"]["email"] == salto_sim.username)
    assert system["remote_access"] is True
    assert system["roles"][0]["code"] == "site_admin"
    page = (await api.get(api.site("/users"), params={"$top": "2"})).json()
    assert len(page["items"]) == 2
    assert page["next_page_link"]


async def unlock(api: Api, lock_id: str, **extra: Any) -> Any:
    return await api.request(
        "PATCH", api.site(f"/locks/{lock_id}/locking"), json={"locked_state": "unlocked", **extra}
    )


async def test_unlock_appends_entry_and_relocks_lazily(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    front = lock_by_name(salto_sim, "Front Door")
    salto_sim.set_lock(front, open_time=5)
    before = len(salto_sim.entries())
    reply = await unlock(api, front)
    assert reply.status == 200
    assert reply.json()["locked_state"] == "unlocked"
    entries = salto_sim.entries()
    assert len(entries) == before + 1
    row = entries[-1]
    system = user_by_name(salto_sim, "System")
    assert row["event_category"] == "lock_opened"
    assert row["access_by"] == "remote"
    assert row["user_id"] == system["user"]["id"]
    assert (row["user_first_name"], row["user_last_name"]) == ("System", "User")
    assert row["lock_id"] == front
    assert row["utc_date_time"] == "2026-08-19T12:00:00Z"
    clock.advance(4)
    assert (await api.get(api.site(f"/locks/{front}"))).json()["locked_state"] == "unlocked"
    clock.advance(1)
    assert (await api.get(api.site(f"/locks/{front}"))).json()["locked_state"] == "locked"


async def test_remote_lock_and_office_mode(api: Api, salto_sim: Simulator) -> None:
    back = lock_by_name(salto_sim, "Back Door")
    reply = await api.request(
        "PATCH", api.site(f"/locks/{back}/locking"), json={"locked_state": "office_mode"}
    )
    assert reply.json()["locked_state"] == "office_mode"
    assert salto_sim.entries()[-1]["event_category"] == "office_mode"
    reply = await api.request(
        "PATCH", api.site(f"/locks/{back}/locking"), json={"locked_state": "locked"}
    )
    assert reply.status == 200
    assert reply.json()["locked_state"] == "locked"
    assert salto_sim.entries()[-1]["event_detail"] == "end"


async def test_locking_errors(api: Api, salto_sim: Simulator) -> None:
    front = lock_by_name(salto_sim, "Front Door")
    storage = lock_by_name(salto_sim, "Storage Room")
    iq_id = salto_sim.state.locks[front].iq_id
    assert iq_id is not None
    path = api.site(f"/locks/{front}/locking")

    bad = await api.request("PATCH", path, json={"locked_state": "open_sesame"})
    assert (bad.status, bad.json()["ErrorCode"]) == (400, 1101)
    missing = await api.request("PATCH", path, json={})
    assert (missing.status, missing.json()["ErrorCode"]) == (400, 1100)

    no_remote = await api.request(
        "PATCH", api.site(f"/locks/{storage}/locking"), json={"locked_state": "locked"}
    )
    assert no_remote.status == 422
    assert no_remote.json() == {
        "ErrorCode": 1101,
        "Message": "The lock does not support this operation",
    }

    salto_sim.set_lock(front, online=False)
    offline = await unlock(api, front)
    assert offline.status == 422
    assert offline.json() == {"ErrorCode": 2203, "Message": "The lock is offline"}
    salto_sim.set_lock(front, online=True)
    salto_sim.set_iq(iq_id, online=False)
    iq_offline = await unlock(api, front)
    assert iq_offline.status == 422
    assert iq_offline.json() == {"ErrorCode": 2203, "Message": "The IQ is offline"}
    salto_sim.set_iq(iq_id, online=True)

    salto_sim.set_iq(iq_id, otp_enabled=True)
    no_otp = await unlock(api, front)
    assert no_otp.status == 404
    assert no_otp.json() == {"ErrorCode": "2202", "Message": "Otp is invalid"}
    wrong = await unlock(
        api, front, otp="00000" if salto_sim.valid_otp(iq_id) != "00000" else "11111"
    )
    assert wrong.status == 400
    assert wrong.json() == {"ErrorCode": 3102, "Message": "otp_invalid"}
    empty = await unlock(api, front, otp="")
    assert empty.status == 400
    assert empty.json() == {"ErrorCode": 1100, "Message": "The otp field is required."}
    good = await unlock(api, front, otp=salto_sim.valid_otp(iq_id).upper())
    assert good.status == 200
    salto_sim.set_iq(iq_id, otp_enabled=False)

    system = user_by_name(salto_sim, "System")
    salto_sim.set_user(system["id"], remote_access=False)
    forbidden = await unlock(api, front)
    assert forbidden.status == 403
    assert forbidden.json()["ErrorCode"] == 2203
    assert forbidden.json()["Message"].startswith("User does not have permission")
    salto_sim.set_user(system["id"], remote_access=True)
    assert (await unlock(api, front)).status == 200


async def test_offline_answer_403(api: Api, salto_sim: Simulator) -> None:
    """offline_answer="403": the documented 2203 "Operation cannot be executed", which names no cause."""
    front = lock_by_name(salto_sim, "Front Door")
    iq_id = salto_sim.state.locks[front].iq_id
    assert iq_id is not None
    salto_sim.tenant.update(offline_answer="403")
    salto_sim.set_lock(front, online=False)
    answer = {"ErrorCode": 2203, "Message": "Operation cannot be executed"}
    offline = await unlock(api, front)
    assert (offline.status, offline.json()) == (403, answer)
    salto_sim.set_lock(front, online=True)
    salto_sim.set_iq(iq_id, online=False)
    iq_offline = await unlock(api, front)
    assert (iq_offline.status, iq_offline.json()) == (403, answer)
    salto_sim.set_iq(iq_id, online=True)
    assert (await unlock(api, front)).status == 200


async def test_users_in_both_envelopes_and_unknown_user(api: Api, salto_sim: Simulator) -> None:
    listed = (await api.get(api.site("/users"))).json()["items"]
    salto_sim.tenant.update(users_envelope="array")
    bare = (await api.get(api.site("/users"))).json()
    assert bare == listed
    assert (await api.get(api.site("/users"), params={"$top": "2"})).json() == listed[:2]
    unknown = await api.get(api.site("/users/00000000-0000-0000-0000-000000000000"))
    assert (unknown.status, unknown.json()) == (
        404,
        {"ErrorCode": "2202", "Message": "User not found"},
    )
    assert (await api.get(api.site(f"/users/{listed[0]['id']}"))).json() == listed[0]


async def test_every_request_is_logged_without_query_or_secrets(
    api: Api, salto_sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line per request on the simulator logger: method, path, status, nothing else."""
    caplog.set_level(logging.INFO, logger="simulator")
    token = await api.login()
    await api.get(api.site("/locks"), params={"$top": "1", "access_token": token})
    await api.get(api.site("/entries", "v1.1"), params={"$orderby": "utc_date_time asc"})
    await api.get("/v1.2/nowhere")
    await api.control("GET", "/tenant")
    lines = [r.getMessage() for r in caplog.records if r.name == "simulator"]
    site = f"/sites/{salto_sim.site_id}"
    assert lines == [
        "POST /connect/token 200",
        f"GET /v1.2{site}/locks 200",
        f"GET /v1.1{site}/entries 400",
        "GET /v1.2/nowhere 404",
        "GET /_sim/tenant 200",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "simulator")
    for secret in (token, salto_sim.password, salto_sim.client_secret):
        assert secret not in caplog.text


async def test_otp_blocked_after_repeated_failures(api: Api, salto_sim: Simulator) -> None:
    front = lock_by_name(salto_sim, "Front Door")
    iq_id = salto_sim.state.locks[front].iq_id
    assert iq_id is not None
    salto_sim.set_iq(iq_id, otp="abcde", otp_enabled=True)
    for _ in range(8):
        assert (await unlock(api, front, otp="fffff")).status == 400
    blocked = await unlock(api, front, otp="abcde")
    assert blocked.status == 403
    assert blocked.json() == {"ErrorCode": 3102, "Message": "otp_blocked"}


async def test_non_member_is_forbidden(api: Api, salto_sim: Simulator) -> None:
    other = salto_sim.add_site("Elsewhere")
    sites = (await api.get("/v1.2/sites")).json()
    assert [s["id"] for s in sites] == [salto_sim.site_id]
    reply = await api.get(f"/v1.2/sites/{other}/locks")
    assert reply.status == 403
    assert reply.json()["ErrorCode"] == 2203


async def test_freezegun_drives_the_clock(api: Api, salto_sim: Simulator, freezer: Any) -> None:
    freezer.move_to("2026-08-19T12:00:00+00:00")
    front = lock_by_name(salto_sim, "Front Door")
    assert (await unlock(api, front)).status == 200
    assert salto_sim.entries()[-1]["utc_date_time"] == "2026-08-19T12:00:00Z"
    freezer.tick(6)
    assert salto_sim.lock_state(front)["locked_state"] == "unlocked"
    freezer.tick(1)
    assert (await api.get(api.site(f"/locks/{front}"))).json()["locked_state"] == "locked"
