"""Turn the raw report of tests/soak/test_soak_full.py into the soak table and docs/soak.json.

``python scripts/soak_report.py RAW.json [--out docs/soak.json] [--command "scripts/soak ..."]``
Prints the markdown table; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# (figure, label, target text)
ROWS: tuple[tuple[str, str, str], ...] = (
    ("rows_generated", "Audit rows generated (simulator's entries log)", "≥ 5,000 (full run)"),
    ("rows_delivered", "Rows delivered (`salto_ks_event`, by entry id)", "all"),
    ("rows_lost", "Rows lost", "0"),
    ("rows_duplicated", "Rows duplicated", "0"),
    ("early_requests", "Requests before Retry-After expired (simulator monitor)", "0"),
    ("early_requests_client_log", "… cross-check from the client's debug log", "0"),
    ("recovery_states_s", "Outage end → fresh lock states (s)", "≤ status interval"),
    ("recovery_events_s", "Outage end → backlog delivered (s)", "≤ event poll interval"),
    ("unhandled_exceptions", "Unhandled exceptions in the log", "0"),
    ("secrets_in_log", "Secret strings in the log", "0"),
)


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(report: dict[str, Any]) -> str:
    """The markdown table of one report."""
    cfg, figures, targets, details = (
        report["config"],
        report["figures"],
        report["targets"],
        report["details"],
    )
    lines = ["| figure | value | target | holds |", "|---|---:|---|:---:|"]
    for key, label, wanted in ROWS:
        target = wanted
        if key == "recovery_states_s":
            target = f"≤ {details['status_interval_s']} s (status interval)"
        elif key == "recovery_events_s":
            target = f"≤ {details['event_interval_s']} s (event poll interval)"
        holds = targets.get(key)
        mark = "" if holds is None else ("yes" if holds else "**NO**")
        lines.append(f"| {label} | {_value(figures[key])} | {target} | {mark} |")
    faults = details["faults_applied"]
    outage = details["outage"]
    restart = details["restart"]
    lines += [
        "",
        f"{details['locks']} locks, seed {cfg['seed']}, {details['simulated_s'] / 3600:.1f} simulated "
        f"hours in {details['wall_s']:g} s wall clock; {details['requests']:,} requests. Faults applied: "
        + ", ".join(f"{kind}: {n}" for kind, n in sorted(faults.items()))
        + f" ({details['bursts_429']} bursts of 429, Retry-After "
        + "/".join(f"{s:g}" for s in details["retry_after_s"])
        + f" s; {details['in_flight_at_429']} requests already in flight at a 429), "
        f"{details['token_expiries']} forced token expiries ({details['tokens_issued']} tokens issued), "
        f"a {(outage['end_s'] - outage['start_s']) / 60:g}-minute outage ({outage['rows_during']} rows "
        f"written during it; backlog bound {details['backlog_bound']}, "
        f"{details['rows_skipped_by_backlog_bound']} skipped by it), one restart "
        f"(down {restart.get('down_s', 0):g} s, loaded again {restart.get('loaded_after_s', '—')} s "
        f"after the setup started, cursor saved: {'yes' if restart.get('cursor_saved') else 'no'}). "
        f"{details['rows_sharing_a_second']:,} rows shared their second with another, "
        f"{details['rows_late_at_the_cursor_second']} arrived after a poll at the cursor's second. "
        f"Row → event latency: median {details['latency_s']['median']} s, max "
        f"{details['latency_s']['max']} s; order violations: {details['order_violations']}.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--command", default="scripts/soak")
    args = parser.parse_args()
    report = json.loads(args.raw.read_text())
    text = table(report)
    print(text)
    missed = [key for key, holds in report["targets"].items() if not holds]
    if args.out is not None:
        document = {
            "command": args.command,
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "homeassistant": _ha_version(),
            **report,
            "table_markdown": text,
        }
        document["details"] = {k: v for k, v in report["details"].items() if k != "timeline"}
        document["timeline"] = report["details"].get("timeline", [])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwritten: {args.out}")
    if missed:
        print(f"\nTARGETS MISSED: {', '.join(missed)}", file=sys.stderr)
        return 1
    print("\nall targets hold")
    return 0


def _ha_version() -> str | None:
    try:
        from homeassistant.const import __version__  # noqa: PLC0415
    except ImportError:
        return None
    return str(__version__)


if __name__ == "__main__":
    sys.exit(main())
