"""Guest access in the simulator: guests, seats, PINs, keys, access groups, schedules, the window."""

from __future__ import annotations

from typing import Any

import pytest

from simulator import Simulator

from .conftest import Api, Clock, lock_by_name


def _group(sim: Simulator, name: str) -> str:
    return next(g.id for g in sim.guest_access.groups.values() if g.name == name)


async def _guest(
    api: Api, alias: str = "Guest Greta", expires: str = "2026-08-20T12:00:00Z"
) -> Any:
    reply = await api.request(
        "POST", api.site("/guests"), json={"alias": alias, "expires_at": expires}
    )
    assert reply.status == 201, reply.text
    return reply.json()


@pytest.fixture
def settled(salto_sim: Simulator) -> None:
    """No consistency window: calls about a new guest answer at once."""
    salto_sim.configure_guest_access(consistency_seconds=0)


async def test_guest_is_a_site_guest_with_two_ids(api: Api, clock: Clock, settled: None) -> None:
    guest = await _guest(api)
    assert [r["code"] for r in guest["roles"]] == ["site_guest"]
    assert guest["use_pin"] is False
    assert guest["subscription_state"] == "subscribed"
    assert guest["expires_at"] == "2026-08-20T12:00:00Z"
    assert guest["id"] != guest["user"]["id"]
    listed = (await api.get(api.site("/users"))).json()["items"]
    assert guest["id"] in {u["id"] for u in listed}


async def test_pin_is_a_bare_six_digit_string_and_a_key(
    api: Api, clock: Clock, settled: None
) -> None:
    guest = await _guest(api)
    reply = await api.request(
        "PUT", api.site(f"/users/{guest['id']}/pin"), json={"expiry_date": "2026-08-20T12:00:00Z"}
    )
    assert reply.status == 200
    pin = reply.json()
    assert isinstance(pin, str)
    assert len(pin) == 6
    assert pin.isdigit()
    keys = (await api.get(api.site(f"/users/{guest['id']}/keys"))).json()["items"]
    assert keys == [
        {
            "type": "pin",
            "key_identifier": "pin",
            "expiry_date": "2026-08-20T12:00:00Z",
            "offline_access": False,
        }
    ]
    custom = await api.request("PUT", api.site(f"/users/{guest['id']}/pin"), json={"pin": "1234"})
    assert custom.status == 403  # custom PINs need the custom_pin feature


