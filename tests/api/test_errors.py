"""Error mapping of the Connect API answers produced by the simulator."""

from __future__ import annotations

import time

import pytest
from freezegun.api import FrozenDateTimeFactory

from custom_components.salto_ks.api import (
    AuthenticationError,
    CommunicationError,
    InvalidRequestError,
    InvalidResponseError,
    LockUnavailableError,
    NotFoundError,
    OtpRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SaltoKSClient,
    SaltoKSError,
    TokenRejectedError,
    UnsupportedOperationError,
)
from simulator import Simulator

from .conftest import MakeClient


async def _first_lock(sim: Simulator, client: SaltoKSClient) -> str:
    return (await client.get_locks(sim.site_id))[0].id


async def test_offline_lock(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock_id = await _first_lock(salto_sim, client)
    salto_sim.set_lock(lock_id, online=False)
    with pytest.raises(LockUnavailableError) as err:
        await client.unlock(salto_sim.site_id, lock_id)
    assert err.value.status == 422
    assert err.value.error_code == "2203"
    assert "offline" in err.value.message.lower()
    assert err.value.server_message == "The lock is offline"


async def test_offline_iq(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, online=False)
    with pytest.raises(LockUnavailableError) as err:
        await client.unlock(salto_sim.site_id, lock.id)
    assert err.value.status == 422
    assert "IQ" in err.value.message


async def test_lock_not_supported(salto_sim: Simulator, client: SaltoKSClient) -> None:
    iq_id = (await client.get_iqs(salto_sim.site_id))[0].id
    lock_id = salto_sim.add_lock(
        name="XS4 strike", iq_id=iq_id, supports_remote_lock=False, locked_state="unlocked"
    )
    with pytest.raises(UnsupportedOperationError) as err:
        await client.lock(salto_sim.site_id, lock_id)
    assert err.value.status == 422
    assert err.value.error_code == "1101"
    assert not isinstance(err.value, LockUnavailableError)


async def test_otp_required_and_invalid(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id)
    assert (err.value.status, err.value.error_code) == (404, "2202")
    assert not isinstance(err.value, NotFoundError)
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id, otp="00000")
    assert err.value.status in (400, 403)
    assert err.value.error_code == "3102"


async def test_empty_otp_field_is_an_otp_need(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """400 ErrorCode 1100 "The otp field is required." on the locking call asks for an OTP."""
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id, otp="")
    assert (err.value.status, err.value.error_code) == (400, "1100")
    assert err.value.server_message == "The otp field is required."


