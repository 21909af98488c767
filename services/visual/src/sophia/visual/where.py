"""What a search or count may return (always one namespace), and one result of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qdrant_client import models


@dataclass(frozen=True)
class Where:
    namespace: str
    source: str | None = None
    project: str | None = None
    tags: frozenset[str] = frozenset()
    since: float | None = None
    until: float | None = None

    def to_qdrant(self) -> models.Filter:
        must: list[models.Condition] = [_equals("namespace", self.namespace)]
        if self.source is not None:
            must.append(_equals("source", self.source))
        if self.project is not None:
            must.append(_equals("project", self.project))
        if self.tags:
            must.append(models.FieldCondition(key="tags", match=models.MatchAny(any=sorted(self.tags))))
        if self.since is not None or self.until is not None:
            must.append(models.FieldCondition(key="indexed_at", range=models.Range(gte=self.since, lte=self.until)))
        return models.Filter(must=must)


def _equals(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]
