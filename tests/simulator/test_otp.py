"""IQ activation and one-time passwords in the simulated cloud: the record's algorithm, the
activation calls, the 3-minute validity with reuse, rotation by the Salto app, and blocking."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from simulator import Simulator
from simulator.otp import code_at

from .conftest import Api, Clock, lock_by_name


def _record_code(when: datetime, secret: str, pin: str) -> str:
    """The record's formula, written out: MD5(UTC YYYYmmDDHHMMSS + secret + PIN)[:5]."""
    stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return hashlib.md5(f"{stamp}{secret}{pin}".encode(), usedforsecurity=False).hexdigest()[:5]


def _otp_lock(sim: Simulator) -> tuple[str, str]:
    lock_id = lock_by_name(sim, "Front Door")
    iq_id = sim.state.locks[lock_id].iq_id
    assert iq_id is not None
    sim.set_iq(iq_id, otp_enabled=True)
    return lock_id, iq_id


async def _activate(api: Api, iq_id: str, when: datetime) -> tuple[str, str]:
    """Run the activation calls as Home Assistant does; return (secret, pin)."""
    secret = await api.get(api.site(f"/iqs/{iq_id}/secret"))
    assert secret.status == 200, secret.text
    mailed = await api.get(api.site(f"/iqs/{iq_id}/pin?send_email=true"))
    assert mailed.status == 204
    mails = (await api.control("GET", f"/mails?iq_id={iq_id}")).json()["mails"]
    pin = mails[-1]["pin"]
    body = {"otp": _record_code(when, secret.json(), pin), "delta": "0000"}
    activated = await api.request("PUT", api.site(f"/iqs/{iq_id}/pin"), json=body)
    assert activated.status == 204, activated.text
    return secret.json(), pin


async def _unlock(api: Api, lock_id: str, otp: str) -> tuple[int, object]:
    reply = await api.request(
        "PATCH",
        api.site(f"/locks/{lock_id}/locking"),
        json={"locked_state": "unlocked", "otp": otp},
    )
    return reply.status, reply.json().get("Message")


def test_the_code_is_the_records_formula() -> None:
    when = datetime(2026, 8, 19, 17, 9, 18, tzinfo=UTC)
    assert code_at("S3cretS3cretS3cr", "1234", when.timestamp()) == _record_code(
        when, "S3cretS3cretS3cr", "1234"
    )
    # Each second has its own code; the stamp has whole seconds.
    assert code_at("S3cretS3cretS3cr", "1234", when.timestamp() + 0.9) == _record_code(
        when, "S3cretS3cretS3cr", "1234"
    )
    assert code_at("S3cretS3cretS3cr", "1234", when.timestamp() + 1) != _record_code(
        when, "S3cretS3cretS3cr", "1234"
    )


async def test_activation_calls(api: Api, salto_sim: Simulator, clock: Clock) -> None:
    lock_id, iq_id = _otp_lock(salto_sim)
    no_flag = await api.get(api.site(f"/iqs/{iq_id}/pin"))
    assert (no_flag.status, no_flag.json()["ErrorCode"]) == (400, 1100)
    assert (await api.get("/v1.2/me/" + salto_sim.site_id + "/activated_iqs")).json() == []
    first = await api.get(api.site(f"/iqs/{iq_id}/secret"))
    assert len(first.json()) == 16
    assert (await api.get(api.site(f"/iqs/{iq_id}/secret"))).json() == first.json()
    # A code of the mailed PIN before the activation opens nothing (the IQ knows no such user).
    await api.get(api.site(f"/iqs/{iq_id}/pin?send_email=true"))
    mail = (await api.control("GET", "/mails")).json()["mails"][-1]
    assert mail["to"] == salto_sim.username
    assert mail["iq_id"] == iq_id
    assert len(mail["pin"]) == 4
    assert mail["pin"].isdigit()
    early = _record_code(clock.now, first.json(), mail["pin"])
    assert await _unlock(api, lock_id, early) == (400, "otp_invalid")

    wrong_pin = "0000" if mail["pin"] != "0000" else "1111"
    body = {"otp": _record_code(clock.now, first.json(), wrong_pin), "delta": "0000"}
    refused = await api.request("PUT", api.site(f"/iqs/{iq_id}/pin"), json=body)
    assert (refused.status, refused.json()) == (400, {"ErrorCode": 3102, "Message": "otp_invalid"})
    no_delta = await api.request("PUT", api.site(f"/iqs/{iq_id}/pin"), json={"otp": early})
    assert no_delta.status == 400

    secret, pin = await _activate(api, iq_id, clock.now)
    assert (secret, pin) == (first.json(), mail["pin"])
    activated = (await api.get("/v1.2/me/" + salto_sim.site_id + "/activated_iqs")).json()
    assert activated == [
        {"iq_id": iq_id, "activation_date": "2026-08-19T12:00:00Z", "activated": True}
    ]
    # The secret and the PIN mail exist only before the activation.
    again = await api.get(api.site(f"/iqs/{iq_id}/secret"))
    assert again.status == 403
    assert again.json() == {
        "ErrorCode": 2203,
        "Message": "Cannot get first secret for an already activated Iq.",
    }
    remail = await api.get(api.site(f"/iqs/{iq_id}/pin?send_email=true"))
    assert (remail.status, remail.json()["ErrorCode"]) == (403, "command_forbidden")
    # Now the computed code opens the door.
    assert await _unlock(api, lock_id, _record_code(clock.now, secret, pin)) == (200, None)
    assert salto_sim.state.locks[lock_id].locked_state == "unlocked"


