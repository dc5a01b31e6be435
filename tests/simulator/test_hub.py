"""The simulator's event hub ``/v1/hub/entries``: SignalR JSON hub protocol over WebSockets.

A tiny raw client in this file speaks the standard protocol (negotiate, handshake, records ending in
0x1E), so the tests check the wire format itself, not a library's reading of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
import pytest

from simulator import Simulator

from .conftest import Api, Clock, lock_by_name

RS = "\x1e"
HUB = "/v1/hub/entries"


class HubClient:
    """One WebSocket to the hub: sends and receives SignalR records."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.buffer = ""
        self.records: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message) + RS)

    async def recv(self, within: float = 5.0) -> dict[str, Any]:
        """The next record; raises ``ConnectionError`` when the socket closes first."""
        while not self.records:
            msg = await self.ws.receive(timeout=within)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(msg.type)
            self.buffer += msg.data
            *complete, self.buffer = self.buffer.split(RS)
            self.records.extend(json.loads(part) for part in complete if part)
        return self.records.pop(0)

    async def next_push(self, within: float = 5.0) -> dict[str, Any]:
        """The next ``ReceiveMessage`` (pings skipped), its argument parsed."""
        while True:
            record = await self.recv(within)
            if record.get("type") == 1:
                assert record["target"] == "ReceiveMessage"
                assert "invocationId" not in record
                (argument,) = record["arguments"]
                assert isinstance(argument, str)  # the entry serialised as a JSON string
                parsed: dict[str, Any] = json.loads(argument)
                return parsed
            assert record == {"type": 6}, record

    async def closed(self, within: float = 5.0) -> aiohttp.WSMessage:
        """Read until the socket ends; returns the message that ended it."""
        while True:
            msg = await self.ws.receive(timeout=within)
            if msg.type not in {aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY}:
                return msg


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def negotiate(
    api: Api, token: str | None, site_id: str | None = None, version: str | None = "1"
) -> tuple[int, Any]:
    query = f"site_id={site_id or api.sim.site_id}"
    if version is not None:
        query += f"&negotiateVersion={version}"
    headers = bearer(token) if token else {}
    async with api.session.post(
        f"{api.sim.stream_url}{HUB}/negotiate?{query}", headers=headers
    ) as resp:
        body = await resp.json() if resp.status == 200 else await resp.text()
        return resp.status, body


async def connect(
    api: Api,
    token: str | None = None,
    *,
    site_id: str | None = None,
    handshake: bool = True,
) -> HubClient:
    """Negotiate, open the WebSocket with the token in a header, shake hands."""
    token = token or await api.login()
    status, body = await negotiate(api, token, site_id)
    assert status == 200, body
    url = f"{api.sim.stream_url}{HUB}?site_id={site_id or api.sim.site_id}&id={body['connectionToken']}"
    ws = await api.session.ws_connect(url, headers=bearer(token))
    client = HubClient(ws)
    if handshake:
        await client.send({"protocol": "json", "version": 1})
        assert await client.recv() == {}
    return client


