"""Running git safely on repositories whose content (and, for registered ones, whose config) we do not trust.

Every git process gets a hardened environment: no terminal prompts, no system config, no hooks, no
fsmonitor, no signing, no `ext::` transport, no discovery of bare repositories planted in a working
tree, no optional locks (reads never rewrite the index), batch-mode ssh. These are set through
``GIT_CONFIG_COUNT`` so they outrank a repository's own ``.git/config``. Diff-like commands also get
``--no-ext-diff --no-textconv`` at their call sites. A registered repository whose local config could
still make git run a program (filters, credential helpers, ``core.sshCommand``, ``core.worktree``,
``remote.*.uploadpack``, ...) is refused at registration (`audit_config`).

User text reaches git only after it was checked (`paths`, `refs`) and only in positions where it
cannot be an option: revisions are resolved to commit ids with ``--end-of-options`` first, paths come
after ``--``, branch names never start with ``-``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from sophia.code.remotes import redact
from sophia.kit import ToolError

HARDENING: dict[str, str] = {
    "core.hooksPath": "/dev/null",
    "core.fsmonitor": "false",
    "core.pager": "cat",
    "core.quotePath": "false",
    "commit.gpgSign": "false",
    "tag.gpgSign": "false",
    "protocol.ext.allow": "never",
    "safe.bareRepository": "explicit",
    "submodule.recurse": "false",
    "gc.auto": "0",
    "maintenance.auto": "false",
    "color.ui": "false",
    "advice.detachedHead": "false",
}


def git_env(extra_config: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment additions for every git process (`extra_config`: more ``-c`` settings, kept off argv)."""
    config = {**HARDENING, **(extra_config or {})}
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        "GIT_CONFIG_COUNT": str(len(config)),
        "LC_ALL": "C",
        "LANGUAGE": "C",
    }
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


_DANGEROUS_CONFIG = re.compile(
    r"^(?:(?:filter|credential|include|includeif|uploadpack|gpg|pager)\..*"
    r"|core\.(?:fsmonitor|sshcommand|gitproxy|askpass|editor|pager|hookspath|worktree|alternaterefscommand)"
    r"|diff\.(?:external|.*\.(?:textconv|command))"
    r"|merge\..*\.driver"
    r"|remote\..*\.(?:uploadpack|receivepack|vcs|proxy)"
    r"|url\..*\.(?:insteadof|pushinsteadof)"
    r"|sequence\.editor|protocol\..*allow|http\..*proxy)$",
    re.IGNORECASE,
)


def audit_config(git_dir: Path) -> list[str]:
    """Keys of a repository's local config that could make git run a program or leave the repository."""
    config = git_dir / "config"
    if not config.is_file():
        return []
    result = subprocess.run(
        ["git", "config", "--file", str(config), "--name-only", "--list"],
        capture_output=True,
        env={**os.environ, **git_env()},
        timeout=10,
        check=False,
    )
    if result.returncode != 0:
        return ["(unreadable config)"]
    names = result.stdout.decode(errors="replace").split()
    return sorted({name for name in names if _DANGEROUS_CONFIG.match(name)})


def decode(data: bytes) -> str:
    """Git output as text: UTF-8, undecodable bytes replaced (commit messages may be in any encoding)."""
    return data.decode("utf-8", errors="replace")


