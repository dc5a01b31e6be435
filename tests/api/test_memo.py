"""api/memo.py: an unchanged list item comes back as the same model object."""

from __future__ import annotations

from custom_components.salto_ks.api import (
    BatteryLevel,
    SaltoKSClient,
)
from simulator import Simulator


async def test_unchanged_locks_reuse_their_models(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """A lock whose JSON did not change comes back as the very same model object; a changed one is new."""
    first = {lock.id: lock for lock in await client.get_locks(salto_sim.site_id)}
    first_iqs = await client.get_iqs(salto_sim.site_id)
    changed = next(iter(first))
    salto_sim.set_lock(changed, battery_level="low")
    second = {lock.id: lock for lock in await client.get_locks(salto_sim.site_id)}
    assert second[changed] is not first[changed]
    assert second[changed].battery_level is BatteryLevel.LOW
    for lock_id, lock in second.items():
        if lock_id != changed:
            assert lock is first[lock_id]
    assert [
        iq is old
        for iq, old in zip(await client.get_iqs(salto_sim.site_id), first_iqs, strict=True)
    ] == [True] * len(first_iqs)