async def ws_status(api: Api, url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status a WebSocket request is refused with."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await api.session.ws_connect(url, headers=headers or {})
    return err.value.status


async def wait_for(predicate: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def rights_user(sim: Simulator, api: Api, roles: tuple[str, ...]) -> str:
    """A token of a new user with ``roles`` on the site."""
    email = f"{roles[0]}@example.test"
    sim.add_user(first_name="R", last_name=roles[0], email=email, password="pw", roles=roles)
    reply = await api.token_request(
        {
            "grant_type": "password",
            "username": email,
            "password": "pw",
            "scope": "user_api.full_access",
        },
        basic=(sim.client_id, sim.client_secret),
    )
    assert reply.status == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


# negotiate and handshake ----------------------------------------------------------------------
async def test_negotiate_answers_the_standard_shape(api: Api) -> None:
    token = await api.login()
    status, body = await negotiate(api, token)
    assert status == 200
    assert body["negotiateVersion"] == 1
    assert body["connectionId"]
    assert body["connectionToken"]
    assert body["connectionId"] != body["connectionToken"]
    assert body["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]
    status, old = await negotiate(api, token, version=None)
    assert status == 200
    assert "connectionToken" not in old
    assert old["connectionId"]
    # Version 0: the WebSocket request names the connection id.
    url = f"{api.sim.stream_url}{HUB}?site_id={api.sim.site_id}&id={old['connectionId']}"
    ws = await api.session.ws_connect(url, headers=bearer(token))
    await ws.close()


async def test_handshake_then_pings(salto_sim: Simulator, api: Api) -> None:
    salto_sim.stream.update(keepalive=0.05)
    client = await connect(api)
    assert await client.recv() == {"type": 6}
    assert await client.recv() == {"type": 6}
    assert salto_sim.stream.counter("connections", salto_sim.site_id) == 1
    assert salto_sim.stream.counter("negotiations", salto_sim.site_id) == 1
    await client.ws.close()


async def test_a_bad_handshake_gets_an_error_and_a_close(api: Api) -> None:
    client = await connect(api, handshake=False)
    await client.send({"protocol": "messagepack", "version": 1})
    assert await client.recv() == {"error": "The protocol 'messagepack' is not supported."}
    assert (await client.closed()).type == aiohttp.WSMsgType.CLOSE


async def test_no_handshake_in_time_closes(salto_sim: Simulator, api: Api) -> None:
    salto_sim.stream.update(handshake_timeout=0.1)
    client = await connect(api, handshake=False)
    assert (await client.closed()).type == aiohttp.WSMsgType.CLOSE
    assert salto_sim.stream.open_connections() == 0


async def test_a_connection_token_is_good_once_and_only_for_its_site(
    salto_sim: Simulator, api: Api
) -> None:
    token = await api.login()
    _, body = await negotiate(api, token)
    base = f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}"
    assert await ws_status(api, f"{base}&id=unknown", bearer(token)) == 404
    other = salto_sim.add_site("Other")
    wrong_site = f"{salto_sim.stream_url}{HUB}?site_id={other}&id={body['connectionToken']}"
    assert await ws_status(api, wrong_site, bearer(token)) == 403  # rights first, then the id
    _, body = await negotiate(api, token)
    ws = await api.session.ws_connect(f"{base}&id={body['connectionToken']}", headers=bearer(token))
    await ws.close()
    # A reconnect with the stale id is refused: every (re)connect negotiates anew.
    assert await ws_status(api, f"{base}&id={body['connectionToken']}", bearer(token)) == 404


async def test_a_plain_get_is_not_a_transport(salto_sim: Simulator, api: Api) -> None:
    token = await api.login()
    reply = await api.get(f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}", token=token)
    assert reply.status == 400


async def test_skip_negotiation_is_served(salto_sim: Simulator, api: Api) -> None:
    token = await api.login()
    url = f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}"
    client = HubClient(await api.session.ws_connect(url, headers=bearer(token)))
    await client.send({"protocol": "json", "version": 1})
    assert await client.recv() == {}
    salto_sim.open_by(lock_by_name(salto_sim, "Front Door"), None, "inside_handle")
    assert (await client.next_push())["access_by"] == "inside_handle"
    await client.ws.close()


# pushes --------------------------------------------------------------------------------------
async def test_every_new_row_of_the_site_is_pushed_as_the_entries_row(
    salto_sim: Simulator, api: Api
) -> None:
    client = await connect(api)
    lock = lock_by_name(salto_sim, "Front Door")
    salto_sim.open_by(lock, None, "inside_handle")
    salto_sim.office_mode(lock, start=True)
    salto_sim.privacy_mode(lock, on=True)
    pushed = [await client.next_push() for _ in range(3)]
    reply = await api.get(api.site("/entries?$top=3", version="v1.1"))
    assert pushed == list(reversed(reply.json()["items"]))
    assert [row["event_category"] for row in pushed] == [
        "lock_opened",
        "easy_office_mode",
        "privacy_mode",
    ]
    assert salto_sim.stream.counter("pushes", salto_sim.site_id) == 3
    await client.ws.close()


async def test_a_remote_opening_is_pushed(salto_sim: Simulator, api: Api) -> None:
    client = await connect(api)
    lock = lock_by_name(salto_sim, "Front Door")
    reply = await api.request(
        "PATCH", api.site(f"/locks/{lock}/locking"), json={"locked_state": "unlocked"}
    )
    assert reply.status == 200, reply.text
    row = await client.next_push()
    assert (row["lock_id"], row["access_by"]) == (lock, "remote")
    await client.ws.close()


async def test_rows_of_another_site_are_not_pushed(salto_sim: Simulator, api: Api) -> None:
    client = await connect(api)
    other = salto_sim.add_site("Other")
    other_lock = salto_sim.add_lock(other, name="Elsewhere")
    salto_sim.open_by(other_lock, None, "inside_handle")
    salto_sim.open_by(lock_by_name(salto_sim, "Front Door"), None, "inside_handle")
    assert (await client.next_push())["lock_customer_reference"] == "Front Door"
    await client.ws.close()


async def test_two_connections_of_a_site_both_get_the_row(salto_sim: Simulator, api: Api) -> None:
    first, second = await connect(api), await connect(api)
    salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    assert (await first.next_push())["event_category"] == "tamper"
    assert (await second.next_push())["event_category"] == "tamper"
    await first.ws.close()
    await second.ws.close()


async def test_client_pings_completions_and_invocations_are_tolerated(
    salto_sim: Simulator, api: Api
) -> None:
    client = await connect(api)
    await client.send({"type": 6})
    await client.send({"type": 3, "invocationId": "1", "result": None})
    await client.ws.send_str('{"type":6}' + RS + "not json" + RS + '{"type":1,')
    await client.ws.send_str('"target":"Nope","arguments":[],"invocationId":"7"}' + RS)
    answer = await client.recv()
    assert answer["type"] == 3
    assert answer["invocationId"] == "7"
    assert "error" in answer
    salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    assert (await client.next_push())["event_category"] == "tamper"
    await client.send({"type": 7})
    assert (await client.closed()).type == aiohttp.WSMsgType.CLOSE


async def test_a_silent_client_is_closed_after_the_client_timeout(
    salto_sim: Simulator, api: Api
) -> None:
    salto_sim.stream.update(client_timeout=0.2, keepalive=0.05)
    client = await connect(api)
    while (record := await client.recv()) == {"type": 6}:
        pass
    assert record["type"] == 7
    assert "timeout" in record["error"]
    assert (await client.closed()).type == aiohttp.WSMsgType.CLOSE


async def test_a_pinging_client_stays_connected(salto_sim: Simulator, api: Api) -> None:
    salto_sim.stream.update(client_timeout=0.3, keepalive=0.05)
    client = await connect(api)
    for _ in range(10):
        await client.send({"type": 6})
        assert await client.recv() == {"type": 6}
    assert salto_sim.stream.open_connections() == 1
    await client.ws.close()


# auth ----------------------------------------------------------------------------------------
async def test_no_or_unknown_or_expired_token_is_401(salto_sim: Simulator, api: Api) -> None:
    assert (await negotiate(api, None))[0] == 401
    assert (await negotiate(api, "not-a-token"))[0] == 401
    token = await api.login()
    _, body = await negotiate(api, token)
    salto_sim.expire_tokens()
    assert (await negotiate(api, token))[0] == 401
    url = f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}&id={body['connectionToken']}"
    assert await ws_status(api, url, bearer(token)) == 401
    assert await ws_status(api, url) == 401
    assert salto_sim.stream.counter("refused") == 5


