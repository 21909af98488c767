"""Tool search: rank the federated tools for a request by meaning (the kit's sentence model over each
tool's name and description) with a small boost for words of the tool's name in the request.

`find` is what clients that cap tool counts (Cursor sends 40) call instead of listing everything: it
also reads the request's intent, so tools of the capabilities it needs and of the right kind (reads
for a question, destructive tools for a deletion) rise, and it ranks each clause of a compound
request ("find the mockup and open a task") so every part finds its tool. The planner uses `rank`
within one capability.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from sophia.gateway.catalog import Route
from sophia.gateway.intent import rules
from sophia.gateway.intent.engine import IntentEngine
from sophia.gateway.intent.model import split_vectors
from sophia.kit.embeddings import Vectors

NAME_BOOST = 0.08
CAPABILITY_BOOST = 0.12
READ_ACTIONS = {"query", "analyze", "monitor"}
_SPLIT = re.compile(r"[_\W]+")
# Words people use for what tool names call otherwise ("find the mockup" is a search; a PR is a pull request).
SYNONYMS = {"find": "search", "look": "search", "locate": "search", "where": "search", "grep": "search",
            "forget": "forget", "erase": "forget", "remember": "remember", "note": "remember", "ship": "up",
            "deploy": "up", "drift": "refresh", "tasks": "tasks", "deals": "deals", "pr": "pull request",
            "prs": "pull request"}  # fmt: skip


def tool_text(route: Route) -> str:
    words = route.name.replace("_", " ")
    return f"{words}: {route.spec.description}"


class ToolIndex:
    """Vectors of tool descriptions, computed once per (tool, description) and kept."""

    def __init__(self, intents: IntentEngine) -> None:
        self._intents = intents
        self._vectors: dict[tuple[str, str], Vectors] = {}

    async def vectors(self, routes: list[Route]) -> list[Vectors]:
        keys = [(route.name, route.spec.description) for route in routes]
        missing = [key for key in dict.fromkeys(keys) if key not in self._vectors]
        if missing:
            by_key = {(route.name, route.spec.description): route for route in routes}
            embedder = await self._intents.embedder()
            fresh = await embedder.embed([tool_text(by_key[key]) for key in missing])
            self._vectors.update(zip(missing, fresh, strict=True))
        return [self._vectors[key] for key in keys]

    async def embed(self, text: str) -> Vectors:
        return (await self.embed_many([text]))[0]

    async def embed_many(self, texts: list[str]) -> Vectors:
        embedder = await self._intents.embedder()
        return await embedder.embed(texts)

    async def rank(
        self, query: str, routes: Iterable[Route], query_vector: Vectors | None = None
    ) -> list[tuple[Route, float]]:
        """`routes` ordered best first, with their scores."""
        candidates = list(routes)
        if not candidates:
            return []
        vector = query_vector if query_vector is not None else await self.embed(query)
        scores = np.stack(await self.vectors(candidates)) @ vector
        words = set(_SPLIT.split(query.lower()))
        words |= {named for w in words if w in SYNONYMS for named in SYNONYMS[w].split()}
        ranked = []
        for route, score in zip(candidates, scores.tolist(), strict=True):
            name_words = set(_SPLIT.split(route.name.lower())) - {route.service}
            overlap = len(name_words & words) / max(len(name_words), 1)
            ranked.append((route, float(score) + NAME_BOOST * overlap))
        ranked.sort(key=lambda item: -item[1])
        return ranked

    async def find(self, query: str, routes: Iterable[Route], limit: int) -> list[tuple[Route, float]]:
        """The `limit` tools that best serve `query`, best first. The request is embedded once (its clauses,
        as the intent engine reads it); a compound request ranks each clause too, so every part finds its tool."""
        candidates = list(routes)
        if not candidates:
            return []
        reading = await self._intents.read(query, offline=True)
        whole, clause_vectors = split_vectors(reading.clause_vectors)
        texts = [(query, whole)]
        if len(reading.clauses) > 1:
            texts += list(zip(reading.clauses, clause_vectors, strict=True))
        best: dict[str, tuple[Route, float]] = {}
        for text, vector in texts:
            action = rules.first_action(text) or reading.intent.action
            for route, score in await self.rank(text, candidates, vector):
                score += CAPABILITY_BOOST * (route.service in reading.intent.capabilities) + affinity(route, action)
                if route.name not in best or score > best[route.name][1]:
                    best[route.name] = (route, score)
        return sorted(best.values(), key=lambda item: -item[1])[:limit]


def affinity(route: Route, action: str) -> float:
    """How well a tool's kind suits an action: reads for questions, destructive tools for deletions, the tool
    that produces a deployment for deploys."""
    spec = route.spec
    if action in READ_ACTIONS:
        return 0.15 if spec.read_only else (-0.3 if spec.destructive else -0.05)
    if action == "delete":
        return 0.2 if spec.destructive else (-0.05 if spec.read_only else 0.0)
    if action == "deploy" and "deployment" in spec.produces:
        # The tool that applies, as its server declares it: a structural fact that outweighs wording (a
        # "deploy" request is not a new stack because both descriptions say "stack").
        return 0.3
    return -0.1 if spec.read_only else (-0.1 if spec.destructive else 0.05)
