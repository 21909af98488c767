"""Offline intent classification: nearest neighbours over a labelled example library, plus rules.

The library (`examples.jsonl`, shipped with the gateway) holds requests labelled with the intent
convention. A request is embedded with the kit's local sentence model together with its clauses;
the nearest examples vote on every field, weighted by similarity, and the lexical rules add what a
word gives away (a Slack channel is `business`, "rollback prod" is a deploy that needs approval).

Confidence is calibrated: at start the library classifies itself leave-one-out, and a logistic
curve fitted to those outcomes maps the raw vote agreement to the probability that domain, action
and capabilities are all right.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from sophia.gateway.intent import rules
from sophia.gateway.intent.schema import ACTIONS, CAPABILITIES, DOMAINS, URGENCIES, Action, Capability, Intent
from sophia.gateway.intent.text import clauses, entities, repair, unquoted
from sophia.kit.embeddings import Vectors

NEIGHBOURS = 8
SHARPNESS = 4.0  # similarity ** SHARPNESS: close examples outvote many loosely related ones
# Capability score = weighted nearest-neighbour share + lexical cue + "best capability of some clause".
CAPABILITY_WEIGHTS = (0.55, 0.25, 0.2)
CAPABILITY_THRESHOLD = 0.42
CLAUSE_CUE_WEIGHT = 0.5
LEADING_CUE_WEIGHT = 0.2  # the verb that opens a clause names its capability ("remember that ...")
NAMED_SYSTEM_WEIGHT = 0.2  # "check memory", "in Asana": the request names the system
# When several clauses carry different actions, the one with the outcome that matters most wins.
ACTION_PRIORITY: tuple[Action, ...] = (
    "deploy", "delete", "modify", "create", "optimize", "monitor", "analyze", "query"
)  # fmt: skip
ACTION_RULE_WEIGHT = 0.7  # an imperative verb opening a clause
MENTION_WEIGHT = 0.2  # an action word elsewhere in the request
QUESTION_WEIGHT = 0.2  # a question asks to read, not to change
READ_ACTIONS = ("query", "analyze", "monitor", "optimize")
URGENCY_RULE_WEIGHT = 0.6
DOMAIN_OF: dict[Capability, str] = {
    "infra": "infrastructure", "code": "technical", "business": "business", "visual": "creative",
    "memory": "administrative", "router": "administrative",
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    query: str
    domain: str
    action: str
    capabilities: tuple[str, ...]
    risk_level: str
    requires_approval: bool
    urgency: str


def load_examples(text: str | None = None) -> list[Example]:
    """The shipped library, or examples in the same JSON-lines format."""
    if text is None:
        text = resources.files("sophia.gateway.intent").joinpath("examples.jsonl").read_text(encoding="utf-8")
    examples = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(
                Example(
                    query=row["query"],
                    domain=row["domain"],
                    action=row["action"],
                    capabilities=tuple(row["capabilities"]),
                    risk_level=row["risk_level"],
                    requires_approval=row["requires_approval"],
                    urgency=row["urgency"],
                )
            )
    return examples


@dataclass
class Votes:
    """Similarity-weighted shares of each label among a query's nearest examples."""

    domain: dict[str, float]
    action: dict[str, float]
    capabilities: dict[str, float]
    urgency: dict[str, float]
    approval: float
    critical: float
    medium: float
    top_similarity: float