async def test_a_user_without_admin_rights_is_403(salto_sim: Simulator, api: Api) -> None:
    token = await rights_user(salto_sim, api, ("site_user",))
    assert (await negotiate(api, token))[0] == 403
    url = f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}"
    assert await ws_status(api, url, bearer(token)) == 403


async def test_a_site_super_user_may_stream(salto_sim: Simulator, api: Api) -> None:
    token = await rights_user(salto_sim, api, ("site_super_user",))
    client = await connect(api, token)
    await client.ws.close()


async def test_a_site_the_caller_is_not_on_is_403_and_unknown_404(
    salto_sim: Simulator, api: Api
) -> None:
    token = await api.login()
    other = salto_sim.add_site("Other")
    assert (await negotiate(api, token, other))[0] == 403
    assert (await negotiate(api, token, "0b7a2c8e-0000-4000-8000-000000000000"))[0] == 404


async def test_without_the_events_streaming_feature_the_hub_refuses(
    salto_sim: Simulator, api: Api
) -> None:
    features = salto_sim.guest_access.features - {"events_streaming"}
    reply = await api.control("PATCH", "/guest_access", {"features": sorted(features)})
    assert reply.status == 200, reply.text
    token = await api.login()
    assert (await negotiate(api, token))[0] == 403
    url = f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}"
    assert await ws_status(api, url, bearer(token)) == 403
    sub = await api.get(api.site("/subscription"))
    assert "events_streaming" not in sub.json()["features"]


