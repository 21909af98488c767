"""The trained intent model: linear models over word and character n-grams.

It is fitted from the shipped training library (`library/`: generated templates x entities x
phrasings, hand-written hard cases and near-misses, and the original example set) the first time the
gateway classifies, in about a second; the fit is deterministic (seeded expansion, a deterministic
solver), so every replica holds the same model. No weight here is set by hand: the library is the
only thing to edit when the model is wrong, and the blind set in bench/data says whether it helped.

Character n-grams carry misspellings and unseen names ("dploy", "ledgerline"); word n-grams carry
phrasing ("what do we know about" is a recall). One model per field: domain, action, approval, and
one binary model per capability (a request may need several).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from sophia.gateway.intent.library.templates import OUTCOME_ORDER, expand
from sophia.gateway.intent.schema import CAPABILITIES
from sophia.gateway.intent.text import clauses, repair

SVM_C = 1.0  # scikit-learn's default: the library is varied enough that it needs no tuning here
LOGISTIC_C = 8.0
LIBRARY = "sophia.gateway.intent.library"


def library() -> list[dict[str, Any]]:
    """The whole training library: generated families, hand-written cases, the original example set."""
    rows = expand()
    for package, name in ((LIBRARY, "hard_cases.jsonl"), ("sophia.gateway.intent", "examples.jsonl")):
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        rows += [json.loads(line) for line in text.splitlines() if line.strip()]
    return rows


@dataclass(frozen=True)
class Prediction:
    domain: str
    action: str
    capabilities: list[str]
    approval: float  # the approval model's probability that the request needs approval
    margin: float  # the narrowest of its decisions, in units of the separating margin (0 = a coin toss)


class IntentModel:
    """Linear SVMs for domain, action and each capability, a logistic regression for approval (its
    probability is thresholded low: a missed approval is the dangerous error). All of them are one
    matrix product at prediction time, so a request costs its feature extraction and little else."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        texts = [normalise(row["query"]) for row in rows]
        self.size = len(rows)
        self._features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[\w#$/.-]+")),  # noqa: S106
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)),
            ]
        )
        x = self._features.fit_transform(texts)
        domain = LinearSVC(C=SVM_C, class_weight="balanced").fit(x, [row["domain"] for row in rows])
        action = LinearSVC(C=SVM_C, class_weight="balanced").fit(x, [row["action"] for row in rows])
        capabilities = [
            LinearSVC(C=SVM_C, class_weight="balanced").fit(x, [c in row["capabilities"] for row in rows])
            for c in CAPABILITIES
        ]
        approval = LogisticRegression(C=LOGISTIC_C, solver="liblinear", class_weight="balanced")
        approval.fit(x, [bool(row["requires_approval"]) for row in rows])
        self.domains = [str(c) for c in domain.classes_]
        self.actions = [str(c) for c in action.classes_]
        # Columns: domains, actions, capabilities, approval.
        self._weights = np.vstack(
            [domain.coef_, action.coef_, *(m.coef_ for m in capabilities), approval.coef_]
        ).T.astype(np.float64)
        self._parts = []
        offset = 0
        for _, vectorizer in self._features.transformer_list:
            self._parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset))
            offset += len(vectorizer.vocabulary_)
        self._bias = np.concatenate(
            [domain.intercept_, action.intercept_, *(m.intercept_ for m in capabilities), approval.intercept_]
        )

    def predict(self, query: str) -> Prediction:
        """One request; "X, then Y" is also read clause by clause: the capabilities add up, the clause with
        the weightiest outcome gives the action and domain, and approval is the most cautious reading."""
        parts = clauses(repair(query))
        whole = self._predict_one(query)
        if len(parts) == 1:
            return whole
        readings = [self._predict_one(part) for part in parts]
        lead = min(readings, key=lambda r: OUTCOME_ORDER.index(r.action))
        capabilities = sorted({c for r in [whole, *readings] for c in r.capabilities})
        return Prediction(
            domain=whole.domain,
            action=lead.action,
            capabilities=capabilities,
            approval=max(r.approval for r in [whole, *readings]),
            margin=min(r.margin for r in [whole, *readings]),
        )

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """Every model's decision value for `query`: TF-IDF exactly as the fitted vectorizers compute it,
        but only for the few n-grams the request holds (scikit-learn's `transform` costs milliseconds of
        validation and sparse-matrix building per call; this costs tens of microseconds)."""
        text = normalise(query)
        total = self._bias.copy()
        for analyse, vocabulary, idf, offset in self._parts:
            counts = Counter(term for term in analyse(text) if term in vocabulary)
            if not counts:
                continue
            index = np.fromiter((vocabulary[term] for term in counts), dtype=np.int64, count=len(counts))
            weight = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[index]
            weight /= np.linalg.norm(weight)
            total += weight @ self._weights[offset + index]
        return total

    def _predict_one(self, query: str) -> Prediction:
        scores = self.scores(query)
        nd, na, nc = len(self.domains), len(self.actions), len(CAPABILITIES)
        domain_s, action_s = scores[:nd], scores[nd : nd + na]
        capability_s = dict(zip(CAPABILITIES, scores[nd + na : nd + na + nc].tolist(), strict=True))
        chosen: list[str] = sorted(c for c in CAPABILITIES if capability_s[c] > 0)
        chosen = chosen or [max(capability_s, key=capability_s.__getitem__)]
        approval = 1.0 / (1.0 + math.exp(-float(scores[-1])))
        margins = [_gap(domain_s), _gap(action_s), min(abs(s) for s in capability_s.values())]
        return Prediction(
            domain=self.domains[int(np.argmax(domain_s))],
            action=self.actions[int(np.argmax(action_s))],
            capabilities=chosen,
            approval=approval,
            margin=float(min(margins)),
        )


def _gap(scores: Any) -> float:
    top = np.sort(scores)[-2:]
    return float(top[1] - top[0])


def normalise(query: str) -> str:
    """Lower case, one space between words, capped: what the features are read from."""
    return " ".join(query.lower().split())[:2000]
