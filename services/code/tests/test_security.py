"""Security suite: generated path-escape, option-injection, remote and name cases against every tool that takes
them. Each case must end in a clean ToolError (never an internal error), must not show the secret that lies
outside the workspace, and must leave every file outside the service's own state exactly as it was — the
repository's working tree, its refs, hooks and config, and the folder beside the workspace included.

The repository carries symbolic links out of itself and into .git; the LLM is the router stand-in, scripted to
answer with edits to the same hostile paths (a prompt injection that succeeded would look like that).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from sophia.code import CodeSettings

from .conftest import RouterStandin, Tools, git, make_origin, started

IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

SECRET = "TOP-SECRET-CANARY-4711"

PATHS_TEXT = [
    "../outside/secret.txt",
    "a/../../outside/secret.txt",
    "..",
    "/etc/passwd",
    "C:/Windows/win.ini",
    "\\\\server\\share\\x",
    "..\\..\\outside\\secret.txt",
    ".git/config",
    ".git",
    "src/.git/x",
    ".GIT/config",
    ".git./config",
    "GIT~1/config",
    "src/app.py\x00.txt",
    "line\nbreak",
]
PATHS_LINKS = [
    "escape_file",
    "escape_dir",
    "escape_dir/secret.txt",
    "escape_rel",
    "chain",
    "src/inner_escape/secret.txt",
    "git_dir_link/config",
    "git_config_link",
]
REFS = [
    "--upload-pack=touch PWNED",
    "--output=PWNED",
    "-D",
    "main..HEAD",
    "HEAD@{0}",
    "main:README.md",
    "$(touch PWNED)",
    ";touch${IFS}PWNED",
    "|touch",
    "main\nfoo",
    "main\x00",
    "refs/../x",
    ".hidden",
    "x.lock",
    "",
    "ma*in",
    "a\\b",
]
URLS = [
    "--upload-pack=touch PWNED",
    "-uPWNED",
    "ext::sh -c touch% PWNED",
    "ext::sh",
    "fd::17",
    "file:///etc",
    "/etc",
    "../outside",
    "https://evil.example.com/x.git",
    "https://user:pw@github.com/acme/x",
    "ssh://-oProxyCommand=touch%20PWNED/acme/x",
    "git@-oProxyCommand=x:acme/y",
    "file://{base}/remotes/../outside",
    "file://{base}/outside",
    "file://{base}/remotes/link-out.git",
    "https://github.com/acme/x\n--upload-pack=x",
]
NAMES = [
    "../x",
    "..",
    ".",
    "a/b",
    "",
    ".sophia-code",
    "-x",
    "x\x00",
    "widgets/../..",
    "{base}/outside/planted",  # an absolute path: joined onto a folder, it would replace it
    "x" * 65,
    "a b",
]
PREVIEWS = ["../../etc/passwd", "../previews/x", "/etc/passwd", "0" * 31, "g" * 32, "", "A" * 32, "0" * 32 + "\n"]


CREATE = "<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE"


def block(path: str) -> str:
    return f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+{SECRET}-written\n"


@dataclass
class Case:
    tool: str
    arguments: dict[str, Any]
    reply: str | None = None  # what the scripted model answers, for generate

    def __str__(self) -> str:
        shown = json.dumps(self.arguments, ensure_ascii=True)[:70]
        return f"{self.tool}:{shown}"


def cases() -> list[Case]:
    every_path = PATHS_TEXT + PATHS_LINKS
    found: list[Case] = []
    for p in every_path:
        found += [
            Case("read_file", {"repo": "widgets", "path": p}),
            Case("read_file", {"repo": "widgets", "path": p, "ref": "HEAD"}),
            Case(
                "propose_edit", {"repo": "widgets", "path": p, "patch": "<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE"}
            ),
            Case("generate", {"repo": "widgets", "instruction": "write it", "path": p}),
            Case("add_repo", {"name": "registered", "path": p}),
        ]
        if "\n" not in p:  # a diff header ends at the newline: what follows is another (harmless) line
            found += [
                Case("propose_edit", {"repo": "widgets", "patch": block(p)}),
                Case("generate", {"repo": "widgets", "instruction": "write it"}, reply=block(p)),
            ]
    for p in PATHS_LINKS:
        found.append(Case("read_file", {"repo": "widgets", "path": p, "blame": True}))
    for p in PATHS_TEXT:
        found += [
            Case("search_code", {"repo": "widgets", "query": "x", "glob": p}),
            Case("log", {"repo": "widgets", "path": p}),
            Case("diff", {"repo": "widgets", "paths": [p]}),
            Case("review", {"repo": "widgets", "paths": [p]}),
            Case("commit", {"repo": "widgets", "message": "m", "branch": "main", "paths": [p]}),
        ]
    for r in REFS:
        found += [
            Case("read_file", {"repo": "widgets", "path": "README.md", "ref": r}),
            Case("search_code", {"repo": "widgets", "query": "x", "ref": r}),
            Case("log", {"repo": "widgets", "ref": r}),
            Case("diff", {"repo": "widgets", "base": "HEAD", "head": r}),
            Case("review", {"repo": "widgets", "head": r}),
            Case("create_branch", {"repo": "widgets", "name": r}),
            Case("create_branch", {"repo": "widgets", "name": "ok-name", "from_ref": r}),
            Case("commit", {"repo": "widgets", "message": "m", "branch": r}),
            Case("push", {"repo": "widgets", "branch": r}),
            Case("open_pull_request", {"repo": "widgets", "head": r, "base": "main", "title": "t"}),
        ]
    found += [Case("add_repo", {"name": "cloned", "url": url}) for url in URLS]
    for name in NAMES:
        found += [
            Case("read_file", {"repo": name, "path": "README.md"}),
            Case("add_repo", {"name": name}),
            Case("add_repo", {"name": name, "url": "file://{base}/remotes/widgets.git"}),
            Case("propose_edit", {"repo": name, "path": "new.txt", "patch": CREATE}),
            Case("create_branch", {"repo": name, "name": "ok-name"}),
            Case("commit", {"repo": name, "message": "m", "branch": "main"}),
            Case("push", {"repo": name, "branch": "main"}),
            Case("review", {"repo": name}),
            Case("pr_status", {"repo": name, "number": 1}),
        ]
    found += [Case("apply_edit", {"repo": "widgets", "preview_hash": h}) for h in PREVIEWS]
    found += [Case("add_repo", {"name": "registered", "path": "widgets/.git"})]
    return found


CASES = cases()


def planted(base: Path) -> list[Path]:
    """Files an injected command (`touch PWNED`) would have left, here or in the current directory."""
    return [*base.rglob("PWNED"), *([Path("PWNED")] if Path("PWNED").exists() else [])]


@dataclass
class Sandbox:
    tools: Tools
    base: Path
    repo: Path
    router: RouterStandin
    baseline: dict[str, bytes] | None = None

    def fingerprint(self) -> dict[str, bytes]:
        """Every file under the test's base folder except the service's own state and git's object store."""
        state: dict[str, bytes] = {}
        skip = {self.base / "ws" / ".sophia-code"}
        for folder, dirs, names in os.walk(self.base):
            here = Path(folder)
            dirs[:] = [d for d in dirs if here / d not in skip and d not in ("objects", "logs")]
            for name in names:
                path = here / name
                if name == "index" and path.parent.name == ".git":
                    continue
                state[str(path.relative_to(self.base))] = (
                    os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
                )
        return state


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory, router: RouterStandin) -> AsyncIterator[Sandbox]:
    base = tmp_path_factory.mktemp("security")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    origin = make_origin(base)
    (base / "remotes" / "link-out.git").symlink_to(outside)
    settings = CodeSettings(
        workspace=base / "ws", allowed_remotes=[f"file://{base}/remotes/"], router_url=router.url, log_format="text"
    )
    async with started(settings) as tools:
        await tools.ok("add_repo", name="widgets", url=f"file://{origin}")
        repo = settings.workspace_root / "widgets"
        links = {
            "escape_file": outside / "secret.txt",
            "escape_dir": outside,
            "escape_rel": Path("../../outside/secret.txt"),
            "chain": Path("escape_rel"),
            "src/inner_escape": Path("../../../outside"),
            "git_dir_link": Path(".git"),
            "git_config_link": Path(".git/config"),
        }
        for rel, target in links.items():
            (repo / rel).symlink_to(target)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "links")
        git(repo, "push", "-q", "origin", "main")
        box = Sandbox(tools, base, repo, router)
        box.baseline = box.fingerprint()  # every case must leave exactly this
        yield box


