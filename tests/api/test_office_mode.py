"""api/client.py office mode calls against the simulator: set_office_mode (right, OTP), lock with an
OTP, the easy office mode schedule (set, clear, argument checks), and the OTP error subclasses."""

from __future__ import annotations

from datetime import date, time

import pytest

from custom_components.salto_ks.api import (
    InvalidRequestError,
    LockedState,
    OtpBlockedError,
    OtpInvalidError,
    OtpRequiredError,
    PermissionDeniedError,
    SaltoKSClient,
)
from simulator import Simulator


def _wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return "00000" if code.lower() != "00000" else "11111"


def _system_site_user(sim: Simulator) -> str:
    return next(su.id for su in sim.state.site_users.values() if su.user.email == sim.username)


async def _otp_lock(sim: Simulator, client: SaltoKSClient) -> tuple[str, str]:
    lock = (await client.get_locks(sim.site_id))[0]
    assert lock.iq is not None
    sim.set_iq(lock.iq.id, otp_enabled=True)
    return lock.id, lock.iq.id


async def test_set_office_mode_on_and_off(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    await client.set_office_mode(salto_sim.site_id, lock.id, True)
    assert salto_sim.lock_state(lock.id)["locked_state"] == "office_mode"
    [seen] = [item for item in await client.get_locks(salto_sim.site_id) if item.id == lock.id]
    assert seen.locked_state == LockedState.OFFICE_MODE
    await client.set_office_mode(salto_sim.site_id, lock.id, False)
    assert salto_sim.lock_state(lock.id)["locked_state"] == "locked"


async def test_set_office_mode_without_the_right(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    salto_sim.set_user(_system_site_user(salto_sim), toggle_manual_office_mode=False)
    with pytest.raises(PermissionDeniedError) as err:
        await client.set_office_mode(salto_sim.site_id, lock.id, True)
    assert (err.value.status, err.value.error_code) == (403, "2203")


async def test_office_mode_and_lock_send_the_otp(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock_id, iq_id = await _otp_lock(salto_sim, client)
    with pytest.raises(OtpRequiredError) as missing:
        await client.set_office_mode(salto_sim.site_id, lock_id, True)
    assert type(missing.value) is OtpRequiredError
    with pytest.raises(OtpInvalidError):
        await client.set_office_mode(
            salto_sim.site_id, lock_id, True, otp=_wrong(salto_sim.valid_otp(iq_id))
        )
    await client.set_office_mode(salto_sim.site_id, lock_id, True, otp=salto_sim.valid_otp(iq_id))
    assert salto_sim.lock_state(lock_id)["locked_state"] == "office_mode"
    with pytest.raises(OtpRequiredError):
        await client.lock(salto_sim.site_id, lock_id)
    await client.lock(salto_sim.site_id, lock_id, otp=salto_sim.valid_otp(iq_id))
    assert salto_sim.lock_state(lock_id)["locked_state"] == "locked"


async def test_otp_blocked_is_its_own_error(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock_id, iq_id = await _otp_lock(salto_sim, client)
    wrong = _wrong(salto_sim.valid_otp(iq_id))
    for _ in range(8):
        with pytest.raises(OtpInvalidError):
            await client.unlock(salto_sim.site_id, lock_id, otp=wrong)
    with pytest.raises(OtpBlockedError) as err:
        await client.unlock(salto_sim.site_id, lock_id, otp=salto_sim.valid_otp(iq_id))
    assert (err.value.status, err.value.error_code) == (403, "3102")
    # The code is in no message of the client's errors.
    assert wrong not in str(err.value)
    assert salto_sim.valid_otp(iq_id) not in repr(err.value)


async def test_set_and_clear_easy_office_mode_schedule(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    await client.set_easy_office_mode_schedule(
        salto_sim.site_id,
        lock.id,
        days=["monday", "wednesday"],
        auto_start=True,
        start_time=time(7, 30),
        end_time=time(18, 0, 59),
        start_date=date(2026, 9, 1),
        end_date=date(2026, 12, 31),
    )
    [seen] = [item for item in await client.get_locks(salto_sim.site_id) if item.id == lock.id]
    schedule = seen.easy_office_mode_schedule
    assert schedule is not None
    assert schedule.days == ("monday", "wednesday")
    assert schedule.auto_start is True
    assert (schedule.start_time, schedule.end_time) == ("07:30:00", "18:00:59")
    assert (schedule.start_date, schedule.end_date) == (
        "2026-09-01T00:00:00",
        "2026-12-31T23:59:59",
    )
    # No times and no dates: left out of the body, so any hour until removed.
    await client.set_easy_office_mode_schedule(salto_sim.site_id, lock.id, days=["sunday"])
    raw = salto_sim.lock_state(lock.id)["easy_office_mode_schedule"]
    assert raw["sunday"] is True
    assert raw["monday"] is False
    assert (raw["start_time"], raw["start_date"], raw["eom_auto_start"]) == (None, None, False)
    await client.clear_easy_office_mode_schedule(salto_sim.site_id, lock.id)
    assert salto_sim.lock_state(lock.id)["easy_office_mode_schedule"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"days": []}, "days"),
        ({"days": ["holiday"]}, "days"),
        ({"days": ["monday"], "start_time": time(8)}, "together"),
        ({"days": ["monday"], "start_time": time(18), "end_time": time(8)}, "before"),
        (
            {"days": ["monday"], "start_date": date(2026, 2, 1), "end_date": date(2026, 1, 1)},
            "after",
        ),
    ],
)
async def test_schedule_arguments_are_checked(
    salto_sim: Simulator, client: SaltoKSClient, kwargs: dict[str, object], match: str
) -> None:
    salto_sim.reset_counters()
    with pytest.raises(ValueError, match=match):
        await client.set_easy_office_mode_schedule(salto_sim.site_id, "lock", **kwargs)  # type: ignore[arg-type]
    assert salto_sim.counters.get("easy_office_mode_schedule", 0) == 0


async def test_schedule_refusals(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    salto_sim.set_user(_system_site_user(salto_sim), roles=["site_user"])
    with pytest.raises(PermissionDeniedError):
        await client.set_easy_office_mode_schedule(salto_sim.site_id, lock.id, days=["monday"])
    with pytest.raises(PermissionDeniedError):
        await client.clear_easy_office_mode_schedule(salto_sim.site_id, lock.id)
    with pytest.raises(InvalidRequestError):
        await client.set_easy_office_mode_schedule("DE4520000001", lock.id, days=["monday"])
