"""Router routing quality: blind-set tier accuracy and the quality/cost curve on strong/weak correctness data.

`python -m bench router_replay` (the two shipped replay files, or the files in ROUTER_REPLAY_FILES,
comma-separated), or `python -m bench.router_replay FILE.jsonl ...`

1. Tier accuracy on the blind set (`bench/data/router_blind.jsonl`: 209 prompts written and committed before the
   tier model was tuned, never used to add a rule or an example) and on the dev set
   (`services/router/tests/data/tiers.jsonl`), with premium under-routing (premium sent lower) and simple->premium,
   for the default router (the gain model decides closed questions) and the tier model alone.
2. The replay: any JSON-lines file with `prompt`, `strong_correct`, `weak_correct` (booleans: did the strong / the
   weak model answer it correctly). The router sends a prompt to the strong model when, at a given `min_quality`,
   it picks the premium tier (i.e. when P(premium) > 1 - min_quality). For each knob setting the table shows the
   share of strong calls and the quality reached (share answered correctly), next to random routing at the same
   strong share (expected value) and the oracle (strong only where it alone is right). Then, for "keep 95% of the
   strong model's quality", the strong-call share each needs, and both files side by side. Both routers are
   replayed: the default (the gain model, `sophia/router/gain.py`: the expected gain of the strong model, for
   closed questions) and the tier model's premium probability alone (`SOPHIA_ROUTER_GAIN_MODEL=false`).
3. With ROUTER_REPLAY_CV=1, the gain model cross-validated on its own training questions (`gain.jsonl`, whole
   kinds held out) next to the tier model, random and oracle.

The files shipped are OUR OWN, with strong/weak correctness labelled from our judgement of which questions a
small model gets wrong (multi-step calculation, less-known results, code tracing, chained logic) - not measured
model outputs and not MMLU, which cannot be downloaded here (nor does any package we can install ship two
models' graded answers): `bench/data/router_replay.jsonl` (130 exam-style multiple-choice questions, the dev
replay, written by another session), `bench/data/router_replay_blind.jsonl` (170 questions in several layouts
and subjects, written in stop 25 before the gain model was retrained) and `router_replay_blind2.jsonl` (200
MMLU-like questions written in stop 27 by someone who read nothing of ours, before the gain model trained on
written questions); the two blind replays pooled decide the target. Point the harness at a real
file (for instance MMLU with two models' graded answers) to get measured numbers.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import table, targets, write
from sophia.router import features, gain
from sophia.router.catalog import TIERS, Tier
from sophia.router.gain import replay_shares
from sophia.router.tiers import Estimator, load_examples

REPO = Path(__file__).resolve().parents[1]
BLIND = REPO / "bench" / "data" / "router_blind.jsonl"
DEV = REPO / "services" / "router" / "tests" / "data" / "tiers.jsonl"
REPLAY = REPO / "bench" / "data" / "router_replay.jsonl"
BLIND_REPLAYS = (
    REPO / "bench" / "data" / "router_replay_blind.jsonl",
    REPO / "bench" / "data" / "router_replay_blind2.jsonl",
)
GAIN_FILE = REPO / "services" / "router" / "src" / "sophia" / "router" / "gain.jsonl"
DEFAULT = "gain model (default)"
TIER_ONLY = "tier model only"
KNOBS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
KEEP = 0.95  # share of the strong model's quality to keep
TARGETS = {
    "blind_accuracy": 0.92,
    "premium_under_routing_max": 0.03,
    "simple_to_premium_max": 0.03,
    "strong_share_at_95pct_quality_max": 0.50,
}


def tier_quality(estimator: Estimator, path: Path) -> dict[str, Any]:
    examples = load_examples(path.read_text(encoding="utf-8"))
    predicted = [estimator.assess(e.prompt, e.system).tier for e in examples]
    pairs = Counter((e.tier, p) for e, p in zip(examples, predicted, strict=True))
    per = Counter(e.tier for e in examples)
    under = sum(n for (label, got), n in pairs.items() if label is Tier.PREMIUM and got is not Tier.PREMIUM)
    return {
        "set": path.name,
        "prompts": len(examples),
        "accuracy": sum(n for (label, got), n in pairs.items() if label == got) / len(examples),
        **{f"{t.value}_acc": pairs[(t, t)] / per[t] for t in TIERS},
        "premium_under": under / per[Tier.PREMIUM],
        "simple_to_premium": pairs[(Tier.SIMPLE, Tier.PREMIUM)] / per[Tier.SIMPLE],
    }


def load_replay(*paths: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = []
    for path in paths:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for i, row in enumerate(lines):
            missing = {"prompt", "strong_correct", "weak_correct"} - set(row)
            if missing:
                raise SystemExit(f"{path}:{i + 1}: missing {sorted(missing)}")
        rows += lines
    strong = np.array([bool(r["strong_correct"]) for r in rows], dtype=float)
    weak = np.array([bool(r["weak_correct"]) for r in rows], dtype=float)
    return [str(r["prompt"]) for r in rows], strong, weak


def calibration_error(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: per equal-width probability bin, |mean predicted - observed rate|, weighted."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[which == b].mean() - outcome[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))  # fmt: skip


def replay(estimator: Estimator, *paths: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The curve of one router (its premium probability: the tier model's, or the expected gain with a gain model)
    on one replay file, or several pooled."""
    prompts, strong, weak = load_replay(*paths)
    premium = np.array([estimator.assess(p).probabilities[Tier.PREMIUM] for p in prompts])
    s_quality, w_quality = strong.mean(), weak.mean()
    rows = []
    for knob in KNOBS:
        chosen = premium > 1 - knob
        share = chosen.mean()
        quality = np.where(chosen, strong, weak).mean()
        rows.append(
            {
                "min_quality": knob,
                "strong_share": share,
                "quality": quality,
                "of_strong": quality / s_quality if s_quality else float("nan"),
                "random_quality": w_quality + share * (s_quality - w_quality),
            }
        )
    shares = replay_shares(premium, strong, weak, KEEP)
    summary = {
        "file": " + ".join(path.name for path in paths),
        "prompts": len(prompts),
        "strong_quality": s_quality,
        "weak_quality": w_quality,
        **{f"{who}_share_at_95pct": share for who, share in shares.items()},
        # how well the premium probability reads as P(strong right and weak wrong) on this file
        "gain_calibration_error": calibration_error(premium, (strong > weak).astype(float)),
    }
    return rows, summary