def git_error(command: str, stderr: bytes | str) -> ToolError:
    """A ToolError carrying git's own explanation, without credentials and without noise."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
    detail = redact("; ".join(lines[-4:]))[:600] or "no explanation"
    return ToolError(f"git {command} failed: {detail}")


class GitRepo:
    """One repository, opened for one tool call: GitPython's `Repo` plus hardened git processes."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        try:
            self.repo = git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise ToolError(f"{path.name!r} is not a git repository on disk any more") from None
        self.env = git_env()
        self.repo.git.update_environment(**self.env)

    def close(self) -> None:
        self.repo.close()

    def execute(
        self, *args: str, timeout: float | None = None, env: Mapping[str, str] | None = None
    ) -> tuple[int, bytes, bytes]:
        """Run ``git <args>`` in the repository: exit status, stdout, stderr (a timeout is a ToolError)."""
        limit = timeout or self.timeout
        status, out, err = self.repo.git.execute(
            ["git", *args],
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            kill_after_timeout=limit,
            env=dict(env or {}),
        )
        stdout = out if isinstance(out, bytes) else str(out).encode()
        stderr = err if isinstance(err, bytes) else str(err or "").encode()
        if status != 0 and b"Timeout:" in stderr and b"did not complete" in stderr:
            raise ToolError(f"git {args[0]} did not finish within {limit:g}s and was stopped")
        return status, stdout, stderr

    def run_bytes(
        self,
        *args: str,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> tuple[int, bytes]:
        """Run ``git <args>``; a ToolError with git's message on an exit status outside `ok_codes`."""
        status, out, err = self.execute(*args, timeout=timeout, env=env)
        if status not in ok_codes:
            raise git_error(args[0], err)
        return status, out

    def run(self, *args: str, **options: Any) -> str:
        return decode(self.run_bytes(*args, **options)[1])

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """A streaming git process (stdout piped, stderr captured) for output read incrementally."""
        return subprocess.Popen(
            ["git", *args],
            cwd=self.path,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )

    def resolve(self, rev: str, *, what: str = "ref") -> str:
        """The commit id `rev` (already `refs.check_revision`-ed) names, or a ToolError saying it is missing."""
        status, out = self.run_bytes(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", ok_codes=(0, 1, 128)
        )
        if status != 0:
            raise ToolError(f"no {what} {rev!r} in this repository (no such branch, tag or commit)")
        return decode(out).strip()

    def current_branch(self) -> str | None:
        """The checked-out branch, or None when HEAD is detached."""
        status, out = self.run_bytes("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1, 128))
        return decode(out).strip() if status == 0 else None

    def has_commits(self) -> bool:
        status, _ = self.run_bytes("rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok_codes=(0, 1, 128))
        return status == 0

    def branch_exists(self, name: str) -> bool:
        status, _ = self.run_bytes("show-ref", "--verify", "--quiet", f"refs/heads/{name}", ok_codes=(0, 1, 128))
        return status == 0

    def status(self) -> Status:
        """Branch, head, upstream distance and cleanliness from one ``git status --porcelain=v2 --branch``."""
        out = decode(self.run_bytes("status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all")[1])
        found = Status()
        for entry in out.split("\0"):
            if entry.startswith("# branch.oid "):
                oid = entry.removeprefix("# branch.oid ")
                found.head = None if oid == "(initial)" else oid
            elif entry.startswith("# branch.head "):
                head = entry.removeprefix("# branch.head ")
                found.branch = None if head == "(detached)" else head
            elif entry.startswith("# branch.ab "):
                ahead, behind = entry.removeprefix("# branch.ab ").split()
                found.ahead, found.behind = int(ahead), -int(behind)
            elif entry and not entry.startswith("#"):
                found.dirty = True
        return found

    def is_dirty(self) -> bool:
        return self.status().dirty


@dataclass
class Status:
    head: str | None = None
    branch: str | None = None
    ahead: int | None = None
    behind: int | None = None
    dirty: bool = False


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(text: str) -> str:
    """A path as git prints it: C-quoted (octal bytes, \\t, \\") when it holds unusual characters."""
    if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
        return text
    body, out, index = text[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            out += char.encode()
            index += 1
        elif body[index + 1 : index + 4].isdigit() and len(body[index + 1 : index + 4]) == 3:
            out.append(int(body[index + 1 : index + 4], 8) & 0xFF)
            index += 4
        else:
            out.append(_ESCAPES.get(body[index + 1], ord(body[index + 1]) & 0xFF))
            index += 2
    return out.decode("utf-8", errors="replace")