async def test_consistency_window_answers_2202_and_2203(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    salto_sim.configure_guest_access(consistency_seconds=60)
    guest = await _guest(api)
    group = _group(salto_sim, "Apartment")
    pin = await api.request("PUT", api.site(f"/users/{guest['id']}/pin"), json={})
    assert (pin.status, pin.json()["ErrorCode"]) == (404, "2202")
    join = await api.request(
        "POST", api.site(f"/access_groups/{group}/users"), json={"user_id": guest["user"]["id"]}
    )
    assert (join.status, join.json()["ErrorCode"]) == (403, 2203)
    clock.advance(61)
    pin = await api.request("PUT", api.site(f"/users/{guest['id']}/pin"), json={})
    assert pin.status == 200
    join = await api.request(
        "POST", api.site(f"/access_groups/{group}/users"), json={"user_id": guest["user"]["id"]}
    )
    assert join.status == 201


async def test_membership_takes_the_platform_id(
    api: Api, salto_sim: Simulator, clock: Clock, settled: None
) -> None:
    guest = await _guest(api)
    group = _group(salto_sim, "Apartment")
    wrong = await api.request(
        "POST", api.site(f"/access_groups/{group}/users"), json={"user_id": guest["id"]}
    )
    assert (wrong.status, wrong.json()["ErrorCode"]) == (404, "2202")
    right = await api.request(
        "POST", api.site(f"/access_groups/{group}/users"), json={"user_id": guest["user"]["id"]}
    )
    assert right.status == 201
    assert guest["user"]["id"] in salto_sim.guest_access.groups[group].members
    out = await api.request(
        "DELETE", api.site(f"/access_groups/{group}/users/{guest['user']['id']}")
    )
    assert out.status == 202
    assert salto_sim.guest_access.groups[group].members == []


async def test_groups_locks_and_time_schedules(api: Api, salto_sim: Simulator) -> None:
    groups = (await api.get(api.site("/access_groups"))).json()["items"]
    assert {g["customer_reference"] for g in groups} == {"Apartment", "Storage"}
    apartment = _group(salto_sim, "Apartment")
    locks = (await api.get(api.site(f"/access_groups/{apartment}/locks"))).json()["items"]
    assert {lock["customer_reference"] for lock in locks} == {"Front Door", "Back Door"}
    schedules = await api.get(api.site(f"/access_groups/{apartment}/time_schedules", "v1.1"))
    assert len(schedules.json()["items"]) == 1
    storage = _group(salto_sim, "Storage")
    none = await api.get(api.site(f"/access_groups/{storage}/time_schedules", "v1.1"))
    assert none.json()["items"] == []
    v12 = await api.get(api.site(f"/access_groups/{storage}/time_schedules"))
    assert v12.status == 405
    no_day = await api.request(
        "POST", api.site(f"/access_groups/{storage}/time_schedules", "v1.1"), json={}
    )
    assert (no_day.status, no_day.json()["ErrorCode"]) == (400, 1101)
    unknown = await api.get(api.site("/access_groups/00000000-0000-4000-8000-000000000000"))
    assert unknown.status == 404


async def test_no_seat_left_creates_the_guest_suspended(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    salto_sim.configure_guest_access(
        seat_limit=salto_sim.guest_access.seats_used(salto_sim.site_id)
    )
    guest = await _guest(api)
    assert guest["subscription_state"] == "suspended"
    removed = await api.request("DELETE", api.site(f"/users/{guest['id']}"))
    assert removed.status == 202
    again = await api.request("DELETE", api.site(f"/users/{guest['id']}"))
    assert (again.status, again.json()["ErrorCode"]) == (404, "2202")


async def test_subscription_features_and_site_pins(api: Api, salto_sim: Simulator) -> None:
    sub = (await api.get(api.site("/subscription"))).json()
    assert "custom_pin" not in sub["features"]
    assert sub["user_amount"] == salto_sim.guest_access.seat_limit
    salto_sim.configure_guest_access(features=["custom_pin"], pin_enabled=False)
    assert (await api.get(api.site("/subscription"))).json()["features"] == ["custom_pin"]
    assert (await api.get(api.site())).json()["pin_enabled"] is False


async def test_site_without_pins_refuses_a_pin(
    api: Api, salto_sim: Simulator, clock: Clock, settled: None
) -> None:
    salto_sim.configure_guest_access(pin_enabled=False)
    guest = await _guest(api)
    reply = await api.request("PUT", api.site(f"/users/{guest['id']}/pin"), json={})
    assert (reply.status, reply.json()["ErrorCode"]) == (403, 2203)


async def _pin_guest(api: Api, sim: Simulator, group: str = "Apartment") -> tuple[Any, str]:
    guest = await _guest(api)
    pin = (await api.request("PUT", api.site(f"/users/{guest['id']}/pin"), json={})).json()
    join = await api.request(
        "POST",
        api.site(f"/access_groups/{_group(sim, group)}/users"),
        json={"user_id": guest["user"]["id"]},
    )
    assert join.status == 201
    return guest, pin


async def test_typed_pin_opens_then_is_refused_after_removal(
    api: Api, salto_sim: Simulator, clock: Clock, settled: None
) -> None:
    guest, pin = await _pin_guest(api, salto_sim)
    front = lock_by_name(salto_sim, "Front Door")
    row = (await api.control("POST", f"/locks/{front}/pin", {"pin": pin})).json()
    assert (row["event_category"], row["access_by"]) == ("lock_opened", "pin_code")
    assert row["user_id"] == guest["user"]["id"]
    storage = lock_by_name(salto_sim, "Storage Room")
    assert salto_sim.type_pin(storage, pin)["event_category"] == "lock_rejected"
    wrong = salto_sim.type_pin(front, "000000" if pin != "000000" else "111111")
    assert (wrong["event_category"], wrong["event_detail"], wrong["user_id"]) == (
        "lock_rejected",
        "no_access",
        None,
    )
    await api.request("DELETE", api.site(f"/users/{guest['id']}"))
    after = salto_sim.type_pin(front, pin)
    assert (after["event_category"], after["event_detail"]) == ("lock_rejected", "no_access")


async def test_typed_pin_is_refused_when_expired_or_without_schedule(
    api: Api, salto_sim: Simulator, clock: Clock, settled: None
) -> None:
    _guest_row, pin = await _pin_guest(api, salto_sim, "Storage")
    storage = lock_by_name(salto_sim, "Storage Room")
    assert salto_sim.type_pin(storage, pin)["event_category"] == "lock_rejected"
    _other, pin2 = await _pin_guest(api, salto_sim)
    front = lock_by_name(salto_sim, "Front Door")
    assert salto_sim.type_pin(front, pin2)["event_category"] == "lock_opened"
    clock.advance(86_400)  # past the guest's expires_at
    assert salto_sim.type_pin(front, pin2)["event_category"] == "lock_rejected"


async def test_control_api_settings_and_groups(api: Api, salto_sim: Simulator) -> None:
    reply = await api.control("PATCH", "/guest_access", {"consistency_seconds": 2})
    assert reply.json()["consistency_seconds"] == 2
    bad = await api.control("PATCH", "/guest_access", {"seats": 3})
    assert bad.status == 400
    front = lock_by_name(salto_sim, "Front Door")
    group = (
        await api.control(
            "POST", "/access_groups", {"name": "Cleaner", "lock_ids": [front], "schedule": False}
        )
    ).json()
    assert group["time_schedules"] == []
    added = await api.control(
        "POST",
        f"/access_groups/{group['id']}/time_schedules",
        {"monday": True, "start_time": "08:00:00", "end_time": "12:00:00"},
    )
    assert added.status == 201
    assert added.json()["end_time"] == "12:00:59"
    state = (await api.control("GET", "/state")).json()
    assert "Cleaner" in {g["customer_reference"] for g in state["access_groups"]}
    missing = await api.control("POST", f"/locks/{front}/pin", {})
    assert missing.status == 400
