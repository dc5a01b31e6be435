"""The demo scenario's "life": a background task where things happen now and then.

Started only by ``Simulator.start_life()`` (``python -m simulator --scenario demo`` calls it);
``Simulator.stop()`` cancels it. Choices come from ``sim.life_rng``, so a seed gives the same story.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .world import World

_LOGGER = logging.getLogger(__name__)
BATTERY_STEPS = {"fresh": "good", "good": "low", "low": "critical", "critical": "fresh"}


def life_step(sim: World) -> str:
    """Make one thing happen; returns what (for logs and tests)."""
    rng = sim.life_rng
    locks = [lock for lock in sim.state.locks.values() if lock.site_id == sim.site_id]
    people = [
        su.user.id
        for su in sim.state.users_of(sim.site_id)
        if not su.blocked and "site_admin" not in su.roles
    ]
    if not locks:
        return "nothing"
    lock = rng.choice(locks)
    roll = rng.random()
    if roll < 0.5 and people and lock.online:
        method = rng.choice(("tag", "pin_code", "app"))
        sim.open_by(lock.id, rng.choice(people), method)
        return f"open {lock.name} by {method}"
    if roll < 0.6:
        sim.reject(lock.id, None, "pin_code")
        return f"reject {lock.name}"
    if roll < 0.7:
        level = str(lock.battery_level)
        new = BATTERY_STEPS.get(level, "fresh")
        if new in {"low", "critical"}:
            sim.low_battery(lock.id, new)
        else:
            sim.set_lock(lock.id, battery_level=new)
        return f"battery {lock.name} {new}"
    if roll < 0.8:
        offline = next((lk for lk in locks if not lk.online), None)
        target = offline or lock
        sim.set_lock(target.id, online=offline is not None)
        return f"{target.name} {'back online' if offline else 'offline'}"
    if roll < 0.9:
        left_open = next((lk for lk in locks if lk.left_open_alarm), None)
        if left_open is not None:
            sim.door_left_open(left_open.id, active=False)
            return f"{left_open.name} closed"
        sim.door_left_open(lock.id)
        return f"{lock.name} left open"
    if roll < 0.95:
        sim.open_by(lock.id, None, "inside_handle")
        return f"exit {lock.name}"
    start = lock.locked_state != "office_mode"
    sim.office_mode(lock.id, start=start)
    return f"office mode {'start' if start else 'end'} {lock.name}"


async def run_life(sim: World, interval: float) -> None:
    """Loop forever: wait ~``interval`` s, make something happen."""
    while True:
        await asyncio.sleep(interval * (0.5 + sim.life_rng.random()))
        _LOGGER.info("life: %s", life_step(sim))
