"""The short soak: ~500 rows on 5 locks through every fault kind (the event stream's too) and a
restart; every target holds.

The full soak is ``scripts/soak`` (``test_soak_full.py``); what is measured is in docs/reliability.md.
"""

from __future__ import annotations

import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from .engine import Soak, SoakConfig


async def test_soak_short(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    socket_enabled: None,
) -> None:
    """0 lost, 0 duplicated, 0 early requests, recovery within one interval, 0 unhandled, 0 secrets."""
    report = await Soak(hass, freezer, hass_storage, SoakConfig(rows=500, locks=5, seed=7)).run()
    figures, details = report["figures"], report["details"]
    summary = json.dumps({"figures": figures, "targets": report["targets"]}, indent=1)
    # Every fault kind was exercised.
    applied = details["faults_applied"]
    for kind in ("500", "502", "503", "timeout", "malformed", "429"):
        assert applied.get(kind, 0) > 0, (kind, applied)
    assert details["token_expiries"] > 0
    # The event stream carried rows, was dropped, met expired tokens and every shape of push.
    stream = details["stream"]
    assert stream["rows_by_path"].get("stream", 0) > 0, stream
    assert stream["rows_by_path"].get("poll", 0) > 0, stream
    assert stream["drops"] > 0, stream
    assert stream["manager"]["reconnects"] > 0, stream
    assert stream["manager"]["pushes_already_delivered"] > 0, stream
    assert set(stream["push_shapes_minutes"]) == {
        "normal",
        "duplicate",
        "ahead_of_log",
        "behind_log",
    }, stream
    assert details["rows_sharing_a_second"] > 0
    assert details["rows_late_at_the_cursor_second"] > 0
    assert details["restart"]["cursor_saved"], details["restart"]
    assert "loaded_after_s" in details["restart"], details["restart"]
    assert details["outage"]["rows_during"] < details["backlog_bound"]
    assert details["rows_skipped_by_backlog_bound"] == 0
    assert figures["rows_generated"] >= 500
    assert figures["rows_lost"] == 0, (summary, details["lost_ids"])
    assert figures["rows_duplicated"] == 0, summary
    assert figures["early_requests"] == 0, (summary, details["early"])
    assert report["targets"]["recovery_states_s"], summary
    assert report["targets"]["recovery_events_s"], summary
    assert figures["unhandled_exceptions"] == 0, (summary, details["unhandled"])
    assert figures["secrets_in_log"] == 0, (summary, details["secrets_found_by_kind"])
    assert details["order_violations"] == 0
    assert report["ok"]
