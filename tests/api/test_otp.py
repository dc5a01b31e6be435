"""api/otp.py (the computed OTP) and the client's IQ activation calls against the simulator."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aiohttp import web

from custom_components.salto_ks.api import (
    InvalidResponseError,
    IqActivation,
    OtpInvalidError,
    PermissionDeniedError,
    SaltoKSClient,
)
from custom_components.salto_ks.api.otp import compute_otp, is_iq_pin, is_iq_secret, otp_stamp
from simulator import Simulator

from .conftest import RunClient
from .hostile import Server

SECRET_16 = "Ab3dEf6hIj9lMn2p"
WHEN = datetime(2026, 8, 25, 7, 25, 3, tzinfo=UTC)


def test_the_code_is_md5_of_utc_stamp_secret_and_pin() -> None:
    digest = hashlib.md5(b"20260825072503" + SECRET_16.encode() + b"4711", usedforsecurity=False)
    assert compute_otp(SECRET_16, "4711", WHEN) == digest.hexdigest()[:5]
    assert len(compute_otp(SECRET_16, "4711", WHEN)) == 5


def test_the_stamp_is_utc_in_whole_seconds() -> None:
    assert otp_stamp(WHEN) == "20260825072503"
    assert otp_stamp(WHEN.replace(microsecond=999_999)) == "20260825072503"
    assert otp_stamp(WHEN.replace(tzinfo=None)) == "20260825072503"  # naive is UTC
    berlin = WHEN.astimezone(timezone(timedelta(hours=2)))
    assert otp_stamp(berlin) == "20260825072503"
    assert compute_otp(SECRET_16, "4711", berlin) == compute_otp(SECRET_16, "4711", WHEN)
    assert compute_otp(SECRET_16, "4711", WHEN + timedelta(seconds=1)) != compute_otp(
        SECRET_16, "4711", WHEN
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0000", True),
        ("4711", True),
        ("471", False),
        ("47111", False),
        ("47a1", False),
        (4711, False),
    ],
)
def test_pin_shape(value: object, ok: bool) -> None:
    assert is_iq_pin(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [(SECRET_16, True), ("short", False), ("with space 12345", False), ("", False), (None, False)],
)
def test_secret_shape(value: object, ok: bool) -> None:
    assert is_iq_secret(value) is ok


async def _otp_iq(sim: Simulator, client: SaltoKSClient) -> tuple[str, str]:
    lock = (await client.get_locks(sim.site_id))[0]
    assert lock.iq is not None
    sim.set_iq(lock.iq.id, otp_enabled=True)
    return lock.id, lock.iq.id


async def test_activation_then_a_computed_code_opens(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock_id, iq_id = await _otp_iq(salto_sim, client)
    site = salto_sim.site_id
    assert await client.get_activated_iqs(site) == []
    secret = await client.get_iq_secret(site, iq_id)
    assert is_iq_secret(secret)
    await client.send_iq_pin_email(site, iq_id)
    pin = salto_sim.pin_mails(iq_id)[-1]["pin"]
    wrong = "0000" if pin != "0000" else "1111"
    with pytest.raises(OtpInvalidError):
        await client.activate_iq(site, iq_id, compute_otp(secret, wrong, datetime.now(UTC)))
    await client.activate_iq(site, iq_id, compute_otp(secret, pin, datetime.now(UTC)))
    activations = await client.get_activated_iqs(site)
    assert len(activations) == 1
    assert isinstance(activations[0], IqActivation)
    assert activations[0].iq_id == iq_id
    assert activations[0].activated is True
    assert activations[0].activation_date is not None
    with pytest.raises(PermissionDeniedError) as refused:
        await client.get_iq_secret(site, iq_id)
    assert refused.value.error_code == "2203"
    with pytest.raises(PermissionDeniedError):
        await client.send_iq_pin_email(site, iq_id)
    await client.unlock(site, lock_id, otp=compute_otp(secret, pin, datetime.now(UTC)))
    assert salto_sim.state.locks[lock_id].locked_state == "unlocked"


async def test_a_rotated_secret_gives_otp_invalid(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock_id, iq_id = await _otp_iq(salto_sim, client)
    site = salto_sim.site_id
    secret = await client.get_iq_secret(site, iq_id)
    await client.send_iq_pin_email(site, iq_id)
    pin = salto_sim.pin_mails(iq_id)[-1]["pin"]
    await client.activate_iq(site, iq_id, compute_otp(secret, pin, datetime.now(UTC)))
    salto_sim.rotate_iq_secret(iq_id)
    with pytest.raises(OtpInvalidError):
        await client.unlock(site, lock_id, otp=compute_otp(secret, pin, datetime.now(UTC)))


@pytest.mark.parametrize("body", [{"secret": SECRET_16}, SECRET_16], ids=["object", "bare string"])
async def test_secret_envelopes(
    server: tuple[Server, web.Application], run: RunClient, body: object
) -> None:
    _, app = server

    async def secret(request: web.Request) -> web.Response:
        return web.json_response(body)

    app.router.add_get("/v1.2/sites/s/iqs/q/secret", secret)
    client = await run()
    assert await client.get_iq_secret("s", "q") == SECRET_16


@pytest.mark.parametrize("body", [{"secret": 1234}, "x", None, ["a"], {"other": SECRET_16}])
async def test_a_secret_of_the_wrong_shape_is_refused_without_echo(
    server: tuple[Server, web.Application], run: RunClient, body: object
) -> None:
    _, app = server

    async def secret(request: web.Request) -> web.Response:
        return web.json_response(body)

    app.router.add_get("/v1.2/sites/s/iqs/q/secret", secret)
    client = await run()
    with pytest.raises(InvalidResponseError) as err:
        await client.get_iq_secret("s", "q")
    assert SECRET_16 not in str(err.value)


async def test_the_secret_and_the_code_are_scrubbed_from_later_errors(
    server: tuple[Server, web.Application], run: RunClient
) -> None:
    _, app = server
    code = compute_otp(SECRET_16, "4711", WHEN)

    async def secret(request: web.Request) -> web.Response:
        return web.json_response(SECRET_16)

    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        message = f"otp_invalid {body['otp']} for {SECRET_16}"
        return web.json_response({"ErrorCode": 3102, "Message": message}, status=400)

    app.router.add_get("/v1.2/sites/s/iqs/q/secret", secret)
    app.router.add_put("/v1.2/sites/s/iqs/q/pin", echo)
    client = await run()
    await client.get_iq_secret("s", "q")
    with pytest.raises(OtpInvalidError) as err:
        await client.activate_iq("s", "q", code)
    assert SECRET_16 not in str(err.value)
    assert code not in str(err.value)
    assert SECRET_16 not in repr(err.value.server_message)


async def test_activation_body_and_pin_mail_query(
    server: tuple[Server, web.Application], run: RunClient
) -> None:
    state, app = server
    bodies: list[object] = []

    async def put_pin(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        return web.Response(status=204)

    async def get_pin(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app.router.add_put("/v1.2/sites/s/iqs/q/pin", put_pin)
    app.router.add_get("/v1.2/sites/s/iqs/q/pin", get_pin)
    client = await run()
    await client.activate_iq("s", "q", "0a1b2")
    await client.send_iq_pin_email("s", "q")
    assert bodies == [{"otp": "0a1b2", "delta": "0000"}]
    assert state.requests[-1].query["send_email"] == "true"
