"""Shared output of every benchmark: a table on stdout and a JSON file under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
#: Every benchmark's verdicts in this run, for the summary `python -m bench` prints at the end.
SUMMARY: list[dict[str, Any]] = []


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def write(name: str, rows: list[dict[str, Any]], targets: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    payload = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine,
        "targets": targets,
        "rows": rows,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    # Numbers line up on the right, words (names, verdicts) read from the left.
    numeric = [[isinstance(row.get(c), int | float) for c in columns] for row in rows]
    body = [
        "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(r, widths, kinds, strict=True)).rstrip()
        for r, kinds in zip(cells, numeric, strict=True)
    ]
    return "\n".join([line, rule, *body])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def verdicts(
    measured: dict[str, float], targets: dict[str, float], at_least: frozenset[str] = frozenset()
) -> list[dict]:
    """One row per target: the measure, its value, the target and whether it was met. A target is a
    ceiling unless its name is in `at_least` (then a floor)."""
    rows = []
    for name, target in targets.items():
        value = measured.get(name, float("nan"))
        met = value >= target if name in at_least else value <= target
        rows.append({"measure": name, "value": value, "target": f"{'>=' if name in at_least else '<='} {target:g}",
                     "met": "met" if met else "MISSED"})  # fmt: skip
    return rows


def targets(
    name: str, measured: dict[str, float], goals: dict[str, float], at_least: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Print a benchmark's targets with value and met/missed (every target in `goals`: one not measured
    reads as missed), remember them for the run's summary, and return the rows to write."""
    rows = verdicts(measured, goals, at_least)
    print(f"{name} targets")
    print(table(rows), end="\n\n")
    SUMMARY.extend({"benchmark": name, **row} for row in rows)
    return rows


def added_latency(
    direct: list[float], proxied: list[float], direct_s: float, proxied_s: float, calls: int, quantiles: tuple[int, ...]
) -> dict[str, float]:
    """One row of a direct-vs-through-the-gateway comparison: each percentile both ways and what the gateway
    adds (latencies in seconds, sorted here), and the calls per second of each path."""
    direct, proxied = sorted(direct), sorted(proxied)
    row: dict[str, float] = {}
    for q in quantiles:
        row[f"direct_p{q}_ms"] = percentile(direct, q) * 1e3
        row[f"gateway_p{q}_ms"] = percentile(proxied, q) * 1e3
        row[f"added_p{q}_ms"] = row[f"gateway_p{q}_ms"] - row[f"direct_p{q}_ms"]
    row["direct_calls_per_s"] = calls / direct_s
    row["proxied_calls_per_s"] = calls / proxied_s
    return row