async def test_site_uid_is_an_invalid_request(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """400 ErrorCode 1100 (the site UID instead of its UUID) is permanent, not a CommunicationError."""
    site_uid = salto_sim.state.sites[salto_sim.site_id].site_uid
    for call in (client.get_locks, client.get_entries):
        with pytest.raises(InvalidRequestError) as err:
            await call(site_uid)
        assert not isinstance(err.value, CommunicationError)
        assert (err.value.status, err.value.error_code) == (400, "1100")
        assert "will not help" in err.value.message
    lock_id = await _first_lock(salto_sim, client)
    with pytest.raises(InvalidRequestError):
        await client.unlock(site_uid, lock_id)


async def test_entries_of_an_unknown_site_do_not_try_legacy_paths(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """A 404 with a Connect error body is about the site, not the route: no fallback."""
    salto_sim.tenant.update(profile="legacy")  # its legacy routes exist (and count requests)
    with pytest.raises(NotFoundError) as err:
        await client.get_entries("00000000-0000-0000-0000-000000000000")
    assert err.value.error_code == "1100"
    assert salto_sim.counters == {"token": 1, "entries": 1}
    assert client.entries_path is None


async def test_otp_blocked_after_eight_wrong(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    for _ in range(8):
        with pytest.raises(OtpRequiredError) as err:
            await client.unlock(salto_sim.site_id, lock.id, otp="00000")
        assert (err.value.status, err.value.server_message) == (400, "otp_invalid")
    # Blocked now: even the right OTP is refused, with the other 3102 answer.
    with pytest.raises(OtpRequiredError) as err:
        await client.unlock(salto_sim.site_id, lock.id, otp=salto_sim.valid_otp(lock.iq.id))
    assert (err.value.status, err.value.error_code) == (403, "3102")
    assert err.value.server_message == "otp_blocked"
    assert salto_sim.counters["locking"] == 9


async def test_second_401_after_renewal(salto_sim: Simulator, client: SaltoKSClient) -> None:
    await client.get_sites()
    tokens_before = salto_sim.counters["token"]
    salto_sim.inject_fault("locks", "401", times=2)
    with pytest.raises(TokenRejectedError) as err:
        await client.get_locks(salto_sim.site_id)
    assert err.value.status == 401
    assert salto_sim.counters["token"] == tokens_before + 1  # renewed once, not in a loop
    assert salto_sim.counters["locks"] == 2
    assert len(await client.get_locks(salto_sim.site_id)) == 3


async def test_token_refusal_carries_server_message(make_client: MakeClient) -> None:
    with pytest.raises(AuthenticationError) as err:
        await make_client(password="wrong-password").get_sites()
    assert (err.value.status, err.value.error_code) == (400, "invalid_grant")
    assert err.value.server_message == "invalid_username_or_password"


async def test_no_remote_access(salto_sim: Simulator, client: SaltoKSClient) -> None:
    me = next(u for u in await client.get_users(salto_sim.site_id) if u.email == salto_sim.username)
    salto_sim.set_user(me.id, remote_access=False)
    lock_id = await _first_lock(salto_sim, client)
    with pytest.raises(PermissionDeniedError) as err:
        await client.unlock(salto_sim.site_id, lock_id)
    assert err.value.status == 403
    assert err.value.error_code == "2203"


async def test_not_found(salto_sim: Simulator, client: SaltoKSClient) -> None:
    with pytest.raises(NotFoundError) as err:
        await client.unlock(salto_sim.site_id, "00000000-0000-0000-0000-000000000000")
    assert err.value.status == 404
    with pytest.raises(NotFoundError):
        await client.get_locks("00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFoundError):
        await client.get_entries("00000000-0000-0000-0000-000000000000")


async def test_retry_after_on_429(
    salto_sim: Simulator, client: SaltoKSClient, freezer: FrozenDateTimeFactory
) -> None:
    salto_sim.inject_fault("locks", "429", times=1, retry_after=7)
    with pytest.raises(RateLimitedError) as err:
        await client.get_locks(salto_sim.site_id)
    assert err.value.status == 429
    assert err.value.retry_after == 7.0
    freezer.tick(7)
    assert len(await client.get_locks(salto_sim.site_id)) == 3


async def test_tenant_rate_limit(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.tenant.rate_limit_per_minute = 2
    await client.get_sites()
    await client.get_sites()
    with pytest.raises(RateLimitedError) as err:
        await client.get_sites()
    assert err.value.retry_after is not None
    assert 0 < err.value.retry_after <= 60


@pytest.mark.parametrize("kind", ["500", "502", "503"])
async def test_server_errors(salto_sim: Simulator, client: SaltoKSClient, kind: str) -> None:
    salto_sim.inject_fault("iqs", kind, times=1)
    with pytest.raises(CommunicationError) as err:
        await client.get_iqs(salto_sim.site_id)
    assert err.value.status == int(kind)
    assert len(await client.get_iqs(salto_sim.site_id)) == 1


async def test_dropped_connection(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.inject_fault("sites", "drop", times=2)  # aiohttp retries a GET once
    with pytest.raises(CommunicationError) as err:
        await client.get_sites()
    assert err.value.status is None


async def test_scripted_sequence(salto_sim: Simulator, client: SaltoKSClient) -> None:
    salto_sim.inject_fault("users", sequence=["503", None, "malformed"])
    with pytest.raises(CommunicationError):
        await client.get_users(salto_sim.site_id)
    assert len(await client.get_users(salto_sim.site_id)) == 3
    with pytest.raises(InvalidResponseError):
        await client.get_users(salto_sim.site_id)


async def test_timeout(salto_sim: Simulator, make_client: MakeClient) -> None:
    client = make_client(request_timeout=0.3)
    await client.authenticate()
    salto_sim.inject_fault("locks", "timeout", times=1, delay=3)
    started = time.monotonic()
    with pytest.raises(CommunicationError, match="Timeout") as err:
        await client.get_locks(salto_sim.site_id)
    assert time.monotonic() - started < 2
    assert err.value.status is None


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("sites", "get_sites"),
        ("locks", "get_locks"),
        ("iqs", "get_iqs"),
        ("users", "get_users"),
        ("entries", "get_entries"),
    ],
)
async def test_malformed_payloads(
    salto_sim: Simulator, client: SaltoKSClient, endpoint: str, call: str
) -> None:
    salto_sim.inject_fault(endpoint, "malformed", times=1)
    method = getattr(client, call)
    args = () if call == "get_sites" else (salto_sim.site_id,)
    with pytest.raises(InvalidResponseError) as err:
        await method(*args)
    assert isinstance(err.value, SaltoKSError)
    await method(*args)  # and it works again afterwards


async def test_malformed_locking_answer(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock_id = await _first_lock(salto_sim, client)
    # The body of a successful PATCH is not needed, so a broken one does not fail the command.
    salto_sim.inject_fault("locking", "malformed", times=1)
    await client.unlock(salto_sim.site_id, lock_id)


async def test_unlock_with_valid_otp(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    assert lock.iq is not None
    salto_sim.set_iq(lock.iq.id, otp_enabled=True)
    await client.unlock(salto_sim.site_id, lock.id, otp=salto_sim.valid_otp(lock.iq.id))
    assert salto_sim.counters["locking"] == 1