async def test_the_access_token_query_works_but_is_counted_and_never_logged(
    salto_sim: Simulator, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="simulator")
    token = await api.login()
    assert salto_sim.stream.counter("access_token_query") == 0
    async with api.session.post(
        f"{salto_sim.stream_url}{HUB}/negotiate?site_id={salto_sim.site_id}"
        f"&negotiateVersion=1&access_token={token}"
    ) as resp:
        assert resp.status == 200
        body = await resp.json()
    url = (
        f"{salto_sim.stream_url}{HUB}?site_id={salto_sim.site_id}"
        f"&id={body['connectionToken']}&access_token={token}"
    )
    ws = await api.session.ws_connect(url)
    await ws.close()
    assert salto_sim.stream.counter("access_token_query", salto_sim.site_id) == 2
    assert "POST /v1/hub/entries/negotiate 200" in caplog.text
    assert token not in caplog.text
    assert body["connectionToken"] not in caplog.text


async def test_an_expiring_token_does_not_close_an_open_connection(
    salto_sim: Simulator, api: Api
) -> None:
    client = await connect(api)
    salto_sim.expire_tokens()
    salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    assert (await client.next_push())["event_category"] == "tamper"
    await client.ws.close()


# faults --------------------------------------------------------------------------------------
async def test_drop_aborts_every_connection_without_a_close_frame(
    salto_sim: Simulator, api: Api
) -> None:
    first, second = await connect(api), await connect(api)
    await wait_for(lambda: salto_sim.stream.open_connections() == 2)
    reply = await api.control("POST", "/stream/drop")
    assert reply.json() == {"dropped": 2}
    for client in (first, second):
        end = await client.closed()
        assert end.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
        assert client.ws.close_code == 1006
    await wait_for(lambda: salto_sim.stream.open_connections() == 0)
    assert salto_sim.stream.counter("drops", salto_sim.site_id) == 2
    again = await connect(api)  # the hub takes new connections at once
    await again.ws.close()


async def test_close_sends_a_close_message(salto_sim: Simulator, api: Api) -> None:
    client = await connect(api)
    body = {"error": "Server is restarting", "allow_reconnect": True}
    assert (await api.control("POST", "/stream/close", body)).json() == {"closed": 1}
    assert await client.recv() == {
        "type": 7,
        "error": "Server is restarting",
        "allowReconnect": True,
    }
    end = await client.closed()
    assert end.type == aiohttp.WSMsgType.CLOSE
    assert end.data == 1000


@pytest.mark.parametrize("status", [401, 403])
async def test_refuse_the_next_connects(salto_sim: Simulator, api: Api, status: int) -> None:
    token = await api.login()
    reply = await api.control("POST", "/stream/refuse", {"status": status, "times": 2})
    assert reply.status == 200, reply.text
    assert (await negotiate(api, token))[0] == status
    assert (await negotiate(api, token))[0] == status
    assert (await negotiate(api, token))[0] == 200
    assert salto_sim.stream.counter("refused", salto_sim.site_id) == 2
    assert (await api.control("POST", "/stream/refuse", {"status": 500})).status == 400


async def test_stall_sends_nothing_and_loses_the_rows(salto_sim: Simulator, api: Api) -> None:
    salto_sim.stream.update(keepalive=0.05)
    client = await connect(api)
    assert await client.recv() == {"type": 6}
    await api.control("PATCH", "/stream", {"stall": True})
    client.records.clear()
    await asyncio.sleep(0.1)  # a ping in flight when the stall began may still arrive
    client.records.clear()
    salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    with pytest.raises(TimeoutError):
        await client.recv(within=0.3)
    assert salto_sim.stream.counter("stalled", salto_sim.site_id) == 1
    assert salto_sim.stream.open_connections() == 1  # open but silent: a half-dead socket
    await api.control("PATCH", "/stream", {"stall": False})
    assert await client.recv() == {"type": 6}
    salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    assert (await client.next_push())["event_category"] == "tamper"
    await client.ws.close()


async def test_delay_pushes_after_the_row_is_readable(salto_sim: Simulator, api: Api) -> None:
    client = await connect(api)
    await api.control("PATCH", "/stream", {"delay": 0.4})
    start = time.monotonic()
    row = salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    reply = await api.get(api.site("/entries?$top=1", version="v1.1"))
    assert reply.json()["items"][0]["id"] == row["id"]  # readable at once
    assert (await client.next_push())["id"] == row["id"]
    assert time.monotonic() - start >= 0.4
    await client.ws.close()