def gain_cross_validation(estimator: Estimator) -> dict[str, Any]:
    """The gain model on its own question file, five folds holding out whole groups (kinds), against the tier model
    (which never trained on that file). Slow (five trainings): run with ROUTER_REPLAY_CV=1."""
    rows = [json.loads(line) for line in GAIN_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = gain.load_questions(GAIN_FILE.read_text(encoding="utf-8"))
    library = gain.from_tiers(load_examples())
    strong = np.array([r["strong_correct"] for r in rows], dtype=float)
    weak = np.array([r["weak_correct"] for r in rows], dtype=float)
    fold = np.array([zlib.crc32(q.group.encode()) % 5 for q in questions])
    predicted = np.zeros(len(questions))
    for k in range(5):
        model = gain.GainModel.train([q for q, f in zip(questions, fold, strict=True) if f != k] + library)
        for i in np.nonzero(fold == k)[0]:
            predicted[i] = model.assess(questions[i].prompt, None, features.extract(questions[i].prompt))
    tier = np.array([estimator.assess(q.prompt).probabilities[Tier.PREMIUM] for q in questions])
    shares = replay_shares(predicted, strong, weak, KEEP)
    return {
        "file": GAIN_FILE.name,
        "prompts": len(questions),
        "gain_model_cv_share_at_95pct": shares["router"],
        "tier_model_share_at_95pct": replay_shares(tier, strong, weak, KEEP)["router"],
        "random_share_at_95pct": shares["random"],
        "oracle_share_at_95pct": shares["oracle"],
        "gain_model_cv_calibration_error": calibration_error(predicted, (strong > weak).astype(float)),
    }


def main(paths: list[str] | None = None) -> None:
    named = paths or [p for p in os.environ.get("ROUTER_REPLAY_FILES", "").split(",") if p.strip()]
    files = [Path(p.strip()) for p in named] or [REPLAY, *BLIND_REPLAYS]
    # Unless files are named, the target is decided on the blind replays pooled (the last replay below).
    replays: list[tuple[Path, ...]] = [(path,) for path in files] + ([] if named else [BLIND_REPLAYS])
    started = time.perf_counter()
    estimator = Estimator.from_library()
    trained = time.perf_counter() - started
    started = time.perf_counter()
    with_gain = Estimator.from_library(gain=True)
    gain_loaded = time.perf_counter() - started
    quality = [tier_quality(estimator, BLIND), tier_quality(estimator, DEV)]
    gain_quality = [tier_quality(with_gain, BLIND), tier_quality(with_gain, DEV)]
    print(f"\nrouter tiers: tier model trained in {trained:.2f} s at start (temperature "
          f"{estimator.model.temperature:.2f}); gain model loaded in {gain_loaded:.2f} s")  # fmt: skip
    print(table([{"router": DEFAULT, **q} for q in gain_quality]
                + [{"router": TIER_ONLY, **q} for q in quality]), end="\n\n")  # fmt: skip
    result_rows: list[dict[str, Any]] = [{"operation": "tier accuracy", **q} for q in gain_quality]
    result_rows += [{"operation": "tier accuracy, gain model off", **q} for q in quality]
    shares: dict[tuple[str, str], float] = {}
    for replayed in replays:
        for who, router in ((DEFAULT, with_gain), (TIER_ONLY, estimator)):
            curve, summary = replay(router, *replayed)
            name = summary["file"]
            print(f"replay {name}, {who}: {summary['prompts']} prompts, strong {summary['strong_quality']:.3f}, "
                  f"weak {summary['weak_quality']:.3f}")  # fmt: skip
            print(table(curve))
            said = ", ".join(f"{w} {summary[f'{w}_share_at_95pct']:.3f}" for w in ("router", "random", "oracle"))
            print(f"strong calls to keep {KEEP:.0%} of strong quality: {said}; premium probability as P(gain): "
              f"calibration error {summary['gain_calibration_error']:.3f}\n")  # fmt: skip
            result_rows += [{"operation": f"replay {name}, {who}", **r} for r in curve]
            result_rows.append({"operation": f"replay {name}, {who}, at 95%", **summary})
            shares[(name, who)] = summary["router_share_at_95pct"]
            decided = name
    print("strong calls to keep 95% of strong quality, side by side (random and oracle: the same for both routers):")
    print(table([{"router": who, **{name: share for (f, w), share in shares.items() if w == who for name in [f]}}
                 for who in dict.fromkeys(w for _, w in shares)]), end="\n\n")  # fmt: skip
    if os.environ.get("ROUTER_REPLAY_CV") == "1":
        cv = gain_cross_validation(estimator)
        print("gain model cross-validated on its own question file (whole kinds held out), share at 95%:")
        print(table([cv]), end="\n\n")
        result_rows.append({"operation": "gain file cross-validation", **cv})
    blind = gain_quality[0]
    measured = {
        "blind_accuracy": blind["accuracy"],
        "premium_under_routing_max": blind["premium_under"],
        "simple_to_premium_max": blind["simple_to_premium"],
        # the default router on the last replay (the blind replays pooled unless files were named)
        "strong_share_at_95pct_quality_max": shares[(decided, DEFAULT)],
    }
    result_rows += targets("router_replay", measured, TARGETS, at_least=frozenset({"blind_accuracy"}))
    print(f"wrote {write('router_replay', result_rows, TARGETS)}")


if __name__ == "__main__":
    main(sys.argv[1:])
