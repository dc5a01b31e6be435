"""``python -m simulator --port 8787 [--host 127.0.0.1] [--scenario demo|small|large] [--locks N] [--seed S]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .scenarios import SCENARIOS
from .server import Simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--scenario", choices=SCENARIOS, default="demo")
    parser.add_argument("--locks", type=int, default=None, help="lock count for 'large'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--life-interval", type=float, default=4.0, help="demo: seconds between events"
    )
    args = parser.parse_args(argv)
    # Only 'large' is sized by a count; taking the option silently elsewhere would mislead.
    if args.locks is not None and args.scenario != "large":
        parser.error(f"--locks only applies to --scenario large, not {args.scenario!r}")
    if args.locks is not None and args.locks < 0:
        parser.error("--locks must be >= 0")
    return args


async def serve(args: argparse.Namespace) -> None:
    sim = Simulator.from_scenario(args.scenario, seed=args.seed, locks=args.locks)
    await sim.start(host=args.host, port=args.port)
    if args.scenario == "demo":
        sim.start_life(args.life_interval)
    creds = sim.credentials()
    lines = [
        f"Salto KS simulator ({args.scenario}, seed {args.seed}) on {sim.url}",
        f"  api_base      {creds['api_base']}",
        f"  auth_url      {creds['auth_url']}   (legacy profile only: {creds['legacy_auth_url']})",
        f"  authorize_url {creds['authorize_url']}   (redirect URIs: {sim.url}/_sim/clients/"
        f"{creds['client_id']})",
        f"  client_id     {creds['client_id']}",
        f"  client_secret {creds['client_secret']}",
        f"  username      {creds['username']}",
        f"  password      {creds['password']}",
        f"  site_id       {creds['site_id']}",
        f"  control API   {sim.url}/_sim/state",
    ]
    lines += [
        f"  OTP of {iq.name}: {sim.url}/_sim/iqs/{iq.id}/otp (a new code each second)"
        for iq in sim.state.iqs.values()
        if iq.otp_enabled
    ]
    print("\n".join(lines), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
