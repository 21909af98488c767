"""`make bench`'s report: every benchmark prints its targets with met/missed, and the run ends with all of
them. Checked without running a benchmark (they take minutes)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from bench import _report
from bench.__main__ import BENCHMARKS

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_targets_prints_each_target_met_or_missed_and_a_missing_measure_is_missed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_report, "SUMMARY", [])
    goals = {"p95_ms": 20.0, "recall": 0.9, "errors": 0}
    rows = _report.targets("demo", {"p95_ms": 25.0, "recall": 0.95}, goals, at_least=frozenset({"recall"}))
    assert [(r["measure"], r["target"], r["met"]) for r in rows] == [
        ("p95_ms", "<= 20", "MISSED"),
        ("recall", ">= 0.9", "met"),
        ("errors", "<= 0", "MISSED"),  # never measured: a benchmark cannot pass a target by skipping it
    ]
    assert math.isnan(rows[2]["value"])
    out = capsys.readouterr().out
    assert out.startswith("demo targets\n")
    assert "p95_ms   25.000  <= 20   MISSED\n" in out
    assert [{"benchmark": "demo", **row} for row in rows] == _report.SUMMARY


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_reports_its_targets_through_the_shared_table(name: str) -> None:
    tree = ast.parse((BENCH / f"{name}.py").read_text())
    assigned = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}  # fmt: skip
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "TARGETS" in assigned
    assert "targets" in called, f"bench/{name}.py must print its TARGETS with bench._report.targets"


def test_added_latency_is_the_gateways_percentile_minus_the_direct_one() -> None:
    row = _report.added_latency([0.003, 0.001, 0.002], [0.004, 0.003, 0.005], 1.0, 2.0, 100, (50,))
    assert row["direct_p50_ms"] == pytest.approx(2.0) and row["gateway_p50_ms"] == pytest.approx(4.0)
    assert row["added_p50_ms"] == pytest.approx(2.0)
    assert (row["direct_calls_per_s"], row["proxied_calls_per_s"]) == (100.0, 50.0)
