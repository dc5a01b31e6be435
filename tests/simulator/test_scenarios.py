"""Scenarios, the demo's life task, and ``python -m simulator`` as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from custom_components.salto_ks.api import Lock, SaltoKSClient
from simulator import Simulator
from simulator.__main__ import parse_args
from simulator.life import life_step

from .conftest import Api, basic_header

REPO = Path(__file__).resolve().parents[2]


def test_small_is_deterministic() -> None:
    one = Simulator.from_scenario("small", seed=5)
    two = Simulator.from_scenario("small", seed=5)
    other = Simulator.from_scenario("small", seed=6)
    assert one.site_id == two.site_id
    assert list(one.state.locks) == list(two.state.locks)
    assert one.site_id != other.site_id
    assert len(one.state.sites) == 1
    assert len(one.state.iqs) == 1
    assert len(one.state.locks) == 3
    assert len(one.state.site_users) == 3
    system = [su for su in one.state.site_users.values() if su.user.email == one.username]
    assert system[0].remote_access is True
    assert system[0].user.password == one.password


async def test_large_with_1000_locks(session: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    sim = Simulator.from_scenario("large", seed=3, locks=1000)
    assert time.monotonic() - started < 3
    assert len(sim.state.locks) == 1000
    assert len(sim.state.iqs) == 20
    per_iq: dict[str | None, int] = {}
    for lock in sim.state.locks.values():
        per_iq[lock.iq_id] = per_iq.get(lock.iq_id, 0) + 1
    assert set(per_iq.values()) == {50}
    await sim.start()
    try:
        api = Api(sim, session)
        seen = 0
        pages = 0
        url: str | None = api.site("/locks")
        while url:
            body = (await api.get(url)).json()
            seen += len(body["items"])
            pages += 1
            url = body["next_page_link"]
        assert (seen, pages) == (1000, 10)
    finally:
        await sim.stop()


def test_large_lock_count_option() -> None:
    sim = Simulator.from_scenario("large", locks=120)
    assert len(sim.state.locks) == 120
    assert len(sim.state.iqs) == 3
    with pytest.raises(ValueError, match="unknown scenario"):
        Simulator.from_scenario("huge")


def test_demo_life_is_deterministic() -> None:
    one = Simulator.from_scenario("demo", seed=9)
    two = Simulator.from_scenario("demo", seed=9)
    story = [life_step(one) for _ in range(60)]
    assert story == [life_step(two) for _ in range(60)]
    assert any(s.startswith("open ") for s in story)
    assert any("battery" in s for s in story)
    assert any("offline" in s or "back online" in s for s in story)
    assert any("left open" in s for s in story)
    assert len(one.entries()) > 40


async def test_demo_life_runs_only_when_asked(socket_enabled: None) -> None:
    sim = Simulator.from_scenario("demo", seed=2)
    await sim.start()
    try:
        assert not sim.life_running
        before = len(sim.entries())
        await asyncio.sleep(0.05)
        assert len(sim.entries()) == before
        sim.start_life(interval=0.005)
        assert sim.life_running
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(sim.entries()) > before + 3:
                break
        assert len(sim.entries()) > before + 3
    finally:
        await sim.stop()
    assert not sim.life_running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _banner_values(banner: str) -> dict[str, str]:
    """``key value`` pairs of the banner's indented lines (first word after the key)."""
    values = {}
    for line in banner.splitlines():
        if line.startswith("  ") and len(parts := line.split()) >= 2:
            values[parts[0]] = parts[1]
    return values


@pytest.mark.parametrize(
    ("flags", "scenario", "lock_count"),
    [(["--scenario", "small"], "small", 3), ([], "demo", 6)],
    ids=["small", "default"],
)
async def test_python_m_simulator(
    session: aiohttp.ClientSession, flags: list[str], scenario: str, lock_count: int
) -> None:
    """The issue's "done when": the module answers a token request and a locks listing the client parses."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port",
        str(port),
        *flags,
        "--seed",
        "1",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readuntil(b"control API"), 20)).decode()
        url = f"http://127.0.0.1:{port}"
        assert url in banner
        assert f"({scenario}, seed 1)" in banner
        expected = Simulator.from_scenario(scenario, seed=1)
        assert expected.client_secret in banner
        async with session.post(
            url + "/connect/token",
            data={
                "grant_type": "password",
                "username": expected.username,
                "password": expected.password,
            },
            headers={"Authorization": basic_header(expected.client_id, expected.client_secret)},
        ) as resp:
            assert resp.status == 200
            token = (await resp.json())["access_token"]
        async with session.get(
            f"{url}/v1.2/sites/{expected.site_id}/locks",
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 200
            assert len((await resp.json())["items"]) == lock_count

        creds = _banner_values(banner)
        client = SaltoKSClient(
            session,
            api_base=creds["api_base"],
            auth_url=creds["auth_url"],
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            username=creds["username"],
            password=creds["password"],
        )
        locks = await client.get_locks(creds["site_id"])
        assert all(isinstance(lock, Lock) for lock in locks)
        assert sorted(lock.name for lock in locks) == sorted(
            lock.name for lock in expected.state.locks.values()
        )
        assert all(lock.iq is not None and lock.locked_state is not None for lock in locks)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.parametrize("scenario", ["small", "demo"])
def test_locks_option_refused_outside_large(
    scenario: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--scenario", scenario, "--locks", "5"])
    assert exit_info.value.code == 2
    assert f"--locks only applies to --scenario large, not '{scenario}'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="only applies to scenario 'large'"):
        Simulator.from_scenario(scenario, locks=5)


def test_locks_option_default_scenario_and_large(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--locks", "5"])  # the default scenario is demo
    assert "not 'demo'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "large", "--locks", "-1"])
    assert "--locks must be >= 0" in capsys.readouterr().err
    assert parse_args(["--scenario", "large", "--locks", "5"]).locks == 5
    assert parse_args([]).locks is None
