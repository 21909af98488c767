"""Tool search (`find_tools`) over the six real services' catalog: recall@5 on a labelled set.

bench/data/tools_labelled.jsonl holds one or more plain requests per tool (written before the first
measurement); each names the tool(s) that serve it. The catalog is read in process from each service's
own `Service` object (bench/_catalog.py): the same names, descriptions and risk the gateway discovers.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from bench._catalog import six_services
from bench._report import table, targets, write

LABELLED = Path(__file__).resolve().parent / "data" / "tools_labelled.jsonl"
TARGETS = {"recall_at_5": 0.9}


async def measure() -> tuple[dict[str, Any], list[str]]:
    catalog, _, _, tools = await six_services()
    routes = catalog.routes()
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    expected = found = top1 = 0
    misses = []
    for row in rows:
        ranked = [route.name for route, _ in await tools.find(row["query"], routes, 5)]
        expected += len(row["tools"])
        found += sum(tool in ranked for tool in row["tools"])
        top1 += bool(ranked) and ranked[0] in row["tools"]
        misses += [
            f"{row['query']!r}: wanted {row['tools']}, got {ranked[:3]}" for t in row["tools"] if t not in ranked
        ]
    return {"tools": len(routes), "requests": len(rows), "recall_at_5": found / expected,
            "top1": top1 / len(rows)}, misses  # fmt: skip


def main() -> None:
    result, misses = asyncio.run(measure())
    rows = [{"measure": "find_tools recall@5 (six services)", "value": round(result["recall_at_5"], 3),
             "target": ">= 0.9", "met": "yes" if result["recall_at_5"] >= TARGETS["recall_at_5"] else "NO"},
            {"measure": "find_tools top-1", "value": round(result["top1"], 3), "target": "", "met": ""},
            {"measure": "tools in the catalog", "value": result["tools"], "target": "", "met": ""},
            {"measure": "labelled requests", "value": result["requests"], "target": "", "met": ""}]  # fmt: skip
    print(f"\ntool search over the six services' catalog (load avg {os.getloadavg()[0]:.1f})")
    print(table(rows), end="\n\n")
    for miss in misses:
        print(f"  missed {miss}")
    checks = targets("toolsearch", {"recall_at_5": result["recall_at_5"]}, TARGETS, at_least=frozenset(TARGETS))
    print(f"wrote {write('toolsearch', [*rows, *checks], TARGETS)}")


if __name__ == "__main__":
    main()
