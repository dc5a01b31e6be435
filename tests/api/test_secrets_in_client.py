"""Client secret, password and tokens never reach an exception text, a repr or a log record."""

from __future__ import annotations

import logging

import pytest

from custom_components.salto_ks.api import Credentials, SaltoKSClient, SaltoKSError
from simulator import Simulator

from .conftest import MakeClient


async def _collect_errors(sim: Simulator, make_client: MakeClient) -> list[SaltoKSError]:
    errors: list[SaltoKSError] = []
    client = make_client()
    calls = [
        lambda: make_client(password=sim.password + "-wrong").get_sites(),
        lambda: make_client(client_secret=sim.client_secret + "-wrong").get_sites(),
        lambda: client.unlock(sim.site_id, "missing"),
    ]
    for call in calls:
        try:
            await call()
        except SaltoKSError as err:
            errors.append(err)
    sim.inject_fault("sites", "500", times=1)
    sim.inject_fault("users", "malformed", times=1)
    sim.inject_fault("locks", "429", times=1, retry_after=3)
    sim.inject_fault("iqs", "drop", times=2)
    limited = make_client()  # after its 429 it refuses every call (Retry-After gate)
    for coro in (
        client.get_sites(),
        client.get_users(sim.site_id),
        limited.get_locks(sim.site_id),
        limited.get_locks(sim.site_id),
        client.get_iqs(sim.site_id),
    ):
        try:
            await coro
        except SaltoKSError as err:
            errors.append(err)
    sim.tenant.grants = {"client_credentials"}
    client.invalidate_token()
    try:
        await client.get_users(sim.site_id)
    except SaltoKSError as err:
        errors.append(err)
    return errors


async def test_secrets_never_leak(
    salto_sim: Simulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    salto_sim.tenant.update(refresh_tokens=True)
    client = make_client()
    await client.get_sites()
    salto_sim.expire_tokens()
    locks = await client.get_locks(salto_sim.site_id)  # 401, renewal with the refresh token
    await client.unlock(salto_sim.site_id, locks[0].id)
    entries = await client.get_entries(salto_sim.site_id)
    errors = await _collect_errors(salto_sim, make_client)
    assert len(errors) >= 9

    # Every token ever issued: the live stores drop a refresh token once it is used, as on the renewal above.
    tokens = list(salto_sim.tokens.issued)
    assert len(tokens) > len(salto_sim.tokens.access) + len(salto_sim.tokens.refresh)
    secrets = [salto_sim.client_secret, salto_sim.password, *tokens]
    texts = [repr(client), str(client.__dict__)]
    texts += [repr(m) for m in (*locks, *entries)]
    for err in errors:
        texts += [str(err), repr(err), repr(err.args), str(err.__cause__), str(err.__context__)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    assert caplog.records
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_repr_hides_credentials(make_client: MakeClient, salto_sim: Simulator) -> None:
    client: SaltoKSClient = make_client()
    text = repr(client)
    assert salto_sim.client_secret not in text
    assert salto_sim.password not in text
    assert salto_sim.api_base in text


def test_credentials_repr_names_only_the_client() -> None:
    credentials = Credentials("the-client", "client-secret-1", "bo@example.com", "bo-password-1")
    text = repr(credentials)
    assert "the-client" in text
    for hidden in ("client-secret-1", "bo@example.com", "bo-password-1"):
        assert hidden not in text
