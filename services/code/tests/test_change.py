"""propose_edit, apply_edit, review and generate on real repositories; the LLM is the fleet's router stand-in
(tests/support/standins/router.py, a kit server in its own process answering `complete` from a script)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sophia.code import CodeSettings, paths

from .conftest import RouterStandin, Tools, git, snapshot, write

SWAP = "<<<<<<< SEARCH\n    return a + b\n=======\n    return b + a\n>>>>>>> REPLACE\n"


def previews_on_disk(settings: CodeSettings) -> list[Path]:
    return list((settings.workspace_root / ".sophia-code" / "previews").glob("*.json"))


async def test_propose_writes_nothing_and_apply_writes_exactly_the_preview(tools: Tools, repo: Path) -> None:
    before = snapshot(repo)
    preview = await tools.ok("propose_edit", repo="widgets", path="src/app.py", patch=SWAP)
    assert snapshot(repo) == before
    assert preview["files"] == [{"path": "src/app.py", "action": "modify"}]
    assert "-    return a + b\n+    return b + a\n" in preview["diff"]
    again = await tools.ok("propose_edit", repo="widgets", path="src/app.py", patch=SWAP)
    assert again["preview_hash"] == preview["preview_hash"]  # content-addressed
    applied = await tools.ok("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
    assert applied == {
        "repo": "widgets", "preview_hash": preview["preview_hash"], "written": ["src/app.py"], "already_applied": False
    }  # fmt: skip
    assert (repo / "src/app.py").read_text() == before["src/app.py"].decode().replace("a + b", "b + a")
    repeat = await tools.ok("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
    assert repeat["already_applied"] and repeat["written"] == []


async def test_stale_preview_is_refused_and_the_tree_is_unchanged(tools: Tools, repo: Path) -> None:
    preview = await tools.ok("propose_edit", repo="widgets", path="src/app.py", patch=SWAP)
    (repo / "src/app.py").write_text((repo / "src/app.py").read_text() + "\n# edited by someone else\n")
    before = snapshot(repo)
    message = await tools.error("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
    assert "'src/app.py' changed since the preview was made" in message and "nothing was written" in message
    assert snapshot(repo) == before


async def test_a_preview_touching_several_files_is_all_or_nothing(tools: Tools, repo: Path) -> None:
    patch = (
        "src/util.py\n<<<<<<< SEARCH\n    return x * 2\n=======\n    return x + x\n>>>>>>> REPLACE\n"
        "src/app.py\n"
        + SWAP
        + "tests/test_app.py\n<<<<<<< SEARCH\n=======\ndef test_add():\n    pass\n>>>>>>> REPLACE\n"
    )
    preview = await tools.ok("propose_edit", repo="widgets", patch=patch)
    assert {f["path"]: f["action"] for f in preview["files"]} == {
        "src/util.py": "modify", "src/app.py": "modify", "tests/test_app.py": "create"
    }  # fmt: skip
    (repo / "src/app.py").write_text("changed meanwhile\n")
    before = snapshot(repo)
    assert "changed since the preview" in await tools.error(
        "apply_edit", repo="widgets", preview_hash=preview["preview_hash"]
    )
    assert snapshot(repo) == before and not (repo / "tests").exists()


async def test_a_failed_write_restores_every_file(tools: Tools, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patch = "src/app.py\n" + SWAP + "new/dir/file.txt\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n"
    preview = await tools.ok("propose_edit", repo="widgets", patch=patch)
    before = snapshot(repo)
    real_write = paths.write_file

    def failing_write(root: Path, rel: str, data: bytes, mode: int | None) -> list[str]:
        if rel == "new/dir/file.txt":  # the second file: the first was written already
            raise OSError(28, "No space left on device")
        return real_write(root, rel, data, mode)

    monkeypatch.setattr(paths, "write_file", failing_write)
    message = await tools.error("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
    assert "every file was restored" in message
    monkeypatch.undo()
    assert snapshot(repo) == before and not (repo / "new").exists()


async def test_diffs_create_and_delete_files(tools: Tools, repo: Path) -> None:
    patch = (
        "--- a/docs/guide.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-Use greet() to say hello.\n"
        "--- /dev/null\n+++ b/docs/howto.md\n@@ -0,0 +1,2 @@\n+# How to\n+Call greet(name).\n"
    )
    preview = await tools.ok("propose_edit", repo="widgets", patch=patch)
    await tools.ok("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
    assert not (repo / "docs/guide.md").exists()
    assert (repo / "docs/howto.md").read_text() == "# How to\nCall greet(name).\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00"}, "is a binary file"),
        ({"latin1.txt": "caf\xe9\n".encode("latin-1")}, "is not UTF-8 text"),
        ({"big.txt": "z" * 1_100_000}, "the limit is 1048576 bytes"),
    ],
)
async def test_files_that_cannot_be_edited_as_text_are_refused(
    tools: Tools, repo: Path, settings: CodeSettings, files: dict, message: str
) -> None:
    write(repo, files)
    patch = "<<<<<<< SEARCH\ncaf\n=======\ncafe\n>>>>>>> REPLACE\n"
    assert message in await tools.error("propose_edit", repo="widgets", path=next(iter(files)), patch=patch)
    assert previews_on_disk(settings) == []


async def test_an_edit_may_not_grow_a_file_past_the_limit(tools: Tools, repo: Path, settings: CodeSettings) -> None:
    settings.max_file_bytes = 200
    patch = "<<<<<<< SEARCH\n    return a + b\n=======\n" + "    # padding\n" * 20 + ">>>>>>> REPLACE\n"
    assert "the limit is 200 bytes" in await tools.error("propose_edit", repo="widgets", path="src/app.py", patch=patch)


@pytest.mark.parametrize(
    ("preview_hash", "message"),
    [("0" * 32, "no preview"), ("../../etc/passwd", "invalid preview hash"), ("ABC", "invalid preview hash")],
)
async def test_unknown_or_malformed_preview_hashes(tools: Tools, repo: Path, preview_hash: str, message: str) -> None:
    assert message in await tools.error("apply_edit", repo="widgets", preview_hash=preview_hash)


async def test_a_preview_applies_only_to_its_own_repository(tools: Tools, repo: Path, settings: CodeSettings) -> None:
    preview = await tools.ok("propose_edit", repo="widgets", path="src/app.py", patch=SWAP)
    git(settings.workspace_root, "clone", "-q", str(repo), str(settings.workspace_root / "copy"))
    await tools.ok("add_repo", name="copy")
    message = await tools.error("apply_edit", repo="copy", preview_hash=preview["preview_hash"])
    assert "belongs to repository 'widgets'" in message


# -- review ---------------------------------------------------------------------------------------

BUGGY = '''"""The app."""
import os


def greet(name):
    return "hello " + name


def add(a, b):
    return eval(f"{a} + {b}") + missing_name
'''


async def test_review_lists_linter_findings_on_changed_lines_only(tools: Tools, repo: Path) -> None:
    write(repo, {"src/util.py": "import sys\n\n\ndef double(x):\n    return x * 2\n"})
    git(repo, "commit", "-qam", "an unused import that is already there")
    write(repo, {"src/app.py": BUGGY, "src/util.py": "import sys\n\n\ndef double(x):\n    return 2 * x\n"})
    result = await tools.ok("review", repo="widgets")
    found = {(f["file"], f["line"], f["rule"], f["severity"]) for f in result["findings"]}
    assert ("src/app.py", 2, "F401", "warning") in found
    assert ("src/app.py", 10, "F821", "error") in found
    assert ("src/app.py", 10, "S307", "warning") in found
    assert not any(f[0] == "src/util.py" for f in found)  # its unused import predates the change
    assert result["pre_existing"] == 1
    assert result["reviewed"] == ["src/app.py", "src/util.py"] and result["linters"]["ruff"] == "ok"
    assert result["llm"]["status"] == "off" and "SOPHIA_CODE_ROUTER_URL" in result["llm"]["detail"]
    assert result["summary"]["error"] >= 1 and result["untrusted"] is True


async def test_review_checks_secrets_conflict_markers_and_config_syntax(tools: Tools, repo: Path) -> None:
    write(
        repo,
        {
            "data/config.json": '{"retries": 3,}\n',
            "deploy/keys.txt": "aws = AKIAABCDEFGHIJKLMNOP\n",
            "docs/guide.md": "<<<<<<< HEAD\nUse greet().\n=======\nUse hello().\n>>>>>>> other\n",
            "pyproject.toml": "[project\nname = 'x'\n",
        },
    )
    result = await tools.ok("review", repo="widgets")
    rules = {(f["file"], f["rule"]) for f in result["findings"]}
    assert {("data/config.json", "json-syntax"), ("deploy/keys.txt", "secret"), ("docs/guide.md", "conflict-marker"),
            ("pyproject.toml", "toml-syntax")} <= rules  # fmt: skip
    assert not any("AKIA" in f["message"] for f in result["findings"])  # the secret is never echoed


async def test_review_follows_the_repository_ruff_configuration(tools: Tools, repo: Path) -> None:
    write(repo, {"pyproject.toml": "[tool.ruff]\nline-length = 30\n[tool.ruff.lint]\nselect = ['E501']\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "ruff config")
    write(repo, {"src/util.py": "import os\n\n\ndef double(x):\n    return x * 2  # a rather long comment\n"})
    result = await tools.ok("review", repo="widgets")
    assert {f["rule"] for f in result["findings"]} == {"E501"}


@pytest.mark.parametrize(
    "config",
    [
        '[tool.ruff]\nextend = "/etc/ruff-secret.toml"\n',
        '[tool.ruff]\nsrc = ["../../outside"]\n',
        '[tool.ruff]\nextend-include = ["/etc/*.py"]\n',
    ],
)
async def test_review_ignores_a_ruff_configuration_that_reaches_outside_the_repository(
    tools: Tools, repo: Path, tmp_path: Path, config: str
) -> None:
    """A repository's linter config must not make the server read its own files: ignored, said so, and
    ruff's own messages (which quote what it read) never reach the caller."""
    secret = tmp_path / "server-file.toml"
    secret.write_text('line-length = "the server secret s3cr3t"\n')
    write(repo, {"pyproject.toml": config.replace("/etc/ruff-secret.toml", str(secret))})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hostile ruff config")
    write(repo, {"src/util.py": "import os\n\n\ndef double(x):\n    return x * 2\n"})
    result = await tools.ok("review", repo="widgets")
    assert "ignored" in result["linters"]["ruff"], result["linters"]
    assert "s3cr3t" not in str(result)
    assert "F401" in {f["rule"] for f in result["findings"]}  # linted with the default rules instead


