"""Fixtures: real git repositories in temporary directories, a local bare repository as the remote, and the
service started in this process with an MCP client talking to it in memory."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from sophia.code import CodeSettings, service
from sophia.kit.approvals import GRANT, sign_grant
from sophia.kit.security import InternalCredential
from sophia.kit.testing import ToolClient, serve_asgi
from sophia.kit.testing import started as kit_started
from tests.support.standins import standin_server

from .github_standin import TOKEN, GitHubStandin

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}

APP = '''"""The app."""


def greet(name):
    return "hello " + name


def add(a, b):
    return a + b
'''

SEED = {
    "README.md": "# Widgets\n\nA small project.\n",
    "src/app.py": APP,
    "src/util.py": "def double(x):\n    return x * 2\n",
    "data/config.json": '{"retries": 3}\n',
    "docs/guide.md": "Use greet() to say hello.\n",
}


def git(cwd: Path, *args: str) -> str:
    """Run git as a test author would (not through the service)."""
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout.decode()


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def make_origin(base: Path, name: str = "widgets", files: dict[str, str | bytes] | None = None) -> Path:
    """A bare repository under `base`/remotes with one commit on main: the remote pushes go to."""
    bare = base / "remotes" / f"{name}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    git(base, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = base / f"seed-{name}"
    git(base, "init", "-q", "-b", "main", str(seed))
    write(seed, files or SEED)
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "Initial commit")
    git(seed, "push", "-q", str(bare), "main")
    return bare


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (links as their target text), to compare before and after a call."""
    state: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            state[rel] = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return state


@pytest.fixture(autouse=True)
def _quiet(quiet_mcp_log: None) -> None:
    """Expected tool failures are many here: the SDK's INFO line for each is noise."""


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded bare repository, made once; each test gets a copy (six git commands saved per test)."""
    return make_origin(tmp_path_factory.mktemp("template"))


@pytest.fixture
def origin(tmp_path: Path, template: Path) -> Path:
    bare = tmp_path / "remotes" / "widgets.git"
    shutil.copytree(template, bare, symlinks=True)
    return bare


@pytest.fixture
def settings(tmp_path: Path) -> CodeSettings:
    return CodeSettings(
        workspace=tmp_path / "ws",
        allowed_remotes=[f"file://{tmp_path}/remotes/"],
        log_format="text",
        author_name="Sophia Bot",
        author_email="bot@sophia.test",
        SOPHIA_INTERNAL_TOKEN=SecretStr(INTERNAL_TOKEN),
    )


Tools = ToolClient
INTERNAL_TOKEN = "code-tests-internal-token"


async def approved(tools: Tools, tool: str, **arguments: Any) -> Any:
    """Run a call the service holds for approval the way the gateway runs it once approved: with a grant."""
    key = InternalCredential(SecretStr(INTERNAL_TOKEN)).signing_keys()[0]
    grant = sign_grant(key, tool, arguments, f"test-{tool}-{len(arguments)}-{id(arguments)}")
    return await tools.call_with_meta(tool, {GRANT: grant}, **arguments)


def started(settings: CodeSettings) -> contextlib.AbstractAsyncContextManager[ToolClient]:
    return kit_started(service, settings)


@pytest.fixture
async def tools(settings: CodeSettings) -> AsyncIterator[Tools]:
    async with started(settings) as running:
        yield running


@pytest.fixture
async def repo(tools: Tools, origin: Path, settings: CodeSettings) -> Path:
    """The origin cloned into the workspace as 'widgets' (on GitHub as acme/widgets); returns its working tree."""
    await tools.ok("add_repo", name="widgets", url=f"file://{origin}", github="acme/widgets")
    return settings.workspace_root / "widgets"


@dataclass
class RouterStandin:
    """The fleet's router stand-in process; `script` maps prompt substrings to replies, `calls` logs each call."""

    url: str
    script: Path
    calls: Path

    def reply(self, replies: dict[str, str]) -> None:
        self.script.write_text(json.dumps(replies))
        self.calls.write_text("")

    def prompts(self) -> list[dict[str, Any]]:
        lines = self.calls.read_text().splitlines()
        return [json.loads(line)["arguments"] for line in lines if json.loads(line)["tool"] == "complete"]


@pytest.fixture(scope="session")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterStandin]:
    """The router stand-in from tests/support (a kit server in its own process) answering `complete` from a script."""
    folder = tmp_path_factory.mktemp("router")
    script, calls = folder / "script.json", folder / "calls.jsonl"
    script.write_text("{}")
    calls.write_text("")
    server = standin_server("router", folder / "logs", script=script, call_log=calls, log_level="WARNING")
    server.start(timeout=60)
    try:
        yield RouterStandin(server.mcp_url, script, calls)
    finally:
        server.stop()


@pytest.fixture
async def llm_tools(settings: CodeSettings, router: RouterStandin) -> AsyncIterator[Tools]:
    """The service with SOPHIA_CODE_ROUTER_URL pointing at the router stand-in."""
    settings.router_url = router.url
    router.reply({})
    async with started(settings) as running:
        yield running


@pytest.fixture
async def github(settings: CodeSettings, origin: Path) -> AsyncIterator[GitHubStandin]:
    """The GitHub stand-in on loopback, configured as a GitHub Enterprise base URL; request it before `tools`."""
    assert not service.started, "request the github fixture before tools"
    standin = GitHubStandin(remotes={"acme/widgets": origin})
    async with serve_asgi(standin.app(), lifespan=False) as url:
        settings.github_url = f"{url}/api/v3"
        settings.github_token = SecretStr(TOKEN)
        yield standin
