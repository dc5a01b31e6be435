"""Office mode in the simulated cloud: manual office mode through locking (right, OTP) and the
easy office mode schedule endpoint (rights, validation, set and remove)."""

from __future__ import annotations

from typing import Any

import pytest

from simulator import Simulator

from .conftest import Api, lock_by_name, user_by_name

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _system_site_user(sim: Simulator) -> str:
    return str(user_by_name(sim, "System")["id"])


def _schedule(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"eom_auto_start": True, **dict.fromkeys(WEEKDAYS, False)}
    body.update(monday=True, friday=True, start_time="08:00:00", end_time="17:30:00")
    body.update(overrides)
    return body


async def test_office_mode_needs_the_manual_office_mode_right(
    api: Api, salto_sim: Simulator
) -> None:
    back = lock_by_name(salto_sim, "Back Door")
    path = api.site(f"/locks/{back}/locking")
    salto_sim.set_user(_system_site_user(salto_sim), toggle_manual_office_mode=False)
    refused = await api.request("PATCH", path, json={"locked_state": "office_mode"})
    assert (refused.status, refused.json()["ErrorCode"]) == (403, 2203)
    assert salto_sim.state.locks[back].locked_state == "locked"
    # Ending office mode needs the right too; a plain lock of a locked lock does not.
    assert (await api.request("PATCH", path, json={"locked_state": "locked"})).status == 200
    salto_sim.set_lock(back, locked_state="office_mode")
    refused = await api.request("PATCH", path, json={"locked_state": "locked"})
    assert refused.status == 403
    assert salto_sim.state.locks[back].locked_state == "office_mode"
    # Opening is not office mode: remote_access is enough.
    assert (await api.request("PATCH", path, json={"locked_state": "unlocked"})).status == 200


async def test_office_mode_on_an_otp_iq(api: Api, salto_sim: Simulator) -> None:
    back = lock_by_name(salto_sim, "Back Door")
    iq_id = salto_sim.state.locks[back].iq_id
    assert iq_id is not None
    salto_sim.set_iq(iq_id, otp_enabled=True)
    path = api.site(f"/locks/{back}/locking")
    missing = await api.request("PATCH", path, json={"locked_state": "office_mode"})
    assert (missing.status, missing.json()["ErrorCode"]) == (404, "2202")
    wrong_code = "00000" if salto_sim.valid_otp(iq_id) != "00000" else "11111"
    wrong = await api.request(
        "PATCH", path, json={"locked_state": "office_mode", "otp": wrong_code}
    )
    assert (wrong.status, wrong.json()["Message"]) == (400, "otp_invalid")
    good = await api.request(
        "PATCH", path, json={"locked_state": "office_mode", "otp": salto_sim.valid_otp(iq_id)}
    )
    assert good.status == 200
    assert good.json()["locked_state"] == "office_mode"
    ended = await api.request(
        "PATCH", path, json={"locked_state": "locked", "otp": salto_sim.valid_otp(iq_id)}
    )
    assert ended.json()["locked_state"] == "locked"
    assert [row["event_detail"] for row in salto_sim.entries()[-2:]] == ["start", "end"]


async def test_right_is_checked_before_the_otp(api: Api, salto_sim: Simulator) -> None:
    """A caller without the right burns no OTP attempt."""
    back = lock_by_name(salto_sim, "Back Door")
    iq_id = salto_sim.state.locks[back].iq_id
    assert iq_id is not None
    salto_sim.set_iq(iq_id, otp_enabled=True)
    salto_sim.set_user(_system_site_user(salto_sim), toggle_manual_office_mode=False)
    reply = await api.request(
        "PATCH",
        api.site(f"/locks/{back}/locking"),
        json={"locked_state": "office_mode", "otp": "x"},
    )
    assert (reply.status, reply.json()["ErrorCode"]) == (403, 2203)
    assert salto_sim.state.iqs[iq_id].otp_failures == 0


async def test_set_and_remove_the_schedule(api: Api, salto_sim: Simulator) -> None:
    back = lock_by_name(salto_sim, "Back Door")
    path = api.site(f"/locks/{back}/easy_office_mode_schedule", "v1.1")
    reply = await api.request(
        "PUT", path, json=_schedule(start_date="2026-09-01T00:00:00", end_date=None)
    )
    assert reply.status == 200
    stored = reply.json()["easy_office_mode_schedule"]
    assert stored == {
        "eom_auto_start": True,
        **{day: day in {"monday", "friday"} for day in WEEKDAYS},
        "start_time": "08:00:00",
        "end_time": "17:30:00",
        "start_date": "2026-09-01T00:00:00",
        "end_date": None,
    }
    assert salto_sim.lock_state(back)["easy_office_mode_schedule"] == stored
    # Times left out: any hour.
    anytime = await api.request("PUT", path, json={"sunday": True})
    assert anytime.json()["easy_office_mode_schedule"]["start_time"] is None
    assert salto_sim.counters["easy_office_mode_schedule"] == 2
    removed = await api.request("DELETE", path)
    assert removed.status == 204
    assert salto_sim.lock_state(back)["easy_office_mode_schedule"] is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ([], 400, 1100),
        ({"monday": True, "holiday": True}, 400, 1100),
        (_schedule(monday=False, friday=False), 400, 1101),
        (_schedule(monday="yes"), 400, 1101),
        (_schedule(eom_auto_start=1), 400, 1101),
        (_schedule(start_time="8:00"), 400, 1101),
        (_schedule(start_time="25:00:00"), 400, 1101),
        (_schedule(end_time=None), 400, 1101),
        (_schedule(start_time="18:00:00", end_time="08:00:00"), 400, 1101),
        (_schedule(start_date="2026-13-01T00:00:00"), 400, 1101),
        (_schedule(start_date="2026-10-02T00:00:00", end_date="2026-10-01T00:00:00"), 400, 1101),
    ],
)
async def test_schedule_validation(
    api: Api, salto_sim: Simulator, body: Any, status: int, code: int
) -> None:
    back = lock_by_name(salto_sim, "Back Door")
    before = salto_sim.lock_state(back)["easy_office_mode_schedule"]
    reply = await api.request(
        "PUT", api.site(f"/locks/{back}/easy_office_mode_schedule", "v1.1"), json=body
    )
    assert (reply.status, reply.json()["ErrorCode"]) == (status, code)
    assert salto_sim.lock_state(back)["easy_office_mode_schedule"] == before


async def test_schedule_needs_a_site_admin(api: Api, salto_sim: Simulator) -> None:
    front = lock_by_name(salto_sim, "Front Door")
    before = salto_sim.lock_state(front)["easy_office_mode_schedule"]
    assert before is not None
    salto_sim.set_user(_system_site_user(salto_sim), roles=["site_user"])
    path = api.site(f"/locks/{front}/easy_office_mode_schedule", "v1.1")
    put = await api.request("PUT", path, json=_schedule())
    assert (put.status, put.json()["ErrorCode"]) == (403, 2203)
    delete = await api.request("DELETE", path)
    assert delete.status == 403
    assert salto_sim.lock_state(front)["easy_office_mode_schedule"] == before


async def test_schedule_of_an_unknown_lock(api: Api) -> None:
    reply = await api.request(
        "PUT",
        api.site("/locks/00000000-0000-4000-8000-000000000000/easy_office_mode_schedule"),
        json=_schedule(),
    )
    assert reply.status == 404