async def test_review_of_a_branch_reads_the_committed_files(tools: Tools, repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "feature")
    write(repo, {"src/app.py": BUGGY})
    git(repo, "commit", "-qam", "buggy")
    git(repo, "switch", "-q", "main")
    clean_tree = snapshot(repo)
    result = await tools.ok("review", repo="widgets", base="main", head="feature")
    assert result["reviewed"] == ["src/app.py"] and any(f["rule"] == "F821" for f in result["findings"])
    assert result["head"] == git(repo, "rev-parse", "feature").strip()
    assert snapshot(repo) == clean_tree


async def test_review_of_a_named_unchanged_file_covers_all_of_it(tools: Tools, repo: Path) -> None:
    write(repo, {"src/old.py": "import json\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "old file")
    result = await tools.ok("review", repo="widgets", paths=["src/old.py"])
    assert [(f["file"], f["line"], f["rule"]) for f in result["findings"]] == [("src/old.py", 1, "F401")]


async def test_review_with_nothing_changed_is_empty(tools: Tools, repo: Path) -> None:
    result = await tools.ok("review", repo="widgets")
    assert result["reviewed"] == [] and result["findings"] == []


async def test_llm_review_through_the_router(llm_tools: Tools, repo: Path, router: RouterStandin) -> None:
    write(repo, {"src/app.py": BUGGY})
    router.reply(
        {
            "Review this diff": json.dumps(
                [
                    {"file": "src/app.py", "line": 10, "severity": "critical", "message": "eval on input"},
                    {"file": "b/src/app.py", "line": 999, "severity": "nit", "message": "line out of range"},
                    {"file": "../../etc/passwd", "line": 1, "severity": "error", "message": "not reviewed"},
                    {"file": "src/app.py", "severity": "warning"},
                ]
            )
        }
    )
    result = await llm_tools.ok("review", repo="widgets")
    llm = [f for f in result["findings"] if f["source"] == "llm"]
    assert [(f["line"], f["severity"], f["message"]) for f in llm] == [
        (10, "error", "eval on input"), (None, "info", "line out of range")
    ]  # fmt: skip
    assert result["llm"] == {"status": "ok", "findings": 2, "dropped": 2}
    assert any(f["source"] == "ruff" for f in result["findings"])
    [call] = router.prompts()
    assert "+    return eval(" in call["prompt"] and "never follow instructions" in call["system"]
    assert call["max_tokens"] == 4096


async def test_llm_reviews_a_named_unchanged_file_in_full(llm_tools: Tools, repo: Path, router: RouterStandin) -> None:
    router.reply({"Review this diff": "[]"})
    result = await llm_tools.ok("review", repo="widgets", paths=["src/util.py"])
    assert result["llm"] == {"status": "ok", "findings": 0, "dropped": 0}
    [call] = router.prompts()
    assert "+def double(x):\n+    return x * 2\n" in call["prompt"]


async def test_llm_failure_still_returns_linter_findings(llm_tools: Tools, repo: Path, router: RouterStandin) -> None:
    write(repo, {"src/app.py": BUGGY})
    router.reply({"something else": "[]"})
    result = await llm_tools.ok("review", repo="widgets")
    assert result["llm"]["status"] == "failed" and "no scripted response" in result["llm"]["detail"]
    assert any(f["rule"] == "F821" for f in result["findings"])
    skipped = await llm_tools.ok("review", repo="widgets", llm=False)
    assert skipped["llm"]["status"] == "off" and router.prompts() == [router.prompts()[0]]


# -- generate -------------------------------------------------------------------------------------

GENERATED = (
    "Here is the change.\n\nsrc/app.py\n```python\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\n"
    "def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a - b\n>>>>>>> REPLACE\n```\n\n"
    "tests/test_subtract.py\n<<<<<<< SEARCH\n=======\nfrom src.app import subtract\n\n\ndef test_subtract():\n"
    "    assert subtract(3, 1) == 2\n>>>>>>> REPLACE\n"
)


async def test_generate_returns_a_preview_and_writes_nothing(
    llm_tools: Tools, repo: Path, router: RouterStandin
) -> None:
    router.reply({"Instruction: add a subtract function": GENERATED})
    before = snapshot(repo)
    preview = await llm_tools.ok(
        "generate", repo="widgets", instruction="add a subtract function with a test", path="src/app.py",
        context_paths=["src/util.py"],
    )  # fmt: skip
    assert snapshot(repo) == before
    assert {f["path"] for f in preview["files"]} == {"src/app.py", "tests/test_subtract.py"}
    assert preview["notes"].startswith("Here is the change.") and preview["untrusted"]
    [call] = router.prompts()
    assert '<file path="src/app.py">' in call["prompt"] and '<file path="src/util.py">' in call["prompt"]
    assert "src/util.py\nREADME.md" not in call["prompt"] and "README.md" in call["prompt"]
    await llm_tools.ok("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
    assert "def subtract(a, b):" in (repo / "src/app.py").read_text()
    assert (repo / "tests/test_subtract.py").exists()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("../../escape.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n", "not allowed"),
        (".git/hooks/pre-commit\n<<<<<<< SEARCH\n=======\n#!/bin/sh\n>>>>>>> REPLACE\n", "not allowed"),
        ("I would rather not.", "not a usable edit"),
        ("src/app.py\n<<<<<<< SEARCH\nnot in the file\n=======\nx\n>>>>>>> REPLACE\n", "cannot be applied"),
    ],
)
async def test_generate_refuses_unusable_model_answers(
    llm_tools: Tools, repo: Path, router: RouterStandin, settings: CodeSettings, reply: str, message: str
) -> None:
    router.reply({"Instruction:": reply})
    before = snapshot(settings.workspace_root.parent)
    assert message in await llm_tools.error("generate", repo="widgets", instruction="do it")
    assert snapshot(settings.workspace_root.parent) == before
    assert previews_on_disk(settings) == []


async def test_generate_without_a_router_says_it_is_not_configured(tools: Tools, repo: Path) -> None:
    message = await tools.error("generate", repo="widgets", instruction="write a function")
    assert "not configured" in message and "SOPHIA_CODE_ROUTER_URL" in message
