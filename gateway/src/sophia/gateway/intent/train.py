"""Train the intent model from the library and write the shipped artifact (`library/model.npz`).

    uv run python -m sophia.gateway.intent.train               # writes the artifact
    uv run python -m sophia.gateway.intent.train --leave-out   # the development measure (minutes)

Linear SVMs for domain, action and each capability, a logistic regression for approval (its
probability is thresholded below even odds: a missed approval is the dangerous error), all over TF-IDF
word 1-2-grams and character 3-5-grams and the request's MiniLM sentence vector (the local model, as the
gateway embeds requests for planning; about 30 s for the library on 2 cores). Seeded solvers, a seeded
library and vectors that do not depend on the thread count: the same artifact comes out on one machine, and
about the same on another (a test (gateway/tests/test_intent.py) retrains and compares, so the shipped file
is never stale).
scikit-learn is a development dependency only: the gateway scores with numpy.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from sophia.gateway.intent.model import (
    ARTIFACT,
    CHAR_NGRAMS,
    DENSE_WEIGHT,
    EMBEDDING_THREADS,
    TOKEN_PATTERN,
    library,
    normalise,
    request_texts,
    sentence_model,
    split_vectors,
)
from sophia.gateway.intent.schema import CAPABILITIES

SVM_C = 1.0  # scikit-learn's default; the library is varied enough that it needs no tuning
LOGISTIC_C = 8.0
SEED = 0


def vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=TOKEN_PATTERN)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2)
    return words, chars


def sentence_vectors(queries: list[str], threads: int = EMBEDDING_THREADS) -> np.ndarray:
    """Each request's sentence vector as the gateway makes it: its clauses embedded by the local model
    (similar lengths together), then their normalised mean. `threads` only changes how long it takes: the
    kit splits the texts across threads, each computed on one, so the vectors are the same bits either way."""
    texts = [request_texts(query) for query in queries]
    vectors = sentence_model(threads).embed_many([text for parts in texts for text in parts])
    bounds = np.cumsum([0, *(len(parts) for parts in texts)])
    return np.stack([split_vectors(vectors[a:b])[0] for a, b in itertools.pairwise(bounds)])


def fit(rows: list[dict[str, Any]], vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The artifact's arrays: vocabularies, idf, one weight column per decision over the n-grams and one
    over the sentence vector (`vectors`, made here when not given), biases, label names."""
    from scipy.sparse import csr_matrix, hstack

    texts = [normalise(row["query"]) for row in rows]
    if vectors is None:
        vectors = sentence_vectors([row["query"] for row in rows])
    words, chars = vectorizers()
    x = hstack([words.fit_transform(texts), chars.fit_transform(texts), csr_matrix(DENSE_WEIGHT * vectors)]).tocsr()
    sparse = x.shape[1] - vectors.shape[1]

    def svm(labels: list[Any]) -> LinearSVC:
        return LinearSVC(C=SVM_C, class_weight="balanced", random_state=SEED).fit(x, labels)

    domain = svm([row["domain"] for row in rows])
    action = svm([row["action"] for row in rows])
    capabilities = [svm([c in row["capabilities"] for row in rows]) for c in CAPABILITIES]
    approval = LogisticRegression(C=LOGISTIC_C, solver="liblinear", class_weight="balanced", random_state=SEED)
    approval.fit(x, [bool(row["requires_approval"]) for row in rows])
    models = [domain, action, *capabilities, approval]
    return {
        "words": _terms(words),
        "chars": _terms(chars),
        "idf_words": words.idf_.astype(np.float32),
        "idf_chars": chars.idf_.astype(np.float32),
        "weights": np.vstack([m.coef_[:, :sparse] for m in models]).T.astype(np.float32),
        "dense": np.vstack([m.coef_[:, sparse:] for m in models]).T.astype(np.float32),
        "bias": np.concatenate([m.intercept_ for m in models]).astype(np.float32),
        "domains": np.array([str(c) for c in domain.classes_]),
        "actions": np.array([str(c) for c in action.classes_]),
        "size": np.array(len(rows)),
    }


def _terms(vectorizer: TfidfVectorizer) -> np.ndarray:
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return np.array(terms)


def write(path: Path = ARTIFACT) -> Path:
    np.savez_compressed(path, allow_pickle=False, **fit(library()))
    return path


def leave_one_out() -> list[dict[str, Any]]:
    """The development measure that spends no blind set: each `library/written/` set in turn is left out of
    training, the rest trains a model, and the whole classifier (model, rules, convention; words only, no plan)
    reads the set left out, as a new writer's requests. One row per set, then the pooled counts ("all")."""
    from sophia.gateway.intent.classifier import IntentClassifier
    from sophia.gateway.intent.evaluation import ratios, tally
    from sophia.gateway.intent.model import IntentModel, written_sets

    rows = library()
    vectors = sentence_vectors([row["query"] for row in rows])
    counts: dict[str, Counter[str]] = {}
    for name, held in written_sets():
        left_out = {row["query"] for row in held}
        kept = [i for i, row in enumerate(rows) if row["query"] not in left_out]
        classifier = IntentClassifier(IntentModel(fit([rows[i] for i in kept], vectors[kept])))
        counts[name] = tally(classifier.classify, held)
    counts["all"] = sum(counts.values(), Counter())
    return [
        {"set": name, "requests": t["requests"], **ratios(t), "missed": t["needed"] - t["caught"]}
        for name, t in counts.items()
    ]


def _shown(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    if sys.argv[1:] == ["--leave-out"]:
        for line in leave_one_out():
            print("  ".join(f"{key} {_shown(value)}" for key, value in line.items()))
    else:
        print(f"wrote {write(Path(sys.argv[1]) if len(sys.argv) > 1 else ARTIFACT)}")
