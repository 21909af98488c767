"""The trained intent model as the gateway runs it: linear decisions over word and character n-grams.

The model is trained from the shipped library (`library/`: generated templates x entities x
phrasings, hand-written hard cases and near-misses, and the original example set) by `train.py`,
which writes `library/model.npz`; a test retrains and compares, so the artifact is never stale. No
weight is set by hand: the library is the only thing to edit when the model is wrong, and the blind
set in bench/data says whether the edit helped.

Scoring needs only numpy: the n-grams are computed here exactly as scikit-learn's TF-IDF vectorizers
do (a test checks it) and looked up in the vocabularies, so the gateway neither imports scikit-learn
(seconds at start) nor pays its per-call validation (milliseconds).

Character n-grams carry misspellings and unseen names ("dploy", "ledgerline"); word n-grams carry
phrasing ("what do we know about" is a recall). Decisions: domain, action, approval, and one binary
decision per capability (a request may need several).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sophia.gateway.intent.library.templates import OUTCOME_ORDER, expand
from sophia.gateway.intent.schema import CAPABILITIES
from sophia.gateway.intent.text import clauses, repair, unquoted
from sophia.kit.embeddings import Arithmetic, LocalEmbedder, Vectors, local_model

LIBRARY = "sophia.gateway.intent.library"
ARTIFACT = Path(__file__).resolve().parent / "library" / "model.npz"
TOKEN_PATTERN = r"[\w#$/.-]+"  # noqa: S105 - a regular expression, not a secret
CHAR_NGRAMS = (3, 5)
# A clause of "X and Y" adds a capability to the whole request's only when its decision is past a quarter
# of the margin: clauses are short, and a near-zero score on a few words added a service nobody asked for
# (over-included services were most exact-set errors). Chosen by leaving each retired blind set out of
# training in turn (exact sets 0.867/0.944/0.967 with any positive score, 0.920/0.968/0.974 with 0.25).
CLAUSE_CAPABILITY_MARGIN = 0.25
# The request's sentence vector (MiniLM, the one the planner ranks tools with) beside the n-grams, scaled
# against the two unit-length TF-IDF blocks: n-grams know the words, the vector knows a paraphrase. Leaving
# each written set out of training in turn (raw decisions): action 0.809 -> 0.831 and exact capability set
# 0.831 -> 0.862 at 0.5, 0.829 / 0.847 at 1.0, domain unchanged.
DENSE_WEIGHT = 0.5
_TOKEN = re.compile(TOKEN_PATTERN)
_WHITE_SPACES = re.compile(r"\s\s+")


# Requests written by people in their own words, apart from the templates: `retired/` holds evaluation sets
# once measured and retired into training, `written/` sets written for training by people who read neither
# the library nor any evaluation set. Other writers' wording is what the generated families lack most.
WRITTEN = ("retired", "written")
LABELS = ("query", "domain", "action", "capabilities", "requires_approval")


def library() -> list[dict[str, Any]]:
    """The whole training library: generated families, hand-written cases, the original example set, and
    the requests written apart (their labels only), in a fixed order."""
    rows = expand()
    for package, name in ((LIBRARY, "hard_cases.jsonl"), ("sophia.gateway.intent", "examples.jsonl")):
        rows += _jsonl(resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    for folder in WRITTEN:
        rows += [row for _, held in _labelled_sets(folder) for row in held]
    return rows


def written_sets() -> list[tuple[str, list[dict[str, Any]]]]:
    """The sets written for training (`library/written/`), by name: what `train.py --leave-out` measures with."""
    return _labelled_sets("written")


def _labelled_sets(folder: str) -> list[tuple[str, list[dict[str, Any]]]]:
    files = sorted(resources.files(LIBRARY).joinpath(folder).iterdir(), key=lambda f: f.name)
    return [
        (file.name, [{label: row[label] for label in LABELS} for row in _jsonl(file.read_text(encoding="utf-8"))])
        for file in files
        if file.name.endswith(".jsonl")
    ]


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def word_ngrams(text: str) -> list[str]:
    """Word 1- and 2-grams, as TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, 2))."""
    tokens = _TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def char_ngrams(text: str) -> list[str]:
    """Character n-grams inside word boundaries, as TfidfVectorizer(analyzer="char_wb")."""
    grams: list[str] = []
    low, high = CHAR_NGRAMS
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


@dataclass(frozen=True)
class Prediction:
    domain: str
    action: str
    capabilities: list[str]
    approval: float  # the approval model's probability that the request needs approval, read whole
    margin: float  # the narrowest of its decisions, in units of the separating margin (0 = a coin toss)
    sure_capabilities: list[str]  # those past CLAUSE_CAPABILITY_MARGIN: what a clause may add to the whole
    # The weightiest outcome any acting clause reads as: what approval by convention goes by (the action label
    # is the whole request's reading, which names the outcome better).
    cautious_action: str
    # The highest such probability of any one clause of a compound request (0 for a single clause): a clause
    # read alone has fewer words to go by, so the classifier trusts it only when it is sure.
    clause_approval: float = 0.0


# Threads the local model embeds requests with, wherever this package embeds them (the gateway's engine, a
# classifier given no vectors, training): one. A request is a few short texts; on a small machine a second
# thread waited for the core the event loop needs (fan-out p95 114-116 against 117-121 ms on 2 cores, stop 29,
# with onnxruntime's intra-op threads; the kit now splits a run across threads instead, not re-measured here).
# The vectors do not depend on it: one thread and two give the same bits (int8, the library's 1,500 first).
EMBEDDING_THREADS = 1
# How that model multiplies, wherever this package embeds: in int8 over the weights as the package stores them
# (`sophia.kit.int8_arithmetic`), 1.6x less CPU per request than the packaged float graph (p95 4.2 against 6.8 ms
# for a request's texts on one thread here), vectors within cosine 0.996 of float. The shipped model is trained
# on these vectors, so this is a constant, not a setting: the classifier reads the vectors it learnt from.
EMBEDDING_ARITHMETIC: Arithmetic = "int8"


def sentence_model(threads: int = EMBEDDING_THREADS) -> LocalEmbedder:
    """The local model as this package embeds requests: the gateway's engine, a classifier given no vectors,
    training and the benchmarks all take it from here, so none reads vectors the intent model did not learn."""
    return local_model(threads, EMBEDDING_ARITHMETIC)


def request_texts(query: str) -> list[str]:
    """What a request's sentence vectors are made of (the planner ranks tools with the same ones): each clause
    of the repaired request, quoted spans blanked."""
    return [unquoted(part) for part in clauses(repair(query))]


def split_vectors(vectors: Vectors) -> tuple[Vectors, Vectors]:
    """(the whole request's vector, its clauses' vectors). A compound request is the mean of its clauses:
    as accurate as embedding it whole on the labelled set, and one model run fewer."""
    if len(vectors) == 1:
        return vectors[0], vectors
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32), vectors


class IntentModel:
    """Every decision is one column of one weight matrix over the n-grams, plus one row of a second over the
    request's sentence vector: a request costs its n-grams and two products."""

    def __init__(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.size = int(arrays["size"])
        self._dense = arrays["dense"].astype(np.float64)  # (vector dimensions, decisions)
        self.domains = [str(d) for d in arrays["domains"]]
        self.actions = [str(a) for a in arrays["actions"]]
        self._weights = arrays["weights"].astype(np.float64)
        self._bias = arrays["bias"].astype(np.float64)
        words = {str(t): i for i, t in enumerate(arrays["words"])}
        chars = {str(t): i for i, t in enumerate(arrays["chars"])}
        self._parts = [
            (word_ngrams, words, arrays["idf_words"].astype(np.float64), 0),
            (char_ngrams, chars, arrays["idf_chars"].astype(np.float64), len(words)),
        ]

    @classmethod
    def load(cls, path: Path = ARTIFACT) -> IntentModel:
        """The shipped model (`train.py` writes it)."""
        with np.load(path, allow_pickle=False) as data:
            return cls({name: data[name] for name in data.files})

    def predict(self, query: str, vectors: Vectors, acts: Callable[[str], bool] = lambda _: True) -> Prediction:
        """One request, with the sentence vectors of its clauses (`request_texts`); "X, then Y" is also read
        clause by clause: the capabilities add up, each clause's approval probability is kept beside the whole
        request's (`clause_approval`, the highest), and `cautious_action` is the weightiest outcome among the
        clauses that `acts` (not "don't touch them", not "just list them"). The action itself is the whole
        request's reading: the model learnt which step carries the outcome from the library's compound requests
        (written sets left out in turn, compound requests only: 0.859 against 0.741 for the weightiest
        clause's)."""
        parts = clauses(repair(query))
        whole_vector, clause_vectors = split_vectors(vectors)
        whole = self._predict_one(query, whole_vector)
        if len(parts) == 1:
            return whole
        if len(clause_vectors) != len(parts):  # quoted spans split otherwise: the whole request's vector
            clause_vectors = np.stack([whole_vector] * len(parts))
        readings = [self._predict_one(part, vector) for part, vector in zip(parts, clause_vectors, strict=True)]
        acting = [reading for part, reading in zip(parts, readings, strict=True) if acts(part)] or readings
        lead = min(acting, key=lambda r: OUTCOME_ORDER.index(r.action))
        capabilities = sorted({*whole.capabilities, *(c for r in readings for c in r.sure_capabilities)})
        return Prediction(
            domain=whole.domain,
            action=whole.action,
            capabilities=capabilities,
            approval=whole.approval,
            clause_approval=max(r.approval for r in readings),
            margin=min(r.margin for r in [whole, *readings]),
            sure_capabilities=whole.sure_capabilities,
            cautious_action=lead.action,
        )

    def scores(self, query: str, vector: Vectors) -> npt.NDArray[np.float64]:
        """Every decision's value for `query`: TF-IDF (sublinear tf, l2 per vectorizer) of the n-grams the
        request holds that the vocabularies know, times the weights; plus its sentence vector's share."""
        text = normalise(query)
        total = self._bias + DENSE_WEIGHT * (vector.astype(np.float64) @ self._dense)
        for analyse, vocabulary, idf, offset in self._parts:
            counts = Counter(term for term in analyse(text) if term in vocabulary)
            if not counts:
                continue
            index = np.fromiter((vocabulary[term] for term in counts), dtype=np.int64, count=len(counts))
            weight = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[index]
            weight /= np.linalg.norm(weight)
            total += weight @ self._weights[offset + index]
        return total

    def _predict_one(self, query: str, vector: Vectors) -> Prediction:
        scores = self.scores(query, vector)
        nd, na, nc = len(self.domains), len(self.actions), len(CAPABILITIES)
        domain_s, action_s = scores[:nd], scores[nd : nd + na]
        capability_s = dict(zip(CAPABILITIES, scores[nd + na : nd + na + nc].tolist(), strict=True))
        chosen: list[str] = sorted(c for c in CAPABILITIES if capability_s[c] > 0)
        chosen = chosen or [max(capability_s, key=capability_s.__getitem__)]
        approval = 1.0 / (1.0 + math.exp(-float(scores[-1])))
        margins = [_gap(domain_s), _gap(action_s), min(abs(s) for s in capability_s.values())]
        action = self.actions[int(np.argmax(action_s))]
        return Prediction(
            domain=self.domains[int(np.argmax(domain_s))],
            action=action,
            capabilities=chosen,
            approval=approval,
            margin=float(min(margins)),
            sure_capabilities=[c for c in CAPABILITIES if capability_s[c] > CLAUSE_CAPABILITY_MARGIN],
            cautious_action=action,
        )


def _gap(scores: Any) -> float:
    top = np.sort(scores)[-2:]
    return float(top[1] - top[0])


def normalise(query: str) -> str:
    """Lower case, one space between words, capped: what the features are read from."""
    return " ".join(query.lower().split())[:2000]