def test_there_are_at_least_200_cases() -> None:
    assert len(CASES) >= 200


@IN_MODULE_LOOP
@pytest.mark.parametrize("case", CASES, ids=str)
async def test_no_escape(sandbox: Sandbox, case: Case) -> None:
    if case.tool == "generate":
        sandbox.router.reply({"Instruction:": case.reply or "no edit here"})
    arguments = {
        k: v.replace("{base}", str(sandbox.base)) if isinstance(v, str) else v for k, v in case.arguments.items()
    }
    result = await sandbox.tools.call(case.tool, **arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{case} succeeded: {text[:300]}"
    assert "internal error" not in text, f"{case}: {text}"
    assert SECRET not in text
    assert sandbox.fingerprint() == sandbox.baseline
    assert not planted(sandbox.base)


@IN_MODULE_LOOP
async def test_links_are_never_followed_by_search_or_listing(sandbox: Sandbox) -> None:
    found = await sandbox.tools.ok("search_code", repo="widgets", query=SECRET)
    assert found["matches"] == []
    listing = await sandbox.tools.ok("read_file", repo="widgets", path="")
    kinds = {entry["path"]: entry["type"] for entry in listing["entries"]}
    assert kinds["escape_dir"] == "link" and not any(p.startswith("escape_dir/") for p in kinds)
    assert SECRET not in json.dumps(await sandbox.tools.ok("diff", repo="widgets", base="HEAD~1", head="HEAD"))
