"""Intent quality on the blind set and the dev set, side by side, and the classifier's speed.

- blind9 to blind12: bench/data/intents_blind9.jsonl (160 requests, 72 needing approval), blind10 (160, 70),
  blind11 (160, 75) and blind12 (160, 71), each written in stop 27 by someone who read neither the training
  library nor any other set, before the training it measures (9 before the first round of written sets, 10
  before the second, 11 and 12 before blind5-8 were retired into training), each at a company of its own (a
  test checks none of them is in the library). The targets are decided on the four together ("blind"),
  measured once per change. The blind sets before them (1-4, stops 14-25; 5-8, stop 26) were measured many
  times and now train the classifier (`gateway/.../intent/library/retired/`).
- dev: tests/data/intents.jsonl, the project's own 262 requests. The library's hand-written cases were
  written while looking at its errors: its numbers are optimistic.

Measured in process, the way the gateway classifies (`IntentClassifier.classify`: the trained model,
the approval rules, the convention): domain, action, exact capability set, approval recall and
precision from the words alone (`/v1/intent` and `ask` add the plan's structure, which only adds
approvals), and the latency of one classification. Loading the shipped model (intent/library/model.npz,
trained by `python -m sophia.gateway.intent.train`) is timed too.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._catalog import six_services
from bench._report import percentile, table, targets, write
from sophia.gateway.intent.classifier import build_classifier
from sophia.gateway.intent.evaluation import ratios, tally

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "blind9": ROOT / "bench/data/intents_blind9.jsonl",
    "blind10": ROOT / "bench/data/intents_blind10.jsonl",
    "blind11": ROOT / "bench/data/intents_blind11.jsonl",
    "blind12": ROOT / "bench/data/intents_blind12.jsonl",
    "dev": ROOT / "tests/data/intents.jsonl",
}
DECIDING = ("blind9", "blind10", "blind11", "blind12")  # their union ("blind") decides every target
PASSES = 3
TARGETS = {"domain": 0.95, "action": 0.90, "capabilities": 0.90, "approval_recall": 1.0,
           "approval_precision": 0.8, "intent_p95_ms": 15.0}  # fmt: skip


async def with_structure(sets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Approval as `/v1/intent` decides it, per set: the words, or any step the plan over the six real
    services' catalog would hold (tool risk and destructive flags, and the per-call checks of the servers
    that declare them, run in process with a fresh install's settings: protected branches, production
    stacks). Per set: (recall and precision, latencies, (needed, flagged, caught))."""
    with tempfile.TemporaryDirectory(prefix="sophia-bench-intent-") as scratch:
        _, planner, intents, _ = await six_services(ask_servers=Path(scratch))
        return {name: await _structural(planner, intents, rows) for name, rows in sets.items()}


async def _structural(
    planner: Any, intents: Any, rows: list[dict[str, Any]]
) -> tuple[dict[str, float], list[float], Any]:
    needed = flagged = caught = 0
    latencies: list[float] = []
    for row in rows:
        at = time.perf_counter()
        reading = await intents.read(row["query"])
        plan = await planner.plan(row["query"], reading.intent, "default", reading.clause_vectors)
        held = reading.intent.requires_approval or any(step.requires_approval for step in plan.steps)
        latencies.append((time.perf_counter() - at) * 1e3)
        needed += row["requires_approval"]
        flagged += held
        caught += held and row["requires_approval"]
    ratios = {"approval_recall": caught / max(needed, 1), "approval_precision": caught / max(flagged, 1)}
    return ratios, latencies, (needed, flagged, caught)


def _pooled(structural: dict[str, Any], names: tuple[str, ...]) -> tuple[dict[str, float], list[float], Any]:
    """Recall and precision over several sets from their counts (not an average of their ratios)."""
    needed, flagged, caught = (sum(structural[name][2][i] for name in names) for i in range(3))
    latencies = [ms for name in names for ms in structural[name][1]]
    ratios = {"approval_recall": caught / max(needed, 1), "approval_precision": caught / max(flagged, 1)}
    return ratios, latencies, (needed, flagged, caught)


