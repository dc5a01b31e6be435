"""Every call of the client against the simulator over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.salto_ks.api import (
    BatteryLevel,
    DataSyncState,
    EventCategory,
    Lock,
    LockedState,
    SaltoKSClient,
)
from simulator import Simulator

from .conftest import MakeClient


async def _lock(client: SaltoKSClient, site_id: str, lock_id: str) -> Lock:
    """The lock ``lock_id`` as the roster listing reports it now."""
    return next(lock for lock in await client.get_locks(site_id) if lock.id == lock_id)


async def test_get_sites(salto_sim: Simulator, client: SaltoKSClient) -> None:
    sites = await client.get_sites()
    assert [s.id for s in sites] == [salto_sim.site_id]
    assert sites[0].name
    assert sites[0].site_uid
    assert salto_sim.counters["sites"] == 1


async def test_sites_are_those_of_the_user(
    salto_sim: Simulator, client: SaltoKSClient, make_client: MakeClient
) -> None:
    second = salto_sim.add_site("Second office")
    salto_sim.add_user(
        site_id=second,
        first_name="Bo",
        last_name="Berg",
        email="bo@example.com",
        password="bo-password-1",
    )
    assert [s.id for s in await client.get_sites()] == [salto_sim.site_id]
    other = make_client(username="bo@example.com", password="bo-password-1")
    sites = await other.get_sites()
    assert [(s.id, s.name) for s in sites] == [(second, "Second office")]


async def test_get_locks(salto_sim: Simulator, client: SaltoKSClient) -> None:
    locks = await client.get_locks(salto_sim.site_id)
    assert len(locks) == 3
    iqs = await client.get_iqs(salto_sim.site_id)
    for lock in locks:
        assert lock.name
        assert isinstance(lock.locked_state, LockedState)
        assert lock.iq is not None
        assert lock.iq.id == iqs[0].id


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


async def test_lock_state_changes_are_seen(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    salto_sim.set_lock(
        lock.id,
        battery_level="critical",
        left_open_alarm=True,
        intrusion_alarm=True,
        privacy_mode=True,
        online=False,
        name="Back door",
    )
    changed = await _lock(client, salto_sim.site_id, lock.id)
    assert changed.battery_level is BatteryLevel.CRITICAL
    assert changed.left_open_alarm is True
    assert changed.intrusion_alarm is True
    assert changed.privacy_mode is True
    assert changed.online is False
    assert changed.name == "Back door"


async def test_locks_paging_with_top(salto_sim: Simulator, client: SaltoKSClient) -> None:
    all_locks = await client.get_locks(salto_sim.site_id)
    salto_sim.reset_counters()
    paged = await client.get_locks(salto_sim.site_id, page_size=1)
    assert paged == all_locks
    assert salto_sim.counters["locks"] >= 3


async def test_locks_paging_by_server_page_size(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    iq_id = (await client.get_iqs(salto_sim.site_id))[0].id
    for n in range(4):
        salto_sim.add_lock(name=f"Extra {n}", iq_id=iq_id)
    salto_sim.tenant.page_size = 2
    salto_sim.reset_counters()
    locks = await client.get_locks(salto_sim.site_id)
    assert len(locks) == 7
    assert len({lock.id for lock in locks}) == 7
    assert salto_sim.counters["locks"] >= 4


async def test_get_iqs(salto_sim: Simulator, client: SaltoKSClient) -> None:
    iqs = await client.get_iqs(salto_sim.site_id)
    assert len(iqs) == 1
    iq = iqs[0]
    assert iq.online is True
    assert isinstance(iq.signal_strength, int)
    assert isinstance(iq.data_sync_state, DataSyncState)
    salto_sim.set_iq(iq.id, online=False)
    assert (await client.get_iqs(salto_sim.site_id))[0].online is False


async def test_get_users_and_paging(salto_sim: Simulator, client: SaltoKSClient) -> None:
    users = await client.get_users(salto_sim.site_id)
    assert len(users) == 3
    assert all(u.user_id for u in users)
    assert any(u.email == salto_sim.username for u in users)
    salto_sim.reset_counters()
    assert await client.get_users(salto_sim.site_id, page_size=1) == users
    assert salto_sim.counters["users"] >= 3
    added = salto_sim.add_user(first_name="Ada", last_name="Lovelace", alias="ada")
    users = await client.get_users(salto_sim.site_id)
    new = next(u for u in users if u.id == added["id"])
    assert (new.first_name, new.last_name, new.alias) == ("Ada", "Lovelace", "ada")
    assert new.roles == ("site_user",)


async def test_users_as_a_bare_array(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """The record saw the users list both as {items, …} and as a bare array: both parse alike."""
    wrapped = await client.get_users(salto_sim.site_id)
    salto_sim.tenant.update(users_envelope="array")
    assert await client.get_users(salto_sim.site_id) == wrapped
    assert len(wrapped) == 3


async def test_unlock_opens_and_logs_remote_entry(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    await client.unlock(salto_sim.site_id, lock.id)
    assert salto_sim.counters["locking"] == 1
    assert (await _lock(client, salto_sim.site_id, lock.id)).locked_state is LockedState.UNLOCKED
    entries = await client.get_entries(salto_sim.site_id, limit=5)
    newest = entries[0]
    assert newest.event_category is EventCategory.LOCK_OPENED
    assert newest.access_by == "remote"
    assert newest.lock_id == lock.id
    me = next(u for u in await client.get_users(salto_sim.site_id) if u.email == salto_sim.username)
    assert newest.user_id == me.user_id


async def test_lock_locks(salto_sim: Simulator, client: SaltoKSClient) -> None:
    lock = (await client.get_locks(salto_sim.site_id))[0]
    salto_sim.set_lock(lock.id, locked_state="office_mode")
    await client.lock(salto_sim.site_id, lock.id)
    assert salto_sim.counters["locking"] == 1
    assert (await _lock(client, salto_sim.site_id, lock.id)).locked_state is LockedState.LOCKED


async def _add_entries(
    sim: Simulator, client: SaltoKSClient, count: int, start: datetime
) -> list[str]:
    lock_id = (await client.get_locks(sim.site_id))[0].id
    ids = []
    for n in range(count):
        row = sim.add_entry(
            lock_id=lock_id,
            event_category="lock_opened",
            access_by="tag",
            utc=start + timedelta(minutes=n),
        )
        ids.append(row["id"])
    return ids


async def test_entries_order_limit_and_since(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 6, start)
    newest = await client.get_entries(salto_sim.site_id, since=start, limit=50)
    assert [e.id for e in newest] == ids[::-1]
    assert all(e.utc_date_time.tzinfo is not None for e in newest)
    limited = await client.get_entries(salto_sim.site_id, since=start, limit=4)
    assert [e.id for e in limited] == ids[::-1][:4]
    later = await client.get_entries(salto_sim.site_id, since=start + timedelta(minutes=4))
    assert [e.id for e in later] == ids[:3:-1]
    # A sub-second since is rounded down: its own second's row stays.
    rounded = await client.get_entries(
        salto_sim.site_id,
        since=(start + timedelta(minutes=4, milliseconds=500)).replace(tzinfo=None),
    )
    assert [e.id for e in rounded] == ids[:3:-1]


async def test_entries_since_a_year_below_1000(salto_sim: Simulator, client: SaltoKSClient) -> None:
    """The filter literal keeps four year digits (strftime's %Y does not pad them on Linux)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    ids = await _add_entries(salto_sim, client, 2, start)
    rows = await client.get_entries(salto_sim.site_id, since=datetime(1, 1, 1, tzinfo=UTC))
    assert [e.id for e in rows][:2] == ids[::-1]


async def test_entry_pages_newest_first_until_break(
    salto_sim: Simulator, client: SaltoKSClient
) -> None:
    """One list per page, newest first, continuation tokens followed; a break sends nothing more."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 5, start)
    salto_sim.reset_counters()
    pages = [
        [e.id for e in page]
        async for page in client.entry_pages(salto_sim.site_id, since=start, page_size=2)
    ]
    assert pages == [ids[:2:-1], ids[2:0:-1], ids[:1]]
    assert salto_sim.counters["entries"] == 3
    salto_sim.reset_counters()
    async for page in client.entry_pages(salto_sim.site_id, since=start, page_size=2):
        assert [e.id for e in page] == ids[:2:-1]
        break
    assert salto_sim.counters["entries"] == 1
    with pytest.raises(ValueError, match="page_size"):
        async for _page in client.entry_pages(salto_sim.site_id, page_size=201):
            pass


async def test_entries_continuation_paging(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 7, start)
    salto_sim.tenant.entries_page_size = 2
    salto_sim.reset_counters()
    entries = await client.get_entries(salto_sim.site_id, since=start, limit=50)
    assert [e.id for e in entries] == ids[::-1]
    assert salto_sim.counters["entries"] == 4
    salto_sim.reset_counters()
    entries = await client.get_entries(salto_sim.site_id, since=start, limit=3, page_size=2)
    assert [e.id for e in entries] == ids[::-1][:3]
    assert salto_sim.counters["entries"] == 2


async def test_entries_zero_item_pages(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 5, start)
    salto_sim.tenant.entries_page_size = 2
    salto_sim.tenant.entries_empty_pages = True
    salto_sim.reset_counters()
    entries = await client.get_entries(salto_sim.site_id, since=start, limit=50)
    assert [e.id for e in entries] == ids[::-1]
    # Three pages with rows, each preceded by an empty page carrying a token.
    assert salto_sim.counters["entries"] >= 6


async def test_legacy_audit_trails_fallback(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 2, start)
    salto_sim.tenant.update(profile="legacy", audit_path="audit-trails")
    entries = await client.get_entries(salto_sim.site_id, since=start)
    assert [e.id for e in entries] == ids[::-1]
    assert client.entries_path == "audit-trails"
    assert salto_sim.counters["entries"] == 1
    assert salto_sim.counters["audit_trails"] == 1
    await client.get_entries(salto_sim.site_id, since=start)
    assert salto_sim.counters["entries"] == 1
    assert salto_sim.counters["audit_trails"] == 2


async def test_legacy_audit_log_fallback(salto_sim: Simulator, client: SaltoKSClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids = await _add_entries(salto_sim, client, 3, start)
    salto_sim.tenant.update(profile="legacy", audit_path="audit/log")
    entries = await client.get_entries(salto_sim.site_id, since=start)
    assert [e.id for e in entries] == ids[::-1]
    assert client.entries_path == "audit/log"
    assert salto_sim.counters["entries"] == 1
    assert salto_sim.counters["audit_trails"] == 1
    assert salto_sim.counters["audit_log"] == 1
    await client.get_entries(salto_sim.site_id, since=start)
    assert salto_sim.counters["audit_log"] == 2
    assert salto_sim.counters["entries"] == 1


async def test_legacy_profile_urls(salto_sim: Simulator, make_client: MakeClient) -> None:
    """The legacy profile's driver: client credentials at /oauth2/token, api_base with /v1.1."""
    salto_sim.tenant.update(profile="legacy", grants={"client_credentials"})
    client = make_client(
        api_base=f"{salto_sim.url}/v1.1/",
        auth_url=f"{salto_sim.url}/oauth2/token",
        username=None,
        password=None,
    )
    assert client.api_base == salto_sim.url
    await client.authenticate()
    assert salto_sim.counters["token"] == 1
