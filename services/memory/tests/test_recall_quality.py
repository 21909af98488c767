"""Recall quality on a labelled set of our own (tests/data): 122 facts in two namespaces, 12 of them
updates of earlier facts, and 64 paraphrased questions, each labelled with the fact that answers it.

Reports recall@1, recall@5, cross-namespace leaks and stale answers (a superseded version returned
by default); run with -s to see the numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import Tools

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


async def test_recall_quality_on_the_labelled_set(tools: Tools, namespace: str) -> None:
    facts, queries = load("facts.jsonl"), load("queries.jsonl")
    assert len(facts) >= 100 and len(queries) >= 50
    ids: dict[str, str] = {}
    owner: dict[str, str] = {}  # memory id -> namespace it was stored in
    for fact in facts:  # in file order: an update comes after the fact it supersedes
        ns = f"{namespace}-{fact['namespace']}"
        stored = await tools.ok(
            "remember",
            text=fact["text"],
            namespace=ns,
            kind=fact["kind"],
            supersedes=ids.get(fact.get("supersedes", "")),
        )
        ids[fact["key"]] = stored["id"]
        owner[stored["id"]] = ns
    superseded = {ids[f["supersedes"]] for f in facts if "supersedes" in f}

    at1 = at5 = leaks = stale = 0
    misses = []
    for query in queries:
        ns = f"{namespace}-{query['namespace']}"
        items = (await tools.ok("recall", query=query["query"], namespace=ns, k=5))["items"]
        returned = [item["id"] for item in items]
        leaks += sum(owner[i] != ns or item["namespace"] != ns for i, item in zip(returned, items, strict=True))
        stale += sum(i in superseded for i in returned)
        at1 += returned[:1] == [ids[query["expect"]]]
        at5 += ids[query["expect"]] in returned
        if returned[:1] != [ids[query["expect"]]]:
            misses.append(query["query"])

    n = len(queries)
    print(f"\nrecall@1 {at1 / n:.3f}  recall@5 {at5 / n:.3f}  leaks {leaks}  stale {stale}  ({n} queries)")
    print("missed at 1:", *misses, sep="\n  ")
    assert leaks == 0
    assert stale == 0
    assert at1 / n >= 0.85
    assert at5 / n >= 0.95


async def test_a_question_about_someone_not_stored_gets_nothing_relevant(tools: Tools, namespace: str) -> None:
    """The relevance floor's name check: the wording is close to a stored fact, the person is not."""
    await tools.ok("remember", text="Maria drinks green tea every morning", namespace=namespace)
    asked = await tools.ok("recall", query="What does Wilhelmina like to drink?", namespace=namespace)
    assert asked["nothing_relevant"] and "no memory there mentions wilhelmina" in asked["note"]
    found = await tools.ok("recall", query="What does Maria like to drink?", namespace=namespace)
    assert found["items"][0]["text"] == "Maria drinks green tea every morning"
