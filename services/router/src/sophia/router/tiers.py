"""How hard a prompt is: `simple`, `balanced` or `premium`, with the reasons.

A multinomial logistic model over the signals of `features.py`, trained when the process starts on
the labelled library shipped beside this module (`examples.jsonl`, a few hundred prompts labelled
with the fleet's tier convention; the test set in `tests/data/` is disjoint from it). The model sees
signals, never words, so it cannot memorise the library: what it learns is how much an extraction
cue, a proof cue or a legal term asked to be analysed is worth. Scoring is a dot product (a few
microseconds); reading the signals is most of the time.

With `tier_embeddings` on, the nearest library examples under the local sentence model also vote,
and the two distributions are blended: that catches paraphrases the cue lexicon misses, at ~5 ms.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from sophia.router import features
from sophia.router.catalog import TIERS, Tier

L2 = 0.02  # per-example weight decay: the library is small, keep the weights modest
ITERATIONS = 1500
LEARNING_RATE = 0.5
NEIGHBOURS = 7
SHARPNESS = 6.0  # similarity ** SHARPNESS: the closest examples dominate the vote
EMBEDDING_SHARE = 0.35  # weight of the neighbour vote in the blend
LONG_INPUT = 2000  # characters


@dataclass(frozen=True)
class Example:
    prompt: str
    tier: Tier
    system: str | None = None


def load_examples(text: str | None = None) -> list[Example]:
    """The shipped library, or examples in the same JSON-lines format (`{"prompt", "tier"}`)."""
    if text is None:
        text = resources.files("sophia.router").joinpath("examples.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Example(row["prompt"], Tier(row["tier"]), row.get("system")) for row in rows]


@dataclass(frozen=True)
class Assessment:
    tier: Tier
    probabilities: dict[Tier, float]
    features: features.Features
    reasons: list[str]


class TierModel:
    """Softmax regression on standardised signals."""

    def __init__(
        self,
        weights: npt.NDArray[np.float64],
        bias: npt.NDArray[np.float64],
        mean: npt.NDArray[np.float64],
        scale: npt.NDArray[np.float64],
    ) -> None:
        self.weights = weights
        self.bias = bias
        self.mean = mean
        self.scale = scale

    @classmethod
    def train(cls, examples: list[Example]) -> TierModel:
        x = np.stack([features.extract(e.prompt, e.system).vector for e in examples])
        y = np.array([TIERS.index(e.tier) for e in examples])
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-6] = 1.0
        z = (x - mean) / scale
        onehot = np.eye(len(TIERS))[y]
        # Each tier counts the same, however many examples the library has of it.
        counts = onehot.sum(axis=0)
        sample_weight = (len(y) / (len(TIERS) * counts))[y][:, None]
        weights = np.zeros((x.shape[1], len(TIERS)))
        bias = np.zeros(len(TIERS))
        n = len(y)
        for _ in range(ITERATIONS):
            p = _softmax(z @ weights + bias)
            error = (p - onehot) * sample_weight
            weights -= LEARNING_RATE * (z.T @ error / n + L2 * weights)
            bias -= LEARNING_RATE * error.mean(axis=0)
        return cls(weights, bias, mean, scale)

    def standardise(self, vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return (vector - self.mean) / self.scale

    def probabilities(self, vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return _softmax(self.standardise(vector) @ self.weights + self.bias)

    def contributions(self, vector: npt.NDArray[np.float64], tier: Tier) -> npt.NDArray[np.float64]:
        """How much each signal pushed toward `tier` rather than the others."""
        column = self.weights[:, TIERS.index(tier)] - self.weights.mean(axis=1)
        return self.standardise(vector) * column


@functools.lru_cache(maxsize=1)
def shipped_model() -> TierModel:
    """The model trained on the shipped library, once per process (training is deterministic)."""
    return TierModel.train(load_examples())


class Neighbours:
    """Similarity-weighted vote of the nearest library examples (unit vectors, cosine)."""

    def __init__(self, vectors: npt.NDArray[np.float32], tiers: list[Tier]) -> None:
        self.vectors = vectors
        self.labels = np.array([TIERS.index(t) for t in tiers])

    def vote(self, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        similarity = self.vectors @ vector
        nearest = np.argpartition(-similarity, NEIGHBOURS)[:NEIGHBOURS]
        weights = np.clip(similarity[nearest], 0, 1) ** SHARPNESS
        votes = np.bincount(self.labels[nearest], weights=weights, minlength=len(TIERS)).astype(np.float64)
        total = votes.sum()
        return votes / total if total > 0 else np.full(len(TIERS), 1 / len(TIERS))


class Estimator:
    """Prompt → `Assessment`."""

    def __init__(self, model: TierModel, neighbours: Neighbours | None = None) -> None:
        self.model = model
        self.neighbours = neighbours

    @classmethod
    def from_library(cls, examples: list[Example] | None = None) -> Estimator:
        return cls(TierModel.train(examples) if examples is not None else shipped_model())

    def assess(
        self, prompt: str, system: str | None = None, embedding: npt.NDArray[np.float32] | None = None
    ) -> Assessment:
        signals = features.extract(prompt, system)
        p = self.model.probabilities(signals.vector)
        if embedding is not None and self.neighbours is not None:
            p = (1 - EMBEDDING_SHARE) * p + EMBEDDING_SHARE * self.neighbours.vote(embedding)
        tier = TIERS[int(np.argmax(p))]
        probabilities = {t: round(float(p[i]), 3) for i, t in enumerate(TIERS)}
        return Assessment(tier, probabilities, signals, self._reasons(signals, tier, prompt, embedding is not None))

    def _reasons(self, signals: features.Features, tier: Tier, prompt: str, embedded: bool) -> list[str]:
        pushes = self.model.contributions(signals.vector, tier)
        order = np.argsort(-pushes)
        reasons = []
        for i in order[:8]:
            name = features.NAMES[i]
            if pushes[i] < 0.2 or not signals.vector[i]:
                continue
            if (text := describe(name, signals, prompt)) is not None:
                reasons.append(text)
            if len(reasons) == 4:
                break
        if tier is Tier.SIMPLE and len(prompt) > LONG_INPUT:
            reasons.append(f"long input ({len(prompt):,} characters) but a light task: length alone does not raise it")
        if not reasons:
            reasons.append("no strong signal: the tier the signals lean to")
        if embedded:
            reasons.append("nearest labelled examples voted too")
        return reasons


_TASK_LABELS = {
    "greeting": "greeting or small talk",
    "lookup": "a lookup",
    "conversion": "a unit or time conversion",
    "format": "formatting",
    "rewrite": "a short rewrite",
    "translate": "a translation",
    "classify": "classification",
    "extract": "extraction",
    "count": "counting",
    "writing": "multi-paragraph writing",
    "summary": "a summary",
    "comparison": "a comparison",
    "advice": "suggestions or a plan",
    "explanation": "an explanation",
    "coding": "writing or fixing code",
    "proof": "a proof",
    "reasoning": "multi-step reasoning",
    "architecture": "architecture or system design",
    "strategy": "strategy and trade-offs",
    "concurrency": "concurrency debugging",
}
_STAKES_LABELS = {"legal": "legal", "finance": "financial", "safety": "production or safety"}


def describe(name: str, signals: features.Features, prompt: str) -> str | None:
    """A reader's sentence for one signal, quoting the words behind it."""
    said = signals.evidence.get(name)
    quoted = f" ('{said[:60]}')" if said else ""
    kind, _, detail = name.partition(":")
    if kind == "task":
        return f"asks for {_TASK_LABELS[detail]}{quoted}"
    if kind == "payload":
        return f"{_TASK_LABELS[detail]} in the material{quoted}"
    if kind == "stakes":
        return f"{_STAKES_LABELS[detail]} stakes{quoted}"
    if kind == "stakes+analysis":
        return f"{_STAKES_LABELS[detail]} analysis asked for{quoted}"
    if kind == "stakes+question":
        return f"a {_STAKES_LABELS[detail]} question{quoted}"
    texts = {
        "analysis": f"asks for analysis or advice{quoted}",
        "multi_step": f"several steps{quoted}",
        "constraints": said,
        "enumerated": said,
        "questions": said,
        "detail": f"asks for depth{quoted}",
        "brevity": f"asks for a short answer{quoted}",
        "requested_output": f"requested length{quoted}",
        "requested_short": f"asks for a short output{quoted}",
        "numbers": f"a problem stated in numbers ({said})",
        "math": said,
        "code_payload": f"contains code ({said})" if said else "contains code",
        "code_lines": said,
        "trace": f"contains a stack trace{quoted}",
        "short": f"a very short prompt ({len(prompt)} characters)",
        "simple_only": "only light-task cues",
        "no_cue": "no task cue",
    }
    return texts.get(kind)


def _softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