def main() -> None:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    classifier = build_classifier()
    loaded_s = time.perf_counter() - started
    labelled = {name: [json.loads(line) for line in p.read_text().splitlines() if line] for name, p in SETS.items()}
    labelled["blind"] = [row for name in DECIDING for row in labelled[name]]
    shown = ("blind", "blind9", "blind10", "blind11", "blind12", "dev")
    scores = {name: ratios(tally(classifier.classify, rows)) for name, rows in labelled.items()}

    latencies: list[float] = []
    for _ in range(PASSES):
        for rows in (labelled[name] for name in SETS):
            for row in rows:
                at = time.perf_counter()
                classifier.classify(row["query"])
                latencies.append((time.perf_counter() - at) * 1e3)
    latencies.sort()
    p95 = percentile(latencies, 95)
    structural = asyncio.run(with_structure({name: labelled[name] for name in SETS}))
    structural["blind"] = _pooled(structural, DECIDING)

    rows_out: list[dict[str, Any]] = []
    for field, target in TARGETS.items():
        if field == "intent_p95_ms":
            continue
        deciding = scores["blind"][field]
        rows_out.append({"measure": field, **{name: round(scores[name][field], 3) for name in shown},
                         "target": f">= {target:g}", "met": "yes" if deciding >= target else "NO"})  # fmt: skip
    for field in ("approval_recall", "approval_precision"):
        deciding = structural["blind"][0][field]
        rows_out.append({"measure": f"{field} + plan structure (/v1/intent)",
                         **{name: round(structural[name][0][field], 3) for name in shown},
                         "target": f">= {TARGETS[field]:g}",
                         "met": "yes" if deciding >= TARGETS[field] else "NO"})  # fmt: skip
    planned = sorted(ms for name in SETS for ms in structural[name][1])
    rows_out.append({"measure": "intent + dry plan ms (/v1/intent's work), all sets",
                     **dict.fromkeys(shown, ""), "blind": round(percentile(planned, 95), 2),
                     "dev": round(percentile(planned, 50), 2), "target": "(blind: p95, dev: p50)",
                     "met": ""})  # fmt: skip
    rows_out.append({"measure": "intent ms (classify, its embedding included), all sets", **dict.fromkeys(shown, ""),
                     "blind": round(p95, 2), "dev": round(percentile(latencies, 50), 2),
                     "target": "<= 15 (blind: p95, dev: p50)",
                     "met": "yes" if p95 <= TARGETS["intent_p95_ms"] else "NO"})  # fmt: skip
    summary = {**{f"{name}_requests": len(labelled[name]) for name in DECIDING},
               "dev_requests": len(labelled["dev"]),
               "library_size": classifier.size, "load_model_s": round(loaded_s, 3),
               "load_avg_1m_before": load_before, "load_avg_1m_after": os.getloadavg()[0]}  # fmt: skip
    print("\nintent: blind (blind9 to blind12 together) decides 'met'; dev was looked at while writing the library")
    print(table(rows_out), end="\n\n")
    print(table([{"summary": key, "value": value} for key, value in summary.items()]), end="\n\n")
    measured = {field: scores["blind"][field] for field in TARGETS if field != "intent_p95_ms"}
    # Approval is decided with the plan's structure too (what /v1/intent answers): that is the figure that counts.
    measured |= {f: structural["blind"][0][f] for f in ("approval_recall", "approval_precision")}
    measured["intent_p95_ms"] = p95
    checks = targets("intent (blind9 to 12)", measured, TARGETS, at_least=frozenset(TARGETS) - {"intent_p95_ms"})
    print(f"wrote {write('intent', [*rows_out, {'measure': 'summary', **summary}, *checks], TARGETS)}")


if __name__ == "__main__":
    main()