class IntentClassifier:
    """Classify requests against `examples`, whose vectors are `vectors` (rows in the same order)."""

    def __init__(self, examples: list[Example], vectors: Vectors, clause_vectors: list[Vectors]) -> None:
        self.examples = examples
        self._vectors = vectors
        self._onehots = {
            "domain": _onehot([e.domain for e in examples], DOMAINS),
            "action": _onehot([e.action for e in examples], ACTIONS),
            "urgency": _onehot([e.urgency for e in examples], URGENCIES),
        }
        self._capabilities = np.array([[c in e.capabilities for c in CAPABILITIES] for e in examples], dtype=np.float32)
        self._approval = np.array([e.requires_approval for e in examples], dtype=np.float32)
        self._critical = np.array([e.risk_level == "critical" for e in examples], dtype=np.float32)
        self._medium = np.array([e.risk_level == "medium" for e in examples], dtype=np.float32)
        self._calibration = (1.0, 0.0)
        self._calibration = self._fit_calibration(clause_vectors)

    # -- public ----------------------------------------------------------------------------------

    def classify(self, query: str, vectors: Vectors) -> Intent:
        """`vectors` embed `texts_to_embed(query)`, in order."""
        return self._classify(query, *split_vectors(vectors), exclude=None)[0]

    @staticmethod
    def texts_to_embed(query: str) -> list[str]:
        """What `classify` needs embedded: each clause of the repaired request (one text when it has one),
        quoted spans blanked — a quoted name should not decide what the request is."""
        return [unquoted(part) for part in clauses(repair(query))]

    # -- the vote --------------------------------------------------------------------------------

    def _votes(self, vector: Vectors, exclude: int | None) -> Votes:
        similarities = self._vectors @ vector
        if exclude is not None:
            similarities[exclude] = -1.0
        nearest = np.argpartition(-similarities, NEIGHBOURS)[:NEIGHBOURS]
        weights = np.clip(similarities[nearest], 0.0, 1.0) ** SHARPNESS
        total = float(weights.sum()) or 1.0

        def share(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
            return np.asarray((weights @ matrix[nearest]) / total, dtype=np.float32)

        return Votes(
            domain=dict(zip(DOMAINS, share(self._onehots["domain"]).tolist(), strict=True)),
            action=dict(zip(ACTIONS, share(self._onehots["action"]).tolist(), strict=True)),
            capabilities=dict(zip(CAPABILITIES, share(self._capabilities).tolist(), strict=True)),
            urgency=dict(zip(URGENCIES, share(self._onehots["urgency"]).tolist(), strict=True)),
            approval=float(share(self._approval)),
            critical=float(share(self._critical)),
            medium=float(share(self._medium)),
            top_similarity=float(similarities[nearest].max()),
        )

    def _classify(
        self, query: str, query_vector: Vectors, clause_vectors: Vectors, exclude: int | None
    ) -> tuple[Intent, float]:
        fixed = repair(query)
        parts = clauses(fixed)
        votes = self._votes(query_vector, exclude)
        clause_votes = [self._votes(v, exclude) for v in clause_vectors] if len(parts) > 1 else [votes]

        # The rules read the request without its quoted spans; the model reads all of it.
        plain, plain_parts = unquoted(fixed), [unquoted(part) for part in parts]
        capabilities, capability_margin = _capabilities(plain, plain_parts, votes, clause_votes)
        action = _action(plain_parts, votes)
        domain = _domain(votes, capabilities)
        urgency = _urgency(plain, votes)
        findings = [finding for part in [plain, *plain_parts] for finding in rules.approval_findings(part)]
        requires_approval = bool(findings) or (votes.approval >= 0.7 and votes.top_similarity >= 0.8)
        if requires_approval:
            critical = any(f.critical for f in findings) or votes.critical >= 0.5
            risk = "critical" if critical else "high"
        else:
            writes = action in ("create", "modify", "optimize") or votes.medium >= 0.5
            risk = "medium" if writes else "low"
        raw = (max(votes.domain.values()) + max(votes.action.values()) + capability_margin) / 3
        intent = Intent(
            domain=domain,
            action=action,
            capabilities=capabilities,
            targets=_targets(query, plain),
            risk_level=risk,
            requires_approval=requires_approval,
            confidence=round(self._calibrated(raw), 3),
            urgency=urgency,
        )
        return intent, raw

    # -- calibration -------------------------------------------------------------------------------

    def _calibrated(self, raw: float) -> float:
        a, b = self._calibration
        return 1.0 / (1.0 + math.exp(-(a * raw + b)))

    def _fit_calibration(self, clause_vectors: list[Vectors]) -> tuple[float, float]:
        """Leave-one-out over the library: fit P(all of domain, action, capabilities right | raw)."""
        raws, rights = [], []
        for i, example in enumerate(self.examples):
            intent, raw = self._classify(example.query, self._vectors[i], clause_vectors[i], exclude=i)
            right = (
                intent.domain == example.domain
                and intent.action == example.action
                and tuple(intent.capabilities) == example.capabilities
            )
            raws.append(raw)
            rights.append(float(right))
        return _fit_logistic(np.array(raws), np.array(rights))


def _onehot(labels: list[str], vocabulary: tuple[str, ...]) -> npt.NDArray[np.float32]:
    matrix = np.zeros((len(labels), len(vocabulary)), dtype=np.float32)
    for row, label in enumerate(labels):
        matrix[row, vocabulary.index(label)] = 1.0
    return matrix


def _capabilities(
    text: str, parts: list[str], votes: Votes, clause_votes: list[Votes]
) -> tuple[list[Capability], float]:
    cues = rules.cue_scores(rules.CAPABILITY_CUES, text)  # type: ignore[arg-type]
    named = rules.cue_scores(rules.NAMED_SYSTEMS, text)  # type: ignore[arg-type]
    per_clause: dict[str, float] = {}
    leading: set[str] = set()
    for part, part_votes in zip(parts, clause_votes, strict=True):
        part_cues = rules.cue_scores(rules.CAPABILITY_CUES, part)  # type: ignore[arg-type]
        opening = rules.leading_capabilities(part)
        leading |= opening
        scores = {
            c: part_votes.capabilities[c]
            + CLAUSE_CUE_WEIGHT * part_cues.get(c, 0.0)
            + LEADING_CUE_WEIGHT * (c in opening)
            for c in CAPABILITIES
        }
        best = max(scores, key=scores.__getitem__)
        per_clause[best] = 1.0
    w_vote, w_cue, w_clause = CAPABILITY_WEIGHTS
    score = {
        c: w_vote * votes.capabilities[c]
        + w_cue * cues.get(c, 0.0)
        + w_clause * per_clause.get(c, 0.0)
        + LEADING_CUE_WEIGHT * (c in leading)
        + NAMED_SYSTEM_WEIGHT * (c in named)
        for c in CAPABILITIES
    }
    chosen = [c for c in CAPABILITIES if score[c] >= CAPABILITY_THRESHOLD]
    if not chosen:
        chosen = [max(score, key=score.__getitem__)]
    # Margin: how far the weakest decision sits from the threshold (near 0 = a coin toss).
    margin = min(abs(s - CAPABILITY_THRESHOLD) for s in score.values()) / max(CAPABILITY_THRESHOLD, 0.01)
    return sorted(chosen), min(1.0, margin)


def _action(parts: list[str], votes: Votes) -> Action:
    scores = dict(votes.action)
    ordered = [a for a in (rules.leading_action(part) for part in parts) if a is not None]
    if ordered:
        # "X, then Y": the order with the weightiest outcome carries the request.
        scores[min(ordered, key=ACTION_PRIORITY.index)] += ACTION_RULE_WEIGHT
    elif all(rules.is_question(part) for part in parts):
        for action in READ_ACTIONS:
            scores[action] += QUESTION_WEIGHT
    else:
        mentioned = [a for a in (rules.first_action(part) for part in parts) if a is not None]
        if mentioned:
            scores[min(mentioned, key=ACTION_PRIORITY.index)] += MENTION_WEIGHT
    return cast(Action, max(scores, key=scores.__getitem__))


def _domain(votes: Votes, capabilities: list[Capability]) -> str:
    if capabilities == ["memory"]:
        return "administrative"  # the convention: a request that only touches memory
    scores = dict(votes.domain)
    for capability in capabilities:
        scores[DOMAIN_OF[capability]] += 0.15 / len(capabilities)
    return max(scores, key=scores.__getitem__)


def _urgency(text: str, votes: Votes) -> str:
    cues = rules.cue_scores(rules.URGENCY_CUES, text)  # type: ignore[arg-type]
    if text.rstrip().endswith("?"):
        cues.setdefault("exploratory", 0.5)
    scores = {u: votes.urgency[u] + URGENCY_RULE_WEIGHT * cues.get(u, 0.0) for u in URGENCIES}
    if "immediate" in cues:
        scores["immediate"] += 1.0  # an explicit "now" or an incident outranks everything else
    return max(scores, key=scores.__getitem__)


_OBJECT = (
    r"mock-?up|screenshot|image|diagram|illustration|logo|banner|task|ticket|page|deal|call|channel|thread|"
    r"stack|cluster|branch|repo|service|api|pipeline|dashboard|report|memory|memories|notes?|namespace|email|"
    r"message|doc|document|design|pr|pull request|file|command|function|endpoint|test|release|build|bucket|"
    r"database|cert|certificate|invoice|contract|renewal|quote|proposal|paragraph|summary|draft|post|budget|"
    r"spend|bill|config|migration|deploy|deployment|outputs|history|drift|index|prompt|copy|headline"
)
_OBJECT_PHRASE = re.compile(
    rf"\b(?:the|a|an|our|my|this|that|their|his|her|its|every|all)\s+((?:[\w'-]+\s+){{0,2}}(?:{_OBJECT})s?)\b",
    re.IGNORECASE,
)
# Capitalised names inside a sentence are usually who or what it is about ("email Umbrella the RCA").
_PROPER_NAME = re.compile(r"(?<=[a-z,] )([A-Z][a-zA-Z0-9&-]{2,}(?: [A-Z][a-zA-Z0-9&-]{2,})*)")
_NOT_A_NAME = {"Slack", "Gong", "HubSpot", "Hubspot", "Salesforce", "Notion", "Asana", "Pulumi", "Kubernetes", "Figma",
               "LLM", "GPT", "Claude", "OpenAI", "Anthropic", "CRM", "API", "Friday", "Monday", "Tuesday",
               "Wednesday", "Thursday", "Saturday", "Sunday", "PR", "CSV", "JSON", "SQL", "CLI", "UI"}  # fmt: skip


def _targets(request: str, text: str) -> list[str]:
    """Named things (channels, branches, stacks, repos, paths), proper names, then noun phrases ending in a
    thing tools act on ("the login mockup" → "login mockup")."""
    found = entities(request).all()
    found += [name for name in _PROPER_NAME.findall(unquoted(request)) if name not in _NOT_A_NAME]
    found += [phrase.strip() for phrase in _OBJECT_PHRASE.findall(text)]
    return list(dict.fromkeys(found))[:6]


def _fit_logistic(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Maximum-likelihood a, b of P(y=1) = sigmoid(a·x + b), by Newton's method (two parameters)."""
    if y.min() == y.max():
        return (0.0, 4.0 if y[0] else -4.0)
    a, b = 0.0, 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a * x + b)))
        w = np.maximum(p * (1 - p), 1e-9)
        gradient = np.array([((p - y) * x).sum(), (p - y).sum()])
        hessian = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]]) + np.eye(2) * 1e-6
        step = np.linalg.solve(hessian, gradient)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-8:
            break
    return float(a), float(b)


def split_vectors(vectors: Vectors) -> tuple[Vectors, Vectors]:
    """(the whole request's vector, its clauses' vectors). A compound request is the mean of its clauses:
    as accurate as embedding it whole on the labelled set, and one model run fewer."""
    if len(vectors) == 1:
        return vectors[0], vectors
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32), vectors


def build_classifier(embed: Any, examples: list[Example] | None = None) -> IntentClassifier:
    """Embed the library (`embed`: list of texts → unit vectors, synchronous) and build the classifier."""
    examples = examples if examples is not None else load_examples()
    texts = [IntentClassifier.texts_to_embed(e.query) for e in examples]
    flat = [t for group in texts for t in group]
    vectors = np.concatenate([embed(flat[i : i + 64]) for i in range(0, len(flat), 64)])
    heads, clause_vectors, row = [], [], 0
    for group in texts:
        head, parts = split_vectors(vectors[row : row + len(group)])
        heads.append(head)
        clause_vectors.append(parts)
        row += len(group)
    return IntentClassifier(examples, np.stack(heads), clause_vectors)
