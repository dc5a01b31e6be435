"""scripts/develop: the simulator (demo scenario) on :8787 and Home Assistant on :8123 until Ctrl-C.

The first run onboards Home Assistant with the development login and adds the Salto KS entry
pointed at the simulator (``--oauth``: a Salto-account entry, signed in on the simulator's login
page); later runs reuse ``config/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools.common import DEV_PASSWORD, DEV_USER, DOMAIN, LOOPBACK, REPO, DevToolsError
from devtools.haconfig import link_component, skip_onboarding_integrations
from devtools.oauth import add_oauth_entry
from devtools.processes import Process, hass_argv, port_in_use, simulator_argv, start_process
from devtools.rest import HomeAssistant
from devtools.salto import salto_entities, simulator_answers
from devtools.sim_control import SimulatorControl
from devtools.waiting import new_session, wait_for, wait_http


async def ensure_salto_entry(
    ha: HomeAssistant, sim: SimulatorControl, *, oauth: bool = False
) -> dict[str, Any] | None:
    """Add the Salto KS entry pointed at the simulator unless one exists. None if impossible.

    ``oauth``: sign in with a Salto account (authorization code) instead of the password grant.
    """
    existing = await ha.config_entries(DOMAIN)
    if existing:
        print(f"[develop] reusing the Salto KS entry {existing[0]['title']!r}", flush=True)
        return existing[0]
    handlers = await ha.flow_handlers()
    if DOMAIN not in handlers:
        print(
            "[develop] the Salto KS config flow is not available (yet): add the entry later",
            flush=True,
        )
        return None
    credentials = await sim.credentials()
    if oauth:
        entry = await add_oauth_entry(ha, sim, credentials)
    else:
        entry = await ha.add_config_entry(DOMAIN, simulator_answers(credentials))
    print(f"[develop] added the Salto KS entry {entry.get('title')!r}", flush=True)
    return entry


async def develop(args: argparse.Namespace) -> int:
    config_dir: Path = args.config.resolve()
    python = Path(sys.executable)
    ha_url = f"http://{LOOPBACK}:{args.ha_port}"
    sim_url = f"http://{LOOPBACK}:{args.sim_port}"
    for name, port in (("simulator", args.sim_port), ("Home Assistant", args.ha_port)):
        if port_in_use(port):
            print(f"[develop] port {port} ({name}) is already in use: stop that first", flush=True)
            return 1
    link_component(config_dir)
    first_run = not (config_dir / ".storage" / "onboarding").exists()
    skip_onboarding_integrations(config_dir)
    t0 = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sim_log = config_dir / "simulator.log"
    processes: list[Process] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    try:
        processes.append(
            start_process(
                "simulator",
                simulator_argv(python, port=args.sim_port, scenario=args.scenario),
                cwd=REPO,
                log_path=sim_log,
                env=env,
            )
        )
        hass = start_process("hass", hass_argv(python, config_dir), cwd=config_dir)
        processes.append(hass)
        async with new_session() as session:
            sim = SimulatorControl(session, sim_url)
            ha = HomeAssistant(session, ha_url)
            setup = asyncio.ensure_future(
                _develop_setup(ha, sim, processes, first_run=first_run, t0=t0, oauth=args.oauth)
            )
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({setup, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not setup.done():
                setup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await setup
                return 130
            stopped.cancel()
            setup.result()
            print(
                "\n"
                f"  Home Assistant  {ha_url}   login: {DEV_USER} / {DEV_PASSWORD}\n"
                f"  Simulator       {sim_url}   (control API {sim_url}/_sim/state; log {sim_log})\n"
                f"  Ctrl-C stops both.\n",
                flush=True,
            )
            while not stop.is_set():
                for proc in processes:
                    if not proc.alive():
                        print(f"[develop] {proc.name} exited; stopping", flush=True)
                        return 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            return 0
    except DevToolsError as err:
        print(f"[develop] {err}", flush=True)
        return 1
    finally:
        print("[develop] stopping Home Assistant and the simulator", flush=True)
        for proc in reversed(processes):
            proc.stop(timeout=30)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


async def _develop_setup(
    ha: HomeAssistant,
    sim: SimulatorControl,
    processes: list[Process],
    *,
    first_run: bool,
    t0: float,
    oauth: bool = False,
) -> None:
    await wait_http(ha.session, sim.url + "/_sim/state", within=60, processes=processes)
    await wait_http(ha.session, ha.base_url + "/api/onboarding", within=180, processes=processes)
    print(f"[develop] Home Assistant answers after {time.monotonic() - t0:.1f} s", flush=True)
    created = await ha.onboard_or_login()
    if created:
        print(f"[develop] onboarding done: owner {DEV_USER!r}", flush=True)
    await ha.wait_running(within=180, processes=processes)
    entry = await ensure_salto_entry(ha, sim, oauth=oauth)
    if entry is not None:

        async def locks() -> list[dict[str, Any]] | None:
            found = await salto_entities(ha, "lock")
            return found or None

        try:
            found = await wait_for(locks, within=60, what="Salto KS locks", processes=processes)
            print(f"[develop] {len(found)} Salto KS locks in Home Assistant", flush=True)
        except DevToolsError as err:
            print(f"[develop] no Salto KS lock yet: {err}", flush=True)
    kind = "first run" if first_run else "later run"
    print(f"[develop] ready after {time.monotonic() - t0:.1f} s ({kind})", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="run the simulator (demo) on :8787 and Home Assistant on :8123 until Ctrl-C",
    )
    parser.add_argument(
        "--oauth",
        action="store_true",
        help="add the entry as a Salto account (OAuth2 sign-in on the simulator's login page); "
        "only when no Salto KS entry exists yet",
    )
    args = parser.parse_args(argv)
    args.config = REPO / "config"  # its configuration.yaml fixes the port: 8123
    args.ha_port = 8123
    args.sim_port = 8787
    args.scenario = "demo"
    return asyncio.run(develop(args))


if __name__ == "__main__":
    sys.exit(main())
