"""The guest-access calls (``api/guests.py``) against the simulator, and the PIN parser."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    SaltoKSClient,
    SaltoKSError,
)
from custom_components.salto_ks.api.guests import api_time, parse_pin
from simulator import Simulator

from .conftest import RunClient
from .hostile import Server


@pytest.fixture(autouse=True)
def settled(salto_sim: Simulator) -> None:
    salto_sim.configure_guest_access(consistency_seconds=0)


def _group_id(sim: Simulator, name: str) -> str:
    return next(g.id for g in sim.guest_access.groups.values() if g.name == name)


def _until() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


async def test_guest_pin_group_round_trip(client: SaltoKSClient, salto_sim: Simulator) -> None:
    site = salto_sim.site_id
    until = _until()
    guest = await client.create_guest(site, "Guest Greta", until)
    assert guest.alias == "Guest Greta"
    assert guest.roles == ("site_guest",)
    assert guest.expires_at == until
    assert not guest.suspended
    assert guest.user_id is not None
    assert guest.user_id != guest.id
    pin = await client.set_pin(site, guest.id, until)
    assert len(pin) == 6
    assert pin.isdigit()
    keys = await client.get_keys(site, guest.id)
    assert [(k.type, k.expiry_date) for k in keys] == [("pin", until)]
    group = _group_id(salto_sim, "Apartment")
    await client.add_access_group_user(site, group, guest.user_id)
    assert salto_sim.guest_access.groups[group].members == [guest.user_id]
    await client.remove_access_group_user(site, group, guest.user_id)
    assert salto_sim.guest_access.groups[group].members == []
    await client.delete_user(site, guest.id)
    assert guest.id not in salto_sim.state.site_users
    with pytest.raises(NotFoundError) as err:
        await client.delete_user(site, guest.id)
    assert err.value.error_code == "2202"


async def test_groups_locks_schedules_subscription(
    client: SaltoKSClient, salto_sim: Simulator
) -> None:
    site = salto_sim.site_id
    groups = {g.name: g.id for g in await client.get_access_groups(site)}
    assert set(groups) == {"Apartment", "Storage"}
    locks = await client.get_access_group_locks(site, groups["Apartment"])
    assert {lock.name for lock in locks} == {"Front Door", "Back Door"}
    schedules = await client.get_time_schedules(site, groups["Apartment"])
    assert len(schedules[0].days) == 7
    assert await client.get_time_schedules(site, groups["Storage"]) == []
    subscription = await client.get_subscription(site)
    assert subscription.user_amount == salto_sim.guest_access.seat_limit
    assert "custom_pin" not in subscription.features
    assert await client.site_pins_enabled(site) is True
    salto_sim.configure_guest_access(pin_enabled=False)
    assert await client.site_pins_enabled(site) is False


async def test_no_seat_comes_back_suspended(client: SaltoKSClient, salto_sim: Simulator) -> None:
    salto_sim.configure_guest_access(seat_limit=0)
    guest = await client.create_guest(salto_sim.site_id, "Guest", _until())
    assert guest.suspended


async def test_consistency_window_errors(client: SaltoKSClient, salto_sim: Simulator) -> None:
    salto_sim.configure_guest_access(consistency_seconds=600)
    site = salto_sim.site_id
    guest = await client.create_guest(site, "Guest", _until())
    with pytest.raises(NotFoundError) as not_found:
        await client.set_pin(site, guest.id)
    assert not_found.value.error_code == "2202"
    assert guest.user_id is not None
    with pytest.raises(PermissionDeniedError) as denied:
        await client.add_access_group_user(site, _group_id(salto_sim, "Apartment"), guest.user_id)
    assert denied.value.error_code == "2203"


def test_parse_pin_refuses_what_is_not_a_pin_without_echoing_it() -> None:
    assert parse_pin("012345") == "012345"
    for bad in (12345, None, {"pin": "123456"}, "12a456", "123", "9" * 20):
        with pytest.raises(InvalidResponseError) as err:
            parse_pin(bad)
        assert "12345" not in str(err.value)


def test_api_time_is_utc_with_z() -> None:
    assert api_time(datetime(2026, 8, 20, 14, 0, tzinfo=UTC)) == "2026-08-20T14:00:00Z"
    assert api_time(datetime(2026, 8, 20, 14, 0)) == "2026-08-20T14:00:00Z"


async def test_pin_never_in_a_log_record(
    client: SaltoKSClient, salto_sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    guest = await client.create_guest(salto_sim.site_id, "Guest", _until())
    pin = await client.set_pin(salto_sim.site_id, guest.id)
    assert caplog.records  # the client logs its requests at DEBUG
    assert all(pin not in record.getMessage() for record in caplog.records)


async def test_a_pin_of_the_wrong_shape_is_an_invalid_response(
    server: tuple[Server, web.Application], run: RunClient
) -> None:
    _state, app = server

    async def pin(request: web.Request) -> web.Response:
        return web.json_response({"pin": "654321"})

    app.router.add_put("/v1.2/sites/s/users/u/pin", pin)
    client = await run()
    with pytest.raises(SaltoKSError) as err:
        await client.set_pin("s", "u")
    assert isinstance(err.value, InvalidResponseError)
    assert "654321" not in str(err.value)


async def test_a_site_answer_that_is_no_object_is_an_invalid_response(
    server: tuple[Server, web.Application], run: RunClient
) -> None:
    _state, app = server

    async def site(request: web.Request) -> web.Response:
        return web.json_response([{"pin_enabled": True}])

    app.router.add_get("/v1.2/sites/s", site)
    client = await run()
    with pytest.raises(InvalidResponseError, match="site: expected a JSON object"):
        await client.site_pins_enabled("s")
