"""Ready-made worlds: ``small``, ``large`` and ``demo`` (all deterministic for a seed).

All share the default credentials (``world.DEFAULT_*``): a client and a "system user" who is a site
admin with remote access, as most real backend integrations use. The IQs of ``large`` and ``demo``
ask for an OTP, as every IQ in the record does; the system user is activated on none of them (its
Salto app activates it when ``valid_otp`` is read; the activation calls do it for Home Assistant).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

from .models import office_hours_schedule

if TYPE_CHECKING:
    from .world import World

SCENARIOS = ("small", "large", "demo")
LOCKS_PER_IQ = 50
DEFAULT_LARGE_LOCKS = 1000
PEOPLE = (
    ("Alice", "Archer", "01507333"),
    ("Bob", "Baker", "02309289"),
    ("Carol", "Chen", "03114577"),
    ("Dave", "Diaz", "04220913"),
    ("Eve", "Evans", "05331206"),
)


def build(sim: World, name: str, *, locks: int | None = None) -> None:
    """Fill an empty simulator with scenario ``name`` (``locks`` sizes ``large`` only)."""
    if locks is not None and name != "large":
        raise ValueError(f"locks only applies to scenario 'large', not {name!r}")
    if name == "small":
        _small(sim)
    elif name == "large":
        _large(sim, DEFAULT_LARGE_LOCKS if locks is None else locks)
    elif name == "demo":
        _demo(sim)
    else:
        raise ValueError(f"unknown scenario {name!r}; known: {SCENARIOS}")
    sim.scenario = name


def _system_user(sim: World) -> str:
    su = sim.add_user(
        first_name="System",
        last_name="User",
        email=sim.username,
        password=sim.password,
        roles=("site_admin",),
        remote_access=True,
    )
    # The integration's own user may toggle manual office mode (the right is off by default).
    sim.set_user(su["id"], toggle_manual_office_mode=True)
    return str(su["user"]["id"])


def _small(sim: World) -> None:
    """1 site, 1 IQ (no OTP), 3 locks of distinct types, 3 users, 3 past entries, 2 access groups."""
    sim.add_site("Salto Sim Office", site_uid="DE4520000001")
    sim.add_iq(name="IQ 01")
    front = sim.add_lock(name="Front Door", lock_type="escutcheon_pin")
    sim.set_lock(front, easy_office_mode_schedule=office_hours_schedule())
    back = sim.add_lock(name="Back Door", lock_type="wall_reader_pin")
    storage = sim.add_lock(
        name="Storage Room", lock_type="cylinder", battery_level="good", supports_remote_lock=False
    )
    _system_user(sim)
    alice = sim.add_user(
        first_name="Alice",
        last_name="Archer",
        email="alice@salto-sim.example",
        tag_number=PEOPLE[0][2],
    )
    bob = sim.add_user(
        first_name="Bob", last_name="Baker", email="bob@salto-sim.example", remote_access=False
    )
    now = sim.clock().replace(microsecond=0)
    sim.open_by(front, alice["user"]["id"], "tag", utc=now - timedelta(hours=3))
    sim.open_by(back, alice["user"]["id"], "pin_code", utc=now - timedelta(hours=2))
    sim.reject(back, bob["user"]["id"], "pin_code", utc=now - timedelta(hours=1))
    # Guest access: a group that opens the two doors at any time, and one without a schedule.
    sim.add_access_group(name="Apartment", lock_ids=[front, back])
    sim.add_access_group(name="Storage", lock_ids=[storage], schedule=False)


def _large(sim: World, count: int) -> None:
    """1 site, ``count`` locks at ~50 per OTP IQ, 50 users, a day of history."""
    if count < 0:
        raise ValueError("locks must be >= 0")
    sim.add_site("Salto Sim Campus", site_uid="DE4520000002")
    iqs = [
        sim.add_iq(name=f"IQ {n + 1:03d}", otp_enabled=True)
        for n in range(max(1, math.ceil(count / LOCKS_PER_IQ)))
    ]
    rng = sim.state.rng
    types = ("escutcheon_pin", "wall_reader_pin", "cylinder")
    lock_ids = [
        sim.add_lock(
            name=f"Door {n + 1:04d}",
            iq_id=iqs[n // LOCKS_PER_IQ],
            lock_type=types[n % len(types)],
            battery_level=rng.choice(("fresh", "fresh", "fresh", "good", "low")),
        )
        for n in range(count)
    ]
    _system_user(sim)
    users = [
        sim.add_user(
            first_name=f"User{n:02d}", last_name="Sim", email=f"user{n:02d}@salto-sim.example"
        )
        for n in range(1, 50)
    ]
    if lock_ids:
        now = sim.clock().replace(microsecond=0)
        for n in range(200):
            user = rng.choice(users)["user"]["id"]
            when = now - timedelta(seconds=86_400 - n * 420)
            sim.open_by(rng.choice(lock_ids), user, rng.choice(("tag", "pin_code")), utc=when)


def _demo(sim: World) -> None:
    """1 site, 2 OTP IQs, 6 varied locks, 6 users, a day of history."""
    sim.add_site("Salto Demo HQ", site_uid="DE4520000003")
    ground = sim.add_iq(name="IQ Ground Floor", otp_enabled=True)
    first = sim.add_iq(name="IQ First Floor", otp_enabled=True, signal_strength=14)
    main = sim.add_lock(name="Main Entrance", iq_id=ground, lock_type="wall_reader_pin")
    sim.add_access_group(name="Visitors", lock_ids=[main])
    sim.set_lock(main, easy_office_mode_schedule=office_hours_schedule())
    sim.add_lock(name="Office 1.01", iq_id=first, lock_type="escutcheon_pin")
    sim.add_lock(
        name="Meeting Room", iq_id=ground, lock_type="escutcheon_pin", battery_level="good"
    )
    sim.add_lock(
        name="Server Room",
        iq_id=ground,
        lock_type="cylinder",
        supports_remote_lock=False,
        open_time=4,
    )
    sim.add_lock(name="Storage", iq_id=first, lock_type="escutcheon_pin", battery_level="low")
    sim.add_lock(name="Bike Shed", iq_id=ground, lock_type="wall_reader_pin", open_time=10)
    _system_user(sim)
    people = []
    for index, (first_name, last_name, tag) in enumerate(PEOPLE):
        su = sim.add_user(
            first_name=first_name,
            last_name=last_name,
            email=f"{first_name.lower()}@salto-sim.example",
            tag_number=tag,
            remote_access=index < 3,
            blocked=index == 4,
        )
        people.append(str(su["user"]["id"]))
    rng = sim.life_rng
    locks = list(sim.state.locks)
    now = sim.clock().replace(microsecond=0)
    for n in range(40):
        when = now - timedelta(seconds=86_400 - n * 2_100)
        if rng.random() < 0.85:
            sim.open_by(
                rng.choice(locks),
                rng.choice(people[:4]),
                rng.choice(("tag", "pin_code", "app")),
                utc=when,
            )
        else:
            sim.reject(rng.choice(locks), people[4], "tag", detail="blocked", utc=when)