async def test_duplicate_pushes_each_row_twice(salto_sim: Simulator, api: Api) -> None:
    client = await connect(api)
    await api.control("PATCH", "/stream", {"duplicate": 2})
    row = salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    assert (await client.next_push())["id"] == row["id"]
    assert (await client.next_push())["id"] == row["id"]
    assert salto_sim.stream.counter("pushes", salto_sim.site_id) == 2
    await client.ws.close()


async def test_lead_pushes_before_the_row_is_readable(
    salto_sim: Simulator, api: Api, clock: Clock
) -> None:
    client = await connect(api)
    await api.control("PATCH", "/stream", {"lead": 5})
    row = salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    assert (await client.next_push())["id"] == row["id"]
    path = api.site("/entries?$top=50", version="v1.1")
    assert row["id"] not in [r["id"] for r in (await api.get(path)).json()["items"]]
    clock.advance(4)
    assert row["id"] not in [r["id"] for r in (await api.get(path)).json()["items"]]
    clock.advance(1)
    assert row["id"] in [r["id"] for r in (await api.get(path)).json()["items"]]
    await client.ws.close()


async def test_the_log_stays_in_order_when_the_lead_ends(
    salto_sim: Simulator, api: Api, clock: Clock
) -> None:
    """A row written after a hidden one is not readable before it (a replica applies in order)."""
    await api.control("PATCH", "/stream", {"lead": 5})
    first = salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    await api.control("PATCH", "/stream", {"lead": 0})
    clock.advance(1)
    second = salto_sim.tamper(lock_by_name(salto_sim, "Front Door"))
    path = api.site("/entries?$top=50", version="v1.1")
    ids = [r["id"] for r in (await api.get(path)).json()["items"]]
    assert first["id"] not in ids
    assert second["id"] not in ids
    clock.advance(4)
    ids = [r["id"] for r in (await api.get(path)).json()["items"]]
    assert first["id"] in ids
    assert second["id"] in ids


async def test_a_generic_fault_on_negotiate(salto_sim: Simulator, api: Api) -> None:
    token = await api.login()
    salto_sim.inject_fault("hub_negotiate", 503, times=1)
    assert (await negotiate(api, token))[0] == 503
    assert (await negotiate(api, token))[0] == 200
    assert salto_sim.counters["hub_negotiate"] == 2


async def test_the_monitor_sees_hub_requests_before_a_retry_after(
    salto_sim: Simulator, api: Api
) -> None:
    token = await api.login()
    salto_sim.inject_fault("hub_negotiate", 429, times=1, retry_after=30)
    assert (await negotiate(api, token))[0] == 429
    assert (await negotiate(api, token))[0] == 200  # too early: counted, not refused
    salto_sim.inject_fault("locks", 429, times=1, retry_after=30)
    assert (await api.get(api.site("/locks"))).status == 429
    assert (await negotiate(api, token))[0] == 200  # an API 429 covers the hub too
    early = salto_sim.monitor.early
    assert [(e.channel, e.endpoint) for e in early] == [
        ("hub", "hub_negotiate"),
        ("hub", "hub_negotiate"),
    ]


async def test_control_api_validates_and_reports(salto_sim: Simulator, api: Api) -> None:
    assert (await api.control("PATCH", "/stream", {"duplicate": 0})).status == 400
    assert (await api.control("PATCH", "/stream", {"nope": 1})).status == 400
    assert (await api.control("PATCH", "/stream", {"keepalive": 2})).json()["keepalive"] == 2
    client = await connect(api)
    view = (await api.control("GET", "/stream")).json()
    assert view["open"] == {salto_sim.site_id: 1}
    assert view["counters"][salto_sim.site_id]["connections"] == 1
    await api.control("POST", "/stream/clear")
    assert (await api.control("GET", "/stream")).json()["keepalive"] == 15
    await api.control("POST", "/stream/counters/reset")
    assert (await api.control("GET", "/stream")).json()["counters"] == {}
    await client.ws.close()


async def test_stop_closes_open_connections(socket_enabled: None) -> None:
    sim = Simulator.from_scenario("small", seed=1)
    await sim.start()
    async with aiohttp.ClientSession() as session:
        api = Api(sim, session)
        client = await connect(api)
        started = time.monotonic()
        await sim.stop()
        assert time.monotonic() - started < 1.0
        end = await client.closed()
        assert end.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "salto-sim-hub-writer"]
    assert tasks == []
