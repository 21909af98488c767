"""How hard a prompt is: `simple`, `balanced` or `premium`, with calibrated probabilities and the reasons.

A multinomial logistic model over two kinds of input: the structural signals of `features.py` (task
cues, stakes, constraints, code, mathematics, lengths; the instruction told apart from the material)
and the instruction's own words and word pairs, with a vocabulary learnt from the library. It is
trained on the labelled library shipped beside this module (`examples.jsonl`, built by
`services/router/library/build.py`, which also saves the trained model as `tier_weights.json` for the
service to load; the dev set in `tests/data/` and the blind set in `bench/data/` are disjoint from it),
then temperature-calibrated on template groups held out of training. `choose` turns the probabilities
into a tier under the caller's `min_quality`: the cheapest tier whose chance of being enough reaches it.
Scoring is a few dot products; reading the signals is most of the time.

With `tier_embeddings` on, the nearest library examples under the local sentence model also vote,
and the two distributions are blended: that catches paraphrases the model misses, at ~5 ms.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sophia.router import features
from sophia.router.catalog import TIERS, Tier

if TYPE_CHECKING:
    from sophia.router.gain import GainModel

# Training: full-batch Adam on the cross-entropy, weight decay on both kinds of weight (the values chosen by
# template-held-out cross-validation of the library). Two thousand prompts: about 2 s at start on one core.
L2_SIGNALS = 1e-2
L2_WORDS = 1e-3
ITERATIONS = 300
LEARNING_RATE = 0.05
MIN_COUNT = 2  # a word (or word pair) must occur in this many library prompts to be learnt
MAX_TOKENS = 160  # words of the instruction read: the task is said at its start (and the instruction is short)
CALIBRATION_SHARE = 0.2  # share of the library's groups held out to fit the temperature
TEMPERATURES = np.exp(np.linspace(np.log(0.3), np.log(5.0), 60))
DEFAULT_MIN_QUALITY = 0.6  # chosen on template-held-out cross-validation: fewer premium prompts sent lower
NEIGHBOURS = 7
SHARPNESS = 6.0  # similarity ** SHARPNESS: the closest examples dominate the vote
EMBEDDING_SHARE = 0.35  # weight of the neighbour vote in the blend
LONG_INPUT = 2000  # characters
WEIGHTS_FILE = "tier_weights.json"  # the shipped model, saved by library/build.py

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Example:
    prompt: str
    tier: Tier
    system: str | None = None
    group: str = ""


def load_examples(text: str | None = None) -> list[Example]:
    """The shipped library, or examples in the same JSON-lines format (`{"prompt", "tier"}`, optional
    `system` and `group`)."""
    if text is None:
        text = resources.files("sophia.router").joinpath("examples.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Example(row["prompt"], Tier(row["tier"]), row.get("system"), row.get("group", "")) for row in rows]


@dataclass(frozen=True)
class Assessment:
    tier: Tier
    probabilities: dict[Tier, float]
    features: features.Features
    reasons: list[str]
    min_quality: float = DEFAULT_MIN_QUALITY
    gain: float | None = None  # P(the strong model is right where a weaker one is wrong), when estimated

    def expected_quality(self) -> dict[Tier, float]:
        """Per tier, the chance its models are enough: 1 - P(the prompt needs a higher tier)."""
        p = [self.probabilities[t] for t in TIERS]
        return {t: round(1 - sum(p[i + 1 :]), 3) for i, t in enumerate(TIERS)}


def choose(probabilities: npt.NDArray[np.float64], min_quality: float) -> Tier:
    """The cheapest tier whose expected quality reaches `min_quality`.

    Expected quality of a tier = the calibrated probability that the prompt does not need a stronger one.
    So the next tier up is taken when its expected gain (the probability mass above) exceeds 1 - min_quality:
    0.5 is the most likely adequate tier; 0.8 pays for the stronger tier whenever it has a 20% chance of
    mattering; 0.2 only when it is very likely to.
    """
    above = 1.0 - np.cumsum(probabilities)  # P(needs more than tier i)
    for i, tier in enumerate(TIERS):
        if above[i] <= 1.0 - min_quality + 1e-12:
            return tier
    return TIERS[-1]


def tokens(text: str) -> list[str]:
    """Words and adjacent word pairs of an instruction, lower-cased."""
    words = _TOKEN.findall(text.lower())[:MAX_TOKENS]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


class Vocabulary:
    """The words and word pairs the library uses often enough to learn a weight for."""

    def __init__(self, index: dict[str, int]) -> None:
        self.index = index
        self.tokens = sorted(index, key=index.__getitem__)  # id -> token, for the reasons

    @classmethod
    def learn(cls, instructions: list[str]) -> Vocabulary:
        counts: dict[str, int] = {}
        for text in instructions:
            for token in set(tokens(text)):
                counts[token] = counts.get(token, 0) + 1
        kept = sorted(t for t, n in counts.items() if n >= MIN_COUNT)
        return cls({t: i for i, t in enumerate(kept)})

    def __len__(self) -> int:
        return len(self.index)

    def ids(self, instruction: str) -> npt.NDArray[np.int64]:
        found = {self.index[t] for t in tokens(instruction) if t in self.index}
        return np.fromiter(sorted(found), dtype=np.int64, count=len(found))


def instruction_of(signals: features.Features, system: str | None) -> str:
    """What the word features read: the instruction (material left out), framed by the system prompt."""
    return f"{system[:1000]}\n{signals.instruction}" if system else signals.instruction


class TierModel:
    """Softmax regression on the standardised signals plus the instruction's words, temperature-calibrated."""

    def __init__(
        self,
        weights: npt.NDArray[np.float64],
        word_weights: npt.NDArray[np.float64],
        bias: npt.NDArray[np.float64],
        mean: npt.NDArray[np.float64],
        scale: npt.NDArray[np.float64],
        vocabulary: Vocabulary,
        temperature: float = 1.0,
    ) -> None:
        self.weights = weights
        self.word_weights = word_weights
        self.bias = bias
        self.mean = mean
        self.scale = scale
        self.vocabulary = vocabulary
        self.temperature = temperature

    @classmethod
    def fit(cls, examples: list[Example], temperature: float = 1.0) -> TierModel:
        signals = [features.extract(e.prompt, e.system) for e in examples]
        instructions = [instruction_of(s, e.system) for s, e in zip(signals, examples, strict=True)]
        return cls._fit(np.stack([s.vector for s in signals]), instructions, examples, temperature)

    @classmethod
    def _fit(
        cls, x: npt.NDArray[np.float64], instructions: list[str], examples: list[Example], temperature: float
    ) -> TierModel:
        vocabulary = Vocabulary.learn(instructions)
        ids = [vocabulary.ids(text) for text in instructions]
        rows = np.repeat(np.arange(len(ids)), [len(i) for i in ids])
        flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        y = np.array([TIERS.index(e.tier) for e in examples])
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-6] = 1.0
        z = (x - mean) / scale
        n, k, v = len(y), len(TIERS), len(vocabulary)
        onehot = np.eye(k)[y]
        # Each tier counts the same, however many examples the library has of it.
        counts = np.maximum(onehot.sum(axis=0), 1)
        sample_weight = (n / (k * counts))[y][:, None]
        params = [np.zeros((x.shape[1], k)), np.zeros((v, k)), np.zeros(k)]
        moments = [np.zeros_like(p) for p in params]
        squares = [np.zeros_like(p) for p in params]
        for step in range(1, ITERATIONS + 1):
            weights, words, bias = params
            logits = z @ weights + bias + _gather(words, flat, rows, n)
            error = (_softmax(logits) - onehot) * sample_weight / n
            grads = [
                z.T @ error + L2_SIGNALS * weights,
                _scatter(error, flat, rows, v) + L2_WORDS * words,
                error.sum(axis=0),
            ]
            adam_step(params, grads, moments, squares, step, LEARNING_RATE)
        return cls(params[0], params[1], params[2], mean, scale, vocabulary, temperature)

    @classmethod
    def train(cls, examples: list[Example]) -> TierModel:
        """Fit on the library with whole groups held out, fit the temperature on them, refit on everything.

        The held-out groups are templates and handwritten prompts the first fit never saw, so the
        temperature is what makes probabilities honest on new phrasings, not on the library's own.
        """
        signals = [features.extract(e.prompt, e.system) for e in examples]
        x = np.stack([s.vector for s in signals])
        instructions = [instruction_of(s, e.system) for s, e in zip(signals, examples, strict=True)]
        held = calibration_groups(examples)
        train = [i for i, e in enumerate(examples) if _group(e, i) not in held]
        calib = [i for i, e in enumerate(examples) if _group(e, i) in held]
        temperature = 1.0
        if train and calib:
            first = cls._fit(x[train], [instructions[i] for i in train], [examples[i] for i in train], 1.0)
            raw = np.stack([first.logits(x[i], instructions[i]) for i in calib])
            y = np.array([TIERS.index(examples[i].tier) for i in calib])
            temperature = fit_temperature(raw, y)
        return cls._fit(x, instructions, examples, temperature)

    def to_json(self) -> str:
        """The parameters as JSON (six significant digits: far below what moves a decision)."""
        floats = saved_floats
        return json.dumps(
            {
                "signals": list(features.NAMES),
                "tiers": list(TIERS),
                "weights": floats(self.weights),
                "bias": floats(self.bias),
                "mean": floats(self.mean),
                "scale": floats(self.scale),
                "temperature": self.temperature,
                "words": dict(zip(self.vocabulary.tokens, floats(self.word_weights), strict=True)),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> TierModel:
        saved = json.loads(text)
        if saved["signals"] != list(features.NAMES) or saved["tiers"] != list(TIERS):
            raise ValueError("saved tier weights are for other signals or tiers: run services/router/library/build.py")
        words = saved["words"]
        return cls(
            np.array(saved["weights"], dtype=np.float64),
            np.array(list(words.values()), dtype=np.float64).reshape(len(words), len(TIERS)),
            np.array(saved["bias"], dtype=np.float64),
            np.array(saved["mean"], dtype=np.float64),
            np.array(saved["scale"], dtype=np.float64),
            Vocabulary({token: i for i, token in enumerate(words)}),
            float(saved["temperature"]),
        )

    def standardise(self, vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return (vector - self.mean) / self.scale

    def logits(self, vector: npt.NDArray[np.float64], instruction: str) -> npt.NDArray[np.float64]:
        ids = self.vocabulary.ids(instruction)
        words = self.word_weights[ids].sum(axis=0) if len(ids) else 0.0
        return self.standardise(vector) @ self.weights + self.bias + words

    def probabilities(self, vector: npt.NDArray[np.float64], instruction: str = "") -> npt.NDArray[np.float64]:
        return _softmax(self.logits(vector, instruction) / self.temperature)

    def contributions(self, vector: npt.NDArray[np.float64], tier: Tier) -> npt.NDArray[np.float64]:
        """How much each signal pushed toward `tier` rather than the others."""
        column = self.weights[:, TIERS.index(tier)] - self.weights.mean(axis=1)
        return self.standardise(vector) * column

    def word_pushes(self, instruction: str, tier: Tier) -> list[tuple[str, float]]:
        """The instruction's learnt words and how much each pushed toward `tier`, strongest first."""
        ids = self.vocabulary.ids(instruction)
        weights = self.word_weights[ids]
        pushes = weights[:, TIERS.index(tier)] - weights.mean(axis=1)
        order = np.argsort(-pushes)
        return [(self.vocabulary.tokens[int(ids[i])], float(pushes[i])) for i in order]


def _group(example: Example, index: int) -> str:
    return example.group or f"line:{index}"


def calibration_groups(examples: list[Example]) -> set[str]:
    """A deterministic CALIBRATION_SHARE of the groups (by a stable hash of the name, not Python's salted one)."""
    groups = sorted({_group(e, i) for i, e in enumerate(examples)})
    return {g for g in groups if zlib.crc32(g.encode()) % 1000 < CALIBRATION_SHARE * 1000}


def fit_temperature(logits: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
    """The temperature that minimises the held-out negative log-likelihood (a grid: one parameter)."""
    best, best_loss = 1.0, np.inf
    for t in TEMPERATURES:
        p = _softmax(logits / t)
        loss = -np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)).mean()
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def saved_floats(values: npt.NDArray[np.float64]) -> list[Any]:
    """Weights as (nested) lists of six-significant-digit floats, how both models save theirs."""
    rounded = np.array([float(f"{v:.6g}") for v in values.ravel()]).reshape(values.shape)
    return rounded.tolist()


def adam_step(
    params: list[npt.NDArray[np.float64]],
    grads: list[npt.NDArray[np.float64]],
    moments: list[npt.NDArray[np.float64]],
    squares: list[npt.NDArray[np.float64]],
    step: int,
    learning_rate: float,
) -> None:
    """One Adam update of every parameter in place (the tier and gain models train the same way)."""
    for p, g, m, s in zip(params, grads, moments, squares, strict=True):
        m *= 0.9
        m += 0.1 * g
        s *= 0.999
        s += 0.001 * g * g
        p -= learning_rate * (m / (1 - 0.9**step)) / (np.sqrt(s / (1 - 0.999**step)) + 1e-8)


def _gather(
    words: npt.NDArray[np.float64], flat: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.float64]:
    """Per example, the sum of its words' weights (a sparse matrix product, one column at a time)."""
    picked = words[flat]
    return np.stack([np.bincount(rows, weights=picked[:, c], minlength=n) for c in range(words.shape[1])], axis=1)


def _scatter(
    error: npt.NDArray[np.float64], flat: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], v: int
) -> npt.NDArray[np.float64]:
    """The words' gradient: each word collects the errors of the examples it occurs in."""
    spread = error[rows]
    return np.stack([np.bincount(flat, weights=spread[:, c], minlength=v) for c in range(error.shape[1])], axis=1)


@functools.lru_cache(maxsize=1)
def shipped_model() -> TierModel:
    """`TierModel.train(load_examples())` as `library/build.py` saved it (`tier_weights.json`): a start reads it in
    milliseconds instead of training for seconds (tens of seconds on a busy node, past a readiness probe); a test
    proves the saved weights are what training on the shipped library gives."""
    return TierModel.from_json(resources.files("sophia.router").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8"))


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
    """Prompt → `Assessment`.

    With a gain model the premium probability is the expected gain of the strong model (`gain.py`): the tier
    model still says how the rest splits between simple and balanced, but whether to pay for the strongest
    tier follows whether it is likely to be right where the others are not, not whether the prompt looks hard.
    """

    def __init__(self, model: TierModel, neighbours: Neighbours | None = None, gain: GainModel | None = None) -> None:
        self.model = model
        self.neighbours = neighbours
        self.gain = gain

    @classmethod
    def from_library(
        cls, examples: list[Example] | None = None, gain: bool = False, gain_data: tuple[str, ...] = ()
    ) -> Estimator:
        """The tier model (shipped, or trained on `examples`); with `gain`, the gain model too (trained on the
        shipped data plus the correctness files' text in `gain_data`)."""
        model = TierModel.train(examples) if examples is not None else shipped_model()
        if not gain:
            return cls(model)
        from sophia.router import gain as gains  # gain.py builds on this module

        return cls(model, gain=gains.shipped_gain_model() if not gain_data else gains.trained_with(gain_data))

    def assess(
        self,
        prompt: str,
        system: str | None = None,
        embedding: npt.NDArray[np.float32] | None = None,
        min_quality: float = DEFAULT_MIN_QUALITY,
    ) -> Assessment:
        signals = features.extract(prompt, system)
        instruction = instruction_of(signals, system)
        p = self.model.probabilities(signals.vector, instruction)
        if embedding is not None and self.neighbours is not None:
            p = (1 - EMBEDDING_SHARE) * p + EMBEDDING_SHARE * self.neighbours.vote(embedding)
        gain = None
        if self.gain is not None and self.gain.applies(prompt):
            gain = self.gain.assess(prompt, system, signals)
            lower = p[:-1] / max(float(p[:-1].sum()), 1e-12)
            p = np.append(lower * (1 - gain), gain)
        tier = choose(p, min_quality)
        probabilities = {t: round(float(p[i]), 3) for i, t in enumerate(TIERS)}
        reasons = self._reasons(signals, instruction, tier, prompt, embedding is not None)
        if gain is not None:
            reasons.append(
                f"expected gain of the strongest tier {gain:.2f}: the chance it is right where a cheaper one is not"
            )
        return Assessment(tier, probabilities, signals, reasons, min_quality, None if gain is None else round(gain, 3))

    def _reasons(
        self, signals: features.Features, instruction: str, tier: Tier, prompt: str, embedded: bool
    ) -> list[str]:
        pushes = self.model.contributions(signals.vector, tier)
        order = np.argsort(-pushes)
        reasons = []
        for i in order[:8]:
            name = features.NAMES[i]
            if pushes[i] < 0.2 or not signals.vector[i]:
                continue
            if (text := describe(name, signals, prompt)) is not None:
                reasons.append(text)
            if len(reasons) == 3:
                break
        words = [w for w, push in self.model.word_pushes(instruction, tier)[:4] if push > 0.15]
        if words:
            reasons.append("wording learnt from the library: " + ", ".join(f"'{w}'" for w in words))
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
