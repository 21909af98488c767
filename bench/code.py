"""Code service: search, read_file and diff latency on a ~2k-file repository, and review (ruff) of a 50-file change.

The service runs as `sophia up` runs it (its own process, MCP over HTTP, a workspace on disk). A generated
repository of 2,000 Python files (~60 lines each, 20 packages, one commit) is registered with add_repo; then,
over one kept-alive connection, sequentially: 100 literal searches and 50 regular-expression searches (each a
different identifier, the whole tree, results capped at the default 200), 300 read_file calls of whole random
files and 300 of 40-line windows, 100 diffs of the working tree with 5 modified files and 50 diffs between two
commits 20 files apart, and 5 reviews (linters only; no LLM) of a working-tree change touching 50 files, each
with a few findings. Targets: search p95 <= 150 ms, read_file p95 <= 20 ms, diff p95 <= 100 ms, review of 50
files p95 <= 2 s (all on the 2-core development machine).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

import sophia.code.__main__ as entry_point
from bench._fleet import Caller
from bench._report import percentile, table, targets, write
from sophia.kit.testing import KitServer

FILES = 2_000
PACKAGES = 20
TARGETS = {"search_p95_ms": 150.0, "read_file_p95_ms": 20.0, "diff_p95_ms": 100.0, "review_50_files_p95_ms": 2000.0}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def module_text(index: int) -> str:
    lines = [f'"""Module {index}: generated for the benchmark."""', "", "import math", ""]
    for fn in range(6):
        lines += [
            "",
            f"def compute_{index}_{fn}(value, factor={fn + 1}):",
            f'    """Scale value by factor and add the square root of {index}."""',
            "    total = value * factor",
            f"    total += math.sqrt({index})",
            "    if total > 1000:",
            "        return total / 2",
            "    return total",
        ]
    return "\n".join(lines) + "\n"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def make_repo(root: Path) -> list[str]:
    """The generated repository at `root` with two commits (the second changes 20 files); its file paths."""
    git(root.parent, "init", "-q", "-b", "main", str(root))
    paths = [f"pkg{i % PACKAGES}/module_{i}.py" for i in range(FILES)]
    for index, rel in enumerate(paths):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(module_text(index))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    for rel in paths[:20]:
        with (root / rel).open("a") as handle:
            handle.write("\n\nEXTRA = True\n")
    git(root, "commit", "-qam", "twenty files")
    return paths


def row(name: str, latencies: list[float], note: str = "") -> dict[str, Any]:
    return {
        "operation": name,
        "calls": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p95_ms": percentile(latencies, 95) * 1e3,
        "note": note,
    }


def modify(root: Path, paths: list[str], count: int, rng: random.Random) -> list[str]:
    """Edit `count` files in the working tree: an unused import and an undefined name in each (findings)."""
    chosen = rng.sample(paths, count)
    for rel in chosen:
        text = (root / rel).read_text()
        (root / rel).write_text("import os\n" + text + "\n\ndef broken():\n    return undefined_name\n")
    return chosen


def restore(root: Path) -> None:
    git(root, "checkout", "-q", "--", ".")


async def measure(server: KitServer, root: Path, paths: list[str]) -> list[dict[str, Any]]:
    rng = random.Random(7)
    async with aiohttp.ClientSession() as session:
        caller = Caller(session, server.mcp_url)
        await caller.call("add_repo", {"name": "bench", "path": root.name})
        await caller.call("search_code", {"repo": "bench", "query": "warm-up"})
        rows = []
        literal = [
            {"repo": "bench", "query": f"compute_{rng.randrange(FILES)}_{rng.randrange(6)}("} for _ in range(100)
        ]
        rows.append(row("search literal, 2k files", await caller.timed("search_code", literal)))
        regex = [
            {"repo": "bench", "query": rf"def compute_{rng.randrange(FILES)}_\d\(", "regex": True, "glob": "*.py"}
            for _ in range(50)
        ]
        rows.append(row("search regex + glob", await caller.timed("search_code", regex)))
        common = [{"repo": "bench", "query": "return total"} for _ in range(20)]
        rows.append(row("search, 12k matching lines", await caller.timed("search_code", common), "capped at 200"))
        whole = [{"repo": "bench", "path": rng.choice(paths)} for _ in range(300)]
        rows.append(row("read_file whole (~2 KB)", await caller.timed("read_file", whole)))
        window = [{"repo": "bench", "path": rng.choice(paths), "start_line": 10, "end_line": 49} for _ in range(300)]
        rows.append(row("read_file 40 lines", await caller.timed("read_file", window)))
        blame = [{"repo": "bench", "path": rng.choice(paths), "blame": True, "end_line": 20} for _ in range(50)]
        rows.append(row("read_file blame 20 lines", await caller.timed("read_file", blame)))
        modify(root, paths, 5, rng)
        rows.append(row("diff working tree, 5 files", await caller.timed("diff", [{"repo": "bench"}] * 100)))
        restore(root)
        between = [{"repo": "bench", "base": "HEAD~1", "head": "HEAD"}] * 50
        rows.append(row("diff two commits, 20 files", await caller.timed("diff", between)))
        modify(root, paths, 50, rng)
        reviews = await caller.timed("review", [{"repo": "bench", "llm": False}] * 5)
        found = await caller.call("review", {"repo": "bench", "llm": False})
        rows.append(row("review 50 files (ruff + checks)", reviews, f"{len(found['findings'])} findings"))
        restore(root)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        paths = make_repo(workspace / "bench")
        server = KitServer(
            Path(entry_point.__file__),
            "code",
            Path(tmp) / "logs",
            env={"PYTHONSAFEPATH": "1"},
            settings={"workspace": str(workspace), "log_level": "WARNING"},
        ).start(timeout=60)
        try:
            rows = asyncio.run(measure(server, workspace / "bench", paths))
        finally:
            server.stop()
    print(f"\ncode: a {FILES}-file repository over MCP/HTTP, sequential calls on one connection")
    print(table(rows), end="\n\n")

    def worst(prefix: str) -> float:  # every variant of an operation counts against its target
        return max(r["p95_ms"] for r in rows if r["operation"].startswith(prefix))

    measured = {"search_p95_ms": worst("search"), "read_file_p95_ms": worst("read_file"),
                "diff_p95_ms": worst("diff"), "review_50_files_p95_ms": worst("review")}  # fmt: skip
    checks = targets("code", measured, TARGETS)
    print(f"wrote {write('code', rows + checks, TARGETS)}")


if __name__ == "__main__":
    main()
