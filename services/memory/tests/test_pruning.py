from __future__ import annotations

import numpy as np

from sophia.memory import MemorySettings
from sophia.memory.activity import Usage
from sophia.memory.pruning import DAY, candidates
from sophia.memory.records import Record, new_id

from .conftest import Tools

NOW = 1_800_000_000.0
SETTINGS = MemorySettings()


def memory(age_days: float, **fields: object) -> Record:
    return Record(id=new_id(), namespace="n", text="t", created_at=NOW - age_days * DAY, **fields)  # type: ignore[arg-type]


def orthogonal(n: int) -> np.ndarray:
    return np.eye(n, 384, dtype=np.float32)


def reasons(records: list[Record], usage: dict[str, Usage], vectors: np.ndarray | None = None) -> dict[str, str]:
    vectors = orthogonal(len(records)) if vectors is None else vectors
    return {c.record.id: " | ".join(c.reasons) for c in candidates(records, vectors, usage, SETTINGS, NOW)}


def test_each_rule_gives_its_reason() -> None:
    fresh = memory(1)
    stale = memory(200)
    rare = memory(40)
    noisy = memory(10)
    old_version = memory(100, superseded_by="x", superseded_at=NOW - 60 * DAY)
    recent_version = memory(100, superseded_by="y", superseded_at=NOW - 2 * DAY)
    usage = {
        stale.id: Usage(hits=5, last_access=NOW - 120 * DAY, best_score=0.8),
        rare.id: Usage(hits=1, last_access=NOW - DAY, best_score=0.9),
        noisy.id: Usage(hits=4, last_access=NOW - DAY, best_score=0.1),
    }
    found = reasons([fresh, stale, rare, noisy, old_version, recent_version], usage)
    assert fresh.id not in found and recent_version.id not in found
    assert found[stale.id].startswith("stale: last recalled 120 days ago")
    assert found[rare.id] == "rarely accessed: recalled 1 times in 40 days"
    assert found[noisy.id] == "low relevance: best recall score 0.10 over 4 recalls"
    assert found[old_version.id] == "superseded by x 60 days ago"


def test_near_duplicates_keep_the_more_recalled_one() -> None:
    kept, duplicate, different = memory(2), memory(1), memory(1)
    vectors = np.zeros((3, 384), dtype=np.float32)
    vectors[0, 0] = vectors[1, 0] = 1.0
    vectors[1, 1] = 0.05  # almost the same direction
    vectors[2, 2] = 1.0
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = reasons([kept, duplicate, different], {kept.id: Usage(hits=3, last_access=NOW, best_score=0.9)}, vectors)
    assert list(found) == [duplicate.id]
    assert found[duplicate.id].startswith(f"near-duplicate of {kept.id}")


async def test_prune_is_a_dry_run_and_apply_deletes_only_candidates(tools: Tools, namespace: str) -> None:
    first = await tools.ok("remember", text="The release train leaves every second Thursday", namespace=namespace)
    copy = await tools.ok("remember", text="The release train leaves every second Thursday.", namespace=namespace)
    other = await tools.ok("remember", text="Invoices go out on the first of the month", namespace=namespace)
    dry = await tools.ok("prune", namespace=namespace)
    assert dry["dry_run"] is True
    [candidate] = dry["candidates"]
    assert candidate["id"] in {first["id"], copy["id"]} and "near-duplicate" in candidate["reasons"][0]
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 3  # the dry run deleted nothing

    applied = await tools.ok("prune_apply", ids=[candidate["id"], other["id"]], namespace=namespace)
    assert applied["deleted"] == [candidate["id"]]
    assert "not a prune candidate" in applied["skipped"][other["id"]]
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 2