async def test_a_code_is_valid_three_minutes_and_reusable(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    lock_id, iq_id = _otp_lock(salto_sim)
    secret, pin = await _activate(api, iq_id, clock.now)
    code = _record_code(clock.now, secret, pin)
    for _ in range(3):  # the same code several times within the three minutes
        assert (await _unlock(api, lock_id, code))[0] == 200
    clock.advance(179)
    assert (await _unlock(api, lock_id, code))[0] == 200
    clock.advance(1)
    assert await _unlock(api, lock_id, code) == (400, "otp_invalid")
    # A fresh code works; one stamped up to 3 minutes ahead too (a clock running fast), not more.
    assert (await _unlock(api, lock_id, _record_code(clock.now, secret, pin)))[0] == 200
    ahead = clock.now + timedelta(seconds=180)
    assert (await _unlock(api, lock_id, _record_code(ahead, secret, pin)))[0] == 200
    too_far = clock.now + timedelta(seconds=181)
    assert await _unlock(api, lock_id, _record_code(too_far, secret, pin)) == (400, "otp_invalid")


async def test_the_salto_app_rotates_the_secret(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    lock_id, iq_id = _otp_lock(salto_sim)
    secret, pin = await _activate(api, iq_id, clock.now)
    rotated = await api.control("POST", f"/iqs/{iq_id}/rotate", {})
    assert rotated.status == 200
    assert await _unlock(api, lock_id, _record_code(clock.now, secret, pin)) == (
        400,
        "otp_invalid",
    )
    # The app's own code (what a user types) still opens; the secret is not handed out again.
    app_code = (await api.control("GET", f"/iqs/{iq_id}/otp")).json()["otp"]
    assert (await _unlock(api, lock_id, app_code))[0] == 200
    assert (await api.get(api.site(f"/iqs/{iq_id}/secret"))).status == 403
    # An admin removing the activation lets the API activate again, with a new secret.
    assert (await api.control("DELETE", f"/iqs/{iq_id}/activation")).status == 200
    new_secret, new_pin = await _activate(api, iq_id, clock.now)
    assert new_secret != secret
    assert (await _unlock(api, lock_id, _record_code(clock.now, new_secret, new_pin)))[0] == 200


async def test_valid_otp_is_the_app_code_and_activates_in_the_app(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    lock_id, iq_id = _otp_lock(salto_sim)
    state = (await api.control("GET", "/state")).json()
    assert next(iq for iq in state["iqs"] if iq["id"] == iq_id)["otp"] is None
    code = salto_sim.valid_otp(iq_id)
    assert (await _unlock(api, lock_id, code.upper()))[0] == 200
    state = (await api.control("GET", "/state")).json()
    assert next(iq for iq in state["iqs"] if iq["id"] == iq_id)["otp"] == code
    assert (await api.get(api.site(f"/iqs/{iq_id}/secret"))).status == 403
    activation = (await api.control("GET", f"/iqs/{iq_id}/activation")).json()
    assert activation["activated"] is True
    assert activation["by_app"] is True
    clock.advance(1)
    assert salto_sim.valid_otp(iq_id) != code  # a new code each second


async def test_wrong_codes_block_the_iq_for_twenty_minutes(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    lock_id, iq_id = _otp_lock(salto_sim)
    secret, pin = await _activate(api, iq_id, clock.now)
    good = _record_code(clock.now, secret, pin)
    wrong = "fffff" if good != "fffff" else "eeeee"
    for _ in range(7):
        assert await _unlock(api, lock_id, wrong) == (400, "otp_invalid")
    assert await _unlock(api, lock_id, wrong) == (400, "otp_invalid")  # the 8th blocks
    assert await _unlock(api, lock_id, good) == (403, "otp_blocked")
    clock.advance(20 * 60 - 1)
    fresh = _record_code(clock.now, secret, pin)
    assert await _unlock(api, lock_id, fresh) == (403, "otp_blocked")
    clock.advance(1)
    assert (await _unlock(api, lock_id, _record_code(clock.now, secret, pin)))[0] == 200


async def test_a_real_delta_makes_cloud_and_iq_disagree(
    api: Api, salto_sim: Simulator, clock: Clock
) -> None:
    lock_id, iq_id = _otp_lock(salto_sim)
    secret = (await api.get(api.site(f"/iqs/{iq_id}/secret"))).json()
    await api.get(api.site(f"/iqs/{iq_id}/pin?send_email=true"))
    pin = (await api.control("GET", "/mails")).json()["mails"][-1]["pin"]
    body = {"otp": _record_code(clock.now, secret, pin), "delta": "9751"}
    assert (await api.request("PUT", api.site(f"/iqs/{iq_id}/pin"), json=body)).status == 204
    assert await _unlock(api, lock_id, _record_code(clock.now, secret, pin)) == (
        400,
        "otp_invalid",
    )


async def test_removing_the_iq_forgets_its_activations(api: Api, salto_sim: Simulator) -> None:
    _, iq_id = _otp_lock(salto_sim)
    await api.get(api.site(f"/iqs/{iq_id}/secret"))
    await api.get(api.site(f"/iqs/{iq_id}/pin?send_email=true"))
    assert salto_sim.otp.activations
    for lock in [lk for lk in salto_sim.state.locks.values() if lk.iq_id == iq_id]:
        salto_sim.remove_lock(lock.id)
    salto_sim.remove_iq(iq_id)
    assert not salto_sim.otp.activations
    assert salto_sim.pin_mails() == []
