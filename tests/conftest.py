"""Fixtures shared by every test: a Salto KS cloud simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulator import Simulator


@pytest.fixture
async def salto_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """Run the 'small' scenario on 127.0.0.1 with a free port for one test."""
    sim = Simulator.from_scenario("small", seed=1)
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()
