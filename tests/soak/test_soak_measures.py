"""The soak's own measures: what counts as unhandled, early, missed (so a green soak means something)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from simulator.monitor import RateLimitAnswer

from .engine import _Capture, early_from_client_log

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "custom_components.salto_ks.api.client"
AUTH = "custom_components.salto_ks.api.auth"


def _record(name: str, level: int, message: str, *, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, level, __file__, 1, message, None, exc_info)


def test_unhandled_classification() -> None:
    capture = _Capture()
    capture.emit(_record("custom_components.salto_ks", logging.DEBUG, "Full error:", exc=True))
    capture.emit(_record("custom_components.salto_ks", logging.ERROR, "Error fetching x: y"))
    assert capture.unhandled == []
    assert capture.debug_tracebacks == 1
    capture.emit(_record("custom_components.salto_ks", logging.ERROR, "Unexpected error fetching"))
    capture.emit(
        _record("homeassistant", logging.ERROR, "Error doing job: Task exception", exc=True)
    )
    capture.emit(_record("custom_components.salto_ks", logging.ERROR, "delivering", exc=True))
    assert len(capture.unhandled) == 3
    capture.emit(_record("aiohttp.server", logging.ERROR, "Error handling request", exc=True))
    assert (len(capture.unhandled), capture.simulator_side) == (3, 1)


def _answer(channel: str, at: float, retry_after: float) -> RateLimitAnswer:
    return RateLimitAnswer("c", channel, "x", at, retry_after, "127.0.0.1:1")


def test_early_from_client_log() -> None:
    answers = [_answer("api", 100.0, 30.0), _answer("token", 200.0, 60.0)]
    records = [
        (100.0, CLIENT, "GET /v1.2/sites/s/locks "),
        (100.0, CLIENT, "GET /v1.2/sites/s/iqs "),  # in flight: sent before the 429 was read
        (100.0, CLIENT, "GET /v1.2/sites/s/locks answered 429"),
        (100.0, CLIENT, "GET /v1.2/sites/s/iqs answered 401"),
        (100.0, AUTH, "Requesting a token (grant refresh_token) from http://127.0.0.1:1/t"),
        (129.0, CLIENT, "GET /v1.1/sites/s/entries {'$top': '200'}"),
        (130.0, CLIENT, "GET /v1.1/sites/s/entries {'$top': '200'}"),
        (200.0, AUTH, "Requesting a token (grant password) from http://127.0.0.1:1/t"),
        (230.0, CLIENT, "GET /v1.2/sites/s/locks "),  # a token 429 does not stop API calls
        (259.0, AUTH, "Requesting a token (grant password) from http://127.0.0.1:1/t"),
        (260.0, AUTH, "Requesting a token (grant password) from http://127.0.0.1:1/t"),
    ]
    early = early_from_client_log(records, answers)
    assert [(e["at"], e["request"][:20]) for e in early] == [
        (100.0, "Requesting a token ("),
        (129.0, "GET /v1.1/sites/s/en"),
        (259.0, "Requesting a token ("),
    ]


def test_report_exits_non_zero_on_a_missed_target(tmp_path: Path) -> None:
    figures = {
        "rows_generated": 10,
        "rows_delivered": 9,
        "rows_lost": 1,
        "rows_duplicated": 0,
        "early_requests": 0,
        "early_requests_client_log": 0,
        "recovery_states_s": 10.0,
        "recovery_events_s": 5.0,
        "unhandled_exceptions": 0,
        "secrets_in_log": 0,
    }
    details = {
        "status_interval_s": 60,
        "event_interval_s": 30,
        "faults_applied": {"503": 1},
        "outage": {"start_s": 0, "end_s": 600, "rows_during": 1},
        "restart": {"down_s": 120, "loaded_after_s": 5, "cursor_saved": True},
        "locks": 1,
        "simulated_s": 3600,
        "wall_s": 1.0,
        "requests": 5,
        "bursts_429": 0,
        "retry_after_s": [],
        "in_flight_at_429": 0,
        "token_expiries": 0,
        "tokens_issued": 2,
        "backlog_bound": 200,
        "rows_skipped_by_backlog_bound": 0,
        "rows_sharing_a_second": 0,
        "rows_late_at_the_cursor_second": 0,
        "latency_s": {"median": 1, "max": 2},
        "order_violations": 0,
        "timeline": [],
    }
    targets = {
        key: key != "rows_lost"
        for key in figures
        if key not in {"rows_generated", "rows_delivered"}
    }
    raw = tmp_path / "raw.json"
    raw.write_text(
        json.dumps(
            {
                "config": {"seed": 1},
                "figures": figures,
                "targets": targets,
                "ok": False,
                "details": details,
            }
        )
    )
    out = tmp_path / "soak.json"
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "scripts" / "soak_report.py"), str(raw), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "| Rows lost | 1 | 0 | **NO** |" in result.stdout
    assert "TARGETS MISSED: rows_lost" in result.stderr
    assert json.loads(out.read_text())["ok"] is False
