"""Tool search: rank the federated tools for a request by meaning (the kit's sentence model over each
tool's name and description) with a small boost for words of the tool's name in the request.

Clients that cap how many tools they take (Cursor sends 40) call `find_tools` instead of listing
everything; the planner uses the same ranking to pick a tool within a capability.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from sophia.gateway.catalog import Route
from sophia.gateway.intent.engine import IntentEngine
from sophia.kit.embeddings import Vectors

NAME_BOOST = 0.08
_SPLIT = re.compile(r"[_\W]+")


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
        embedder = await self._intents.embedder()
        return (await embedder.embed([text]))[0]

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
        ranked = []
        for route, score in zip(candidates, scores.tolist(), strict=True):
            name_words = set(_SPLIT.split(route.name.lower())) - {route.service}
            overlap = len(name_words & words) / max(len(name_words), 1)
            ranked.append((route, float(score) + NAME_BOOST * overlap))
        ranked.sort(key=lambda item: -item[1])
        return ranked
