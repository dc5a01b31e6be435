"""No secret leaks: logs (every level), diagnostics, exceptions, states and what is written to .storage.

One run sets the integration up against the simulator, sets an unlock PIN through the options flow,
and goes through wrong PINs, 401 renewals, a token-endpoint outage, a forced token refresh and a
reauth. Then none of the real strings - client secret, password, PIN, and every access and refresh
token the simulator issued - may appear anywhere a user or a bug report could see them. The one place
the client secret and the password must be is the config entry's data in ``core.config_entries``.

A second run does the same for one-time passwords behind an OTP IQ: typed codes (wrong, malformed,
good), the activation fix flow (IQ secret, wrong and right IQ PIN), computed codes on every command
and the secret rotated by the Salto app. The IQ secret and PIN belong in the entry's data only; no
code is kept anywhere.

This file is not the test of one module on purpose: a leak is found only by looking at everything one
run produced (the whole log, every state, diagnostics, .storage) after it drove the config and options
flows, lock.py, services.py, the coordinators and the client together. Module files add their own
secret checks next to their behaviour.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_LOCK, SERVICE_OPEN, SERVICE_UNLOCK
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_CODE, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.salto_ks.const import (
    CONF_CLIENT_SECRET,
    CONF_OTP_ACTIVATIONS,
    CONF_PASSWORD,
    CONF_PIN_HASH,
    CONF_UNLOCK_PIN,
    DOMAIN,
)
from custom_components.salto_ks.diagnostics import async_get_config_entry_diagnostics
from custom_components.salto_ks.issues import ISSUE_OTP_ACTIVATION, iq_issue_id
from custom_components.salto_ks.otp import computed_otp
from simulator import Simulator

from .conftest import async_refresh_roster, lock_entity_id, setup_entry

PIN = "80417362"
WRONG_PIN = "59036171"
NEW_SECRET = "rotated-client-secret-7f3a"


def _exception_texts(err: BaseException | None) -> list[str]:
    """str and repr of an exception and of every exception it was raised from, with placeholders."""
    texts: list[str] = []
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        texts += [str(err), repr(err), repr(err.args), repr(vars(err))]
        err = err.__cause__ or err.__context__
    return texts


async def _flush_storage(hass: HomeAssistant) -> None:
    """Let every delayed Store write happen (config entries, the audit cursor)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_no_secret_anywhere(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Secrets reach the cloud and the entry's data, nothing else."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("custom_components.salto_ks").setLevel(logging.DEBUG)
    entry = init_integration
    lock_ids = [lock.id for lock in salto_sim.state.locks_of(salto_sim.site_id)]
    entity_id = lock_entity_id(hass, lock_ids[0])
    raised: list[BaseException] = []

    async def expect_error(coro: Any) -> None:
        with pytest.raises(HomeAssistantError) as err:
            await coro
        raised.append(err.value)

    # The PIN through the options flow (the flow's user input passes through HA).
    result = await hass.config_entries.options.async_init(entry.entry_id)
    options = {k: v for k, v in entry.options.items() if k != CONF_PIN_HASH}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**options, CONF_UNLOCK_PIN: PIN}
    )
    await hass.async_block_till_done()
    assert CONF_PIN_HASH in entry.options
    # A refused PIN change (bad shape) echoes nothing back.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**options, CONF_UNLOCK_PIN: PIN + "x"}
    )
    assert result["errors"] == {CONF_UNLOCK_PIN: "invalid_pin"}
    hass.config_entries.options.async_abort(result["flow_id"])

    # Wrong and right PINs on every command, and on salto_ks.unlock.
    for service in (SERVICE_UNLOCK, SERVICE_OPEN, SERVICE_LOCK):
        await expect_error(
            hass.services.async_call(
                LOCK_DOMAIN,
                service,
                {ATTR_ENTITY_ID: entity_id, ATTR_CODE: WRONG_PIN},
                blocking=True,
            )
        )
        await hass.services.async_call(
            LOCK_DOMAIN, service, {ATTR_ENTITY_ID: entity_id, ATTR_CODE: PIN}, blocking=True
        )
    await expect_error(
        hass.services.async_call(
            DOMAIN, "unlock", {ATTR_ENTITY_ID: entity_id, "code": WRONG_PIN}, blocking=True
        )
    )
    await hass.services.async_call(
        DOMAIN, "unlock", {ATTR_ENTITY_ID: entity_id, "code": PIN}, blocking=True
    )

    # 401 renewals (refresh grant), a forced refresh, a token-endpoint outage.
    roster = entry.runtime_data.roster
    for _ in range(2):
        salto_sim.expire_tokens()
        await async_refresh_roster(hass, entry)
        assert roster.last_update_success
    await hass.services.async_call(DOMAIN, "refresh_token", {}, blocking=True)
    salto_sim.expire_tokens(refresh=True)
    salto_sim.inject_fault("token", "503", times=10)
    await async_refresh_roster(hass, entry)
    raised.append(roster.last_exception)  # type: ignore[arg-type]
    salto_sim.clear_faults()
    await async_refresh_roster(hass, entry)
    assert roster.last_update_success

    # The secret is rotated in the portal: reauth starts; the user enters the new one.
    salto_sim.set_credentials(client_secret=NEW_SECRET)
    salto_sim.expire_tokens()
    await async_refresh_roster(hass, entry)
    raised.append(roster.last_exception)  # type: ignore[arg-type]
    await expect_error(
        hass.services.async_call(DOMAIN, "get_sites", {}, blocking=True, return_response=True)
    )
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["handler"] == DOMAIN and flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(flows) == 1
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"],
        {
            "client_id": salto_sim.client_id,
            "client_secret": "still-the-wrong-secret",
            "username": salto_sim.username,
            "password": salto_sim.password,
        },
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"],
        {
            "client_id": salto_sim.client_id,
            "client_secret": NEW_SECRET,
            "username": salto_sim.username,
            "password": salto_sim.password,
        },
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await async_refresh_roster(hass, entry)
    assert entry.runtime_data.roster.last_update_success

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    await _flush_storage(hass)

    tokens = list(salto_sim.tokens.issued)
    assert len(tokens) >= 6  # access + refresh tokens of several logins and renewals
    secrets = {
        "client secret": salto_sim.client_secret,
        "old client secret": "salto-sim-secret",
        "password": salto_sim.password,
        "PIN": PIN,
        "wrong PIN": WRONG_PIN,
        "PIN hash": entry.options[CONF_PIN_HASH].split("$")[-1],
        "PIN salt": entry.options[CONF_PIN_HASH].split("$")[-2],
        **{f"token {index}": token for index, token in enumerate(tokens)},
    }

    # Logs: every record at every level, formatted with arguments and tracebacks.
    log_text = caplog.text + "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    )
    assert "Refused a command on" in log_text  # the wrong PINs were logged ...
    places: dict[str, str] = {
        "log": log_text,
        "diagnostics": json.dumps(diagnostics, default=str),
        "exceptions": "\n".join(text for err in raised for text in _exception_texts(err)),
        "states": json.dumps([state.as_dict() for state in hass.states.async_all()], default=str),
    }
    for place, text in places.items():
        for name, secret in secrets.items():
            assert secret not in text, f"{name} in {place}"

    # Storage: the audit cursor and every other file hold no secret; core.config_entries holds the
    # client secret and password in the entry's data only, and never the PIN or a token.
    assert f"{DOMAIN}.{entry.entry_id}" in hass_storage
    for key, stored in hass_storage.items():
        text = json.dumps(stored, default=str)
        if key == "core.config_entries":
            ours = [e for e in stored["data"]["entries"] if e["entry_id"] == entry.entry_id]
            assert ours
            assert ours[0]["data"][CONF_CLIENT_SECRET] == NEW_SECRET
            assert ours[0]["data"][CONF_PASSWORD] == salto_sim.password
            without_data = json.dumps(
                [{k: v for k, v in e.items() if k != "data"} for e in stored["data"]["entries"]],
                default=str,
            )
            for name, secret in secrets.items():
                if name.startswith("PIN "):
                    continue  # the PIN's salted hash is the stored option, by design
                assert secret not in without_data, f"{name} in {key} outside the entry's data"
            for name in ("PIN", "wrong PIN", *(n for n in secrets if n.startswith("token"))):
                assert secrets[name] not in text, f"{name} in {key}"
            continue
        for name, secret in secrets.items():
            assert secret not in text, f"{name} in .storage/{key}"


