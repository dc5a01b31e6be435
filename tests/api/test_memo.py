"""api/memo.py: an unchanged list item comes back as the same model object."""

from __future__ import annotations

import pytest

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


async def test_unchanged_page_is_not_parsed_again(
    salto_sim: Simulator, client: SaltoKSClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A page whose body is byte for byte the last one of its URL is not parsed again: its models
    come back as they were, and its unparsable item is not warned about twice; a changed page is."""
    salto_sim.tenant.update(page_size=2)
    locks = salto_sim.state.locks_of(salto_sim.site_id)
    assert len(locks) == 3  # two pages: locks 0 and 1, then lock 2
    salto_sim.state.lock(locks[0].id).online = "maybe"  # not a boolean: skipped with a warning

    def warnings() -> int:
        return sum("cannot be parsed" in r.getMessage() for r in caplog.records)

    first = await client.get_locks(salto_sim.site_id)
    assert [lock.id for lock in first] == [locks[1].id, locks[2].id]
    assert warnings() == 1
    second = await client.get_locks(salto_sim.site_id)
    assert [a is b for a, b in zip(second, first, strict=True)] == [True, True]
    assert warnings() == 1

    salto_sim.set_lock(locks[2].id, battery_level="low")  # the second page changes
    third = await client.get_locks(salto_sim.site_id)
    assert third[0] is first[0]
    assert third[1] is not first[1]
    assert third[1].battery_level is BatteryLevel.LOW
    assert warnings() == 1

    salto_sim.state.lock(locks[0].id).online = True  # the first page changes
    fourth = await client.get_locks(salto_sim.site_id)
    assert [lock.id for lock in fourth] == [lock.id for lock in locks]
    assert fourth[1] is first[0]
    assert fourth[2] is third[1]
    assert warnings() == 1
