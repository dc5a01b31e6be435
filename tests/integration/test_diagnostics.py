"""Diagnostics: entry settings and roster, without credentials or personal data."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulator import Simulator

REDACTED = "**REDACTED**"


async def test_diagnostics_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    salto_sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """The dump has the roster and options but no secret, token, e-mail or person name."""
    client = init_integration.runtime_data.client
    # Make sure a token exists to leak, if diagnostics were careless.
    await client.authenticate()
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    dump = json.dumps(result)

    assert result["entry"]["options"] == dict(init_integration.options)
    assert result["entry"]["data"]["client_secret"] == REDACTED
    assert result["entry"]["data"]["password"] == REDACTED
    assert result["entry"]["data"]["username"] == REDACTED
    assert result["entry"]["data"]["site_id"] == salto_sim.site_id
    lock_ids = {lock["id"] for lock in result["roster"]["locks"]}
    assert lock_ids == {lock.id for lock in salto_sim.state.locks_of(salto_sim.site_id)}
    assert len(result["roster"]["iqs"]) == 1

    secrets = [salto_sim.client_secret, salto_sim.password, salto_sim.username]
    tokens = [*salto_sim.tokens.access, *salto_sim.tokens.refresh]
    assert tokens
    secrets += tokens
    for site_user in salto_sim.state.site_users.values():
        secrets += [site_user.user.first_name, site_user.user.last_name]
        if site_user.user.email:
            secrets.append(site_user.user.email)
    for secret in secrets:
        assert secret
        assert secret not in dump, f"{secret!r} leaked into diagnostics"