def _word(value: str) -> re.Pattern[str]:
    """``value`` as a whole word, any case: a 5-hex code or 4-digit PIN also occurs by chance
    inside ids, tokens and timestamps, never standing alone."""
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", re.IGNORECASE)


async def test_no_otp_secret_anywhere(
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    salto_sim: Simulator,
    mock_config_entry: MockConfigEntry,
    lock_ids: list[str],
    iq_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """One OTP run: typed codes (wrong, malformed, good), the activation fix flow (wrong and right IQ
    PIN), computed codes on every command, the secret rotated by the Salto app. The IQ secret and PIN
    reach the cloud and the entry's data only; no code reaches anything but the cloud."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("custom_components.salto_ks").setLevel(logging.DEBUG)
    freezer.move_to("2026-08-25T07:25:00+00:00")
    salto_sim.set_iq(iq_id, otp_enabled=True)
    assert await async_setup_component(hass, "repairs", {})
    entry = await setup_entry(hass, mock_config_entry)
    lock = lock_entity_id(hass, lock_ids[0])
    switch = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{lock_ids[0]}_manual_office_mode"
    )
    assert switch is not None
    raised: list[BaseException] = []
    flow_results: list[Any] = []
    codes: list[str] = []

    async def expect_error(coro: Any) -> None:
        with pytest.raises(HomeAssistantError) as err:
            await coro
        raised.append(err.value)

    async def lock_call(service: str, code: str | None = None) -> None:
        data = {ATTR_ENTITY_ID: lock} | ({ATTR_CODE: code} if code is not None else {})
        await hass.services.async_call(LOCK_DOMAIN, service, data, blocking=True)

    # Typed codes before any activation: wrong ones on every way in, a malformed one.
    for wrong in ("0a0b0", "1c1d1"):
        codes.append(wrong)
        await expect_error(lock_call(SERVICE_UNLOCK, wrong))
    codes.append("2e2f2")
    await expect_error(
        hass.services.async_call(
            DOMAIN, "unlock", {ATTR_ENTITY_ID: lock, "otp": "2e2f2"}, blocking=True
        )
    )
    codes.append("3a3b3")
    await expect_error(
        hass.services.async_call(
            DOMAIN,
            "set_office_mode",
            {ATTR_ENTITY_ID: lock, "enabled": True, "otp": "3a3b3"},
            blocking=True,
        )
    )
    codes.append("4c4d4z")
    await expect_error(lock_call(SERVICE_UNLOCK, "4c4d4z"))

    # The fix flow: accept, a wrong IQ PIN, the mailed one.
    manager = repairs_flow_manager(hass)
    assert manager is not None
    issue_id = iq_issue_id(ISSUE_OTP_ACTIVATION, entry.entry_id, iq_id)
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    flow_results.append(result)
    result = await manager.async_configure(result["flow_id"], {"accept": True})
    flow_results.append(result)
    secret = salto_sim.iq_activation(iq_id)["secret"]
    pin = str(salto_sim.pin_mails(iq_id)[-1]["pin"])
    wrong_pin = "0000" if pin != "0000" else "1111"
    result = await manager.async_configure(result["flow_id"], {"pin": wrong_pin})
    flow_results.append(result)
    assert result["errors"] == {"pin": "wrong_pin"}
    result = await manager.async_configure(result["flow_id"], {"pin": pin})
    flow_results.append(result)
    await hass.async_block_till_done()
    assert entry.data[CONF_OTP_ACTIVATIONS][iq_id]["secret"] == secret

    # Computed codes on every command, one second apart; then a typed good code.
    commands: list[Callable[[], Awaitable[Any]]] = [
        lambda: lock_call(SERVICE_UNLOCK),
        lambda: lock_call(SERVICE_LOCK),
        lambda: hass.services.async_call(
            "switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True
        ),
        lambda: hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
        ),
    ]
    for command in commands:
        freezer.tick(timedelta(seconds=1))
        codes.append(computed_otp(entry, iq_id) or "")
        await command()
    freezer.tick(timedelta(seconds=1))
    codes.append(salto_sim.valid_otp(iq_id))
    await lock_call(SERVICE_OPEN, codes[-1])

    # The Salto app activates the same user: the computed code is refused, then nothing is sent;
    # the app's new code, typed, still opens.
    salto_sim.rotate_iq_secret(iq_id)
    rotated = salto_sim.iq_activation(iq_id)["secret"]
    freezer.tick(timedelta(seconds=1))
    codes.append(computed_otp(entry, iq_id) or "")
    await expect_error(lock_call(SERVICE_UNLOCK))
    await expect_error(lock_call(SERVICE_UNLOCK))
    freezer.tick(timedelta(seconds=1))
    codes.append(salto_sim.valid_otp(iq_id))
    await lock_call(SERVICE_UNLOCK, codes[-1])
    assert "" not in codes

    # Directly, not over HTTP: the frozen clock predates the test user's access token.
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    await _flush_storage(hass)

    log_text = caplog.text + "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    )
    assert "refused a computed one-time password" in log_text  # the rotation was logged ...
    places: dict[str, str] = {
        "log": log_text,
        "diagnostics": json.dumps(diagnostics, default=str),
        "exceptions": "\n".join(text for err in raised for text in _exception_texts(err)),
        "states": json.dumps([state.as_dict() for state in hass.states.async_all()], default=str),
        "fix flow results": json.dumps(flow_results, default=str),
    }
    for name, value in hass_storage.items():
        places[f".storage/{name}"] = json.dumps(value, default=str)
    ours = [
        e
        for e in hass_storage["core.config_entries"]["data"]["entries"]
        if e["entry_id"] == entry.entry_id
    ]
    assert ours[0]["data"][CONF_OTP_ACTIVATIONS][iq_id] == {
        "secret": secret,
        "pin": pin,
        "rotated": True,
    }
    # The one place the secret and PIN belong: the entry's data in core.config_entries.
    places[".storage/core.config_entries"] = json.dumps(
        {
            **hass_storage["core.config_entries"],
            "data": [
                {k: v for k, v in e.items() if k != "data"}
                | {"data": {k: v for k, v in e["data"].items() if k != CONF_OTP_ACTIVATIONS}}
                for e in hass_storage["core.config_entries"]["data"]["entries"]
            ],
        },
        default=str,
    )
    secrets = {
        "IQ secret": secret,
        "rotated IQ secret": rotated,
        "IQ PIN": pin,
        "wrong IQ PIN": wrong_pin,
        **{f"code {index}": code for index, code in enumerate(codes)},
    }
    for place, text in places.items():
        for name, value in secrets.items():
            assert not _word(value).search(text), f"{name} in {place}"
