"""api/urls.py: where the client may send credentials (https, or plain http to a literal loopback address)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from custom_components.salto_ks.api import Credentials, RetryGate, SaltoKSClient, TokenManager
from custom_components.salto_ks.api._http import Scrubber
from custom_components.salto_ks.api.urls import insecure_reason, is_loopback_host

from .helpers import URL_PASSWORD

ALLOWED = [
    "https://connect.my-clay.com",
    "https://identity.eu.my-clay.com/connect/token",
    "http://127.0.0.1:8787",
    "http://127.1.2.3/connect/token",
    "http://[::1]:8787/connect/token",
]

REFUSED = [
    ("http://connect.my-clay.com", "plain http"),
    ("http://localhost:8787", "plain http"),  # a name, resolved like any other: refused
    ("http://192.168.1.10", "plain http"),
    ("http://[::ffff:8.8.8.8]", "plain http"),
    ("ftp://127.0.0.1/token", "scheme"),
    ("ws://127.0.0.1/token", "scheme"),
    ("https://user@connect.my-clay.com", "user name or password"),
    (f"https://user:{URL_PASSWORD}@connect.my-clay.com", "user name or password"),
    (f"http://u:{URL_PASSWORD}@127.0.0.1:8787", "user name or password"),
    ("connect.my-clay.com", "absolute"),
    ("https://", "absolute"),
    ("https://[::1", "valid URL"),
]


@pytest.mark.parametrize("url", ALLOWED)
async def test_allowed_urls(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        SaltoKSClient(session, api_base=url, auth_url=url, client_id="c", client_secret="s")


@pytest.mark.parametrize(("url", "reason"), REFUSED)
@pytest.mark.parametrize("argument", ["api_base", "auth_url"])
async def test_refused_urls(url: str, reason: str, argument: str) -> None:
    async with aiohttp.ClientSession() as session:
        urls: dict[str, Any] = {argument: url}
        with pytest.raises(ValueError, match=reason) as err:
            SaltoKSClient(session, client_id="c", client_secret="s", **urls)
        with pytest.raises(ValueError, match=reason):
            TokenManager(
                session,
                Credentials("c", "s"),
                auth_url=url,
                request_timeout=5,
                scrubber=Scrubber(),
                gate=RetryGate("identity server"),
            )
    message = str(err.value)
    assert message.startswith(argument)
    assert URL_PASSWORD not in message


def test_loopback_is_a_literal_address() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("127.255.255.254")
    assert is_loopback_host("::1")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("localhost")
    assert not is_loopback_host("128.0.0.1")
    assert not is_loopback_host("127.0.0.1.example.com")
    assert not is_loopback_host(None)
    assert not is_loopback_host("")
    assert insecure_reason(URL("https://connect.my-clay.com/v1.2/x?$top=1")) is None
