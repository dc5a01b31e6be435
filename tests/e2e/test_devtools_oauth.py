"""devtools.oauth: the simulator's sign-in pages answered as a browser would (in-process simulator)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from devtools.common import DevToolsError
from devtools.oauth import sign_in
from devtools.sim_control import SimulatorControl
from simulator import Simulator

CALLBACK = "http://127.0.0.1:8123/auth/external/callback"
# RFC 7636 appendix B's verifier and its S256 challenge.
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def authorize_url(sim: Simulator) -> str:
    query = {
        "response_type": "code",
        "client_id": sim.client_id,
        "redirect_uri": CALLBACK,
        "scope": "user_api.full_access offline_access",
        "state": "the-state",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return sim.authorize_url + "?" + urlencode(query)


async def test_sign_in_returns_the_callback_with_a_code(salto_sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        uris = await SimulatorControl(session, salto_sim.url).register_redirect_uri(
            salto_sim.client_id, CALLBACK
        )
        assert CALLBACK in uris
        location = await sign_in(
            session, authorize_url(salto_sim), salto_sim.username, salto_sim.password
        )
    assert location.startswith(CALLBACK + "?")
    answer = parse_qs(urlsplit(location).query)
    assert answer["state"] == ["the-state"]
    assert answer["code"][0] in salto_sim.oidc.codes


async def test_sign_in_refusals_raise(salto_sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        # Not registered: the simulator's error page, not a redirect.
        with pytest.raises(DevToolsError, match="HTTP 400"):
            await sign_in(session, authorize_url(salto_sim), salto_sim.username, "x")
        salto_sim.register_redirect_uri(salto_sim.client_id, CALLBACK)
        with pytest.raises(DevToolsError, match="refused the sign-in") as err:
            await sign_in(session, authorize_url(salto_sim), salto_sim.username, "pw-h16s-42")
    assert "pw-h16s-42" not in str(err.value)
