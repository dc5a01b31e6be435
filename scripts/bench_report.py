"""Turn the raw results of tests/bench into the benchmark table and docs/benchmarks.json.

``python scripts/bench_report.py RAW.json [--json docs/benchmarks.json] [--command "..."]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

P1_TARGET = 1.05
P3_TARGET = 2.0
P4_TARGET = 3.0


def _by(raw: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in raw if r["kind"] == kind]


def summarise(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures, ratios and verdicts from the raw records."""
    out: dict[str, Any] = {"p1": [], "p2": [], "p3": [], "p4": [], "p4_whatif": [], "memory": []}
    for r in sorted(_by(raw, "p1"), key=lambda r: r["size"]):
        counters, minimum = r["counters"], r["minimum"]
        api = {k: counters.get(k, 0) for k in ("locks", "iqs", "entries")}
        other = {k: v for k, v in counters.items() if k not in api}
        actual = sum(api.values()) + sum(other.values())
        least = sum(minimum.values()) if r["audit_on"] else minimum["locks"] + minimum["iqs"]
        ratio = actual / least
        out["p1"].append(
            {
                "locks": r["size"],
                "requests_per_hour": counters,
                "total": actual,
                "design_minimum": minimum,
                "design_minimum_total": least,
                "ratio": round(ratio, 4),
                "target": P1_TARGET,
                "holds": ratio <= P1_TARGET,
                "naive_per_lock_polls": r["naive_per_lock"],
                "vs_naive": round(actual / r["naive_per_lock"], 4),
                "audit_on": r["audit_on"],
            }
        )
    for r in sorted(_by(raw, "p2"), key=lambda r: -r["interval"]):
        target = r["interval"] / 2 + 1
        out["p2"].append(
            {
                "interval": r["interval"],
                "rows": r["rows"],
                "delivered": r["delivered"],
                "event_entity_writes": r["event_entity_writes"],
                "p50": _r(r["p50"]),
                "p95": _r(r["p95"]),
                "max": _r(r["max"]),
                "target_p50": target,
                "holds": r["p50"] is not None and r["p50"] <= target,
            }
        )
    for r in sorted(_by(raw, "p3p4"), key=lambda r: r["size"]):
        ratio3 = r["poll_cpu"] / r["bare_cpu"]
        out["p3"].append(
            {
                "locks": r["size"],
                "state_writes": r["idle_state_changed"] + r["idle_state_reported"],
                "polls": r["polls"],
                "poll_cpu_ms": _ms(r["poll_cpu"]),
                "bare_cpu_ms": _ms(r["bare_cpu"]),
                "poll_wall_ms": _ms(r["poll_wall"]),
                "bare_wall_ms": _ms(r["bare_wall"]),
                "cpu_ratio": round(ratio3, 2),
                "target": P3_TARGET,
                "holds": ratio3 <= P3_TARGET
                and r["idle_state_changed"] + r["idle_state_reported"] == 0,
            }
        )
        ratio4 = r["setup_wall"] / r["bare_setup_wall"]
        out["p4"].append(
            {
                "locks": r["size"],
                "entities": r["entities"],
                "setup_ms": _ms(r["setup_wall"]),
                "setup_cpu_ms": _ms(r["setup_cpu"]),
                "restart_setup_ms": _ms(r["restart_wall"]),
                "bare_fetch_ms": _ms(r["bare_setup_wall"]),
                "ratio": round(ratio4, 1),
                "restart_ratio": round(r["restart_wall"] / r["bare_setup_wall"], 1),
                "ms_per_entity": round(1000 * r["setup_wall"] / r["entities"], 3),
                "target": P4_TARGET,
                "holds": ratio4 <= P4_TARGET,
            }
        )
    for r in _by(raw, "p4_whatif"):
        out["p4_whatif"].append(
            {
                "locks": r["size"],
                "change": r["change"],
                "entities": r["entities"],
                "setup_ms": _ms(r["setup_wall"]),
                "restart_setup_ms": _ms(r["restart_wall"]),
                "bare_fetch_ms": _ms(r["bare_setup_wall"]),
                "ratio": round(r["setup_wall"] / r["bare_setup_wall"], 1),
            }
        )
    mem = sorted(_by(raw, "memory"), key=lambda r: r["size"])
    for r in mem:
        out["memory"].append(
            {
                "locks": r["size"],
                "tracemalloc_current_kib": round(r["traced_current"] / 1024),
                "tracemalloc_peak_kib": round(r["traced_peak"] / 1024),
                "peak_per_lock_kib": round(r["traced_peak"] / 1024 / r["size"], 1),
                "rss_delta_kib": round(r["rss_delta"] / 1024),
            }
        )
    if len(mem) >= 2 and mem[-1]["size"] > mem[0]["size"]:
        slope = (mem[-1]["traced_peak"] - mem[0]["traced_peak"]) / (
            mem[-1]["size"] - mem[0]["size"]
        )
        out["memory_marginal_per_lock_kib"] = round(slope / 1024, 1)
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def table(s: dict[str, Any]) -> str:
    """The summary as Markdown tables."""
    yes = {True: "yes", False: "**no**"}
    lines = ["### P1 requests per hour (default intervals: status 60 s, events 30 s)", ""]
    lines += [
        "| locks | locks | iqs | entries | token | total | design minimum | ratio (≤ 1.05) | holds | naive per-lock polls | total / naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in s["p1"]:
        c = r["requests_per_hour"]
        lines.append(
            f"| {r['locks']} | {c.get('locks', 0)} | {c.get('iqs', 0)} | {c.get('entries', 0)} | "
            f"{c.get('token', 0)} | {r['total']} | {r['design_minimum_total']:g} | {r['ratio']:.3f} | "
            f"{yes[r['holds']]} | {r['naive_per_lock_polls']:g} | {r['vs_naive']:.3f} |"
        )
    lines += ["", "### P2 audit row → HA event latency (simulated time, seconds)", ""]
    lines += [
        "| interval | rows | delivered | event-entity writes | p50 | p95 | max | target p50 | holds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in s["p2"]:
        lines.append(
            f"| {r['interval']} s | {r['rows']} | {r['delivered']} | {r['event_entity_writes']} | "
            f"{r['p50']} | {r['p95']} | {r['max']} | ≤ {r['target_p50']:g} | {yes[r['holds']]} |"
        )
    if not s["p2"]:
        lines.append("| — | skipped: the audit coordinator is not set up | | | | | | | |")
    lines += ["", "### P3 roster poll that changes nothing (medians, same run)", ""]
    lines += [
        "| locks | state writes | poll CPU ms | bare fetch+parse CPU ms | CPU ratio (≤ 2) | poll wall ms | bare wall ms | holds |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in s["p3"]:
        lines.append(
            f"| {r['locks']} | {r['state_writes']} | {r['poll_cpu_ms']} | {r['bare_cpu_ms']} | "
            f"{r['cpu_ratio']} | {r['poll_wall_ms']} | {r['bare_wall_ms']} | {yes[r['holds']]} |"
        )
    lines += ["", "### P4 entry setup until every entity is available (wall time)", ""]
    lines += [
        "| locks | entities | first setup ms | restart setup ms | bare token+roster ms | ratio (≤ 3) | restart ratio | ms / entity | holds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in s["p4"]:
        lines.append(
            f"| {r['locks']} | {r['entities']} | {r['setup_ms']} | {r['restart_setup_ms']} | "
            f"{r['bare_fetch_ms']} | {r['ratio']} | {r['restart_ratio']} | {r['ms_per_entity']} | "
            f"{yes[r['holds']]} |"
        )
    for r in s["p4_whatif"]:
        lines.append(
            f"| {r['locks']} (what-if: {r['change']}) | {r['entities']} | {r['setup_ms']} | "
            f"{r['restart_setup_ms']} | {r['bare_fetch_ms']} | {r['ratio']} | | | |"
        )
    lines += ["", "### Memory (tracemalloc: Python heap allocated by setup + one poll)", ""]
    lines += [
        "| locks | current KiB | peak KiB | peak / lock KiB | RSS delta KiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in s["memory"]:
        lines.append(
            f"| {r['locks']} | {r['tracemalloc_current_kib']} | {r['tracemalloc_peak_kib']} | "
            f"{r['peak_per_lock_kib']} | {r['rss_delta_kib']} |"
        )
    if "memory_marginal_per_lock_kib" in s:
        lines += ["", f"Marginal peak per added lock: {s['memory_marginal_per_lock_kib']} KiB."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", type=Path)
    parser.add_argument("--json", type=Path, default=None, help="write the summary here")
    parser.add_argument("--command", default="scripts/bench")
    args = parser.parse_args(argv)
    text = args.raw.read_text()
    if not text.strip():
        print("no benchmark results (everything skipped or deselected)")
        return 1
    raw = json.loads(text)
    summary = summarise(raw)
    if args.json:
        doc = {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": args.command,
            "python": sys.version.split()[0],
            "machine": f"{platform.system()} {platform.machine()}",
            **summary,
            "raw": raw,
        }
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
